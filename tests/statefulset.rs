//! The StatefulSet controller: the invariants of the real controller's
//! tests (`stateful_set_control_test.go`), checked on the API server's
//! state after every step of every shipped StatefulSet scenario and of the
//! §6 cases below, and the cases themselves.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use storsim::api::{ObjectKey, PersistentVolumeClaim, Pod, PodPhase, StatefulSet};
use storsim::cluster::{Record, Store};
use storsim::controllers::statefulset::LABEL_REVISION;
use storsim::scenario::{Scenario, load_file, load_str};
use storsim::simulation::{RunOptions, RunResult, run_observed};

/// The ordinal of `pod` in `set`.
fn ordinal(set: &str, pod: &str) -> Option<u32> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

/// The pods of `set` by ordinal.
fn pods_of<'a>(store: &'a Store, set: &StatefulSet) -> BTreeMap<u32, &'a Pod> {
    store
        .list::<Pod>()
        .filter(|p| {
            p.metadata
                .owner_references
                .iter()
                .any(|o| o.controller && o.uid == set.metadata.uid)
        })
        .filter_map(|p| ordinal(&set.metadata.name, &p.metadata.name).map(|o| (o, p)))
        .collect()
}

/// Checks the controller's invariants at every step of a run.
struct Invariants {
    max_unavailable_gate: bool,
    /// Pod UIDs seen so far.
    seen: BTreeSet<storsim::api::Name>,
    /// How far into the log the last step looked.
    cursor: usize,
    /// Steps checked, and what was seen happen, to prove the checks ran.
    steps: u64,
    creations: u64,
    deletions: u64,
    violations: Vec<String>,
    /// Each set's spec before its latest change, and when that change came:
    /// the controller decides from its informer, which may not have the
    /// change yet.
    previous_spec: BTreeMap<
        String,
        (
            storsim::engine::SimTime,
            storsim::api::stateful_set::StatefulSetSpec,
        ),
    >,
    /// Each set's spec at the last step.
    last_spec: BTreeMap<String, storsim::api::stateful_set::StatefulSetSpec>,
}

/// How long after a spec change the controller may still act on the spec
/// before it (far above the watch delay's p99 in every profile).
const INFORMER_LAG: storsim::engine::SimDuration = storsim::engine::SimDuration::from_secs(1);

impl Invariants {
    fn new(scenario: &Scenario) -> Self {
        Invariants {
            max_unavailable_gate: scenario
                .feature_gates
                .get("MaxUnavailableStatefulSet")
                .copied()
                .unwrap_or(false),
            seen: BTreeSet::new(),
            cursor: 0,
            steps: 0,
            creations: 0,
            deletions: 0,
            violations: Vec::new(),
            previous_spec: BTreeMap::new(),
            last_spec: BTreeMap::new(),
        }
    }

    fn fail(&mut self, store: &Store, what: String) {
        if self.violations.len() < 20 {
            self.violations.push(format!("{}: {what}", store.now()));
        }
    }

    fn observe(&mut self, store: &Store) {
        self.steps += 1;
        // The controller's deletions in this step, from its events.
        let mut deleted: Vec<(String, String)> = Vec::new();
        for rec in store.log().since(self.cursor) {
            if let Record::Event(e) = rec
                && e.reason == "SuccessfulDelete"
                && e.source == "statefulset-controller"
                && let Some(rest) = e.message.strip_prefix("delete Pod ")
                && let Some((pod, set)) = rest.split_once(" in StatefulSet ")
            {
                let set = set.trim_end_matches(" successful");
                deleted.push((set.to_string(), pod.to_string()));
            }
        }
        self.cursor = store.log().len();
        for set in store.list::<StatefulSet>() {
            let name = set.metadata.name.to_string();
            if let Some(last) = self.last_spec.get(&name)
                && *last != *set.spec
            {
                self.previous_spec
                    .insert(name.clone(), (store.now(), last.clone()));
            }
            self.last_spec.insert(name, (*set.spec).clone());
            self.check_set(store, set, &deleted);
        }
        for p in store.list::<Pod>() {
            self.seen.insert(p.metadata.uid);
        }
    }

