//! Inputs the fuzzers (fuzz/) found crashing storsim, kept as tests: each
//! must now load to objects or located errors without a panic.

use std::collections::BTreeSet;
use storsim::scenario::manifest::{Loaded, load_text};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/fuzz/{name}", env!("CARGO_MANIFEST_DIR"));
    String::from_utf8(std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_block_scalar_before_multibyte_text_gives_a_located_error_not_a_panic() {
    // yaml-rust2 advances its offsets in bytes inside block scalars and in
    // characters elsewhere: an error after `|` text and `→` used to cut a
    // character in two when the message was rendered.
    let text = data("manifest-block-scalar-multibyte.yaml");
    let mut out = Loaded::default();
    let mut errors = Vec::new();
    load_text(
        "crash.yaml",
        &text,
        &mut out,
        &mut errors,
        &mut BTreeSet::new(),
    );
    assert!(!errors.is_empty());
    for e in &errors {
        let (line, col) = e.line_col();
        assert!(line >= 1 && col >= 1);
        assert!(e.render().starts_with("crash.yaml:"));
    }
}

fn seeds(target: &str) -> Vec<std::path::PathBuf> {
    let dir = format!("{}/fuzz/seeds/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn every_kept_scenario_input_loads_or_fails_cleanly_and_runs_bounded() {
    let files = seeds("scenario");
    assert!(files.len() >= 100, "the kept corpus is there");
    for f in files {
        let Ok(text) = String::from_utf8(std::fs::read(&f).unwrap()) else {
            continue;
        };
        match storsim::scenario::load_str("seed.toml", &text) {
            Err(e) => {
                let _ = e.to_string();
            }
            Ok(s) => {
                let opts = storsim::simulation::RunOptions {
                    max_events: Some(2_000),
                    max_time: Some(storsim::engine::SimTime(600_000)),
                    check_invariants: true,
                    ..Default::default()
                };
                let (run, _) = storsim::execute(&s, &opts);
                assert!(
                    !matches!(run.end, storsim::simulation::EndReason::Invariant(_)),
                    "{}: {:?}",
                    f.display(),
                    run.end
                );
            }
        }
    }
}

#[test]
fn every_kept_manifest_input_loads_or_fails_cleanly() {
    for f in seeds("manifest") {
        let Ok(text) = String::from_utf8(std::fs::read(&f).unwrap()) else {
            continue;
        };
        let mut out = Loaded::default();
        let mut errors = Vec::new();
        load_text(
            "seed.yaml",
            &text,
            &mut out,
            &mut errors,
            &mut BTreeSet::new(),
        );
        for e in &errors {
            let _ = e.render();
        }
    }
}
