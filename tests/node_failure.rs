//! A machine going down: the node controller notices the missing
//! heartbeats after the 50 s grace period (at a 5 s monitor tick), marks the
//! node NotReady with the unreachable taints and its pods not ready; the
//! taint eviction controller deletes the pods 300 s later, and they stay
//! Terminating while the kubelet is gone; when the machine comes back the
//! kubelet finishes them and the node is Ready again.

mod common;
use common::*;
use storsim::api::node::TAINT_UNREACHABLE;
use storsim::api::{Kind, Node, ObjectKey, Pod};
use storsim::cluster::{ChangeOp, Record};
use storsim::simulation::{RunOptions, RunResult};

fn text(actions: &str) -> String {
    scenario(
        "12m",
        &format!(
            r#"[cluster]
zones = ["a", "b"]
[[cluster.node_group]]
per_zone = 2
[images."nginx"]
stop = "2s"
[[object]]
kind = "Pod"
name = "app"
spec = {{ nodeSelector = {{ "kubernetes.io/hostname" = "node-a-0" }}, containers = [{{ name = "c", image = "nginx" }}] }}
{actions}"#
        ),
    )
}

fn event_ms(r: &RunResult, kind: Kind, name: &str, reason: &str) -> Option<u64> {
    events_on(r, kind, name)
        .iter()
        .find(|e| e.reason == reason)
        .map(|e| e.t.as_millis())
}

#[test]
fn a_dead_node_goes_not_ready_after_the_grace_period_and_its_pods_are_evicted_300_s_later() {
    for seed in 1..=5 {
        let (_, r, _) = run_with(
            &text("[[action]]\nat = \"60s\"\nfail_node = \"node-a-0\"\n"),
            &RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        );
        let not_ready = event_ms(&r, Kind::Node, "node-a-0", "NodeNotReady").expect("NotReady");
        // Last heartbeat within 10 s before the failure, + 50 s, at a 5 s tick.
        assert!(
            (100_000..=115_000).contains(&not_ready),
            "seed {seed}: {not_ready}"
        );
        assert_eq!(not_ready % 5_000, 0, "a monitor tick");
        let ev = events_on(&r, Kind::Node, "node-a-0");
        assert_eq!(
            ev.iter()
                .find(|e| e.reason == "NodeNotReady")
                .unwrap()
                .message,
            "Node node-a-0 status is now: NodeNotReady"
        );
        let pod_ev = events_on(&r, Kind::Pod, "app");
        let nr = pod_ev.iter().find(|e| e.reason == "NodeNotReady").unwrap();
        assert_eq!(
            (nr.kind.as_str(), nr.message.as_str()),
            ("Warning", "Node is not ready")
        );
        let node = r
            .store
            .get::<Node>(&ObjectKey::cluster("node-a-0"))
            .unwrap();
        assert!(!node.status.ready);
        for effect in ["NoSchedule", "NoExecute"] {
            assert!(
                node.spec
                    .taints
                    .iter()
                    .any(|t| t.key == TAINT_UNREACHABLE && t.effect == effect),
                "{effect}"
            );
        }
        let evicted = event_ms(&r, Kind::Pod, "app", "TaintManagerEviction").expect("evicted");
        assert!(
            (not_ready + 300_000..not_ready + 300_100).contains(&evicted),
            "seed {seed}: {evicted}"
        );
        let pod = r
            .store
            .get::<Pod>(&ObjectKey::new("default", "app"))
            .unwrap();
        assert!(
            pod.metadata.deletion_timestamp.is_some(),
            "stays Terminating"
        );
        // Untouched: the other nodes.
        assert!(event_ms(&r, Kind::Node, "node-a-1", "NodeNotReady").is_none());
    }
}

#[test]
fn when_the_machine_comes_back_the_kubelet_finishes_the_pod_and_the_node_is_ready() {
    let (_, r, _) = run(&text(
        "[[action]]\nat = \"60s\"\nfail_node = \"node-a-0\"\n[[action]]\nat = \"500s\"\nrecover_node = \"node-a-0\"\n",
    ));
    let gone = r.store.log().iter().find_map(|rec| match rec {
        Record::Change(c) if c.object.key.name == "app" && c.op == ChangeOp::Deleted => {
            Some(c.t.as_millis())
        }
        _ => None,
    });
    assert!(gone.is_some_and(|t| t > 500_000), "{gone:?}");
    let ready = event_ms(&r, Kind::Node, "node-a-0", "NodeReady").expect("NodeReady");
    assert!((500_000..=515_000).contains(&ready), "{ready}");
    let node = r
        .store
        .get::<Node>(&ObjectKey::cluster("node-a-0"))
        .unwrap();
    assert!(node.status.ready && node.spec.taints.is_empty());
}

#[test]
fn a_zone_outage_takes_every_node_of_the_zone_and_no_other() {
    let (_, r, _) = run(&text("[[action]]\nat = \"60s\"\nfail_zone = \"a\"\n"));
    let a0 = event_ms(&r, Kind::Node, "node-a-0", "NodeNotReady");
    let a1 = event_ms(&r, Kind::Node, "node-a-1", "NodeNotReady");
    assert!(a0.is_some() && a1.is_some());
    assert!(event_ms(&r, Kind::Node, "node-b-0", "NodeNotReady").is_none());
    let no_exec = |n: &str| {
        r.store
            .get::<Node>(&ObjectKey::cluster(n))
            .unwrap()
            .spec
            .taints
            .iter()
            .any(|t| t.effect == "NoExecute")
    };
    assert!(no_exec("node-a-0") && no_exec("node-a-1"));
}