    /// What is wrong with the controller deleting `pod_name` of set `name`
    /// if its spec was `spec`.
    fn deletion_violations(
        &self,
        spec: &storsim::api::stateful_set::StatefulSetSpec,
        name: &str,
        pod_name: &str,
        pods: &BTreeMap<u32, &Pod>,
    ) -> Vec<String> {
        let mut found = Vec::new();
        let monotonic = spec.pod_management_policy != "Parallel";
        let start = spec.ordinals.as_ref().map_or(0, |o| o.start);
        let end = start + spec.replicas;
        let rolling = spec.update_strategy.kind == "RollingUpdate";
        let ru = spec.update_strategy.rolling_update.as_ref();
        let partition = start + ru.map_or(0, |r| r.partition);
        let Some(n) = ordinal(name, pod_name) else {
            return found;
        };
        let Some(pod) = pods.get(&n) else {
            return found;
        };
        if matches!(pod.status.phase, PodPhase::Failed | PodPhase::Succeeded) {
            return found;
        }
        if n >= end {
            // Scale down, ordered: highest first, one at a time.
            if monotonic {
                if let Some((&higher, _)) = pods.iter().find(|(o, _)| **o > n) {
                    found.push(format!(
                        "{pod_name} deleted while {name}-{higher} still exists"
                    ));
                }
                if let Some(bad) = (start..end).find(|o| !pods.get(o).is_some_and(|p| p.healthy()))
                {
                    found.push(format!(
                        "{pod_name} deleted while {name}-{bad} is not healthy"
                    ));
                }
            }
            return found;
        }
        // An update.
        if !rolling {
            found.push(format!("{pod_name} deleted for an OnDelete update"));
            return found;
        }
        if n < partition {
            found.push(format!(
                "{pod_name} updated below the partition {partition}"
            ));
        }
        let max = if self.max_unavailable_gate {
            ru.and_then(|r| r.max_unavailable.as_ref())
                .map_or(1, |m| m.resolve(spec.replicas))
        } else {
            1
        };
        if monotonic || self.max_unavailable_gate {
            let unavailable = (start..end)
                .filter(|o| !pods.get(o).is_some_and(|p| p.healthy()))
                .count() as u32;
            if unavailable > max {
                found.push(format!(
                    "{pod_name} deleted for the update: {unavailable} unavailable, maxUnavailable {max}"
                ));
            }
        }
        if !self.max_unavailable_gate
            && let Some((&o, _)) = pods
                .iter()
                .filter(|(o, _)| **o > n && **o < end)
                .find(|(_, p)| !p.healthy())
        {
            found.push(format!(
                "{pod_name} updated while {name}-{o} is not healthy"
            ));
        }
        found
    }

    fn check_set(&mut self, store: &Store, set: &StatefulSet, deleted: &[(String, String)]) {
        let name = &set.metadata.name;
        let monotonic = set.spec.pod_management_policy != "Parallel";
        let start = set.spec.ordinals.as_ref().map_or(0, |o| o.start);
        let rolling = set.spec.update_strategy.kind == "RollingUpdate";
        let ru = set.spec.update_strategy.rolling_update.as_ref();
        let partition = start + ru.map_or(0, |r| r.partition);
        let pods = pods_of(store, set);

        // Creations: OrderedReady creates N only once start..N are healthy;
        // and a new pod's revision follows newVersionedStatefulSetPod.
        for (&ord, pod) in &pods {
            if self.seen.contains(&pod.metadata.uid) {
                continue;
            }
            self.creations += 1;
            if monotonic
                && let Some(bad) = (start..ord).find(|o| !pods.get(o).is_some_and(|p| p.healthy()))
            {
                let msg = format!("{name}-{ord} created while {name}-{bad} is not healthy");
                self.fail(store, msg);
            }
            let revision = pod
                .metadata
                .labels
                .get(LABEL_REVISION)
                .map(|r| r.to_string());
            let want = if rolling && ord < partition {
                &set.status.current_revision
            } else {
                &set.status.update_revision
            };
            // The sync that creates a pod writes the status naming both
            // revisions in the same step.
            if !want.is_empty() && revision.as_deref() != Some(want.as_str()) {
                let msg = format!(
                    "{name}-{ord} created at revision {revision:?}, expected {want} (partition {partition})"
                );
                self.fail(store, msg);
            }
        }

        // Deletions by the controller in this step, judged by the spec
        // the controller may have acted on: the current one, or the one
        // before a change its informer may not have delivered yet.
        for (_, pod_name) in deleted.iter().filter(|(s, _)| s == name) {
            self.deletions += 1;
            let mut found = self.deletion_violations(&set.spec, name, pod_name, &pods);
            if !found.is_empty()
                && let Some((changed, before)) = self.previous_spec.get(name.as_str())
                && store.now() < changed.plus(INFORMER_LAG)
                && self
                    .deletion_violations(before, name, pod_name, &pods)
                    .is_empty()
            {
                found.clear();
            }
            for msg in found {
                self.fail(store, msg);
            }
        }
        // Status counters never exceed what they count.
        let st = &set.status;
        if st.ready_replicas > st.replicas
            || st.available_replicas > st.ready_replicas
            || st.updated_replicas > st.replicas
            || st.current_replicas > st.replicas
        {
            let msg = format!("{name} status inconsistent: {st:?}");
            self.fail(store, msg);
        }
    }
}

