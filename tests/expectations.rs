//! Expectations that should fail do fail, with a useful detail; timing is
//! skipped (not failed) when the seed is overridden; `after` triggers fire on
//! the occurrence they name.

mod common;
use common::*;
use storsim::scenario::Outcome;
use storsim::simulation::RunOptions;

/// A PV and a claim created at 1 s: the claim is Bound at 1.010 s.
fn base(expectations: &str) -> String {
    scenario(
        "20s",
        &[
            pv("pv", "1Gi", RWO, ""),
            "[[action]]\nat = \"1s\"\nlabel = \"made\"\ncreate = { kind = \"PersistentVolumeClaim\", name = \"claim\", spec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } } } }\n".to_string(),
            expectations.to_string(),
        ]
        .concat(),
    )
}

fn outcome(expectation: &str) -> (Outcome, String) {
    let (_, _, results) = run(&base(expectation));
    assert_eq!(results.len(), 1);
    (results[0].outcome, results[0].detail.clone())
}

#[test]
fn a_right_at_passes_and_a_wrong_at_fails() {
    let ok =
        "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nat = \"1.01s\"\n";
    assert_eq!(outcome(ok).0, Outcome::Pass);
    let wrong =
        "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nat = \"1s\"\n";
    let (o, detail) = outcome(wrong);
    assert_eq!(o, Outcome::Fail);
    assert!(
        detail.contains("happened at T+1.010s") && detail.contains("expected at 1s"),
        "{detail}"
    );
    let tolerant = "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nat = \"1s\"\ntolerance = \"10ms\"\n";
    assert_eq!(outcome(tolerant).0, Outcome::Pass);
}

#[test]
fn by_and_after_bound_the_time() {
    let late =
        "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nby = \"1s\"\n";
    assert_eq!(outcome(late).0, Outcome::Fail);
    let early =
        "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nafter = \"2s\"\n";
    assert_eq!(outcome(early).0, Outcome::Fail);
    let fine = "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nafter = \"1s\"\nby = \"2s\"\n";
    assert_eq!(outcome(fine).0, Outcome::Pass);
}

#[test]
fn times_can_be_measured_from_a_label() {
    let ok = "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nat = \"10ms\"\nfrom = \"made\"\n";
    assert_eq!(outcome(ok).0, Outcome::Pass);
    let wrong = "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nat = \"1.01s\"\nfrom = \"made\"\n";
    assert_eq!(outcome(wrong).0, Outcome::Fail);
}

#[test]
fn a_violated_before_fails() {
    let right = "[[expect]]\nfirst = { object = \"PersistentVolume/pv\", phase = \"Bound\" }\nbefore = { object = \"PersistentVolumeClaim/claim\", phase = \"Bound\" }\n";
    assert_eq!(outcome(right).0, Outcome::Pass);
    let reversed = "[[expect]]\nfirst = { object = \"PersistentVolumeClaim/claim\", phase = \"Bound\" }\nbefore = { object = \"PersistentVolume/pv\", phase = \"Bound\" }\n";
    let (o, detail) = outcome(reversed);
    assert_eq!(o, Outcome::Fail);
    assert!(detail.contains("the second happened first"), "{detail}");
}

#[test]
fn a_never_that_happens_fails() {
    let (o, detail) = outcome(
        "[[expect]]\nnever = { object = \"PersistentVolumeClaim/claim\", phase = \"Bound\" }\n",
    );
    assert_eq!(o, Outcome::Fail);
    assert_eq!(detail, "happened at T+1.010s");
    let quiet = "[[expect]]\nnever = { event = { reason = \"FailedBinding\" } }\n";
    assert_eq!(outcome(quiet).0, Outcome::Pass);
}

#[test]
fn an_occurrence_that_never_happens_fails_and_says_where_the_object_got_to() {
    let (o, detail) =
        outcome("[[expect]]\nobject = \"PersistentVolume/pv\"\nphase = \"Released\"\n");
    assert_eq!(o, Outcome::Fail);
    assert!(
        detail.contains("never happened; PersistentVolume/pv last changed at T+1.010s (Bound)"),
        "{detail}"
    );
}

