//! `storsim check`: every shipped scenario against its golden JSON Lines in
//! `results/`, and what a difference looks like. The golden files are a
//! regression net; the behaviour itself is asserted by the other tests.

use std::path::Path;
use storsim::report::golden::{Verdict, check, golden_path};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_shipped_scenario_matches_its_golden_result() {
    let verdicts = check(&root().join("scenarios"), &root().join("results"), false).unwrap();
    assert!(verdicts.len() >= 30);
    for (file, v) in &verdicts {
        assert!(
            matches!(v, Verdict::Same),
            "{}: {v:?}\n(if the change is intended: cargo run -- check --bless)",
            file.display()
        );
    }
}

#[test]
fn a_changed_result_is_reported_with_its_first_divergence_and_bless_rewrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    let results = dir.path().join("results");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::create_dir_all(&results).unwrap();
    let src = root().join("scenarios/static-provisioning.toml");
    let file = scenarios.join("static-provisioning.toml");
    std::fs::copy(&src, &file).unwrap();
    // No golden yet.
    let v = check(&scenarios, &results, false).unwrap();
    assert!(matches!(v[0].1, Verdict::Missing));
    // Blessed, then the same.
    let v = check(&scenarios, &results, true).unwrap();
    assert!(matches!(v[0].1, Verdict::Blessed));
    assert!(matches!(
        check(&scenarios, &results, false).unwrap()[0].1,
        Verdict::Same
    ));
    // The claim binds 40 ms later in the golden file than in the run.
    let golden = golden_path(&results, &file);
    let text = std::fs::read_to_string(&golden).unwrap();
    let edited = text.replacen("\"t_ms\":1010", "\"t_ms\":1050", 1);
    assert_ne!(edited, text);
    std::fs::write(&golden, edited).unwrap();
    let v = check(&scenarios, &results, false).unwrap();
    let Verdict::Differs(c) = &v[0].1 else {
        panic!("{:?}", v[0].1)
    };
    let (line, a, b) = c.first_divergence.as_ref().unwrap();
    assert!(
        *line > 1 && a.contains("1050") && b.contains("1010"),
        "{a}\n{b}"
    );
    assert!(!c.equivalent(), "an event moved by 40 ms with tolerance 0");
}
