//! Volume expansion: the API server's rules for a claim's new size, the
//! external-resizer and kubelet's NodeExpandVolume, online and offline, and
//! EBS's one modification per 6 hours.

mod common;
use common::*;
use storsim::api::{Kind, ObjectKey, Pod};
use storsim::backend::Operation;
use storsim::cluster::Record;
use storsim::simulation::{RunOptions, RunResult};

/// One pod `db` on a 100Gi claim `data` of class `sc` (expansion allowed
/// or not), created at 0; `extra` adds backend settings and actions.
fn text(allow: bool, extra: &str) -> String {
    scenario(
        "10m",
        &format!(
            r#"[cluster]
zones = ["a"]
[[cluster.node_group]]
per_zone = 1
[[storage_class]]
name = "sc"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
allowVolumeExpansion = {allow}
[[object]]
kind = "PersistentVolumeClaim"
name = "data"
spec = {{ accessModes = ["ReadWriteOnce"], storageClassName = "sc", resources = {{ requests = {{ storage = "100Gi" }} }} }}
[[object]]
kind = "Pod"
name = "db"
spec = {{ containers = [{{ name = "c", image = "postgres" }}], volumes = [{{ name = "d", persistentVolumeClaim = {{ claimName = "data" }} }}] }}
{extra}"#
        ),
    )
}

fn resize(at: &str, size: &str) -> String {
    format!("[[action]]\nat = \"{at}\"\nresize = {{ claim = \"data\", size = \"{size}\" }}\n")
}

fn actions(r: &RunResult) -> Vec<String> {
    r.store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Action(a) => Some(a.description.clone()),
            _ => None,
        })
        .collect()
}

fn calls(r: &RunResult, op: Operation) -> Vec<(u64, u64, Result<String, String>)> {
    calls_of(r, op)
}

fn capacity(r: &RunResult) -> String {
    claim(r, "data").unwrap().status.capacity["storage"].to_string()
}

#[test]
fn the_api_server_refuses_what_kubernetes_refuses() {
    // Expansion not allowed by the class.
    let (_, r, _) = run(&text(false, &resize("60s", "200Gi")));
    assert!(
        actions(&r).iter().any(|a| a.ends_with(
            "failed: persistentvolumeclaims \"data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
        )),
        "{:?}",
        actions(&r)
    );
    assert_eq!(calls(&r, Operation::ControllerExpand).len(), 0);
    // Shrinking to or below what the claim has.
    let (_, r, _) = run(&text(true, &resize("60s", "50Gi")));
    assert!(actions(&r).iter().any(|a| a.ends_with(
        "failed: PersistentVolumeClaim \"data\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
    )));
    assert_eq!(
        claim(&r, "data").unwrap().request().unwrap().to_string(),
        "100Gi"
    );
    // An unbound claim's spec is immutable.
    let pending = text(true, &resize("1ms", "200Gi"));
    let (_, r, _) = run(&pending);
    assert!(actions(&r).iter().any(|a| a.ends_with(
        "failed: PersistentVolumeClaim \"data\" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
    )), "{:?}", actions(&r));
}

#[test]
fn a_failed_expansion_can_be_walked_back_but_never_below_the_capacity() {
    // Recovery (RecoverVolumeExpansionFailure): 500Gi is refused by a
    // failing ModifyVolume; asking for 150Gi instead is accepted and done.
    let extra = format!(
        "{}{}[[action]]\nat = \"61s\"\nfault = {{ operation = \"controller_expand\", change = {{ fail_first = 1000 }} }}\n[[action]]\nat = \"90s\"\nclear_fault = \"controller_expand\"\n",
        resize("62s", "500Gi"),
        resize("80s", "150Gi")
    );
    let (_, r, _) = run(&text(true, &extra));
    let acts = actions(&r);
    assert!(!acts.iter().any(|a| a.contains("failed")), "{acts:?}");
    let c = claim(&r, "data").unwrap();
    assert_eq!(c.request().unwrap().to_string(), "150Gi");
    assert_eq!(capacity(&r), "150Gi");
    assert_eq!(
        c.status.allocated_resources["storage"].to_string(),
        "150Gi",
        "allocatedResources follows the new request"
    );
}

