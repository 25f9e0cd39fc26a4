//! Dynamic provisioning end to end: the order of every step under Immediate
//! and WaitForFirstConsumer, the scheduler's and the provisioner's messages,
//! retry intervals, zones, Multi-Attach and rescheduling.

mod common;
use common::*;
use storsim::api::volume_attachment::attachment_name;
use storsim::api::{Kind, Node, ObjectKey, PersistentVolume, Pod, VolumeAttachment};
use storsim::backend::Profile;
use storsim::cluster::{CallPhase, ChangeOp, Record};
use storsim::simulation::{RunOptions, RunResult};

/// Three zones, one node each (`node-<zone>-0`), an EBS-like driver.
fn cluster(extra: &str) -> String {
    scenario(
        "2m",
        &format!(
            "[cluster]\nzones = [\"us-east-1a\", \"us-east-1b\", \"us-east-1c\"]\n[[cluster.node_group]]\nper_zone = 1\n[backend]\nprofile = \"reference\"\n[backend.operations.create_volume]\nlatency = {{ fixed = \"2s\" }}\n[[storage_class]]\nname = \"immediate\"\nprovisioner = \"ebs.csi.aws.com\"\n[[storage_class]]\nname = \"wffc\"\nprovisioner = \"ebs.csi.aws.com\"\nvolumeBindingMode = \"WaitForFirstConsumer\"\n{extra}"
        ),
    )
}

fn pod(name: &str, claim: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { ", " };
    format!(
        "[[object]]\nkind = \"Pod\"\nname = \"{name}\"\nspec = {{ containers = [{{ name = \"app\", image = \"nginx\" }}], volumes = [{{ name = \"data\", persistentVolumeClaim = {{ claimName = \"{claim}\" }} }}]{sep}{extra} }}\n"
    )
}

/// The log as short labelled steps (time in ms, what), in order.
fn steps(r: &RunResult) -> Vec<(u64, String)> {
    r.store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Event(e) => Some((e.t.as_millis(), format!("event {}", e.reason))),
            Record::Operation(o) => Some((
                o.t.as_millis(),
                format!("{} {}", o.op.csi_name(), o.phase.as_str()),
            )),
            Record::Change(c) if c.op == ChangeOp::Added => {
                Some((c.t.as_millis(), format!("{} added", c.object.kind)))
            }
            Record::Change(c) if c.changed.iter().any(|p| p == "status.phase") => Some((
                c.t.as_millis(),
                format!("{} {}", c.object.kind, c.phase.unwrap_or_default()),
            )),
            Record::Change(c) if c.changed.iter().any(|p| p.ends_with("selected-node")) => {
                Some((c.t.as_millis(), "selected-node".to_string()))
            }
            _ => None,
        })
        .collect()
}

/// Asserts `wanted` occur in this order (other steps may come between).
fn assert_in_order(r: &RunResult, wanted: &[&str]) {
    let all = steps(r);
    let mut at = 0;
    for w in wanted {
        match all[at..].iter().position(|(_, s)| s == w) {
            Some(i) => at += i + 1,
            None => panic!("step `{w}` missing or out of order; steps:\n{all:#?}"),
        }
    }
}

fn first_ms(r: &RunResult, step: &str) -> u64 {
    steps(r)
        .into_iter()
        .find(|(_, s)| s == step)
        .unwrap_or_else(|| panic!("no step {step}"))
        .0
}

