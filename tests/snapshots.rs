//! Volume snapshots: the snapshot controller and the csi-snapshotter from
//! VolumeSnapshot to ready, restores through `dataSource` and their
//! refusals, and deletion by policy.

mod common;
use common::*;
use storsim::api::volume_snapshot::FINALIZER_PVC_AS_SOURCE;
use storsim::api::{Kind, ObjectKey, VolumeSnapshot, VolumeSnapshotContent};
use storsim::backend::Operation;
use storsim::cluster::Record;
use storsim::simulation::RunResult;

/// A pod `db` with a bound 10Gi claim `data`; snapshot classes `retain`
/// and `delete`; the reference profile (CreateSnapshot 1 s, upload 59 s,
/// format 1 s); then `actions`.
fn text(end: &str, actions: &str) -> String {
    scenario(
        end,
        &format!(
            r#"[cluster]
zones = ["a"]
[[cluster.node_group]]
per_zone = 1
[[storage_class]]
name = "sc"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
[[snapshot_class]]
name = "retain"
driver = "ebs.csi.aws.com"
deletionPolicy = "Retain"
[[snapshot_class]]
name = "delete"
driver = "ebs.csi.aws.com"
deletionPolicy = "Delete"
[[object]]
kind = "PersistentVolumeClaim"
name = "data"
spec = {{ accessModes = ["ReadWriteOnce"], storageClassName = "sc", resources = {{ requests = {{ storage = "10Gi" }} }} }}
[[object]]
kind = "Pod"
name = "db"
spec = {{ containers = [{{ name = "c", image = "postgres" }}], volumes = [{{ name = "d", persistentVolumeClaim = {{ claimName = "data" }} }}] }}
{actions}"#
        ),
    )
}

fn snapshot(at: &str, name: &str, class: &str, claim: &str) -> String {
    format!(
        "[[action]]\nat = \"{at}\"\ncreate = {{ kind = \"VolumeSnapshot\", name = \"{name}\", spec = {{ volumeSnapshotClassName = \"{class}\", source = {{ persistentVolumeClaimName = \"{claim}\" }} }} }}\n"
    )
}

fn restore(at: &str, name: &str, size: &str, from: &str) -> String {
    format!(
        "[[action]]\nat = \"{at}\"\ncreate = {{ kind = \"PersistentVolumeClaim\", name = \"{name}\", spec = {{ accessModes = [\"ReadWriteOnce\"], storageClassName = \"sc\", resources = {{ requests = {{ storage = \"{size}\" }} }}, dataSource = {{ name = \"{from}\", kind = \"VolumeSnapshot\", apiGroup = \"snapshot.storage.k8s.io\" }} }} }}\n[[action]]\nat = \"{at}\"\ncreate = {{ kind = \"Pod\", name = \"use-{name}\", spec = {{ containers = [{{ name = \"c\", image = \"postgres\" }}], volumes = [{{ name = \"d\", persistentVolumeClaim = {{ claimName = \"{name}\" }} }}] }} }}\n"
    )
}

/// (start, end) of every call of `op`.
fn calls(r: &RunResult, op: Operation) -> Vec<(u64, u64)> {
    calls_of(r, op)
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect()
}

fn snap(r: &RunResult, name: &str) -> Option<VolumeSnapshot> {
    r.store
        .get::<VolumeSnapshot>(&ObjectKey::new("default", name))
        .cloned()
}

fn event_messages(r: &RunResult, kind: Kind, name: &str, reason: &str) -> Vec<(u64, String)> {
    events_on(r, kind, name)
        .into_iter()
        .filter(|e| e.reason == reason)
        .map(|e| (e.t.as_millis(), e.message.to_string()))
        .collect()
}