/// The status the controller must report once the set has settled:
/// counted from the pods as `updateStatefulSet` counts them.
fn settled_status_matches(r: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    for set in r.store.list::<StatefulSet>() {
        let pods = pods_of(&r.store, set);
        let st = &set.status;
        let ready = pods.values().filter(|p| p.running_and_ready()).count() as u32;
        let live = |rev: &str| {
            pods.values()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| p.metadata.labels.get_str(LABEL_REVISION) == Some(rev))
                .count() as u32
        };
        let want = (
            pods.len() as u32,
            ready,
            live(&st.current_revision),
            live(&st.update_revision),
        );
        let got = (
            st.replicas,
            st.ready_replicas,
            st.current_replicas,
            st.updated_replicas,
        );
        if want != got {
            out.push(format!(
                "{}: status (replicas, ready, current, updated) = {got:?}, pods say {want:?}",
                set.metadata.name
            ));
        }
        if set.spec.update_strategy.kind == "RollingUpdate"
            && st.updated_replicas == st.replicas
            && st.ready_replicas == st.replicas
            && st.current_revision != st.update_revision
        {
            out.push(format!(
                "{}: every pod updated and ready, but currentRevision was not moved",
                set.metadata.name
            ));
        }
    }
    out
}

/// Runs `s` checking the invariants at every step; returns the run.
fn run_checked(s: &Scenario, opts: &RunOptions) -> (RunResult, Invariants) {
    let mut inv = Invariants::new(s);
    let r = run_observed(s, opts, &mut |store| inv.observe(store));
    assert!(
        inv.violations.is_empty(),
        "{}: invariants broken:\n{}",
        s.name,
        inv.violations.join("\n")
    );
    let status = settled_status_matches(&r);
    assert!(status.is_empty(), "{}: {}", s.name, status.join("\n"));
    (r, inv)
}

fn shipped_statefulset_scenarios() -> Vec<Scenario> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| load_file(p.to_str().unwrap()).unwrap())
        .filter(|s| {
            s.objects
                .iter()
                .any(|o| o.kind() == storsim::api::Kind::StatefulSet)
        })
        .collect()
}

#[test]
fn every_step_of_every_statefulset_scenario_keeps_the_invariants() {
    let scenarios = shipped_statefulset_scenarios();
    assert!(scenarios.len() >= 9, "the StatefulSet scenarios ship");
    for s in &scenarios {
        for seed in [None, Some(7), Some(8)] {
            let opts = RunOptions {
                seed,
                ..Default::default()
            };
            let (_, inv) = run_checked(s, &opts);
            assert!(
                inv.creations >= 1 && inv.steps > 100,
                "{}: checks ran",
                s.name
            );
        }
    }
}