#[test]
fn immediate_provisions_and_binds_before_any_pod() {
    let text = cluster(&pvc(
        "data",
        "10Gi",
        RWO,
        "storageClassName = \"immediate\"",
    ));
    let (_, r, _) = run(&text);
    assert_in_order(
        &r,
        &[
            "PersistentVolumeClaim added",
            "event ExternalProvisioning",
            "event Provisioning",
            "CreateVolume start",
            "CreateVolume end",
            "PersistentVolume added",
            "event ProvisioningSucceeded",
            // Created pre-bound to its claim: Pending → Bound, never Available.
            "PersistentVolume Bound",
            "PersistentVolumeClaim Bound",
        ],
    );
    // One watch delay per hop: PV controller 10 ms, provisioner 20 ms,
    // CreateVolume 2 s, PV controller binds 10 ms after the PV appears.
    assert_eq!(first_ms(&r, "event ExternalProvisioning"), 10);
    assert_eq!(first_ms(&r, "CreateVolume start"), 20);
    assert_eq!(first_ms(&r, "CreateVolume end"), 2_020);
    assert_eq!(first_ms(&r, "PersistentVolumeClaim Bound"), 2_030);
    assert!(
        !steps(&r)
            .iter()
            .any(|(_, s)| s == "PersistentVolume Available")
    );
}

#[test]
fn wait_for_first_consumer_chooses_the_node_first_then_provisions_attaches_and_mounts() {
    let text = cluster(
        &[
            pvc("data", "10Gi", RWO, "storageClassName = \"wffc\""),
            "[[action]]\nat = \"3s\"\ncreate = { kind = \"Pod\", name = \"app\", spec = { containers = [{ name = \"app\", image = \"nginx\" }], volumes = [{ name = \"data\", persistentVolumeClaim = { claimName = \"data\" } }] } }\n".into(),
        ]
        .concat(),
    );
    let (_, r, _) = run(&text);
    assert_in_order(
        &r,
        &[
            "event WaitForFirstConsumer",
            "Pod added",
            "selected-node",
            "event ExternalProvisioning",
            "CreateVolume start",
            "CreateVolume end",
            "PersistentVolumeClaim Bound",
            "event Scheduled",
            "VolumeAttachment added",
            "ControllerPublishVolume start",
            "ControllerPublishVolume end",
            "event SuccessfulAttachVolume",
            "NodeStageVolume start",
            "NodeStageVolume end",
            "NodePublishVolume start",
            "NodePublishVolume end",
            "event Started",
            "Pod Running",
        ],
    );
    // The scheduler's decision comes one watch delay after the pod, the bind
    // at the first 1 s PreBind poll after the claim is bound.
    assert_eq!(first_ms(&r, "selected-node"), 3_010);
    let bound = first_ms(&r, "PersistentVolumeClaim Bound");
    let scheduled = first_ms(&r, "event Scheduled");
    assert!(
        scheduled > bound && scheduled - bound <= 1_000,
        "{bound} → {scheduled}"
    );
    assert_eq!(
        (scheduled - 3_010) % 1_000,
        0,
        "PreBind polls every second from the decision"
    );
    // The volume is in the pod's zone.
    let app = r
        .store
        .get::<Pod>(&ObjectKey::new("default", "app"))
        .unwrap();
    let node = r
        .store
        .get::<Node>(&ObjectKey::cluster(&app.spec.node_name))
        .unwrap();
    let pv = volume(&r, &volume_of(&r, "data")).unwrap();
    assert!(
        pv.spec
            .node_affinity
            .unwrap()
            .required
            .matches(&node.metadata.labels)
    );
}

#[test]
fn scheduler_messages_are_built_as_the_real_scheduler_builds_them() {
    let cases: &[(&str, &str)] = &[
        // PreFilter: a missing claim.
        (
            "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"other\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } }, storageClassName = \"wffc\" }\n[[object]]\nkind = \"Pod\"\nname = \"p\"\nspec = { containers = [{ name = \"a\", image = \"i\" }], volumes = [{ name = \"d\", persistentVolumeClaim = { claimName = \"other\" } }], nodeSelector = { disk = \"none\" } }\n",
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
        // Filter: not enough CPU anywhere (resolvable: preemption finds no victims).
        (
            "[[object]]\nkind = \"Pod\"\nname = \"p\"\nspec = { containers = [{ name = \"a\", image = \"i\", resources = { requests = { cpu = \"64\" } } }] }\n",
            "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
        ),
        // A WaitForFirstConsumer claim with no provisioner and no volume.
        (
            "[[storage_class]]\nname = \"local\"\nprovisioner = \"kubernetes.io/no-provisioner\"\nvolumeBindingMode = \"WaitForFirstConsumer\"\n[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } }, storageClassName = \"local\" }\n[[object]]\nkind = \"Pod\"\nname = \"p\"\nspec = { containers = [{ name = \"a\", image = \"i\" }], volumes = [{ name = \"d\", persistentVolumeClaim = { claimName = \"c\" } }] }\n",
            "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
    ];
    for (body, message) in cases {
        let (_, r, _) = run(&cluster(body));
        let ev = events_on(&r, Kind::Pod, "p");
        let failed = ev
            .iter()
            .find(|e| e.reason == "FailedScheduling")
            .unwrap_or_else(|| panic!("no FailedScheduling for {message}"));
        assert_eq!(failed.message, *message);
        assert_eq!(failed.source, "default-scheduler");
    }
}