#[test]
fn a_snapshot_is_taken_at_once_and_ready_when_the_sidecars_poll_finds_it_completed() {
    let (_, r, _) = run(&text("5m", &snapshot("60s", "s1", "retain", "data")));
    let created = event_messages(&r, Kind::VolumeSnapshot, "s1", "CreatingSnapshot");
    assert_eq!(
        created[0].1,
        "Waiting for a snapshot default/s1 to be created by the CSI driver."
    );
    let polls = calls(&r, Operation::CreateSnapshot);
    // The first call, then one poll after each answer: 1 s, 2 s, 4 s …
    let gaps: Vec<u64> = polls.windows(2).map(|w| w[1].0 - w[0].1).collect();
    assert_eq!(&gaps[..5], &[1000, 2000, 4000, 8000, 16000], "{polls:?}");
    // Complete 59 s after the first call; seen at the first poll after.
    let done = polls[0].0 + 59_000;
    let seen = polls.iter().find(|p| p.0 >= done).unwrap();
    assert!(polls.iter().filter(|p| p.0 < done).count() >= 5);
    let taken = event_messages(&r, Kind::VolumeSnapshot, "s1", "SnapshotCreated");
    assert_eq!(
        taken[0].1,
        "Snapshot default/s1 was successfully created by the CSI driver."
    );
    assert!(taken[0].0 < done, "creationTime is set long before ready");
    let ready = event_messages(&r, Kind::VolumeSnapshot, "s1", "SnapshotReady");
    assert_eq!(ready[0].1, "Snapshot default/s1 is ready to use.");
    assert!(ready[0].0 >= seen.1 && ready[0].0 < seen.1 + 100);
    assert_eq!(
        polls.len(),
        polls.iter().position(|p| p == seen).unwrap() + 1,
        "no poll once ready"
    );
    let s = snap(&r, "s1").unwrap();
    assert!(s.ready());
    assert_eq!(s.status.restore_size.as_ref().unwrap().to_string(), "10Gi");
    let content = r
        .store
        .get::<VolumeSnapshotContent>(&ObjectKey::cluster(
            s.status
                .bound_volume_snapshot_content_name
                .as_ref()
                .unwrap(),
        ))
        .unwrap();
    assert_eq!(
        content.metadata.name,
        format!("snapcontent-{}", s.metadata.uid)
    );
    assert!(
        content
            .status
            .snapshot_handle
            .as_ref()
            .unwrap()
            .starts_with("snap-")
    );
    assert_eq!(content.status.restore_size, Some(10 * (1i128 << 30)));
    assert_eq!(
        content.status.creation_time.unwrap().as_millis(),
        polls[0].0,
        "the point in time is when CreateSnapshot was called"
    );
    // The claim was protected while the snapshot was taken, not after.
    let pvc = claim(&r, "data").unwrap();
    assert!(
        !pvc.metadata
            .finalizers
            .iter()
            .any(|f| f == FINALIZER_PVC_AS_SOURCE)
    );
}

#[test]
fn the_source_claim_cannot_go_while_its_snapshot_is_being_taken() {
    let (_, r, _) = run(&text(
        "5m",
        &format!(
            "{}[[action]]\nat = \"65s\"\ndelete = \"Pod/db\"\n[[action]]\nat = \"70s\"\ndelete = \"PersistentVolumeClaim/data\"\n",
            snapshot("60s", "s1", "retain", "data")
        ),
    ));
    let ready = event_messages(&r, Kind::VolumeSnapshot, "s1", "SnapshotReady")[0].0;
    let gone = r
        .store
        .log()
        .iter()
        .find_map(|rec| match rec {
            Record::Change(c)
                if c.object.kind == Kind::PersistentVolumeClaim
                    && c.object.key.name == "data"
                    && c.op == storsim::cluster::ChangeOp::Deleted =>
            {
                Some(c.t.as_millis())
            }
            _ => None,
        })
        .expect("claim deleted in the end");
    assert!(
        gone >= ready,
        "claim gone at {gone}, snapshot ready at {ready}"
    );
}

