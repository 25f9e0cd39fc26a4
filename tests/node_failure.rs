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

/// A one-replica StatefulSet with its volume on node-a-0 (node-a-1 is
/// tainted until 30 s so the pod lands on node-a-0); node-a-0 dies at 60 s.
fn stateful(actions: &str) -> String {
    scenario(
        "25m",
        &format!(
            r#"[cluster]
zones = ["a"]
[[cluster.node]]
name = "node-a-0"
zone = "a"
[[cluster.node]]
name = "node-a-1"
zone = "a"
taints = [{{ key = "wait", effect = "NoSchedule" }}]
[backend]
profile = "aws-ebs"
[images."postgres:15"]
stop = "5s"
[[storage_class]]
name = "gp3"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
[[object]]
kind = "StatefulSet"
name = "db"
[object.spec]
serviceName = "db"
replicas = 1
selector = {{ matchLabels = {{ app = "db" }} }}
template.metadata.labels = {{ app = "db" }}
template.spec.containers = [{{ name = "postgres", image = "postgres:15" }}]
volumeClaimTemplates = [{{ metadata = {{ name = "data" }}, spec = {{ accessModes = ["ReadWriteOnce"], storageClassName = "gp3", resources = {{ requests = {{ storage = "10Gi" }} }} }} }}]
[[action]]
at = "30s"
untaint = {{ node = "node-a-1", key = "wait" }}
[[action]]
at = "60s"
fail_node = "node-a-0"
{actions}"#
        ),
    )
}

