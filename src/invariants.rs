//! The guarantees Kubernetes gives, checked on the API server's state after
//! every handled event (`storsim run --check-invariants`, and every test
//! run of the shipped scenarios). A violation stops the run and names the
//! invariant, the objects and the time: a simulator that breaks one would
//! teach the wrong lesson.

use crate::api::node::LABEL_ZONE;
use crate::api::persistent_volume_claim::ClaimPhase;
use crate::api::storage_class::ReclaimPolicy;
use crate::api::{
    AccessMode, Node, ObjectKey, PersistentVolume, PersistentVolumeClaim, Pod, PodPhase,
    StatefulSet, VolumeAttachment,
};
use crate::cluster::{EventRecord, Record, Store};
use crate::engine::SimTime;
use crate::scenario::{ActionKind, Scenario};
use std::collections::{BTreeMap, BTreeSet};

/// A broken guarantee.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// Which invariant.
    pub invariant: &'static str,
    /// The objects involved.
    pub objects: Vec<String>,
    /// When.
    pub at: SimTime,
    /// What was seen.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invariant \"{}\" violated at {} by {}: {}",
            self.invariant,
            self.at.offset_label(),
            self.objects.join(", "),
            self.detail
        )
    }
}

/// The checker: what it must remember between two states.
#[derive(Default)]
pub struct Checker {
    last_now: SimTime,
    /// Records in the log at the last check: a step that wrote nothing
    /// cannot have broken anything.
    last_records: usize,
    /// Retain volumes seen, and the names the scenario deletes by hand.
    retained: BTreeSet<String>,
    deleted_by_hand: BTreeSet<String>,
    /// Pods already seen (by UID): the OrderedReady check is on creation.
    seen_pods: BTreeSet<String>,
    /// StatefulSet claims seen: (namespace, claim) → (set, ordinal).
    set_claims: BTreeMap<(String, String), (String, u32)>,
    /// Each set's last known retention policy and replicas: (namespace,
    /// set) → (whenDeleted, whenScaled, replicas).
    policies: BTreeMap<(String, String), (String, String, u32)>,
}

fn violation(
    invariant: &'static str,
    objects: Vec<String>,
    at: SimTime,
    detail: String,
) -> Option<Violation> {
    Some(Violation {
        invariant,
        objects,
        at,
        detail,
    })
}

fn single_node(v: &PersistentVolume) -> bool {
    !v.spec
        .access_modes
        .iter()
        .any(|m| matches!(m, AccessMode::ReadWriteMany | AccessMode::ReadOnlyMany))
}

/// `name-N` → N, for a set's pod.
fn ordinal(set: &str, pod: &str) -> Option<u32> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