#[test]
fn a_restore_waits_for_a_ready_snapshot_of_a_size_it_can_hold_and_skips_the_format() {
    let actions = format!(
        "{}{}{}",
        snapshot("60s", "s1", "retain", "data"),
        restore("70s", "copy", "10Gi", "s1"),
        restore("70s", "small", "5Gi", "s1"),
    );
    let (_, r, _) = run(&text("10m", &actions));
    let fails = event_messages(
        &r,
        Kind::PersistentVolumeClaim,
        "copy",
        "ProvisioningFailed",
    );
    assert_eq!(
        fails[0].1,
        "failed to provision volume with StorageClass \"sc\": error getting handle for DataSource Type VolumeSnapshot by Name s1: snapshot s1 is not Ready"
    );
    let ready = event_messages(&r, Kind::VolumeSnapshot, "s1", "SnapshotReady")[0].0;
    assert!(fails.iter().all(|(t, _)| *t < ready));
    assert_eq!(claim_phase(&r, "copy"), "Bound");
    let small = event_messages(
        &r,
        Kind::PersistentVolumeClaim,
        "small",
        "ProvisioningFailed",
    );
    assert!(small.iter().any(|(_, m)| m
        == "failed to provision volume with StorageClass \"sc\": error getting handle for DataSource Type VolumeSnapshot by Name s1: requested volume size 5368709120 is less than the size 10737418240 for the source snapshot s1"));
    assert_eq!(claim_phase(&r, "small"), "Pending");
    // The original is formatted on first stage (1 s); the restore is not.
    let stages = calls(&r, Operation::NodeStage);
    assert_eq!(stages.len(), 2);
    assert!(stages[0].1 - stages[0].0 >= 1000);
    assert!(stages[1].1 - stages[1].0 < 1000, "{stages:?}");
}

#[test]
fn deletion_follows_the_class_policy_and_waits_for_restores() {
    let actions = format!(
        "{}{}[[action]]\nat = \"3m\"\ndelete = \"VolumeSnapshot/gone\"\n[[action]]\nat = \"3m\"\ndelete = \"VolumeSnapshot/kept\"\n",
        snapshot("60s", "gone", "delete", "data"),
        snapshot("60s", "kept", "retain", "data"),
    );
    let (_, r, _) = run(&text("5m", &actions));
    assert!(snap(&r, "gone").is_none() && snap(&r, "kept").is_none());
    let contents: Vec<String> = r
        .store
        .list::<VolumeSnapshotContent>()
        .map(|c| c.spec.volume_snapshot_ref.name.clone())
        .collect();
    assert_eq!(contents, ["kept"], "Retain keeps the content");
    assert_eq!(calls(&r, Operation::DeleteSnapshot).len(), 1);
    // A snapshot a claim is being restored from stays.
    let actions = format!(
        "{}{}[[action]]\nat = \"65s\"\ndelete = \"VolumeSnapshot/s1\"\n",
        snapshot("60s", "s1", "delete", "data"),
        restore("62s", "copy", "10Gi", "s1"),
    );
    let (_, r, _) = run(&text("5m", &actions));
    let pending = event_messages(&r, Kind::VolumeSnapshot, "s1", "SnapshotDeletePending");
    assert_eq!(pending[0].1, "Snapshot is being used to restore a PVC");
    assert!(
        snap(&r, "s1")
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    let copy = event_messages(
        &r,
        Kind::PersistentVolumeClaim,
        "copy",
        "ProvisioningFailed",
    );
    assert!(
        copy.iter()
            .any(|(_, m)| m.ends_with("snapshot s1 is currently being deleted"))
    );
}

#[test]
fn a_snapshot_of_nothing_says_why() {
    let actions = format!(
        "{}{}",
        snapshot("60s", "no-class", "missing", "data"),
        snapshot("60s", "no-claim", "retain", "nope"),
    );
    let (_, r, _) = run(&text("2m", &actions));
    let c = event_messages(
        &r,
        Kind::VolumeSnapshot,
        "no-class",
        "GetSnapshotClassFailed",
    );
    assert_eq!(
        c[0].1,
        "Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io \"missing\" not found"
    );
    let p = event_messages(
        &r,
        Kind::VolumeSnapshot,
        "no-claim",
        "SnapshotPVCSourceMissing",
    );
    assert_eq!(
        p[0].1,
        "PVC source for snapshot default/no-claim is missing"
    );
    // Retried with the backoff: 1 s, 2 s, 4 s …
    let gaps: Vec<u64> = p.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert_eq!(&gaps[..4], &[1000, 2000, 4000, 8000], "{p:?}");
    assert!(!snap(&r, "no-claim").unwrap().ready());
}
