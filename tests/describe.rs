//! `storsim describe` and `storsim run --watch`: what kubectl would have
//! shown at an instant, and the timeline of one kind or object.

use assert_cmd::Command;
use predicates::prelude::*;

fn storsim() -> Command {
    Command::cargo_bin("storsim").expect("binary builds")
}

fn scenario_path(name: &str) -> String {
    format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

fn stdout(args: &[&str]) -> String {
    let out = storsim().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn describe_shows_why_a_pod_is_stuck_at_that_instant() {
    let path = scenario_path("rwo-multi-attach");
    let stuck = stdout(&["describe", &path, "pod/elsewhere", "--at", "40s"]);
    assert!(stuck.contains("At:           T+40.000s"), "{stuck}");
    assert!(stuck.contains("Status:       ContainerCreating"), "{stuck}");
    assert!(stuck.contains("Node:         node-us-east-1a-1"));
    // The chain it waits on: claim, volume, and no attachment on its node.
    assert!(stuck.contains("PersistentVolumeClaim/shared: Bound"));
    assert!(stuck.contains("└ no VolumeAttachment for node-us-east-1a-1"));
    assert!(stuck.contains(
        "Warning  FailedAttachVolume         T+20.100s                attachdetach-controller      Multi-Attach error for volume"
    ));
    // Nothing from the future.
    assert!(!stuck.contains("SuccessfulAttachVolume"));
    // Later, the same pod runs and the history has moved on.
    let later = stdout(&["describe", &path, "pod/elsewhere", "--at", "T+90s"]);
    assert!(later.contains("Status:       Running"));
    assert!(later.contains("SuccessfulAttachVolume"));
    assert!(later.contains("VolumeAttachment/csi-") && later.contains("attached=true"));
}

#[test]
fn describe_a_claim_lists_its_users_and_counts_repeated_events() {
    let out = stdout(&[
        "describe",
        &scenario_path("rwo-multi-attach"),
        "pvc/shared",
        "--at",
        "40s",
    ]);
    assert!(out.contains("Used By: elsewhere, reader, writer"), "{out}");
    assert!(out.contains("Finalizers:   [kubernetes.io/pvc-protection]"));
    assert!(out.contains("capacity.storage: 10Gi"));
}

#[test]
fn describe_says_when_the_object_does_not_exist_then() {
    let path = scenario_path("rwo-multi-attach");
    storsim()
        .args(["describe", &path, "pod/elsewhere", "--at", "5s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Pod/elsewhere does not exist at T+5.000s (it may be created later",
        ));
    storsim()
        .args(["describe", &path, "widget/x", "--at", "5s"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`widget` is not a kind storsim knows",
        ));
}

#[test]
fn run_watch_prints_only_the_lines_of_one_kind_or_object() {
    let path = scenario_path("rwo-multi-attach");
    let pvcs = stdout(&["run", &path, "--watch", "pvc"]);
    assert!(!pvcs.is_empty());
    assert!(
        pvcs.lines().all(|l| l.contains("PersistentVolumeClaim/")),
        "{pvcs}"
    );
    let one = stdout(&["run", &path, "--watch", "pod/elsewhere"]);
    let lines: Vec<&str> = one.lines().collect();
    assert!(lines.iter().all(|l| l.contains("Pod/elsewhere ")), "{one}");
    assert!(lines.first().unwrap().contains("Pending"));
    assert!(lines.last().unwrap().contains("Running"));
    storsim()
        .args(["run", &path, "--watch", "gadget"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--watch: unknown kind `gadget`"));
}

/// The report's tables line up under their headers: every EVENTS row's
/// REASON, OBJECT and SOURCE begin where the header's do, and every
/// timeline line's object and status begin at the same columns. (An
/// interned reason once printed without its padding, pulling the rest of
/// each row to the left.)
#[test]
fn the_report_columns_line_up_under_their_headers() {
    let out = stdout(&["run", &scenario_path("rwo-multi-attach")]);
    let starts_at = |line: &str, at: usize| {
        let b = line.as_bytes();
        b[at - 1] == b' ' && b[at] != b' '
    };
    let (timeline, rest) = out
        .split_once("\nTIMELINE\n")
        .unwrap()
        .1
        .split_once("\nEVENTS\n")
        .unwrap();
    let lines: Vec<&str> = timeline.lines().filter(|l| l.len() > 57).collect();
    assert!(lines.len() > 20, "{timeline}");
    for l in &lines {
        assert!(starts_at(l, 12), "{l}");
        // An object wider than its column (a call's target) pushes the
        // rest of its line; a pod or claim does not.
        if l[12..].starts_with("Pod/") || l[12..].starts_with("PersistentVolumeClaim/") {
            assert!(starts_at(l, 57), "{l}");
        }
    }
    let mut table = rest.lines();
    let header = table.next().unwrap();
    let col = |name: &str| header.find(name).unwrap();
    let cols = [col("REASON"), col("OBJECT"), col("SOURCE")];
    let rows: Vec<&str> = table.take_while(|l| l.starts_with("T+")).collect();
    assert!(rows.iter().any(|r| r.contains(" FailedAttachVolume ")));
    for row in rows {
        for at in cols {
            assert!(starts_at(row, at), "column {at} of {row:?}");
        }
    }
}

/// A label as wide as its column is not run into its value: kubectl's
/// `Controlled By:  StatefulSet/web`.
#[test]
fn a_wide_label_keeps_its_value_apart() {
    let out = stdout(&[
        "describe",
        &scenario_path("rolling-update"),
        "pod/postgres-0",
        "--at",
        "60s",
    ]);
    assert!(
        out.contains("\nControlled By:  StatefulSet/postgres\n"),
        "{out}"
    );
    assert!(out.starts_with("Name:         postgres-0\n"), "{out}");
}
