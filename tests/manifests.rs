//! Kubernetes YAML manifests: multi-document files and Lists, the API's
//! defaults, quantities, warnings for what storsim does not model (with
//! file and line), located errors for malformed YAML.

use std::collections::BTreeSet;
use storsim::api::{AnyObject, StatefulSet};
use storsim::scenario::manifest::{Loaded, load_text};

fn load(text: &str) -> (Loaded, Vec<storsim::scenario::diag::InputError>) {
    let mut out = Loaded::default();
    let mut errors = Vec::new();
    load_text("m.yaml", text, &mut out, &mut errors, &mut BTreeSet::new());
    (out, errors)
}

#[test]
fn defaults_are_the_api_servers() {
    let (m, e) = load(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: plain\nprovisioner: ebs.csi.aws.com\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: c\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n  serviceName: web\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: c\n        image: nginx\n---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: pv\nspec:\n  capacity: {storage: 5Gi}\n  accessModes: [ReadWriteOnce]\n  hostPath: {path: /tmp/x}\n",
    );
    assert!(
        e.is_empty(),
        "{:?}",
        e.iter().map(|e| e.render()).collect::<Vec<_>>()
    );
    let sc = &m.classes[0];
    assert_eq!(format!("{:?}", sc.reclaim_policy), "Delete");
    assert_eq!(format!("{:?}", sc.volume_binding_mode), "Immediate");
    let AnyObject::PersistentVolumeClaim(c) = &m.objects[0] else {
        panic!()
    };
    assert_eq!(c.metadata.namespace, "default");
    assert_eq!(format!("{:?}", c.spec.volume_mode), "Filesystem");
    assert!(
        c.spec.storage_class_name.is_none(),
        "the default class is admission's business"
    );
    let AnyObject::StatefulSet(s) = &m.objects[1] else {
        panic!()
    };
    let s: &StatefulSet = s;
    assert_eq!(s.spec.replicas, 1);
    assert_eq!(
        format!("{:?}", s.spec.pod_management_policy).trim_matches('"'),
        "OrderedReady"
    );
    let AnyObject::PersistentVolume(pv) = &m.objects[2] else {
        panic!()
    };
    assert_eq!(
        format!("{:?}", pv.spec.persistent_volume_reclaim_policy),
        "Retain"
    );
}

#[test]
fn quantities_parse_in_every_unit() {
    // `1500m` bytes is 1.5: Value() rounds up, as Quantity.Value() does.
    for (q, bytes) in [
        ("100Gi", 100i128 << 30),
        ("1G", 1_000_000_000),
        ("500Mi", 500 << 20),
        ("1500m", 2),
    ] {
        let (m, e) = load(&format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: c\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {q}\n"
        ));
        assert!(e.is_empty());
        let AnyObject::PersistentVolumeClaim(c) = &m.objects[0] else {
            panic!()
        };
        assert_eq!(c.request().unwrap().value(), bytes, "{q}");
    }
}

#[test]
fn unknown_fields_and_kinds_warn_once_with_their_line() {
    let (m, e) = load(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: c\n  generateName: c-\nspec:\n  accessModes: [ReadWriteOnce]\n  dataSourceRef:\n    kind: VolumeSnapshot\n    name: s\n  resources:\n    requests:\n      storage: 1Gi\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: PersistentVolumeClaim\n  metadata: {name: d}\n  spec:\n    accessModes: [ReadWriteOnce]\n    dataSourceRef: {kind: VolumeSnapshot, name: s}\n    resources: {requests: {storage: 1Gi}}\n",
    );
    assert!(e.is_empty());
    let w: Vec<String> = m.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.contains(
            &"m.yaml:5: warning: field `metadata.generateName` is not modelled by storsim; ignored"
                .to_string()
        ),
        "{w:?}"
    );
    assert!(
        w.contains(
            &"m.yaml:8: warning: field `spec.dataSourceRef` is not modelled by storsim; ignored"
                .to_string()
        ),
        "{w:?}"
    );
    assert!(
        w.contains(
            &"m.yaml:16: warning: kind `Deployment` is not modelled by storsim; skipped"
                .to_string()
        ),
        "{w:?}"
    );
    // The List's items are read; the same field is not reported twice.
    assert_eq!(m.objects.len(), 2);
    assert_eq!(
        w.iter().filter(|x| x.contains("dataSourceRef")).count(),
        1,
        "{w:?}"
    );
}

#[test]
fn malformed_manifests_fail_with_file_line_and_column() {
    let (_, e) = load(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n     image: nginx\n",
    );
    assert_eq!(e.len(), 1);
    let (line, col) = e[0].line_col();
    assert_eq!(
        (e[0].file.as_str(), line),
        ("m.yaml", 8),
        "{}",
        e[0].render()
    );
    assert!(col > 1);
    assert!(e[0].message.starts_with("not valid YAML"));
    // A wrong type is an error at its field.
    let (_, e) = load(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n  replicas: three\n  serviceName: web\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n",
    );
    assert_eq!(
        e.len(),
        1,
        "{:?}",
        e.iter().map(|e| e.render()).collect::<Vec<_>>()
    );
    assert_eq!(e[0].line_col().0, 6, "{}", e[0].render());
    assert!(e[0].message.contains("spec.replicas"), "{}", e[0].message);
    // No name.
    let (_, e) = load("apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: []}\n");
    assert!(e[0].message.contains("has no metadata.name"));
}

