//! The reference document's own YAML under scenarios/manifests/reference
//! loads, and every scenario driving it meets its expectations — on its
//! seed, and (outcomes) on others.

mod common;
use common::assert_all_pass;
use std::path::PathBuf;
use storsim::scenario::load_file;
use storsim::simulation::RunOptions;

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/manifests"))
}

fn with_ext(d: &std::path::Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn every_reference_manifest_loads() {
    let files = with_ext(&dir().join("reference"), "yaml");
    assert!(files.len() >= 8);
    // As `kubectl apply` reads them: the document's fragments (the
    // expansion edit, the multi-AZ set) load as objects written in part.
    let loaded = storsim::scenario::manifest::load_for_apply(&files).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter().map(|e| e.render()).collect::<Vec<_>>().join("\n")
        )
    });
    // Classes, volumes, claims, pods, the StatefulSet, the snapshot.
    assert!(loaded.classes.len() >= 6, "{}", loaded.classes.len());
    assert!(loaded.objects.len() >= 8, "{}", loaded.objects.len());
    let partial: Vec<String> = loaded
        .partial
        .iter()
        .map(|p| p.meta.name.to_string())
        .collect();
    assert_eq!(
        partial,
        ["data-postgres-0"],
        "the expansion edit gives only the size"
    );
}

#[test]
fn every_manifest_scenario_meets_its_expectations() {
    let scenarios = with_ext(&dir(), "toml");
    assert!(scenarios.len() >= 4);
    for path in scenarios {
        let s = load_file(path.to_str().unwrap()).unwrap();
        for seed in [None, Some(2), Some(3)] {
            let opts = RunOptions {
                seed,
                ..Default::default()
            };
            let (_, results) = storsim::execute(&s, &opts);
            assert_all_pass(&results);
        }
    }
}
