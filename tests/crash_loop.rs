//! Containers that crash: kubelet's restart back-off (10 s doubling to
//! 5 min, the first crash restarted at once, reset after 10 min of quiet),
//! `restartPolicy: Never`, and a crash loop that never settles ending at
//! its bound.

mod common;
use assert_cmd::Command;
use common::*;
use predicates::prelude::*;
use storsim::api::{Kind, ObjectKey, Pod, PodPhase};
use storsim::engine::SimTime;
use storsim::simulation::EndReason;

/// One pod of `image` that crashes `crash_after` after each start (`crashes`
/// times, or always), no volumes, no readiness probe.
fn pod_scenario(end: &str, crash_after: &str, crashes: Option<u32>, policy: &str) -> String {
    let crashes = crashes
        .map(|n| format!("crashes = {n}\n"))
        .unwrap_or_default();
    scenario(
        end,
        &format!(
            r#"[cluster]
zones = ["a"]
[[cluster.node_group]]
per_zone = 1
[images."app:1"]
start = "1s"
crash_after = "{crash_after}"
{crashes}
[[object]]
kind = "Pod"
name = "app"
spec = {{ restartPolicy = "{policy}", containers = [{{ name = "main", image = "app:1" }}] }}
"#
        ),
    )
}

/// When each run of the container started and when it exited (the pod's
/// `Started` events and its changes to STATUS Error).
fn starts_and_exits(r: &storsim::simulation::RunResult) -> (Vec<SimTime>, Vec<SimTime>) {
    let starts = events_on(r, Kind::Pod, "app")
        .iter()
        .filter(|e| e.reason == "Started")
        .map(|e| e.t)
        .collect();
    let exits = changes_of(r, Kind::Pod, "app")
        .iter()
        .filter(|c| c.phase.as_deref() == Some("Error"))
        .map(|c| c.t)
        .collect();
    (starts, exits)
}

#[test]
fn restarts_back_off_10_s_doubling_to_5_min_from_the_second_crash() {
    let (_, r, _) = run(&pod_scenario("30m", "5s", None, "Always"));
    let (starts, exits) = starts_and_exits(&r);
    assert!(starts.len() >= 9, "{starts:?}");
    // Run k (0-based) exits 5 s after it started.
    for (s, e) in starts.iter().zip(&exits) {
        assert_eq!(e.since(*s).as_millis(), 5_000);
    }
    // The first crash restarts at once: the next PLEG relist (≤ 1 s) and
    // the 1 s start.
    let first = starts[1].since(exits[0]).as_millis();
    assert!(
        (1_000..=2_000).contains(&first),
        "first restart after {first} ms"
    );
    // Then the k-th delay is 10 s × 2^(k−1) capped at 300 s, measured from
    // the exit; the restart comes at the first pod-worker retry past it
    // (retries every 10–15 s), then the 1 s start.
    for k in 1..8 {
        let delay = (10_000u64 << (k - 1)).min(300_000);
        let gap = starts[k + 1].since(exits[k]).as_millis();
        assert!(
            gap >= delay + 1_000 && gap <= delay + 16_000,
            "restart {k}: {gap} ms after the exit, back-off {delay} ms"
        );
    }
    // Meanwhile the pod says why it waits.
    let backoff: Vec<_> = events_on(&r, Kind::Pod, "app")
        .into_iter()
        .filter(|e| e.reason == "BackOff")
        .collect();
    let uid = &r
        .store
        .get::<Pod>(&ObjectKey::new("default", "app"))
        .unwrap()
        .metadata
        .uid;
    assert_eq!(
        backoff[0].message,
        format!("Back-off restarting failed container main in pod app_default({uid})")
    );
    assert!(backoff[0].t >= exits[1] && backoff[0].t < starts[2]);
    let shown: Vec<_> = changes_of(&r, Kind::Pod, "app")
        .into_iter()
        .filter_map(|c| c.phase)
        .collect();
    assert!(shown.iter().any(|p| p == "CrashLoopBackOff"), "{shown:?}");
    // RESTARTS counts the restarts; phase stays Running.
    let pod = r
        .store
        .get::<Pod>(&ObjectKey::new("default", "app"))
        .unwrap();
    assert_eq!(pod.status.restart_count as usize, starts.len() - 1);
    assert_eq!(pod.status.phase, PodPhase::Running);
}

#[test]
fn a_container_that_stops_crashing_settles_ready() {
    let (_, r, _) = run(&pod_scenario("5m", "5s", Some(2), "Always"));
    let (starts, exits) = starts_and_exits(&r);
    assert_eq!((starts.len(), exits.len()), (3, 2));
    let pod = r
        .store
        .get::<Pod>(&ObjectKey::new("default", "app"))
        .unwrap();
    assert!(pod.running_and_ready());
    assert!(pod.status.reason.is_empty());
    assert_eq!(pod.status.restart_count, 2);
}

#[test]
fn ten_minutes_without_a_restart_resets_the_back_off() {
    // Each run lasts 11 min: every exit is more than 2 × 5 min after the
    // last restart, so each crash counts as the first and restarts at once.
    let (_, r, _) = run(&pod_scenario("40m", "11m", Some(3), "Always"));
    let (starts, exits) = starts_and_exits(&r);
    assert_eq!(starts.len(), 4);
    for k in 0..3 {
        let gap = starts[k + 1].since(exits[k]).as_millis();
        assert!(gap <= 2_000, "restart {k} waited {gap} ms");
    }
    assert!(
        events_on(&r, Kind::Pod, "app")
            .iter()
            .all(|e| e.reason != "BackOff")
    );
}

#[test]
fn restart_policy_never_fails_the_pod_instead() {
    let (_, r, _) = run(&pod_scenario("2m", "5s", None, "Never"));
    let (starts, exits) = starts_and_exits(&r);
    assert_eq!((starts.len(), exits.len()), (1, 1));
    let pod = r
        .store
        .get::<Pod>(&ObjectKey::new("default", "app"))
        .unwrap();
    assert_eq!(pod.status.phase, PodPhase::Failed);
    assert_eq!(pod.status.restart_count, 0);
    assert!(!pod.condition_true("Ready"));
}

#[test]
fn a_crash_loop_never_settles_and_stops_at_its_bound_saying_why() {
    let text = pod_scenario("1h", "5s", None, "Always").replace("end = \"1h\"", "");
    let text = text.replace("seed = 1\n", "seed = 1\nmax_time = \"10m\"\n");
    let (_, r, _) = run(&text);
    let EndReason::Bound { what, pending } = &r.end else {
        panic!("a crash loop hits the bound, got {:?}", r.end)
    };
    assert!(what.contains("simulated time"), "{what}");
    assert!(
        pending
            .iter()
            .any(|p| p.starts_with("Pod/app is CrashLoopBackOff") && p.contains("back-off")),
        "{pending:?}"
    );
}

#[test]
fn the_shipped_crash_loop_scenario_exits_3_with_what_is_pending() {
    Command::cargo_bin("storsim")
        .unwrap()
        .args(["run", "scenarios/crash-loop.toml"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "simulated time reached the bound of T+720.000s",
        ))
        .stdout(predicate::str::contains(
            "- Pod/db-0 is CrashLoopBackOff on node-us-east-1a-1: container postgres keeps exiting",
        ))
        .stdout(predicate::str::contains(
            "waits for db-0 to be Running and Ready",
        ))
        .stdout(predicate::str::contains("10 passed, 0 failed"));
}