#[test]
fn the_checker_catches_a_pod_created_out_of_order() {
    // A state the controller must never produce: web-1 while web-0 is
    // missing. The checker has to say so, or its silence proves nothing.
    let s = load_str(
        "t.toml",
        &scenario("1s", &format!("{CLUSTER}\n{}", web_set(2, ""))),
    )
    .unwrap();
    let mut store = Store::new();
    let set = match s
        .objects
        .iter()
        .find(|o| o.kind() == storsim::api::Kind::StatefulSet)
    {
        Some(storsim::api::AnyObject::StatefulSet(set)) => (**set).clone(),
        _ => unreachable!("the scenario has the set"),
    };
    store.create(set).unwrap();
    let uid = store.list::<StatefulSet>().next().unwrap().metadata.uid;
    let mut inv = Invariants::new(&s);
    inv.observe(&store);
    let mut p: Pod = serde_json::from_str(
        r#"{"metadata": {"name": "web-1", "namespace": "default"}, "spec": {"containers": []}, "status": {}}"#,
    )
    .unwrap();
    p.metadata.owner_references = vec![storsim::api::meta::OwnerReference {
        kind: "StatefulSet".into(),
        name: "web".into(),
        uid,
        controller: true,
    }];
    store.create(p).unwrap();
    inv.observe(&store);
    assert!(
        inv.violations
            .iter()
            .any(|v| v.contains("web-1 created while web-0 is not healthy")),
        "{:?}",
        inv.violations
    );
}

const CLUSTER: &str = r#"
[cluster]
zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
[[cluster.node_group]]
per_zone = 2
[backend]
profile = "aws-ebs"
[[storage_class]]
name = "gp3"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
[images."app:1"]
pull = "1s"
start = "1s"
ready_after = "1s"
stop = "2s"
[images."app:2"]
pull = "1s"
start = "1s"
ready_after = "1s"
stop = "2s"
"#;

/// A StatefulSet `web` of `replicas` on app:1 with `extra` spec lines.
fn web_set(replicas: u32, extra: &str) -> String {
    format!(
        r#"[[object]]
kind = "StatefulSet"
name = "web"
[object.spec]
serviceName = "web"
replicas = {replicas}
selector = {{ matchLabels = {{ app = "web" }} }}
template.metadata.labels = {{ app = "web" }}
template.spec.containers = [{{ name = "app", image = "app:1", readinessProbe = {{ exec = {{ command = ["ok"] }}, periodSeconds = 1 }} }}]
volumeClaimTemplates = [{{ metadata = {{ name = "data" }}, spec = {{ accessModes = ["ReadWriteOnce"], storageClassName = "gp3", resources = {{ requests = {{ storage = "1Gi" }} }} }} }}]
{extra}
"#
    )
}

/// Loads and runs with the invariants checked at every step.
fn run_set(end: &str, body: &str) -> RunResult {
    let s = load_str("t.toml", &scenario(end, &format!("{CLUSTER}\n{body}"))).unwrap();
    run_checked(&s, &RunOptions::default()).0
}

/// [`run_set`] with MaxUnavailableStatefulSet on.
fn run_set_gated(end: &str, body: &str) -> RunResult {
    let text = scenario(
        end,
        &format!("[feature_gates]\nMaxUnavailableStatefulSet = true\n{CLUSTER}\n{body}"),
    );
    let s = load_str("t.toml", &text).unwrap();
    run_checked(&s, &RunOptions::default()).0
}

fn pod<'a>(r: &'a RunResult, name: &str) -> Option<&'a Pod> {
    r.store.get::<Pod>(&ObjectKey::new("default", name))
}

fn image_of(r: &RunResult, name: &str) -> String {
    pod(r, name)
        .map(|p| p.spec.containers[0].image.clone())
        .unwrap_or_default()
}

fn claim_exists(r: &RunResult, name: &str) -> bool {
    r.store
        .get::<PersistentVolumeClaim>(&ObjectKey::new("default", name))
        .is_some()
}

fn set_status(r: &RunResult) -> storsim::api::stateful_set::StatefulSetStatus {
    r.store
        .get::<StatefulSet>(&ObjectKey::new("default", "web"))
        .unwrap()
        .status
        .clone()
}