impl Checker {
    /// A checker for runs of `scenario` (objects it deletes by hand may go).
    pub fn new(scenario: &Scenario) -> Self {
        Checker {
            deleted_by_hand: scenario
                .actions
                .iter()
                .filter_map(|a| match &a.kind {
                    ActionKind::Delete(r, _) => Some(r.key.name.to_string()),
                    _ => None,
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Checks the state after one step; the first broken guarantee.
    pub fn check(&mut self, store: &Store) -> Option<Violation> {
        let now = store.now();
        if now < self.last_now {
            return violation(
                "simulated time never goes back",
                vec![],
                now,
                format!("after {}", self.last_now.offset_label()),
            );
        }
        self.last_now = now;
        let records = store.log().len();
        if records == self.last_records {
            return None;
        }
        self.last_records = records;
        self.attachments(store, now)
            .or_else(|| self.retain(store, now))
            .or_else(|| self.binding(store, now))
            .or_else(|| self.read_write_once_pod(store, now))
            .or_else(|| self.topology(store, now))
            .or_else(|| self.ordered_ready(store, now))
            .or_else(|| self.partition(store, now))
            .or_else(|| self.retention(store, now))
    }

    /// A StatefulSet's claims go only as its retention policy says: never
    /// while the set lives with `whenScaled: Retain` (nor, with Delete,
    /// below its replicas), never after it with `whenDeleted: Retain`.
    fn retention(&mut self, store: &Store, now: SimTime) -> Option<Violation> {
        let mut out = None;
        let tracked: Vec<((String, String), (String, u32))> = self
            .set_claims
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ((ns, claim), (set, n)) in tracked {
            if store
                .get::<PersistentVolumeClaim>(&ObjectKey::new(&ns, &claim))
                .is_some()
            {
                continue;
            }
            self.set_claims.remove(&(ns.clone(), claim.clone()));
            if self.deleted_by_hand.contains(&claim) || out.is_some() {
                continue;
            }
            let Some((when_deleted, when_scaled, replicas)) =
                self.policies.get(&(ns.clone(), set.clone())).cloned()
            else {
                continue;
            };
            let alive = store
                .get::<StatefulSet>(&ObjectKey::new(&ns, &set))
                .is_some();
            let wrong = if alive {
                when_scaled == "Retain" || n < replicas
            } else {
                when_deleted == "Retain"
            };
            if wrong {
                out = violation(
                    "a StatefulSet's claims go only as its retention policy says",
                    vec![
                        format!("PersistentVolumeClaim/{claim}"),
                        format!("StatefulSet/{set}"),
                    ],
                    now,
                    format!(
                        "deleted with the set {} (whenDeleted {when_deleted}, whenScaled {when_scaled}, replicas {replicas})",
                        if alive { "alive" } else { "gone" }
                    ),
                );
            }
        }
        for s in store.list::<StatefulSet>() {
            let key = (
                s.metadata.namespace.to_string(),
                s.metadata.name.to_string(),
            );
            let p = &s.spec.persistent_volume_claim_retention_policy;
            self.policies.insert(
                key,
                (
                    p.when_deleted.clone(),
                    p.when_scaled.clone(),
                    s.spec.replicas,
                ),
            );
            for t in &s.spec.volume_claim_templates {
                let prefix = format!("{}-{}", t.metadata.name, s.metadata.name);
                for c in store.list::<PersistentVolumeClaim>() {
                    if c.metadata.namespace != s.metadata.namespace {
                        continue;
                    }
                    if let Some(n) = ordinal(&prefix, &c.metadata.name) {
                        self.set_claims.insert(
                            (
                                c.metadata.namespace.to_string(),
                                c.metadata.name.to_string(),
                            ),
                            (s.metadata.name.to_string(), n),
                        );
                    }
                }
            }
        }
        out
    }

    /// An RWO/RWOP volume is attached to one node at most.
    fn attachments(&self, store: &Store, now: SimTime) -> Option<Violation> {
        let mut attached: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for va in store
            .list::<VolumeAttachment>()
            .filter(|v| v.status.attached)
        {
            attached
                .entry(va.spec.persistent_volume_name.as_str())
                .or_default()
                .insert(va.spec.node_name.as_str());
        }
        for (pv, nodes) in attached {
            let single = store
                .get::<PersistentVolume>(&ObjectKey::cluster(pv))
                .is_some_and(single_node);
            if single && nodes.len() > 1 {
                return violation(
                    "a single-node volume is attached to one node at most",
                    vec![format!("PersistentVolume/{pv}")],
                    now,
                    format!("attached to {nodes:?}"),
                );
            }
        }
        None
    }

    /// No Retain volume is deleted but by hand.
    fn retain(&mut self, store: &Store, now: SimTime) -> Option<Violation> {
        let present: BTreeSet<String> = store
            .list::<PersistentVolume>()
            .map(|v| v.metadata.name.to_string())
            .collect();
        let gone = self
            .retained
            .iter()
            .find(|n| !present.contains(*n) && !self.deleted_by_hand.contains(*n))
            .cloned();
        if let Some(name) = gone {
            return violation(
                "a Retain volume is never deleted by the system",
                vec![format!("PersistentVolume/{name}")],
                now,
                "deleted".into(),
            );
        }
        self.retained.retain(|n| present.contains(n));
        for v in store.list::<PersistentVolume>() {
            if v.spec.persistent_volume_reclaim_policy == ReclaimPolicy::Retain {
                self.retained.insert(v.metadata.name.to_string());
            }
        }
        None
    }

    /// A volume is bound to one claim at most, and a Bound claim's volume
    /// names it back.
    fn binding(&self, store: &Store, now: SimTime) -> Option<Violation> {
        let mut bound: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in store.list::<PersistentVolumeClaim>() {
            if c.status.phase != ClaimPhase::Bound || c.spec.volume_name.is_empty() {
                continue;
            }
            bound
                .entry(c.spec.volume_name.as_str())
                .or_default()
                .push(format!("PersistentVolumeClaim/{}", c.metadata.name));
            let back = store
                .get::<PersistentVolume>(&ObjectKey::cluster_named(c.spec.volume_name))
                .and_then(|v| v.spec.claim_ref.as_ref())
                .is_some_and(|r| r.name == c.metadata.name && r.namespace == c.metadata.namespace);
            if !back {
                return violation(
                    "a Bound claim's volume is bound to it",
                    vec![
                        format!("PersistentVolumeClaim/{}", c.metadata.name),
                        format!("PersistentVolume/{}", c.spec.volume_name),
                    ],
                    now,
                    "the volume's claimRef does not name the claim".into(),
                );
            }
        }
        for (pv, claims) in bound {
            if claims.len() > 1 {
                return violation(
                    "a volume is bound to one claim at most",
                    claims,
                    now,
                    format!("all bound to {pv}"),
                );
            }
        }
        None
    }

    /// A ReadWriteOncePod claim is used by one running pod at most.
    fn read_write_once_pod(&self, store: &Store, now: SimTime) -> Option<Violation> {
        let mut users: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for p in store
            .list::<Pod>()
            .filter(|p| p.status.phase == PodPhase::Running)
        {
            for key in p.claim_keys() {
                let rwop = store
                    .get::<PersistentVolumeClaim>(&key)
                    .is_some_and(|c| c.spec.access_modes.contains(&AccessMode::ReadWriteOncePod));
                if rwop {
                    users
                        .entry((key.namespace.to_string(), key.name.to_string()))
                        .or_default()
                        .push(format!("Pod/{}", p.metadata.name));
                }
            }
        }
        users
            .into_iter()
            .find(|(_, u)| u.len() > 1)
            .and_then(|((_, claim), pods)| {
                violation(
                    "a ReadWriteOncePod claim is used by one pod at most",
                    pods,
                    now,
                    format!("all running with {claim}"),
                )
            })
    }

    /// A pod runs only on a node its volumes can reach.
    fn topology(&self, store: &Store, now: SimTime) -> Option<Violation> {
        for p in store
            .list::<Pod>()
            .filter(|p| p.status.phase == PodPhase::Running)
        {
            let Some(node) = store.get::<Node>(&ObjectKey::cluster_named(p.spec.node_name)) else {
                continue;
            };
            for key in p.claim_keys() {
                let Some(claim) = store.get::<PersistentVolumeClaim>(&key) else {
                    continue;
                };
                let Some(pv) = store
                    .get::<PersistentVolume>(&ObjectKey::cluster_named(claim.spec.volume_name))
                else {
                    continue;
                };
                if let Some(aff) = &pv.spec.node_affinity
                    && !aff.required.matches(&node.metadata.labels)
                {
                    return violation(
                        "a pod runs only where its volumes are",
                        vec![
                            format!("Pod/{}", p.metadata.name),
                            format!("PersistentVolume/{}", pv.metadata.name),
                        ],
                        now,
                        format!(
                            "running on {} (zone {}) outside the volume's node affinity",
                            node.metadata.name,
                            node.metadata.labels.get_str(LABEL_ZONE).unwrap_or("-")
                        ),
                    );
                }
            }
        }
        None
    }

    /// OrderedReady: a pod is created only when every lower ordinal is
    /// Running and Ready.
    fn ordered_ready(&mut self, store: &Store, now: SimTime) -> Option<Violation> {
        let sets: Vec<&StatefulSet> = store
            .list::<StatefulSet>()
            .filter(|s| s.spec.pod_management_policy != "Parallel")
            .collect();
        let mut out = None;
        let pods: Vec<&Pod> = store.list::<Pod>().collect();
        for p in &pods {
            if !self.seen_pods.insert(p.metadata.uid.to_string()) || out.is_some() {
                continue;
            }
            for s in &sets {
                if s.metadata.namespace != p.metadata.namespace {
                    continue;
                }
                let Some(n) = ordinal(&s.metadata.name, &p.metadata.name) else {
                    continue;
                };
                let owned = p
                    .metadata
                    .owner_references
                    .iter()
                    .any(|o| o.name == s.metadata.name);
                if !owned {
                    continue;
                }
                for lower in 0..n {
                    let name = format!("{}-{lower}", s.metadata.name);
                    let ready = store
                        .get::<Pod>(&ObjectKey::new(p.metadata.namespace, &name))
                        .is_some_and(|q| {
                            q.status.phase == PodPhase::Running
                                && q.status
                                    .conditions
                                    .iter()
                                    .any(|c| c.kind == "Ready" && c.status == "True")
                        });
                    if !ready {
                        out = violation(
                            "OrderedReady creates a pod only when every lower ordinal is Running and Ready",
                            vec![format!("Pod/{}", p.metadata.name), format!("Pod/{name}")],
                            now,
                            format!(
                                "{} created while {name} is not Running and Ready",
                                p.metadata.name
                            ),
                        );
                        break;
                    }
                }
            }
        }
        out
    }

    /// RollingUpdate with a partition: no pod below it runs the update
    /// revision while the rollout is not complete.
    fn partition(&self, store: &Store, now: SimTime) -> Option<Violation> {
        for s in store.list::<StatefulSet>() {
            let partition = s
                .spec
                .update_strategy
                .rolling_update
                .as_ref()
                .map_or(0, |r| r.partition);
            let (cur, upd) = (&s.status.current_revision, &s.status.update_revision);
            if partition == 0 || cur == upd || upd.is_empty() {
                continue;
            }
            for p in store.list::<Pod>() {
                let Some(n) = ordinal(&s.metadata.name, &p.metadata.name) else {
                    continue;
                };
                let rev = p.metadata.labels.get_str("controller-revision-hash");
                if n < partition
                    && rev == Some(upd)
                    && p.metadata
                        .owner_references
                        .iter()
                        .any(|o| o.name == s.metadata.name)
                {
                    return violation(
                        "no pod below a partition is updated",
                        vec![
                            format!("Pod/{}", p.metadata.name),
                            format!("StatefulSet/{}", s.metadata.name),
                        ],
                        now,
                        format!(
                            "ordinal {n} < partition {partition} runs the update revision {upd}"
                        ),
                    );
                }
            }
        }
        None
    }

    /// At the end: every Pending pod and claim has a reason the user can
    /// see — an Event on it.
    pub fn finish(&self, store: &Store) -> Option<Violation> {
        let mut with_events: BTreeSet<String> = BTreeSet::new();
        for rec in store.log() {
            if let Record::Event(EventRecord { object, .. }) = rec {
                with_events.insert(object.to_string());
            }
        }
        let now = store.now();
        for p in store.list::<Pod>() {
            let name = format!("Pod/{}", p.metadata.name);
            // A pod on a node that is down shows nothing new: its state is
            // the reason.
            if p.status.phase == PodPhase::Pending
                && p.spec.node_name.is_empty()
                && !with_events.contains(&name)
            {
                return violation(
                    "every Pending object has a reason the user can see",
                    vec![name],
                    now,
                    "Pending with no Event".into(),
                );
            }
        }
        for c in store.list::<PersistentVolumeClaim>() {
            let name = format!("PersistentVolumeClaim/{}", c.metadata.name);
            if c.status.phase == ClaimPhase::Pending && !with_events.contains(&name) {
                return violation(
                    "every Pending object has a reason the user can see",
                    vec![name],
                    now,
                    "Pending with no Event".into(),
                );
            }
        }
        None
    }
}