#[test]
fn at_end_checks_the_final_state_and_columns() {
    let ok = "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nshows = { volume = \"pv\" }\nat_end = true\n";
    assert_eq!(outcome(ok).0, Outcome::Pass);
    let wrong_volume = "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nshows = { volume = \"other\" }\nat_end = true\n";
    assert_eq!(outcome(wrong_volume).0, Outcome::Fail);
    let wrong_phase =
        "[[expect]]\nobject = \"PersistentVolume/pv\"\nphase = \"Available\"\nat_end = true\n";
    let (o, detail) = outcome(wrong_phase);
    assert_eq!(o, Outcome::Fail);
    assert!(
        detail.starts_with("at end: PersistentVolume/pv is Bound"),
        "{detail}"
    );
}

#[test]
fn nth_counts_entries_into_a_state() {
    // Available at 10 ms (first), then Bound: it never enters Available twice.
    let second = "[[expect]]\nobject = \"PersistentVolume/pv\"\nphase = \"Available\"\nnth = 2\n";
    assert_eq!(outcome(second).0, Outcome::Fail);
    let first = "[[expect]]\nobject = \"PersistentVolume/pv\"\nphase = \"Available\"\nnth = 1\nat = \"10ms\"\n";
    assert_eq!(outcome(first).0, Outcome::Pass);
}

#[test]
fn another_seed_skips_timing_but_still_checks_outcomes() {
    let text = base(
        "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Bound\"\nat = \"0s\"\n[[expect]]\nobject = \"PersistentVolume/pv\"\nphase = \"Released\"\n",
    );
    let (_, _, results) = run_with(
        &text,
        &RunOptions {
            seed: Some(5),
            ..Default::default()
        },
    );
    assert_eq!(
        results[0].outcome,
        Outcome::TimingSkipped,
        "a wrong time is not judged under another seed"
    );
    assert_eq!(
        results[1].outcome,
        Outcome::Fail,
        "but what never happens still fails"
    );
}

#[test]
fn after_triggers_fire_delay_after_their_occurrence() {
    let text = scenario(
        "20s",
        &[
            pv("pv", "1Gi", RWO, ""),
            pvc("claim", "1Gi", RWO, ""),
            "[[action]]\nafter = { object = \"PersistentVolumeClaim/claim\", phase = \"Bound\" }\ndelay = \"2s\"\nlabel = \"cleanup\"\ndelete = \"PersistentVolumeClaim/claim\"\n".to_string(),
            "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\ndeleted = true\nat = \"2.02s\"\n".to_string(),
        ]
        .concat(),
    );
    let (_, r, results) = run(&text);
    assert_all_pass(&results);
    assert_eq!(
        r.labels["cleanup"].as_millis(),
        2_010,
        "Bound at 10 ms + 2 s"
    );
}

/// A hostPath volume is not a cloud disk: the bill is empty, so a cost
/// expectation of $0 passes and any other sum fails with the bill in the
/// detail; a `cost` naming nothing is refused at load.
#[test]
fn cost_expectations_check_the_bill_at_the_end() {
    assert_eq!(
        outcome("[[expect]]\ncost = { total_month = 0.0, orphaned_claims = 0 }\n").0,
        Outcome::Pass
    );
    let (o, detail) = outcome("[[expect]]\ncost = { total_month = 8.0 }\n");
    assert_eq!(o, Outcome::Fail);
    assert_eq!(
        detail,
        "at end: $0.00/month in all, $0.00/month for 0 orphaned claim(s)"
    );
    let err = match storsim::scenario::load_str("t.toml", &base("[[expect]]\ncost = {}\n")) {
        Ok(_) => panic!("a cost naming nothing must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("`cost` names nothing to check"), "{err}");
}

/// A timed expectation is the scenario's own seed and profile's business:
/// with another seed it is skipped even if its occurrence never happens;
/// with its own seed, not happening fails it.
#[test]
fn a_timed_expectation_that_never_happens_fails_only_under_its_own_seed() {
    let text = base(
        "[[expect]]\nobject = \"PersistentVolumeClaim/claim\"\nphase = \"Lost\"\nby = \"5s\"\n",
    );
    let (_, _, own) = run(&text);
    assert_eq!(own[0].outcome, Outcome::Fail);
    let (_, _, other) = run_with(
        &text,
        &RunOptions {
            seed: Some(99),
            ..Default::default()
        },
    );
    assert_eq!(other[0].outcome, Outcome::TimingSkipped);
    assert!(
        other[0].detail.contains("never happened"),
        "{}",
        other[0].detail
    );
}