#[test]
fn an_unbound_immediate_claim_and_a_missing_claim_fail_in_prefilter() {
    let body = [
        "[[storage_class]]\nname = \"slow\"\nprovisioner = \"kubernetes.io/no-provisioner\"\n"
            .to_string(),
        pvc("waiting", "1Gi", RWO, "storageClassName = \"slow\""),
        pod("p", "waiting", ""),
    ]
    .concat();
    let (_, r, _) = run(&cluster(&body));
    let ev = events_on(&r, Kind::Pod, "p");
    assert_eq!(
        ev[0].message,
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    let pod = r.store.get::<Pod>(&ObjectKey::new("default", "p")).unwrap();
    let cond = pod
        .status
        .conditions
        .iter()
        .find(|c| c.kind == "PodScheduled")
        .unwrap();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", "Unschedulable")
    );
}

#[test]
fn histogram_items_sort_as_whole_strings() {
    use storsim::controllers::scheduler::filters::{NodeStatus, Refusals};
    use storsim::controllers::scheduler::fit_message;
    let mut refusals = Refusals::default();
    for (r, n) in [
        ("node(s) were unschedulable", 10),
        ("node(s) didn't match Pod's node affinity/selector", 2),
    ] {
        for _ in 0..n {
            refusals.add(NodeStatus::one(false, r.to_string()));
        }
    }
    let msg = fit_message(12, None, &refusals);
    assert!(
        msg.starts_with(
            "0/12 nodes are available: 10 node(s) were unschedulable, 2 node(s) didn't match"
        ),
        "{msg}"
    );
}

#[test]
fn the_provisioner_retries_with_its_backoff_and_every_failure_is_an_event() {
    let body = "[backend.operations.create_volume]\nfail_first = 4\nfailure_latency = { fixed = \"100ms\" }\nerror = \"Unavailable\"\nmessage = \"service unavailable\"\n";
    let text = cluster(
        &[
            pvc("data", "1Gi", RWO, "storageClassName = \"immediate\""),
            body.to_string(),
        ]
        .concat(),
    )
    .replace(
        "[backend.operations.create_volume]\nlatency = { fixed = \"2s\" }\n",
        "",
    );
    let text = text.replace(body, &format!("{body}latency = {{ fixed = \"2s\" }}\n"));
    let (_, r, _) = run(&text);
    let ops: Vec<(u64, CallPhase)> = r
        .store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Operation(o) if o.op.csi_name() == "CreateVolume" => {
                Some((o.t.as_millis(), o.phase))
            }
            _ => None,
        })
        .collect();
    let starts: Vec<u64> = ops
        .iter()
        .filter(|(_, p)| *p == CallPhase::Start)
        .map(|(t, _)| *t)
        .collect();
    let ends: Vec<u64> = ops
        .iter()
        .filter(|(_, p)| *p == CallPhase::End)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(starts.len(), 5, "four failures, then success");
    let gaps: Vec<u64> = (1..starts.len()).map(|i| starts[i] - ends[i - 1]).collect();
    assert_eq!(
        gaps,
        vec![1_000, 2_000, 4_000, 8_000],
        "--retry-interval-start 1s, doubling"
    );
    let failed: Vec<_> = events_on(&r, Kind::PersistentVolumeClaim, "data")
        .into_iter()
        .filter(|e| e.reason == "ProvisioningFailed")
        .collect();
    assert_eq!(failed.len(), 4);
    assert_eq!(
        failed[0].message,
        "failed to provision volume with StorageClass \"immediate\": rpc error: code = Unavailable desc = service unavailable"
    );
    assert_eq!(claim_phase(&r, "data"), "Bound");
}

