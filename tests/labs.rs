//! Teaching labs: each shipped lab fails as handed out, with its hints,
//! and its solution meets every goal — so every lab can be solved, and
//! none is solved already.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;
use storsim::report::lab;
use storsim::scenario::load_file;
use storsim::simulation::RunOptions;

fn labs() -> Vec<PathBuf> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/labs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

fn check(path: &std::path::Path) -> (String, bool) {
    let s = load_file(path.to_str().unwrap()).unwrap();
    assert!(
        s.lab.is_some(),
        "{}: a lab has a [lab] brief",
        path.display()
    );
    let (_, results) = storsim::execute(&s, &RunOptions::default());
    lab::check(&s, &results)
}

#[test]
fn every_lab_starts_unsolved_and_its_solution_meets_every_goal() {
    let all = labs();
    assert!(all.len() >= 4);
    for path in all {
        let (text, done) = check(&path);
        assert!(!done, "{} is solved as handed out:\n{text}", path.display());
        assert!(
            text.contains("not met") && text.contains("hint: "),
            "{text}"
        );
        let solution = path
            .parent()
            .unwrap()
            .join("solutions")
            .join(path.file_name().unwrap());
        let (text, done) = check(&solution);
        assert!(done, "{}:\n{text}", solution.display());
        assert!(!text.contains("not met"));
    }
}

#[test]
fn lab_commands_list_show_and_check() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut list = Command::cargo_bin("storsim").unwrap();
    list.current_dir(root)
        .args(["lab", "list"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("node-failure-recovery").and(predicate::str::contains(
                "Fix an Immediate-binding topology failure",
            )),
        );
    Command::cargo_bin("storsim")
        .unwrap()
        .current_dir(root)
        .args(["lab", "show", "canary-partition"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "Goal: Upgrade the postgres StatefulSet",
        ))
        .stdout(predicate::str::contains("Success means:"));
    Command::cargo_bin("storsim")
        .unwrap()
        .current_dir(root)
        .args(["lab", "check", "scenarios/labs/safe-scale-down.toml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("1/3 goals met"));
    Command::cargo_bin("storsim")
        .unwrap()
        .current_dir(root)
        .args([
            "lab",
            "check",
            "scenarios/labs/solutions/safe-scale-down.toml",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("3/3 goals met"));
}