#[test]
fn an_exported_run_loads_again_and_ends_the_same() {
    use assert_cmd::Command;
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("exp.yaml");
    let scenario = format!(
        "{}/scenarios/static-provisioning.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Command::cargo_bin("storsim")
        .unwrap()
        .args(["export", &scenario, "--at", "30s", "--out"])
        .arg(&exported)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.starts_with("---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\n"));
    assert!(text.contains("kind: PersistentVolume\n") && text.contains("volumeName: pv-manual"));
    // The original at 30 s …
    let s = storsim::scenario::load_file(&scenario).unwrap();
    let before = storsim::simulation::run(
        &s,
        &storsim::simulation::RunOptions {
            max_time: Some(storsim::engine::SimTime(30_000)),
            ..Default::default()
        },
    );
    // … and a run of its export on the same cluster.
    let again = dir.path().join("again.toml");
    std::fs::write(
        &again,
        "format = 1\nmanifests = [\"exp.yaml\"]\n[scenario]\nname = \"again\"\nseed = 1\nend = \"30s\"\n[cluster]\nzones = [\"us-east-1a\"]\n[[cluster.node_group]]\nper_zone = 1\n",
    )
    .unwrap();
    let s2 = storsim::scenario::load_file(again.to_str().unwrap()).unwrap();
    assert!(
        s2.warnings.iter().any(|w| w.contains("metadata.uid")),
        "{:?}",
        s2.warnings
    );
    let after = storsim::simulation::run(&s2, &Default::default());
    use storsim::api::{PersistentVolume, PersistentVolumeClaim};
    let phases = |st: &storsim::cluster::Store| {
        let pv: Vec<String> = st
            .list::<PersistentVolume>()
            .map(|v| {
                format!(
                    "{} {:?} {:?}",
                    v.metadata.name,
                    v.status.phase,
                    v.spec.claim_ref.as_ref().map(|c| &c.name)
                )
            })
            .collect();
        let pvc: Vec<String> = st
            .list::<PersistentVolumeClaim>()
            .map(|c| {
                format!(
                    "{} {:?} {}",
                    c.metadata.name, c.status.phase, c.spec.volume_name
                )
            })
            .collect();
        (pv, pvc)
    };
    assert_eq!(phases(&before.store), phases(&after.store));
}

#[test]
fn nodes_come_from_manifests_with_their_zones_taints_and_allocatable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nodes.yaml"),
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    topology.kubernetes.io/zone: us-east-1a\nspec:\n  taints:\n  - key: dedicated\n    value: db\n    effect: NoSchedule\nstatus:\n  allocatable:\n    cpu: \"8\"\n    memory: 32Gi\n    pods: \"50\"\n---\napiVersion: v1\nkind: Node\nmetadata:\n  name: n2\n  labels:\n    topology.kubernetes.io/zone: us-east-1b\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: nginx\n",
    )
    .unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "format = 1\nmanifests = [\"nodes.yaml\"]\n[scenario]\nname = \"n\"\nseed = 1\nend = \"30s\"\n",
    )
    .unwrap();
    let s = storsim::scenario::load_file(file.to_str().unwrap()).unwrap();
    assert_eq!(s.nodes.len(), 2);
    let n1 = &s.nodes[0];
    assert_eq!(n1.zone(), Some("us-east-1a"));
    assert_eq!(n1.spec.taints[0].effect, "NoSchedule");
    assert_eq!(n1.status.allocatable["pods"].value(), 50);
    assert_eq!(n1.metadata.labels["kubernetes.io/hostname"], "n1");
    let (run, _) = storsim::execute(&s, &Default::default());
    let pod = run
        .store
        .get::<storsim::api::Pod>(&storsim::api::ObjectKey::new("default", "web"))
        .unwrap();
    assert_eq!(pod.spec.node_name, "n2", "the taint keeps it off n1");
}

#[test]
fn a_pre_provisioned_ebs_volume_written_by_hand_is_attached_where_it_lives() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pv.yaml"),
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: existing\nspec:\n  capacity: {storage: 50Gi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: \"\"\n  csi:\n    driver: ebs.csi.aws.com\n    volumeHandle: vol-0123456789abcdef0\n    fsType: ext4\n  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions:\n        - key: topology.kubernetes.io/zone\n          operator: In\n          values: [us-east-1b]\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n  storageClassName: \"\"\n  volumeName: existing\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 50Gi}}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: db\nspec:\n  containers: [{name: c, image: postgres}]\n  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]\n",
    )
    .unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "format = 1\nmanifests = [\"pv.yaml\"]\n[scenario]\nname = \"pre\"\nseed = 1\nend = \"1m\"\n[cluster]\nzones = [\"us-east-1a\", \"us-east-1b\"]\n[[cluster.node_group]]\nper_zone = 1\n[backend]\nprofile = \"aws-ebs\"\n",
    )
    .unwrap();
    let s = storsim::scenario::load_file(file.to_str().unwrap()).unwrap();
    let (run, _) = storsim::execute(&s, &Default::default());
    let pod = run
        .store
        .get::<storsim::api::Pod>(&storsim::api::ObjectKey::new("default", "db"))
        .unwrap();
    assert_eq!(pod.spec.node_name, "node-us-east-1b-0", "where the disk is");
    assert_eq!(format!("{:?}", pod.status.phase), "Running");
    let ops: Vec<_> = run
        .store
        .log()
        .iter()
        .filter_map(|r| match r {
            storsim::cluster::Record::Operation(o) => Some((o.op, o.result.clone())),
            _ => None,
        })
        .collect();
    assert!(
        !ops.iter()
            .any(|(op, _)| *op == storsim::backend::Operation::CreateVolume)
    );
    assert!(
        ops.iter()
            .any(|(op, r)| *op == storsim::backend::Operation::Attach && matches!(r, Some(Ok(_))))
    );
}
