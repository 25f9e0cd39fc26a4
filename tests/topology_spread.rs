//! PodTopologySpread: the reference document's multi-AZ StatefulSet
//! (maxSkew 1 on the zone, DoNotSchedule) lands one replica, and so one
//! volume, per zone; a constraint that cannot hold keeps a pod Pending with
//! the scheduler's exact text.

mod common;
use common::*;
use storsim::api::{Kind, Node, ObjectKey, PersistentVolume, Pod};
use storsim::simulation::{RunOptions, RunResult};

fn multi_az(replicas: u32, zone_c_taint: &str) -> String {
    scenario(
        "5m",
        &format!(
            r#"[cluster]
zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
[[cluster.node]]
name = "node-us-east-1a-0"
zone = "us-east-1a"
[[cluster.node]]
name = "node-us-east-1b-0"
zone = "us-east-1b"
[[cluster.node]]
name = "node-us-east-1c-0"
zone = "us-east-1c"
{zone_c_taint}
[backend]
profile = "aws-ebs"
[[storage_class]]
name = "fast-ssd"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
[[object]]
kind = "StatefulSet"
name = "postgres-ha"
[object.spec]
serviceName = "postgres"
replicas = {replicas}
selector = {{ matchLabels = {{ app = "postgres" }} }}
template.metadata.labels = {{ app = "postgres" }}
template.spec.containers = [{{ name = "postgres", image = "postgres:15" }}]
template.spec.topologySpreadConstraints = [{{ maxSkew = 1, topologyKey = "topology.kubernetes.io/zone", whenUnsatisfiable = "DoNotSchedule", labelSelector = {{ matchLabels = {{ app = "postgres" }} }} }}]
volumeClaimTemplates = [{{ metadata = {{ name = "data" }}, spec = {{ storageClassName = "fast-ssd", accessModes = ["ReadWriteOnce"], resources = {{ requests = {{ storage = "100Gi" }} }} }} }}]
"#
        ),
    )
}

fn zone_of_pod(r: &RunResult, pod: &str) -> Option<String> {
    let p = r.store.get::<Pod>(&ObjectKey::new("default", pod))?;
    let n = r
        .store
        .get::<Node>(&ObjectKey::cluster(&p.spec.node_name))?;
    n.zone().map(str::to_string)
}

#[test]
fn the_multi_az_statefulset_puts_one_replica_and_its_volume_in_each_zone() {
    for seed in 1..=6 {
        let (_, r, _) = run_with(
            &multi_az(3, ""),
            &RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        );
        let mut zones: Vec<String> = (0..3)
            .map(|i| zone_of_pod(&r, &format!("postgres-ha-{i}")).expect("scheduled"))
            .collect();
        for (i, zone) in zones.iter().enumerate() {
            let pv = volume_of(&r, &format!("data-postgres-ha-{i}"));
            let v = r
                .store
                .get::<PersistentVolume>(&ObjectKey::cluster(&pv))
                .unwrap();
            let pv_zone = serde_json::to_string(&v.spec.node_affinity).unwrap();
            assert!(
                pv_zone.contains(zone.as_str()),
                "seed {seed}: volume {i} in its pod's zone"
            );
        }
        zones.sort();
        assert_eq!(
            zones,
            ["us-east-1a", "us-east-1b", "us-east-1c"],
            "seed {seed}"
        );
    }
}

#[test]
fn a_fourth_replica_may_go_anywhere_within_max_skew() {
    let (_, r, _) = run(&multi_az(4, ""));
    let zones: std::collections::BTreeSet<String> = (0..4)
        .map(|i| zone_of_pod(&r, &format!("postgres-ha-{i}")).expect("all four scheduled"))
        .collect();
    assert_eq!(zones.len(), 3);
}

#[test]
fn a_zone_that_cannot_take_a_pod_still_counts_and_blocks_the_third_replica() {
    // nodeTaintsPolicy Ignore: the tainted zone is still a domain with 0
    // pods, so a third replica in a or b would make the skew 2.
    let (_, r, _) = run(&multi_az(
        3,
        "taints = [{ key = \"dedicated\", value = \"db\", effect = \"NoSchedule\" }]",
    ));
    assert!(zone_of_pod(&r, "postgres-ha-0").is_some());
    assert!(zone_of_pod(&r, "postgres-ha-1").is_some());
    assert!(zone_of_pod(&r, "postgres-ha-2").is_none(), "stays Pending");
    let ev = events_on(&r, Kind::Pod, "postgres-ha-2");
    let msg = &ev
        .iter()
        .find(|e| e.reason == "FailedScheduling" && e.message.contains("spread"))
        .expect("FailedScheduling")
        .message;
    assert_eq!(
        msg,
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 node(s) didn't match pod topology spread constraints. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
    );
}
