//! Plots: the Gantt chart of a run and a batch's distributions, SVG or PNG
//! by extension, text in the bundled font, sampled lanes for big runs.

use assert_cmd::Command;
use predicates::prelude::*;

fn storsim() -> Command {
    Command::cargo_bin("storsim").expect("binary builds")
}

fn scenario_path(name: &str) -> String {
    format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_run_draws_its_gantt_chart_as_svg_or_png() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("roll.svg");
    storsim()
        .args(["run", &scenario_path("rolling-update"), "--plot"])
        .arg(&svg)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    for lane in [
        "pod postgres-0",
        "pvc data-postgres-2",
        "Warning event",
        "Terminating",
        "simulated time (s)",
    ] {
        assert!(text.contains(lane), "{lane}");
    }
    let png = dir.path().join("roll.png");
    storsim()
        .args(["run", &scenario_path("rolling-update"), "--plot"])
        .arg(&png)
        .assert()
        .code(0);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Nothing else is left in the directory (no temporary file).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    let jpg = dir.path().join("roll.jpg");
    storsim()
        .args(["run", &scenario_path("rolling-update"), "--plot"])
        .arg(&jpg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a plot is .svg or .png"));
    assert!(!jpg.exists());
}

#[test]
fn a_big_run_keeps_a_sample_of_lanes_per_kind_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from(
        "format = 1\n[scenario]\nname = \"many\"\nseed = 1\nend = \"1m\"\n[cluster]\nzones = [\"a\"]\n[[cluster.node_group]]\nper_zone = 4\npods = 60\n",
    );
    for i in 0..120 {
        body.push_str(&format!(
            "[[object]]\nkind = \"Pod\"\nname = \"p{i:03}\"\nspec = {{ containers = [{{ name = \"c\", image = \"nginx\" }}] }}\n"
        ));
    }
    let file = dir.path().join("many.toml");
    std::fs::write(&file, body).unwrap();
    let svg = dir.path().join("many.svg");
    storsim()
        .arg("run")
        .arg(&file)
        .arg("--plot")
        .arg(&svg)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("80 of 120 objects shown"), "{}", &text[..400]);
    assert!(text.contains("pod p000") && text.contains("pod p118"));
}

#[test]
fn a_batch_draws_its_duration_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("dist.svg");
    storsim()
        .args([
            "batch",
            &scenario_path("binding-modes"),
            "--seeds",
            "1..3",
            "--quiet",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .arg("--plot")
        .arg(&svg)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("pod_ready (n=3)") && text.contains("create_volume (n=6)"),
        "{text}"
    );
}