fn op_ms(r: &RunResult, op: &str, phase_end: bool, target: &str) -> Vec<u64> {
    r.store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Operation(o)
                if o.op.csi_name() == op
                    && (o.phase == storsim::cluster::CallPhase::End) == phase_end
                    && o.target.contains(target) =>
            {
                Some(o.t.as_millis())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_force_deleted_statefulset_pod_waits_six_minutes_for_the_force_detach() {
    let (_, r, _) = run(&stateful(
        "[[action]]\nat = \"420s\"\ndelete = \"Pod/db-0\"\nforce = true\n",
    ));
    // Until the force delete the pod stays Terminating and nothing is recreated.
    let creates = r
        .store
        .log()
        .iter()
        .filter(|rec| matches!(rec, Record::Change(c) if c.object.key.name == "db-0" && c.op == ChangeOp::Added))
        .count();
    assert_eq!(creates, 2, "the original and one replacement");
    // The replacement on node-a-1 meets the volume still attached to node-a-0.
    let multi = events_on(&r, Kind::Pod, "db-0")
        .into_iter()
        .find(|e| e.reason == "FailedAttachVolume")
        .expect("Multi-Attach while the old attachment stands");
    assert!(
        multi.message.contains("Multi-Attach error"),
        "{}",
        multi.message
    );
    // The detach from the dead node: 6 minutes after it was wanted (420 s).
    let detach = op_ms(&r, "ControllerUnpublishVolume", false, "node-a-0");
    assert!(
        detach
            .first()
            .is_some_and(|t| (780_000..781_000).contains(t)),
        "{detach:?}"
    );
    let attach = op_ms(&r, "ControllerPublishVolume", true, "node-a-1");
    assert!(attach.first().is_some_and(|t| *t > 780_000), "{attach:?}");
    let pod = r
        .store
        .get::<Pod>(&ObjectKey::new("default", "db-0"))
        .unwrap();
    assert!(
        pod.running_and_ready(),
        "runs in the end on {}",
        pod.spec.node_name
    );
    assert_eq!(pod.spec.node_name, "node-a-1");
}

#[test]
fn the_out_of_service_taint_frees_the_pod_and_the_volume_at_once() {
    let (_, r, _) = run(&stateful(
        "[[action]]\nat = \"420s\"\ntaint = { node = \"node-a-0\", key = \"node.kubernetes.io/out-of-service\", value = \"nodeshutdown\", effect = \"NoExecute\" }\n",
    ));
    // PodGC force-deletes the terminating pod at its next 20 s check.
    let gone = r
        .store
        .log()
        .iter()
        .find_map(|rec| match rec {
            Record::Change(c) if c.object.key.name == "db-0" && c.op == ChangeOp::Deleted => {
                Some(c.t.as_millis())
            }
            _ => None,
        })
        .expect("force-deleted");
    assert!((420_000..=440_100).contains(&gone), "{gone}");
    let detach = op_ms(&r, "ControllerUnpublishVolume", false, "node-a-0");
    assert!(
        detach.first().is_some_and(|t| *t < gone + 1_000),
        "no 6-minute wait: {detach:?}"
    );
    let pod = r
        .store
        .get::<Pod>(&ObjectKey::new("default", "db-0"))
        .unwrap();
    assert!(pod.running_and_ready());
    let ran = events_on(&r, Kind::Pod, "db-0")
        .iter()
        .filter(|e| e.reason == "Started")
        .map(|e| e.t.as_millis())
        .max()
        .unwrap();
    assert!(ran < gone + 120_000, "running within two minutes: {ran}");
}

/// One pod pinned to each node of a cluster of `per_zone` nodes in each of
/// `zones`, and `actions`.
fn fleet(zones: &[&str], per_zone: usize, actions: &str) -> String {
    let mut body = format!(
        "[cluster]\nzones = {zones:?}\n[[cluster.node_group]]\nper_zone = {per_zone}\n[images.\"nginx\"]\nstop = \"2s\"\n"
    );
    for z in zones {
        for i in 0..per_zone {
            body.push_str(&format!(
                "[[object]]\nkind = \"Pod\"\nname = \"p-{z}-{i}\"\nspec = {{ nodeSelector = {{ \"kubernetes.io/hostname\" = \"node-{z}-{i}\" }}, containers = [{{ name = \"c\", image = \"nginx\" }}] }}\n"
            ));
        }
    }
    body.push_str(actions);
    scenario("12m", &body)
}

fn has_no_execute(r: &RunResult, node: &str) -> bool {
    r.store
        .get::<Node>(&ObjectKey::cluster(node))
        .unwrap()
        .spec
        .taints
        .iter()
        .any(|t| t.key == TAINT_UNREACHABLE && t.effect == "NoExecute")
}

#[test]
fn a_fully_disrupted_zone_is_tainted_one_node_per_10_s_while_other_zones_are_healthy() {
    for seed in 1..=6 {
        let (_, r, _) = run_with(
            &fleet(
                &["a", "b"],
                3,
                "[[action]]\nat = \"60s\"\nfail_zone = \"a\"\n",
            ),
            &RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        );
        let mut evicted: Vec<u64> = (0..3)
            .map(|i| {
                let p = format!("p-a-{i}");
                event_ms(&r, Kind::Pod, &p, "TaintManagerEviction").expect("evicted")
            })
            .collect();
        evicted.sort();
        // The NoExecute taints, and so the evictions 300 s later, leave the
        // zone's queue at 0.1 node/s.
        for w in evicted.windows(2) {
            assert!(w[1] - w[0] >= 10_000, "seed {seed}: {evicted:?}");
        }
        assert!(event_ms(&r, Kind::Pod, "p-b-0", "TaintManagerEviction").is_none());
    }
}

#[test]
fn when_every_zone_is_down_no_node_gets_a_no_execute_taint_and_nothing_is_evicted() {
    let (_, r, _) = run(&fleet(
        &["a"],
        2,
        "[[action]]\nat = \"60s\"\nfail_zone = \"a\"\n",
    ));
    for n in ["node-a-0", "node-a-1"] {
        assert!(event_ms(&r, Kind::Node, n, "NodeNotReady").is_some());
        assert!(!has_no_execute(&r, n), "{n}: master disruption mode");
        let node = r.store.get::<Node>(&ObjectKey::cluster(n)).unwrap();
        assert!(
            node.spec
                .taints
                .iter()
                .any(|t| t.key == TAINT_UNREACHABLE && t.effect == "NoSchedule"),
            "{n}: NoSchedule stays"
        );
    }
    for p in ["p-a-0", "p-a-1"] {
        // A deletion scheduled by the first node's taint is cancelled when
        // the second node takes the whole cluster down.
        assert!(
            !events_on(&r, Kind::Pod, p)
                .iter()
                .any(|e| e.message.starts_with("Marking for deletion")),
            "{p}"
        );
        let pod = r.store.get::<Pod>(&ObjectKey::new("default", p)).unwrap();
        assert!(pod.metadata.deletion_timestamp.is_none(), "{p}");
    }
}

#[test]
fn a_small_zone_with_most_nodes_down_is_partially_disrupted_and_evicts_nothing() {
    // 3 of 4 nodes down: more than 2 and at least 55 % — partial
    // disruption, and a zone of at most 50 nodes stops its evictions.
    let three = "[[action]]\nat = \"60s\"\nfail_node = \"node-a-0\"\n[[action]]\nat = \"60s\"\nfail_node = \"node-a-1\"\n[[action]]\nat = \"60s\"\nfail_node = \"node-a-2\"\n";
    let (_, r, _) = run(&fleet(&["a", "b"], 4, three));
    for i in 0..3 {
        let n = format!("node-a-{i}");
        assert!(event_ms(&r, Kind::Node, &n, "NodeNotReady").is_some());
    }
    let tainted = (0..3)
        .filter(|i| has_no_execute(&r, &format!("node-a-{i}")))
        .count();
    // The first nodes to go NotReady may be tainted before the third one
    // tips the zone over; after that nothing more is.
    assert!(tainted < 3, "{tainted}");
    // 2 of 4 down is still a normal zone: both are tainted.
    let two = "[[action]]\nat = \"60s\"\nfail_node = \"node-a-0\"\n[[action]]\nat = \"60s\"\nfail_node = \"node-a-1\"\n";
    let (_, r, _) = run(&fleet(&["a", "b"], 4, two));
    assert!(has_no_execute(&r, "node-a-0") && has_no_execute(&r, "node-a-1"));
}
