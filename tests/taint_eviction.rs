//! The taint eviction controller and the taint actions: NoExecute taints
//! evict pods that do not tolerate them at once, those that tolerate them
//! for a while after that while, and nobody if the taint goes first; every
//! pod tolerates not-ready and unreachable for 300 s (DefaultTolerationSeconds).

mod common;
use common::*;
use storsim::api::{Kind, ObjectKey, Pod};
use storsim::simulation::RunResult;

fn body(actions: &str) -> String {
    scenario(
        "10m",
        &format!(
            r#"[cluster]
zones = ["a"]
[[cluster.node_group]]
per_zone = 1
[[object]]
kind = "Pod"
name = "plain"
spec = {{ containers = [{{ name = "c", image = "i" }}] }}
[[object]]
kind = "Pod"
name = "patient"
spec = {{ tolerations = [{{ key = "dedicated", operator = "Exists", effect = "NoExecute", tolerationSeconds = 30 }}], containers = [{{ name = "c", image = "i" }}] }}
{actions}"#
        ),
    )
}

fn eviction_ms(r: &RunResult, pod: &str) -> Option<u64> {
    events_on(r, Kind::Pod, pod)
        .iter()
        .find(|e| e.reason == "TaintManagerEviction" && e.message.starts_with("Marking"))
        .map(|e| e.t.as_millis())
}

#[test]
fn a_no_execute_taint_evicts_at_once_or_after_the_toleration() {
    let (_, r, _) = run(&body(
        "[[action]]\nat = \"10s\"\ntaint = { node = \"node-a-0\", key = \"dedicated\", value = \"db\", effect = \"NoExecute\" }\n",
    ));
    let plain = eviction_ms(&r, "plain").expect("plain is evicted");
    assert!((10_000..10_100).contains(&plain), "{plain}");
    let ev = events_on(&r, Kind::Pod, "plain");
    assert_eq!(
        ev.iter()
            .find(|e| e.reason == "TaintManagerEviction")
            .unwrap()
            .message,
        "Marking for deletion Pod default/plain"
    );
    let patient = eviction_ms(&r, "patient").expect("patient is evicted later");
    assert!((40_000..40_100).contains(&patient), "{patient}");
    assert!(
        r.store
            .get::<Pod>(&ObjectKey::new("default", "plain"))
            .is_none(),
        "gone"
    );
}

#[test]
fn removing_the_taint_in_time_cancels_the_eviction() {
    let (_, r, _) = run(&body(
        "[[action]]\nat = \"10s\"\ntaint = { node = \"node-a-0\", key = \"dedicated\", value = \"db\", effect = \"NoExecute\" }\n[[action]]\nat = \"20s\"\nuntaint = { node = \"node-a-0\", key = \"dedicated\" }\n",
    ));
    assert!(eviction_ms(&r, "patient").is_none());
    assert!(
        events_on(&r, Kind::Pod, "patient")
            .iter()
            .any(|e| e.message == "Cancelling deletion of Pod default/patient")
    );
    assert!(
        r.store
            .get::<Pod>(&ObjectKey::new("default", "patient"))
            .is_some()
    );
}

#[test]
fn every_pod_tolerates_unreachable_for_300_s() {
    let (_, r, _) = run(&body(
        "[[action]]\nat = \"10s\"\ntaint = { node = \"node-a-0\", key = \"node.kubernetes.io/unreachable\", effect = \"NoExecute\" }\n",
    ));
    let plain = eviction_ms(&r, "plain").expect("evicted after 300 s");
    assert!((310_000..310_100).contains(&plain), "{plain}");
}

#[test]
fn taints_name_real_nodes_and_effects() {
    let bad = body(
        "[[action]]\nat = \"1s\"\ntaint = { node = \"node-a-1\", key = \"k\", effect = \"NoExecute\" }\n",
    );
    let err = match storsim::scenario::load_str("t.toml", &bad) {
        Ok(_) => panic!("refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("unknown node `node-a-1`") && err.contains("did you mean `node-a-0`?"),
        "{err}"
    );
    let bad = body(
        "[[action]]\nat = \"1s\"\ntaint = { node = \"node-a-0\", key = \"k\", effect = \"NoExcute\" }\n",
    );
    let err = match storsim::scenario::load_str("t.toml", &bad) {
        Ok(_) => panic!("refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("unknown taint effect `NoExcute`"), "{err}");
}

#[test]
fn an_untolerated_taint_cancels_a_scheduled_deletion_and_evicts_at_once() {
    // processPodOnNode: `patient` tolerates `dedicated` for 30 s; a second
    // NoExecute taint it does not tolerate, at 15 s, cancels that deletion
    // (saying so) and deletes it then, not at 40 s.
    let (_, r, _) = run(&body(
        "[[action]]\nat = \"10s\"\ntaint = { node = \"node-a-0\", key = \"dedicated\", value = \"db\", effect = \"NoExecute\" }\n[[action]]\nat = \"15s\"\ntaint = { node = \"node-a-0\", key = \"maintenance\", value = \"now\", effect = \"NoExecute\" }\n",
    ));
    let ev: Vec<(u64, String)> = events_on(&r, Kind::Pod, "patient")
        .iter()
        .filter(|e| e.reason == "TaintManagerEviction")
        .map(|e| (e.t.as_millis(), e.message.to_string()))
        .collect();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0].1, "Cancelling deletion of Pod default/patient");
    assert_eq!(ev[1].1, "Marking for deletion Pod default/patient");
    assert!((15_000..15_100).contains(&ev[0].0), "{ev:?}");
    assert_eq!(ev[0].0, ev[1].0, "cancelled and marked in one step");
}

#[test]
fn status_updates_of_an_evicted_pod_do_not_evict_it_again() {
    // PodUpdated only looks at a pod that comes, goes or changes node: the
    // status writes that follow an eviction (the DisruptionTarget
    // condition, termination) mark it once.
    let (_, r, _) = run(&body(
        "[[action]]\nat = \"10s\"\ntaint = { node = \"node-a-0\", key = \"dedicated\", value = \"db\", effect = \"NoExecute\" }\n",
    ));
    for pod in ["plain", "patient"] {
        let marks = events_on(&r, Kind::Pod, pod)
            .iter()
            .filter(|e| e.message.starts_with("Marking for deletion"))
            .count();
        assert_eq!(marks, 1, "{pod}");
    }
}
