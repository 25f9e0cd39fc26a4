//! Every scenario in `scenarios/` runs, meets its expectations, and gives
//! the same bytes twice; plus the observable order and times of the
//! reference document's static provisioning.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use storsim::api::Kind;
use storsim::backend::Profile;
use storsim::report::{Report, jsonl, text};
use storsim::scenario::{Outcome, load_file};
use storsim::simulation::{EndReason, RunOptions};

fn shipped() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "the shipped scenarios are there");
    v
}

fn render_both(path: &Path, opts: &RunOptions) -> (String, String, i32) {
    let s = load_file(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (run, results) = storsim::execute(&s, opts);
    let report = Report {
        scenario: &s,
        run: &run,
        results: &results,
    };
    (
        jsonl::render(&report),
        text::render(&report),
        report.exit_code(),
    )
}

/// Scenarios that never settle by design (a crash loop): they stop at
/// their safety bound, exit 3.
const ENDS_AT_ITS_BOUND: &[&str] = &["crash-loop"];

#[test]
fn every_shipped_scenario_meets_its_expectations() {
    for path in shipped() {
        let s = load_file(path.to_str().unwrap()).unwrap();
        assert!(
            !s.expectations.is_empty(),
            "{} has expectations",
            path.display()
        );
        let (run, results) = storsim::execute(&s, &RunOptions::default());
        assert_all_pass(&results);
        assert!(
            results.iter().all(|r| r.outcome == Outcome::Pass),
            "{}: timings are checked under the scenario's own profile",
            path.display()
        );
        let name = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            matches!(run.end, EndReason::Bound { .. }),
            ENDS_AT_ITS_BOUND.contains(&name),
            "{} ends at a bound only if it is meant to: {:?}",
            path.display(),
            run.end
        );
    }
}

#[test]
fn every_shipped_scenario_gives_identical_bytes_twice() {
    for path in shipped() {
        let (a, ta, _) = render_both(&path, &RunOptions::default());
        let (b, tb, _) = render_both(&path, &RunOptions::default());
        assert_eq!(a, b, "{}: JSON Lines differ between runs", path.display());
        assert_eq!(ta, tb, "{}: text differs between runs", path.display());
    }
}

#[test]
fn random_watch_delays_are_reproducible_for_a_seed_and_vary_across_seeds() {
    let aws = |seed| RunOptions {
        seed: Some(seed),
        profile: Profile::built_in("aws-ebs"),
        ..Default::default()
    };
    let path = shipped()
        .into_iter()
        .find(|p| p.ends_with("smallest-fit.toml"))
        .unwrap();
    let (a, _, _) = render_both(&path, &aws(7));
    let (b, _, _) = render_both(&path, &aws(7));
    let (c, _, _) = render_both(&path, &aws(8));
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, c, "another seed shifts the sampled watch delays");
}

#[test]
fn another_seed_and_profile_shift_times_but_not_outcomes() {
    // Several seeds: random watch delays reorder deliveries across streams,
    // which is where races in the model (or in the scenarios) show.
    for (path, seed) in shipped()
        .into_iter()
        .flat_map(|p| (90..98).map(move |s| (p.clone(), s)))
    {
        let s = load_file(path.to_str().unwrap()).unwrap();
        let opts = RunOptions {
            seed: Some(seed),
            profile: Profile::built_in("aws-ebs"),
            ..Default::default()
        };
        let (_, results) = storsim::execute(&s, &opts);
        assert_all_pass(&results);
        // Timed expectations are reported as skipped, untimed ones still checked.
        let timed = results
            .iter()
            .filter(|r| r.outcome == Outcome::TimingSkipped)
            .count();
        assert!(timed > 0, "{}: some expectation is timed", path.display());
    }
}

#[test]
fn static_provisioning_binds_in_the_real_write_order_one_watch_delay_after_creation() {
    let path = shipped()
        .into_iter()
        .find(|p| p.ends_with("static-provisioning.toml"))
        .unwrap();
    let s = load_file(path.to_str().unwrap()).unwrap();
    let (run, _) = storsim::execute(&s, &RunOptions::default());
    // What `kubectl get -w` would show for both objects, in order, with times.
    let mut lines: Vec<(u64, u64, String)> = Vec::new();
    for (kind, name) in [
        (Kind::PersistentVolume, "pv-manual"),
        (Kind::PersistentVolumeClaim, "pvc-manual"),
    ] {
        for c in changes_of(&run, kind, name) {
            let state = if c.op == storsim::cluster::ChangeOp::Deleted {
                "deleted".to_string()
            } else {
                c.phase.map(|p| p.to_string()).unwrap_or_default()
            };
            lines.push((c.seq, c.t.as_millis(), format!("{kind} {state}")));
        }
    }
    lines.sort();
    let seen: Vec<(u64, &str)> = lines.iter().map(|(_, t, l)| (*t, l.as_str())).collect();
    assert_eq!(
        seen,
        vec![
            (10, "PersistentVolume Available"),
            (1_010, "PersistentVolume Available"), // claimRef written
            (1_010, "PersistentVolume Bound"),
            (1_010, "PersistentVolumeClaim Pending"), // volumeName written
            (1_010, "PersistentVolumeClaim Bound"),
            (30_000, "PersistentVolumeClaim Terminating"),
            (30_010, "PersistentVolumeClaim deleted"), // pvc-protection let it go
            (30_020, "PersistentVolume Released"),
        ]
    );
}

#[test]
fn the_text_report_shows_timeline_events_and_results() {
    let path = shipped()
        .into_iter()
        .find(|p| p.ends_with("smallest-fit.toml"))
        .unwrap();
    let (_, text, code) = render_both(&path, &RunOptions::default());
    assert_eq!(code, 0);
    assert!(
        text.contains(
            "T+1.010s    PersistentVolumeClaim/claim-40g              Bound       volume=pv-50g"
        ),
        "{text}"
    );
    assert!(text.contains("T+15.000s   PersistentVolumeClaim/claim-300g             Warning     ProvisioningFailed: no volume plugin matched name: kubernetes.io/no-provisioner (x2)"), "{text}");
    assert!(text.contains("FIRST SEEN  LAST SEEN   COUNT"), "{text}");
    assert!(
        text.contains("expectations: 10 passed, 0 failed · exit code 0"),
        "{text}"
    );
}