/// The controller's pod deletions, as (time in ms, message).
fn delete_events(r: &RunResult) -> Vec<(u64, String)> {
    r.store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Event(e) if e.reason == "SuccessfulDelete" => {
                Some((e.t.as_millis(), e.message.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// Controller events on the set, in order, as (reason, message).
fn set_events(r: &RunResult) -> Vec<String> {
    r.store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Event(e) if e.source == "statefulset-controller" => {
                Some(format!("{} {}", e.reason, e.message))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn scale_up_creates_claims_then_pods_in_ordinal_order() {
    let r = run_set(
        "3m",
        &format!(
            "{}\n[[action]]\nat = \"60s\"\nscale = {{ statefulset = \"web\", replicas = 4 }}\n",
            web_set(2, "")
        ),
    );
    let creates: Vec<String> = set_events(&r)
        .into_iter()
        .filter(|e| e.starts_with("SuccessfulCreate"))
        .collect();
    assert_eq!(
        creates,
        [
            "SuccessfulCreate create Claim data-web-0 Pod web-0 in StatefulSet web success",
            "SuccessfulCreate create Pod web-0 in StatefulSet web successful",
            "SuccessfulCreate create Claim data-web-1 Pod web-1 in StatefulSet web success",
            "SuccessfulCreate create Pod web-1 in StatefulSet web successful",
            "SuccessfulCreate create Claim data-web-2 Pod web-2 in StatefulSet web success",
            "SuccessfulCreate create Pod web-2 in StatefulSet web successful",
            "SuccessfulCreate create Claim data-web-3 Pod web-3 in StatefulSet web success",
            "SuccessfulCreate create Pod web-3 in StatefulSet web successful",
        ]
    );
    let st = set_status(&r);
    assert_eq!(
        (st.replicas, st.ready_replicas, st.updated_replicas),
        (4, 4, 4)
    );
}

#[test]
fn scale_down_deletes_highest_first_and_keeps_claims() {
    let r = run_set(
        "3m",
        &format!(
            "{}\n[[action]]\nat = \"60s\"\nscale = {{ statefulset = \"web\", replicas = 0 }}\n",
            web_set(3, "")
        ),
    );
    let deletes: Vec<String> = set_events(&r)
        .into_iter()
        .filter(|e| e.starts_with("SuccessfulDelete"))
        .collect();
    assert_eq!(
        deletes,
        [
            "SuccessfulDelete delete Pod web-2 in StatefulSet web successful",
            "SuccessfulDelete delete Pod web-1 in StatefulSet web successful",
            "SuccessfulDelete delete Pod web-0 in StatefulSet web successful",
        ]
    );
    assert_eq!(r.store.count::<Pod>(), 0);
    for c in ["data-web-0", "data-web-1", "data-web-2"] {
        assert!(claim_exists(&r, c), "{c} is kept");
    }
}

#[test]
fn a_failed_pod_is_deleted_and_recreated_on_the_next_sync() {
    let r = run_set(
        "2m",
        &format!(
            "{}\n[[action]]\nat = \"60s\"\npatch = {{ object = \"Pod/web-0\", status = {{ phase = \"Failed\" }} }}\n",
            web_set(2, "")
        ),
    );
    let events = set_events(&r);
    let after: Vec<&String> = events.iter().skip(4).collect();
    assert_eq!(
        after,
        [
            "SuccessfulDelete delete Pod web-0 in StatefulSet web successful",
            "SuccessfulCreate create Pod web-0 in StatefulSet web successful",
        ],
        "the failed pod is deleted, then recreated (its claim exists)"
    );
    let p = pod(&r, "web-0").expect("recreated");
    assert!(p.running_and_ready());
    assert!(p.metadata.creation_timestamp.as_millis() > 60_000);
    assert!(
        pod(&r, "web-1")
            .unwrap()
            .metadata
            .creation_timestamp
            .as_millis()
            < 60_000
    );
}

#[test]
fn partitioned_update_replaces_only_ordinals_at_or_above_the_partition() {
    let r = run_set(
        "3m",
        &format!(
            "{}\n[[action]]\nat = \"60s\"\nset_image = {{ statefulset = \"web\", image = \"app:2\" }}\n",
            web_set(
                3,
                "updateStrategy = { type = \"RollingUpdate\", rollingUpdate = { partition = 2 } }"
            )
        ),
    );
    assert_eq!(image_of(&r, "web-0"), "app:1");
    assert_eq!(image_of(&r, "web-1"), "app:1");
    assert_eq!(image_of(&r, "web-2"), "app:2");
    let st = set_status(&r);
    assert_eq!((st.updated_replicas, st.current_replicas), (1, 2));
    assert_ne!(st.current_revision, st.update_revision, "not complete");
}

#[test]
fn partitioned_update_with_a_simultaneous_scale_up() {
    // stateful_set_control_test.go: partition 2, 3 → 5 with a new image:
    // pods 0 and 1 old, 2, 3 and 4 new.
    let r = run_set(
        "4m",
        &format!(
            "{}\n[[action]]\nat = \"60s\"\nset_image = {{ statefulset = \"web\", image = \"app:2\" }}\n[[action]]\nat = \"60s\"\nscale = {{ statefulset = \"web\", replicas = 5 }}\n",
            web_set(
                3,
                "updateStrategy = { type = \"RollingUpdate\", rollingUpdate = { partition = 2 } }"
            )
        ),
    );
    let images: Vec<String> = (0..5).map(|i| image_of(&r, &format!("web-{i}"))).collect();
    assert_eq!(images, ["app:1", "app:1", "app:2", "app:2", "app:2"]);
    assert_eq!(set_status(&r).updated_replicas, 3);
}

#[test]
fn ondelete_updates_nothing_and_recreates_at_the_update_revision() {
    let r = run_set(
        "4m",
        &format!(
            "{}\n[[action]]\nat = \"60s\"\nset_image = {{ statefulset = \"web\", image = \"app:2\" }}\n[[action]]\nat = \"90s\"\nscale = {{ statefulset = \"web\", replicas = 5 }}\n[[action]]\nat = \"150s\"\ndelete = \"Pod/web-0\"\n",
            web_set(3, "updateStrategy = { type = \"OnDelete\" }")
        ),
    );
    let images: Vec<String> = (0..5).map(|i| image_of(&r, &format!("web-{i}"))).collect();
    assert_eq!(images, ["app:2", "app:1", "app:1", "app:2", "app:2"]);
    assert!(
        !set_events(&r)
            .iter()
            .any(|e| e.starts_with("SuccessfulDelete")),
        "the controller deleted nothing"
    );
}

/// maxUnavailable 2, partition 3 over 6 replicas, with the gate on: the
/// first sync deletes web-5 and web-4 together; nothing below 3 changes.
#[test]
fn max_unavailable_deletes_several_pods_at_once_above_the_partition() {
    let r = run_set_gated(
        "5m",
        &format!(
            "{}\n[[action]]\nat = \"90s\"\nlabel = \"update\"\nset_image = {{ statefulset = \"web\", image = \"app:2\" }}\n",
            web_set(
                6,
                "updateStrategy = { type = \"RollingUpdate\", rollingUpdate = { partition = 3, maxUnavailable = 2 } }"
            )
        ),
    );
    let deletes = delete_events(&r);
    assert_eq!(deletes.len(), 3, "{deletes:?}");
    assert_eq!(deletes[0].0, deletes[1].0, "web-5 and web-4 in one sync");
    assert!(deletes[0].1.contains("web-5") && deletes[1].1.contains("web-4"));
    assert!(deletes[2].1.contains("web-3") && deletes[2].0 > deletes[1].0);
    let images: Vec<String> = (0..6).map(|i| image_of(&r, &format!("web-{i}"))).collect();
    assert_eq!(
        images,
        ["app:1", "app:1", "app:1", "app:2", "app:2", "app:2"]
    );
}

/// Update deletions of a maxUnavailable 2 rollout when web-1 (below the
/// partition) was deleted by hand a second earlier and takes 20 s to stop.
fn deletes_with_one_pod_terminating(policy: &str) -> (Vec<(u64, String)>, RunResult) {
    let cluster = CLUSTER.replace("stop = \"2s\"", "stop = \"20s\"");
    let body = format!(
        "[feature_gates]\nMaxUnavailableStatefulSet = true\n{cluster}\n{}\n[[action]]\nat = \"90s\"\ndelete = \"Pod/web-1\"\n[[action]]\nat = \"91s\"\nset_image = {{ statefulset = \"web\", image = \"app:2\" }}\n",
        web_set(
            6,
            &format!(
                "podManagementPolicy = \"{policy}\"\nupdateStrategy = {{ type = \"RollingUpdate\", rollingUpdate = {{ partition = 3, maxUnavailable = 2 }} }}"
            )
        )
    );
    let s = load_str("t.toml", &scenario("5m", &body)).unwrap();
    let (r, _) = run_checked(&s, &RunOptions::default());
    let deletes = delete_events(&r);
    (deletes, r)
}

#[test]
fn max_unavailable_counts_pods_already_terminating_even_below_the_partition() {
    // Parallel: the update phase runs while web-1 terminates; it takes one
    // of the two slots, so only web-5 goes at once.
    let (deletes, r) = deletes_with_one_pod_terminating("Parallel");
    assert!(
        deletes[0].1.contains("web-5") && deletes[0].0 < 92_000,
        "{deletes:?}"
    );
    assert!(
        deletes[1].1.contains("web-4") && deletes[1].0 > 100_000,
        "web-4 waits for a free slot: {deletes:?}"
    );
    let images: Vec<String> = (0..6).map(|i| image_of(&r, &format!("web-{i}"))).collect();
    assert_eq!(
        images,
        ["app:1", "app:1", "app:1", "app:2", "app:2", "app:2"]
    );
    // OrderedReady: processReplica waits for web-1 to be back and Ready
    // before any update, then uses both slots at once.
    let (deletes, _) = deletes_with_one_pod_terminating("OrderedReady");
    assert!(deletes[0].0 > 110_000, "{deletes:?}");
    assert_eq!(deletes[0].0, deletes[1].0, "{deletes:?}");
}

#[test]
fn retention_policy_matrix() {
    // (whenDeleted, whenScaled) → claims left after 2 → 1, then after the
    // set is deleted.
    let cases = [
        ("Retain", "Retain", [true, true], [true, true]),
        ("Delete", "Retain", [true, true], [false, false]),
        ("Retain", "Delete", [true, false], [true, false]),
        ("Delete", "Delete", [true, false], [false, false]),
    ];
    for (when_deleted, when_scaled, after_scale, after_delete) in cases {
        let policy = format!(
            "persistentVolumeClaimRetentionPolicy = {{ whenDeleted = \"{when_deleted}\", whenScaled = \"{when_scaled}\" }}"
        );
        let body = format!(
            "{}\n[[action]]\nat = \"60s\"\nscale = {{ statefulset = \"web\", replicas = 1 }}\n",
            web_set(2, &policy)
        );
        let scaled = run_set("110s", &body);
        let got = [
            claim_exists(&scaled, "data-web-0"),
            claim_exists(&scaled, "data-web-1"),
        ];
        assert_eq!(
            got, after_scale,
            "{when_deleted}/{when_scaled} after scale-down"
        );
        let deleted = run_set(
            "3m",
            &format!("{body}[[action]]\nat = \"120s\"\ndelete = \"StatefulSet/web\"\n"),
        );
        assert_eq!(
            deleted.store.count::<Pod>(),
            0,
            "the set's pods are collected"
        );
        let got = [
            claim_exists(&deleted, "data-web-0"),
            claim_exists(&deleted, "data-web-1"),
        ];
        assert_eq!(
            got, after_delete,
            "{when_deleted}/{when_scaled} after deletion"
        );
    }
}

#[test]
fn a_stale_claim_blocks_its_ordinal_until_it_is_gone() {
    // whenScaled Delete: scaled 2 → 1 → 2 while web-1's claim, owned by
    // the old web-1, is still being deleted: web-1 waits for it.
    let policy = "persistentVolumeClaimRetentionPolicy = { whenDeleted = \"Retain\", whenScaled = \"Delete\" }";
    let r = run_set(
        "3m",
        &format!(
            "{}\n[[action]]\nat = \"60s\"\nscale = {{ statefulset = \"web\", replicas = 1 }}\n[[action]]\nafter = {{ object = \"Pod/web-1\", deleted = true }}\nscale = {{ statefulset = \"web\", replicas = 2 }}\n",
            web_set(2, policy)
        ),
    );
    let log = r.store.log();
    let claim_gone = log
        .iter()
        .find_map(|rec| match rec {
            Record::Change(c)
                if c.object.key.name == "data-web-1"
                    && c.op == storsim::cluster::ChangeOp::Deleted =>
            {
                Some(c.t)
            }
            _ => None,
        })
        .expect("the old claim is deleted");
    let recreated = log
        .iter()
        .filter_map(|rec| match rec {
            Record::Change(c)
                if c.object.key.name == "web-1" && c.op == storsim::cluster::ChangeOp::Added =>
            {
                Some(c.t)
            }
            _ => None,
        })
        .nth(1)
        .expect("web-1 comes back");
    assert!(recreated >= claim_gone, "{recreated} ≥ {claim_gone}");
    assert!(claim_exists(&r, "data-web-1"), "with a new claim");
    assert!(pod(&r, "web-1").unwrap().running_and_ready());
}

#[test]
fn a_forced_delete_frees_the_name_at_once_and_kubelet_still_tears_down() {
    // `kubectl delete pod web-1 --grace-period=0 --force` on pods that take
    // 20 s to stop: the name is free at once, so the controller recreates
    // web-1 without waiting; kubelet kills the old containers and unmounts
    // their volume, then starts the new pod.
    let cluster = CLUSTER.replace("stop = \"2s\"", "stop = \"20s\"");
    let body = format!(
        "{cluster}\n{}\n[[action]]\nat = \"60s\"\ndelete = \"Pod/web-1\"\nforce = true\n",
        web_set(2, "")
    );
    let s = load_str("t.toml", &scenario("2m", &body)).unwrap();
    let (r, _) = run_checked(&s, &RunOptions::default());
    let log = r.store.log();
    let recreated = log
        .iter()
        .filter_map(|rec| match rec {
            Record::Change(c)
                if c.object.key.name == "web-1" && c.op == storsim::cluster::ChangeOp::Added =>
            {
                Some(c.t.as_millis())
            }
            _ => None,
        })
        .nth(1)
        .expect("web-1 recreated");
    assert!(
        (60_000..60_200).contains(&recreated),
        "no grace period to wait for: {recreated}"
    );
    let unpublished = log.iter().any(|rec| {
        matches!(rec, Record::Operation(o)
            if o.op.csi_name() == "NodeUnpublishVolume" && o.target.contains("default/web-1"))
    });
    assert!(unpublished, "the old pod's volume is unmounted");
    assert!(
        !log.iter().any(|rec| matches!(rec, Record::Event(e)
            if e.reason == "Killing" && e.message.contains("Stopping container")
                && e.object.key.name == "web-1")),
        "no graceful stop for a forced delete"
    );
    assert!(pod(&r, "web-1").unwrap().running_and_ready());
}

#[test]
fn a_stuck_set_says_which_pod_it_waits_for() {
    let body = format!(
        "{CLUSTER}\n[images.\"bad:1\"]\nnever_ready = true\n{}",
        web_set(2, "").replace("app:1", "bad:1")
    );
    let mut text = scenario("1m", &body);
    text = text.replace("end = \"1m\"", "max_time = \"1m\"");
    let s = load_str("t.toml", &text).unwrap();
    let r = storsim::simulation::run(&s, &RunOptions::default());
    match &r.end {
        storsim::simulation::EndReason::Bound { pending, .. } => assert!(
            pending
                .iter()
                .any(|p| p.starts_with("StatefulSet/web: 0/2 ready")
                    && p.ends_with("waits for web-0 to be Running and Ready")),
            "{pending:?}"
        ),
        other => panic!("stopped by the bound, not {other:?}"),
    }
}

#[test]
fn min_ready_seconds_holds_the_next_pod_until_its_predecessor_is_available() {
    let r = run_set("3m", &web_set(2, "minReadySeconds = 10"));
    let log = r.store.log();
    let ready0 = pod(&r, "web-0").unwrap().ready_since().unwrap().as_millis();
    let created1 = log
        .iter()
        .find_map(|rec| match rec {
            Record::Change(c)
                if c.object.key.name == "web-1" && c.op == storsim::cluster::ChangeOp::Added =>
            {
                Some(c.t.as_millis())
            }
            _ => None,
        })
        .unwrap();
    assert!(
        (ready0 + 10_000..ready0 + 10_200).contains(&created1),
        "web-1 at {created1}, web-0 Ready at {ready0}: created once available, at the requeue"
    );
    // Ready before available: availableReplicas lags readyReplicas by 10 s.
    let lag = log.iter().find_map(|rec| match rec {
        Record::Change(c)
            if c.object.key.name == "web"
                && c.columns.iter().any(|(k, v)| *k == "READY" && v == "1/2") =>
        {
            Some(c.t.as_millis())
        }
        _ => None,
    });
    assert!(lag.is_some_and(|t| t < created1));
    let st = set_status(&r);
    assert_eq!((st.ready_replicas, st.available_replicas), (2, 2));
}