#[test]
fn online_expansion_grows_the_filesystem_at_the_next_pod_sync_without_a_restart() {
    for seed in 1..=6 {
        let (_, r, _) = run_with(
            &text(true, &resize("60s", "200Gi")),
            &RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        );
        let ctrl = calls(&r, Operation::ControllerExpand);
        assert_eq!(ctrl.len(), 1, "seed {seed}");
        let (c_start, c_end, c_res) = &ctrl[0];
        assert!(
            *c_start >= 60_000 && *c_start < 60_100,
            "seed {seed}: {c_start}"
        );
        assert_eq!(c_res.as_deref(), Ok("200Gi"));
        let node = calls(&r, Operation::NodeExpand);
        assert_eq!(node.len(), 1, "seed {seed}");
        let (n_start, _, n_res) = &node[0];
        // At the pod's next sync: within a minute of the PV growing.
        assert!(
            *n_start > *c_end && *n_start <= c_end + 60_100,
            "seed {seed}: {c_end} → {n_start}"
        );
        assert_eq!(n_res.as_deref(), Ok("200Gi"));
        // The claim reported 100Gi while only the block device was grown.
        let pending = events_on(&r, Kind::PersistentVolumeClaim, "data")
            .into_iter()
            .find(|e| e.reason == "FileSystemResizeRequired")
            .expect("FileSystemResizeRequired");
        assert_eq!(pending.t.as_millis(), *c_end);
        assert_eq!(capacity(&r), "200Gi");
        assert_eq!(
            volume(&r, &volume_of(&r, "data")).unwrap().spec.capacity["storage"].to_string(),
            "200Gi"
        );
        let c = claim(&r, "data").unwrap();
        assert!(c.status.conditions.is_empty(), "{:?}", c.status.conditions);
        assert!(c.status.allocated_resource_statuses.is_empty());
        let ext = events_on(&r, Kind::PersistentVolumeClaim, "data")
            .into_iter()
            .find(|e| e.reason == "ExternalExpanding")
            .expect("ExternalExpanding");
        assert_eq!(
            (ext.kind.as_str(), ext.message.as_str()),
            (
                "Warning",
                "Ignoring the PVC: didn't find a plugin capable of expanding the volume; waiting for an external controller to process this PVC."
            )
        );
        // No restart: the pod is the one created at the start.
        let pod = r
            .store
            .get::<Pod>(&ObjectKey::new("default", "db"))
            .unwrap();
        assert_eq!(pod.metadata.creation_timestamp.as_millis(), 0);
        let reasons: Vec<String> = events_on(&r, Kind::PersistentVolumeClaim, "data")
            .into_iter()
            .filter(|e| e.t.as_millis() >= 60_000 && e.reason != "ExternalExpanding")
            .map(|e| e.reason.to_string())
            .collect();
        assert_eq!(
            reasons,
            [
                "Resizing",
                "FileSystemResizeRequired",
                "FileSystemResizeSuccessful"
            ],
            "seed {seed}"
        );
    }
}

#[test]
fn an_offline_only_driver_waits_until_no_pod_uses_the_claim_and_grows_the_filesystem_at_the_next_mount()
 {
    let extra = format!(
        "[backend.driver]\nexpansion = \"offline\"\n{}[[action]]\nat = \"120s\"\ndelete = \"Pod/db\"\n[[action]]\nat = \"400s\"\ncreate = {{ kind = \"Pod\", name = \"db2\", spec = {{ containers = [{{ name = \"c\", image = \"postgres\" }}], volumes = [{{ name = \"d\", persistentVolumeClaim = {{ claimName = \"data\" }} }}] }} }}\n",
        resize("60s", "200Gi")
    );
    let (_, r, _) = run(&text(true, &extra));
    let ev = events_on(&r, Kind::PersistentVolumeClaim, "data");
    let in_use = ev
        .iter()
        .find(|e| {
            e.message
                .contains("only supports offline expansion and volume is currently in-use")
        })
        .expect("in-use refusal");
    assert_eq!(
        in_use.message,
        "Unable to expand default/data because CSI driver ebs.csi.aws.com only supports offline expansion and volume is currently in-use"
    );
    let ctrl = calls(&r, Operation::ControllerExpand);
    // Refused while attached; the one that works comes after the detach.
    assert!(
        ctrl[0]
            .2
            .as_ref()
            .is_err_and(|e| e.contains("FailedPrecondition"))
    );
    let ok = ctrl.iter().find(|c| c.2.is_ok()).expect("expanded");
    let detached = calls(&r, Operation::Detach)[0].1;
    assert!(ok.0 >= detached, "{ok:?} vs detach at {detached}");
    // No call while the pod was there, after the first refusal.
    let pod_gone = r
        .store
        .log()
        .iter()
        .find_map(|rec| match rec {
            Record::Change(c)
                if c.object.key.name == "db" && c.op == storsim::cluster::ChangeOp::Deleted =>
            {
                Some(c.t.as_millis())
            }
            _ => None,
        })
        .unwrap();
    assert!(ctrl[1..].iter().all(|c| c.0 >= pod_gone), "{ctrl:?}");
    // The new pod: NodeStage, NodeExpand, then NodePublish.
    let stage = calls(&r, Operation::NodeStage);
    let expand = calls(&r, Operation::NodeExpand);
    let publish = calls(&r, Operation::NodePublish);
    assert_eq!(expand.len(), 1);
    assert_eq!(expand[0].0, stage[1].1);
    assert_eq!(publish[1].0, expand[0].1);
    assert_eq!(capacity(&r), "200Gi");
    let pod_ev = events_on(&r, Kind::Pod, "db2");
    assert!(pod_ev.iter().any(|e| {
        e.reason == "FileSystemResizeSuccessful"
            && e.message
                .starts_with("MountVolume.NodeExpandVolume succeeded for volume \"pvc-")
    }));
}

#[test]
fn ebs_allows_one_modification_per_volume_every_six_hours() {
    let body = text(
        true,
        &format!(
            "[backend]\nprofile = \"aws-ebs\"\n{}{}",
            resize("60s", "200Gi"),
            resize("5m", "300Gi")
        ),
    );
    let (_, r, _) = run(&body);
    let ctrl = calls(&r, Operation::ControllerExpand);
    assert!(ctrl[0].2.is_ok());
    assert!(ctrl[1..].iter().all(|c| {
        c.2.as_ref()
            .is_err_and(|e| e.contains("VolumeModificationRateExceeded"))
    }));
    assert_eq!(capacity(&r), "200Gi");
    // After six hours it goes through.
    let later = body.replace("end = \"10m\"", "end = \"6h10m\"") + &resize("6h1m", "400Gi");
    let (_, r, _) = run(&later);
    assert_eq!(capacity(&r), "400Gi");
}
