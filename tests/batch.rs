//! `storsim batch` and `storsim merge`: scenario × seed in parallel, the
//! same bytes whatever the number of workers or shards, and percentiles
//! of durations the scenarios fix.

use assert_cmd::Command;
use predicates::prelude::*;
use storsim::report::batch::{run_all, runs_jsonl, summarize, summary_csv};
use storsim::scenario::load_file;

fn scenario_path(name: &str) -> String {
    format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn storsim() -> Command {
    Command::cargo_bin("storsim").expect("binary builds")
}

#[test]
fn workers_do_not_change_the_bytes_and_fixed_latencies_give_exact_percentiles() {
    let s = load_file(&scenario_path("rolling-update")).unwrap();
    let items: Vec<_> = (1..=4).map(|seed| (seed as usize - 1, &s, seed)).collect();
    let one = run_all(&items, 1, &|_| {});
    let two = run_all(&items, 2, &|_| {});
    assert_eq!(runs_jsonl(&one), runs_jsonl(&two));
    let summary = summarize(&two);
    assert_eq!(summary.len(), 1);
    let x = &summary[0];
    assert_eq!((x.runs, x.met), (4, 4));
    // The scenario fixes attach at 5 s (reference profile) and CreateVolume at 10 s.
    assert_eq!(x.metrics["attach"], [12, 5000, 5000, 5000, 5000]);
    assert_eq!(x.metrics["create_volume"][1..], [10_000; 4]);
    // One rollout per run, the set image to the set settled at the new revision.
    assert_eq!(x.metrics["rollout"][0], 4);
    assert!(
        x.metrics["rollout"][1] > 150_000,
        "{:?}",
        x.metrics["rollout"]
    );
    let csv = summary_csv(&summary);
    assert!(
        csv.starts_with("scenario,runs,met,slowest_seed,metric,n,p50_ms,p90_ms,p99_ms,max_ms\n")
    );
    assert!(csv.contains("rolling-update,4,4,"), "{csv}");
    assert!(csv.contains(",attach,12,5000,5000,5000,5000\n"));
}

#[test]
fn shards_merged_equal_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        scenario_path("binding-modes"),
        scenario_path("smallest-fit"),
    ];
    let out = |name: &str| dir.path().join(name).to_string_lossy().to_string();
    let mut whole = vec![
        "batch", &files[0], &files[1], "--seeds", "1..3", "--quiet", "--out",
    ];
    let w = out("whole");
    whole.push(&w);
    storsim().args(&whole).assert().code(0);
    for (i, shard) in ["1/2", "2/2"].iter().enumerate() {
        let o = out(&format!("s{i}"));
        storsim()
            .args([
                "batch", &files[0], &files[1], "--seeds", "1..3", "--jobs", "1",
            ])
            .args(["--shard", shard, "--out", &o])
            .assert()
            .code(0)
            .stderr(predicate::str::contains("batch: ").and(predicate::str::contains("runs done")));
    }
    storsim()
        .args(["merge", &out("s0"), &out("s1"), "--out", &out("merged")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("binding-modes"));
    for f in ["runs.jsonl", "summary.csv", "summary.json"] {
        let a = std::fs::read(dir.path().join("whole").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("merged").join(f)).unwrap();
        assert_eq!(a, b, "{f}");
    }
    // A shard alone has half the runs.
    let s0 = std::fs::read_to_string(dir.path().join("s0/runs.jsonl")).unwrap();
    assert_eq!(s0.lines().count(), 3);
    storsim()
        .args(["batch", &files[0], "--seeds", "3..1", "--out", &out("x")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--seeds: `3..1`: the range is empty",
        ));
}