#[test]
fn resource_exhausted_on_a_selected_node_reschedules_the_pod() {
    // The first CreateVolume fails with ResourceExhausted: the provisioner
    // removes selected-node, PreBind fails, the scheduler tries again.
    let body = [
        "[backend.operations.create_volume]\nfail_first = 1\nerror = \"ResourceExhausted\"\nmessage = \"no capacity in zone\"\nfailure_latency = { fixed = \"100ms\" }\n".to_string(),
        pvc("data", "1Gi", RWO, "storageClassName = \"wffc\""),
        pod("app", "data", ""),
    ]
    .concat();
    let text = cluster(&body).replace(
        "[backend.operations.create_volume]\nlatency = { fixed = \"2s\" }\n",
        "",
    );
    let text = text.replace(
        "fail_first = 1\n",
        "fail_first = 1\nlatency = { fixed = \"2s\" }\n",
    );
    let (_, r, _) = run(&text);
    let ev = events_on(&r, Kind::Pod, "app");
    let prebind = ev
        .iter()
        .find(|e| e.reason == "FailedScheduling")
        .expect("PreBind fails once");
    assert_eq!(
        prebind.message,
        "running PreBind plugin \"VolumeBinding\": binding volumes: provisioning failed for PVC \"data\""
    );
    assert!(
        ev.iter().any(|e| e.reason == "Scheduled"),
        "scheduled after the retry"
    );
    assert_eq!(claim_phase(&r, "data"), "Bound");
}

#[test]
fn no_volume_is_ever_attached_outside_its_zone() {
    // Every attachment of every shipped scenario, under several seeds.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let s = storsim::scenario::load_file(path.to_str().unwrap()).unwrap();
        for seed in [1, 2, 3] {
            let opts = RunOptions {
                seed: Some(seed),
                profile: Profile::built_in("aws-ebs"),
                ..Default::default()
            };
            let (r, _) = storsim::execute(&s, &opts);
            for rec in r.store.log() {
                let Record::Change(c) = rec else { continue };
                if c.object.kind != Kind::VolumeAttachment || c.phase.as_deref() != Some("Attached")
                {
                    continue;
                }
                let col = |k: &str| {
                    c.columns
                        .iter()
                        .find(|(h, _)| *h == k)
                        .map(|(_, v)| *v)
                        .unwrap()
                };
                let (pv, node) = (col("PV"), col("NODE"));
                let node = r.store.get::<Node>(&ObjectKey::cluster(node)).unwrap();
                let pv = r.store.get::<PersistentVolume>(&ObjectKey::cluster(pv));
                if let Some(pv) = pv {
                    assert!(
                        pv.spec
                            .node_affinity
                            .as_ref()
                            .unwrap()
                            .required
                            .matches(&node.metadata.labels)
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "attachments were seen ({checked})");
}

#[test]
fn a_pod_forced_onto_another_zone_gets_failed_attach_and_never_attaches() {
    // nodeName bypasses the scheduler: the cloud refuses the attach.
    let body = [
        pvc("data", "1Gi", RWO, "storageClassName = \"immediate\""),
        "[[action]]\nat = \"5s\"\ncreate = { kind = \"Pod\", name = \"app\", spec = { nodeName = \"node-us-east-1b-0\", containers = [{ name = \"a\", image = \"i\" }], volumes = [{ name = \"d\", persistentVolumeClaim = { claimName = \"data\" } }] } }\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&cluster(&body));
    // "data" hashes to us-east-1a (see the provisioner's test vectors' algorithm).
    let pv = volume(&r, &volume_of(&r, "data")).unwrap();
    let zone = &pv.spec.node_affinity.unwrap().required.node_selector_terms[0].match_expressions[0]
        .values[0];
    assert_ne!(zone, "us-east-1b");
    let ev = events_on(&r, Kind::Pod, "app");
    let failed = ev
        .iter()
        .find(|e| e.reason == "FailedAttachVolume")
        .expect("attach fails");
    assert!(
        failed.message.contains("InvalidVolume.ZoneMismatch"),
        "{}",
        failed.message
    );
    let handle = pv.spec.csi.unwrap().volume_handle;
    let va = r
        .store
        .get::<VolumeAttachment>(&ObjectKey::cluster(attachment_name(
            &handle,
            "ebs.csi.aws.com",
            "node-us-east-1b-0",
        )));
    assert!(!va.unwrap().status.attached);
    assert_eq!(
        r.store
            .get::<Pod>(&ObjectKey::new("default", "app"))
            .unwrap()
            .status
            .reason,
        "ContainerCreating"
    );
}

#[test]
fn a_read_write_once_volume_wanted_on_a_second_node_is_a_multi_attach_error() {
    let body = [
        "[[cluster.node]]\nname = \"extra-a\"\nzone = \"us-east-1a\"\n".to_string(),
        pvc("data", "1Gi", RWO, "storageClassName = \"immediate\""),
        "[[action]]\nat = \"5s\"\ncreate = { kind = \"Pod\", name = \"first\", spec = { nodeName = \"node-us-east-1a-0\", containers = [{ name = \"a\", image = \"i\" }], volumes = [{ name = \"d\", persistentVolumeClaim = { claimName = \"data\" } }] } }\n".to_string(),
        "[[action]]\nat = \"20s\"\ncreate = { kind = \"Pod\", name = \"second\", spec = { nodeName = \"extra-a\", containers = [{ name = \"a\", image = \"i\" }], volumes = [{ name = \"d\", persistentVolumeClaim = { claimName = \"data\" } }] } }\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&cluster(&body));
    let pv = volume_of(&r, "data");
    let ev = events_on(&r, Kind::Pod, "second");
    let multi: Vec<_> = ev
        .iter()
        .filter(|e| e.reason == "FailedAttachVolume")
        .collect();
    assert_eq!(multi.len(), 1, "reported once per volume and node");
    assert_eq!(
        multi[0].message,
        format!("Multi-Attach error for volume {pv:?} Volume is already used by pod(s) first")
    );
    assert_eq!(multi[0].kind.as_str(), "Warning");
    assert!(
        events_on(&r, Kind::Pod, "first")
            .iter()
            .any(|e| e.reason == "Started")
    );
}

#[test]
fn prebind_gives_up_after_the_600_s_bind_timeout() {
    // Nobody provisions for this driver: the claim never binds.
    let body = [
        "[[storage_class]]\nname = \"nobody\"\nprovisioner = \"other.csi.example.com\"\nvolumeBindingMode = \"WaitForFirstConsumer\"\n".to_string(),
        pvc("data", "1Gi", RWO, "storageClassName = \"nobody\""),
        pod("app", "data", ""),
    ]
    .concat();
    let (_, r, _) = run(&cluster(&body).replace("end = \"2m\"", "end = \"11m\""));
    let ev = events_on(&r, Kind::Pod, "app");
    let timeout = ev
        .iter()
        .find(|e| e.reason == "FailedScheduling")
        .expect("PreBind times out");
    assert_eq!(
        timeout.message,
        "running PreBind plugin \"VolumeBinding\": binding volumes: context deadline exceeded"
    );
    // Decided at 10 ms; polls every second; the deadline is 600 s later.
    assert_eq!(timeout.t.as_millis(), 600_010);
}

#[test]
fn readiness_follows_the_probe_schedule_with_api_defaults() {
    // periodSeconds defaults to 10: probes at start, +10 s, +20 s fail while
    // the app is not ready (25 s), the one at +30 s passes.
    let body = [
        "[images.\"slow-app:1\"]\nready_after = \"25s\"\n".to_string(),
        "[[object]]\nkind = \"Pod\"\nname = \"app\"\nspec = { containers = [{ name = \"app\", image = \"slow-app:1\", readinessProbe = { httpGet = { path = \"/healthz\", port = 8080 } } }] }\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&cluster(&body));
    let started = events_on(&r, Kind::Pod, "app")
        .into_iter()
        .find(|e| e.reason == "Started")
        .unwrap()
        .t
        .as_millis();
    let unhealthy: Vec<u64> = events_on(&r, Kind::Pod, "app")
        .into_iter()
        .filter(|e| e.reason == "Unhealthy")
        .map(|e| {
            assert_eq!(
                e.message,
                "Readiness probe failed: HTTP probe failed with statuscode: 503"
            );
            e.t.as_millis() - started
        })
        .collect();
    assert_eq!(unhealthy, vec![0, 10_000, 20_000]);
    let ready = changes_of(&r, Kind::Pod, "app")
        .into_iter()
        .find(|c| c.conditions.iter().any(|x| x == "Ready"))
        .expect("becomes Ready");
    assert_eq!(ready.t.as_millis() - started, 30_000);
}

#[test]
fn taints_and_cordons_are_reported_by_the_first_failing_filter() {
    let body = "[[cluster.node]]\nname = \"tainted\"\nzone = \"us-east-1a\"\ntaints = [{ key = \"dedicated\", value = \"db\", effect = \"NoSchedule\" }]\n[[object]]\nkind = \"Pod\"\nname = \"p\"\nspec = { nodeSelector = { \"kubernetes.io/hostname\" = \"tainted\" }, containers = [{ name = \"a\", image = \"i\" }] }\n";
    let (_, r, _) = run(&cluster(body));
    let ev = events_on(&r, Kind::Pod, "p");
    assert_eq!(
        ev[0].message,
        "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    );
}

/// kubelet mounts a volume only once a node status update (every 10 s) has
/// reported it in `volumesInUse` and its attach check, retried with the
/// volume-operation backoff (0.5 s doubling), passes: NodeStage starts at
/// one of those retries, after both the attach and the status update.
#[test]
fn kubelet_mounts_after_the_volume_is_reported_in_use_on_its_backoff_schedule() {
    for seed in 1..=8 {
        let text = cluster(&format!(
            "{}{}",
            pvc("data", "1Gi", RWO, "storageClassName = \"wffc\""),
            pod("app", "data", "")
        ));
        let (_, r, _) = run_with(
            &text,
            &RunOptions {
                seed: Some(seed),
                ..Default::default()
            },
        );
        let log = r.store.log();
        let admitted = log
            .iter()
            .find_map(|rec| match rec {
                Record::Change(c)
                    if c.object.key.name == "app"
                        && c.phase.as_deref() == Some("ContainerCreating") =>
                {
                    Some(c.t.as_millis())
                }
                _ => None,
            })
            .expect("kubelet admits the pod");
        let reported = log
            .iter()
            .find_map(|rec| match rec {
                Record::Change(c)
                    if c.object.kind == Kind::Node
                        && c.changed
                            .iter()
                            .any(|f| f.starts_with("status.volumesInUse"))
                        && c.t.as_millis() >= admitted =>
                {
                    Some(c.t.as_millis())
                }
                _ => None,
            })
            .expect("the node status reports the volume in use");
        let attached = first_ms(&r, "ControllerPublishVolume end");
        let staged = first_ms(&r, "NodeStageVolume start");
        assert!(staged >= attached && staged >= reported, "seed {seed}");
        let retries: Vec<u64> = (0..10).map(|k| admitted + 500 * ((1 << k) - 1)).collect();
        assert!(
            retries.contains(&staged),
            "seed {seed}: NodeStage at {staged} is not a retry of the check started at {admitted}"
        );
        assert!(reported - admitted <= 10_000, "a status update within 10 s");
    }
}

/// A zone's capacity counts the disks being created too: two 40 Gi claims
/// for a zone that holds 50 Gi — one disk is made, the other CreateVolume
/// fails with ResourceExhausted, and its pod, pinned to that zone, never runs.
#[test]
fn zone_capacity_counts_disks_in_flight_and_refuses_with_resource_exhausted() {
    let pinned = |name: &str, claim: &str| {
        format!(
            "[[object]]\nkind = \"Pod\"\nname = \"{name}\"\nspec = {{ nodeSelector = {{ \"kubernetes.io/hostname\" = \"node-us-east-1a-0\" }}, containers = [{{ name = \"a\", image = \"i\" }}], volumes = [{{ name = \"d\", persistentVolumeClaim = {{ claimName = \"{claim}\" }} }}] }}\n"
        )
    };
    let body = [
        "[backend.zones.\"us-east-1a\"]\ncapacity = \"50Gi\"\n".to_string(),
        pvc("one", "40Gi", RWO, "storageClassName = \"wffc\""),
        pvc("two", "40Gi", RWO, "storageClassName = \"wffc\""),
        pinned("p1", "one"),
        pinned("p2", "two"),
    ]
    .concat();
    let (_, r, _) = run(&cluster(&body));
    let ok = r
        .store
        .log()
        .iter()
        .filter(|rec| {
            matches!(rec, Record::Operation(o) if o.op.csi_name() == "CreateVolume"
                && o.phase == CallPhase::End
                && o.result.as_ref().is_some_and(|x| x.is_ok()))
        })
        .count();
    assert_eq!(ok, 1, "one disk fits");
    let refused: Vec<String> = ["one", "two"]
        .iter()
        .flat_map(|c| events_on(&r, Kind::PersistentVolumeClaim, c))
        .filter(|e| e.reason == "ProvisioningFailed")
        .map(|e| e.message.to_string())
        .collect();
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|m| {
        m.contains("code = ResourceExhausted desc = Could not create volume")
            && m.contains("InsufficientVolumeCapacity")
    }));
    let running = ["p1", "p2"]
        .iter()
        .filter(|p| {
            r.store
                .get::<Pod>(&ObjectKey::new("default", **p))
                .is_some_and(|p| p.status.phase == storsim::api::PodPhase::Running)
        })
        .count();
    assert_eq!(running, 1, "the other pod waits, pinned to the full zone");
}

/// EBS volumes are single-node: a ReadWriteMany claim is refused by the
/// driver with InvalidArgument, which the provisioner treats as infeasible
/// (a scenario must say `allow_infeasible = true` to run it).
#[test]
fn a_read_write_many_claim_on_ebs_is_refused_as_infeasible() {
    // Refused at load unless asked for (see the bad-input table).
    let text = cluster(&pvc(
        "shared",
        "1Gi",
        RWX,
        "storageClassName = \"immediate\"",
    ))
    .replace("seed = 1\n", "seed = 1\nallow_infeasible = true\n");
    let (_, r, _) = run(&text);
    let failed: Vec<String> = events_on(&r, Kind::PersistentVolumeClaim, "shared")
        .into_iter()
        .filter(|e| e.reason == "ProvisioningFailed")
        .map(|e| e.message.to_string())
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed[0].starts_with(
            "Volume provisioning failed with infeasible error. Retries will be delayed."
        ) && failed[0]
            .contains("rpc error: code = InvalidArgument desc = Volume capabilities not supported"),
        "{}",
        failed[0]
    );
    assert_eq!(claim_phase(&r, "shared"), "Pending");
}

/// A fault injected into attach at 5 s makes every ControllerPublishVolume
/// fail until it is cleared at 30 s; the attacher's next retry succeeds.
#[test]
fn an_injected_fault_holds_until_cleared() {
    let body = [
        "[[action]]\nat = \"5s\"\nfault = { operation = \"attach\", change = { failure_rate = 1.0, error = \"Unavailable\", message = \"EC2 is having a bad day\" } }\n".to_string(),
        "[[action]]\nat = \"30s\"\nlabel = \"cleared\"\nclear_fault = \"ControllerPublishVolume\"\n".to_string(),
        pvc("data", "1Gi", RWO, "storageClassName = \"wffc\""),
        "[[action]]\nat = \"10s\"\ncreate = { kind = \"Pod\", name = \"app\", spec = { containers = [{ name = \"a\", image = \"i\" }], volumes = [{ name = \"d\", persistentVolumeClaim = { claimName = \"data\" } }] } }\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&cluster(&body));
    let ends: Vec<(u64, bool)> = r
        .store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Operation(o)
                if o.op.csi_name() == "ControllerPublishVolume" && o.phase == CallPhase::End =>
            {
                Some((
                    o.t.as_millis(),
                    o.result.as_ref().is_some_and(|x| x.is_ok()),
                ))
            }
            _ => None,
        })
        .collect();
    assert!(ends.len() >= 3, "{ends:?}");
    assert!(
        ends.iter().filter(|(t, _)| *t < 30_000).all(|(_, ok)| !ok),
        "{ends:?}"
    );
    let first_ok = ends
        .iter()
        .find(|(_, ok)| *ok)
        .expect("attached after the clear")
        .0;
    assert!(first_ok > 30_000, "{ends:?}");
    let failed = events_on(&r, Kind::Pod, "app")
        .into_iter()
        .filter(|e| e.reason == "FailedAttachVolume")
        .count();
    assert!(failed >= 1);
    assert!(
        r.store
            .get::<Pod>(&ObjectKey::new("default", "app"))
            .is_some_and(|p| p.status.phase == storsim::api::PodPhase::Running)
    );
    // Unknown operations are refused at load, with a suggestion.
    let bad = cluster("[[action]]\nat = \"1s\"\nclear_fault = \"atach\"\n");
    let err = match storsim::scenario::load_str("t.toml", &bad) {
        Ok(_) => panic!("refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("unknown operation `atach`") && err.contains("did you mean `attach`?"),
        "{err}"
    );
}

#[test]
fn an_nfs_share_serves_read_write_many_to_pods_in_every_zone_without_attach_or_stage() {
    let mut body = String::from(
        "[cluster]\nzones = [\"a\", \"b\", \"c\"]\n[[cluster.node_group]]\nper_zone = 1\n[backend]\nprofile = \"nfs\"\n[[storage_class]]\nname = \"nfs\"\nprovisioner = \"nfs.csi.k8s.io\"\n[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"shared\"\nspec = { accessModes = [\"ReadWriteMany\"], storageClassName = \"nfs\", resources = { requests = { storage = \"10Gi\" } } }\n",
    );
    for z in ["a", "b", "c"] {
        body.push_str(&format!(
            "[[object]]\nkind = \"Pod\"\nname = \"p-{z}\"\nspec = {{ nodeSelector = {{ \"kubernetes.io/hostname\" = \"node-{z}-0\" }}, containers = [{{ name = \"c\", image = \"nginx\" }}], volumes = [{{ name = \"d\", persistentVolumeClaim = {{ claimName = \"shared\" }} }}] }}\n"
        ));
    }
    let (_, r, _) = run(&scenario("2m", &body));
    for z in ["a", "b", "c"] {
        let p = r
            .store
            .get::<Pod>(&ObjectKey::new("default", format!("p-{z}")))
            .unwrap();
        assert_eq!(p.status.phase, storsim::api::PodPhase::Running, "p-{z}");
    }
    assert_eq!(r.store.list::<VolumeAttachment>().count(), 0);
    let pv = volume(&r, &volume_of(&r, "shared")).unwrap();
    assert!(pv.spec.node_affinity.is_none(), "not zonal");
    assert_eq!(pv.spec.csi.as_ref().unwrap().driver, "nfs.csi.k8s.io");
    let ops: Vec<storsim::backend::Operation> = r
        .store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Operation(o) if o.phase == CallPhase::Start => Some(o.op),
            _ => None,
        })
        .collect();
    use storsim::backend::Operation::*;
    assert_eq!(ops.iter().filter(|o| **o == NodePublish).count(), 3);
    assert!(!ops.iter().any(|o| matches!(o, Attach | NodeStage)));
}
