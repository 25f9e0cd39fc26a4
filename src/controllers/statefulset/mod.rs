//! The StatefulSet controller (pkg/controller/statefulset,
//! `stateful_set_control.go`): stable identities, per-pod claims from
//! `volumeClaimTemplates` created before their pod, ordered (OrderedReady)
//! or burst (Parallel) scaling, revisions, RollingUpdate with partition (and
//! maxUnavailable behind its feature gate), OnDelete, and the PVC retention
//! policy through owner references.

mod pod_facts;

use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::meta::OwnerReference;
use crate::api::persistent_volume_claim::PersistentVolumeClaimStatus;
use crate::api::pod::{ClaimVolumeSource, PodStatus, Volume};
use crate::api::stateful_set::PodTemplate;
use crate::api::{
    AnyObject, Kind, Name, ObjectKey, ObjectMeta, ObjectRef, PersistentVolumeClaim, Pod, PodPhase,
    StatefulSet,
};
use crate::cluster::{AddrMap, EventType, Store, WatchEvent};
use crate::engine::{SimDuration, SimTime, stable_hash64};
use pod_facts::{SetPods, SyncPod};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Event source.
pub const SOURCE: &str = "statefulset-controller";
/// Label: the pod's name.
pub const LABEL_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
/// Label: the pod's ordinal.
pub const LABEL_POD_INDEX: &str = "apps.kubernetes.io/pod-index";
/// Label: the revision the pod was made from.
pub const LABEL_REVISION: &str = "controller-revision-hash";

/// The alphabet of `rand.SafeEncodeString` (no vowels, no look-alikes).
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A revision's name: the set's name and a stable hash of its template
/// (`controller.ComputeHash`), so reverting a template gives the old name back.
pub fn revision_name(set: &str, template: &PodTemplate) -> String {
    let json = serde_json::to_string(template).unwrap_or_default();
    let mut h = stable_hash64(&json);
    let mut suffix = String::new();
    for _ in 0..10 {
        suffix.push(SAFE[(h % SAFE.len() as u64) as usize] as char);
        h /= SAFE.len() as u64;
    }
    format!("{set}-{suffix}")
}

/// The first ordinal (`spec.ordinals.start`, default 0).
fn start_ordinal(set: &StatefulSet) -> u32 {
    set.spec.ordinals.as_ref().map_or(0, |o| o.start)
}

/// `slowStartBatch`: `f` over `items` in batches of 1, 2, 4, … (at most
/// 500); a batch with a failure is the last. Returns how many succeeded.
fn slow_start_batch<T>(items: &[T], mut f: impl FnMut(&T) -> Result<(), ()>) -> Result<usize, ()> {
    const MAX_BATCH: usize = 500;
    let (mut done, mut batch) = (0, 1);
    while done < items.len() {
        let n = batch.min(items.len() - done);
        let ok = items[done..done + n]
            .iter()
            .filter(|i| f(i).is_ok())
            .count();
        if ok < n {
            return Err(());
        }
        done += n;
        batch = (batch * 2).min(MAX_BATCH);
    }
    Ok(done)
}

/// The ordinal of a pod named `<set>-<n>`.
fn ordinal_of(set: &str, pod: &str) -> Option<u32> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

/// The controller.
#[derive(Default)]
pub struct StatefulSetController {
    queue: WorkQueue<ObjectKey>,
    /// Templates by revision name, per set (the ControllerRevision history).
    revisions: AddrMap<ObjectKey, BTreeMap<Name, PodTemplate>>,
    /// Whether MaxUnavailableStatefulSet is on.
    max_unavailable_gate: bool,
    /// Claim keys per set (see [`ClaimKeys`]); read from `&self` helpers.
    /// (This and the other maps by set are looked up, never walked:
    /// hashed by the names' addresses.)
    claim_keys: RefCell<AddrMap<ObjectKey, ClaimKeys>>,
    /// The sets and ordinals whose claim slots hold each claim (a claim
    /// name can come from two sets: `a-b` + `c` and `a` + `b-c`), to drop
    /// the slots' checks when the claim changes.
    claim_slots_of: RefCell<AddrMap<ObjectKey, SlotsOf>>,
    /// Per set, `<set>-` in its namespace: the range of names its pods can
    /// have, kept so that listing them on every sync interns nothing.
    pod_prefixes: AddrMap<ObjectKey, ObjectKey>,
    /// Each set's pods as its last sync listed them; syncs read again only
    /// the pods that changed since (see [`SetPods`]). A `RefCell` for the
    /// `&self` helpers that write pods.
    set_pods: RefCell<SetPods>,
}

/// A set's claims, `<template>-<set>-<ordinal>`, by ordinal and template:
/// every sync visits every ordinal's claims, and making a key is a
/// `format!` and an interning each time.
#[derive(Default)]
struct ClaimKeys {
    /// The template names the keys were made for (a set deleted and made
    /// again under its name may have others).
    templates: Vec<String>,
    /// The spec they were last found equal in: while a set's versions
    /// share it (status writes do), its names need no compare. Held, so
    /// its address cannot be another spec's.
    checked_spec: Option<std::sync::Arc<crate::api::stateful_set::StatefulSetSpec>>,
    by_ordinal: FxHashMap<u32, SmallVec<[ClaimSlot; 1]>>,
}

/// The (set, ordinal) pairs whose claim slots hold one claim.
type SlotsOf = SmallVec<[(ObjectKey, u32); 1]>;

/// One claim of an ordinal.
struct ClaimSlot {
    key: ObjectKey,
    /// The owner references the claim was found with, as wanted then (or
    /// being deleted). Every sync checks every ready replica's claims, and
    /// a claim changes only through a watch event or this controller's own
    /// write, which both drop this: while it stays, the claim needs no read.
    checked: Option<Vec<OwnerReference>>,
}

/// What one sync decided, for the status.
struct Sync<'a> {
    set: &'a StatefulSet,
    key: ObjectKey,
    current: Name,
    update: Name,
    /// Pods deleted for the update in this sync (`status.CurrentReplicas--`).
    update_deletions: std::cell::Cell<u32>,
    /// The owner references the retention policy wants on the claims of a
    /// pod that is not condemned (the same for every one of them).
    kept_owners: Vec<OwnerReference>,
}

impl StatefulSetController {
    /// A controller; `max_unavailable` is the MaxUnavailableStatefulSet gate.
    pub fn new(max_unavailable: bool) -> Self {
        StatefulSetController {
            max_unavailable_gate: max_unavailable,
            ..Default::default()
        }
    }

    fn set_event(cx: &mut Ctx<'_>, set: &ObjectKey, kind: EventType, reason: &str, msg: String) {
        cx.store.record_event(
            ObjectRef::new(Kind::StatefulSet, set.clone()),
            kind,
            reason,
            msg,
            SOURCE,
        );
    }

    /// Records how an API call went as the real controller does: the
    /// success event, or the failure event with the API error appended.
    fn report(
        cx: &mut Ctx<'_>,
        set: &ObjectKey,
        result: Result<(), crate::cluster::StoreError>,
        (ok_reason, ok_msg): (&str, String),
        (fail_reason, fail_msg): (&str, String),
    ) -> Result<(), ()> {
        match result {
            Ok(()) => {
                Self::set_event(cx, set, EventType::Normal, ok_reason, ok_msg);
                Ok(())
            }
            Err(e) => {
                let msg = format!("{fail_msg} failed error: {}", e.api_message());
                Self::set_event(cx, set, EventType::Warning, fail_reason, msg);
                Err(())
            }
        }
    }

    fn owner(set: &StatefulSet) -> OwnerReference {
        OwnerReference {
            kind: "StatefulSet".into(),
            name: set.metadata.name,
            uid: set.metadata.uid,
            controller: true,
        }
    }

    /// The set's pods, by ordinal (owned by this set's UID): listed once,
    /// then kept and read again where they changed ([`SetPods`]).
    fn pods_of(
        &mut self,
        set: &StatefulSet,
        cx: &Ctx<'_>,
    ) -> std::sync::Arc<BTreeMap<u32, SyncPod>> {
        // Only `<set>-<ordinal>` names can be the set's: the first listing
        // is a range of the cache ordered by name, not every pod.
        let prefix = self
            .pod_prefixes
            .get_or_insert_with(set.metadata.key(), || {
                ObjectKey::new(set.metadata.namespace, format!("{}-", set.metadata.name))
            });
        let store = &cx.store;
        self.set_pods.get_mut().of_set(
            &set.metadata.key(),
            &set.metadata,
            || store.list_prefixed_shared::<Pod>(prefix),
            |k| store.get_shared::<Pod>(k),
        )
    }

    /// Runs `f` on ordinal `ord`'s claims, one per template in order (made
    /// on first use).
    fn with_claims<R>(&self, s: &Sync<'_>, ord: u32, f: impl FnOnce(&mut [ClaimSlot]) -> R) -> R {
        let set = s.set;
        let templates = &set.spec.volume_claim_templates;
        let mut all = self.claim_keys.borrow_mut();
        let keys = all.get_or_insert_with(s.key.clone(), ClaimKeys::default);
        if !(keys.checked_spec.as_ref()).is_some_and(|c| std::sync::Arc::ptr_eq(c, &set.spec)) {
            if !(keys.templates.iter()).eq(templates.iter().map(|t| &t.metadata.name)) {
                *keys = ClaimKeys {
                    templates: templates.iter().map(|t| t.metadata.name.clone()).collect(),
                    ..Default::default()
                };
            }
            keys.checked_spec = Some(set.spec.clone());
        }
        let slots = keys.by_ordinal.entry(ord).or_insert_with(|| {
            let mut slots_of = self.claim_slots_of.borrow_mut();
            templates
                .iter()
                .map(|t| {
                    let name = format!("{}-{}-{ord}", t.metadata.name, set.metadata.name);
                    let key = ObjectKey::new(set.metadata.namespace, &name);
                    let sets = slots_of.get_or_insert_with(key.clone(), SlotsOf::default);
                    if !sets.iter().any(|(k, o)| *k == s.key && *o == ord) {
                        sets.push((s.key.clone(), ord));
                    }
                    ClaimSlot { key, checked: None }
                })
                .collect()
        });
        f(slots)
    }

    /// The claim the set's `t`-th template gives ordinal `ord`:
    /// `<template>-<set>-<ord>`.
    fn claim_key(&self, s: &Sync<'_>, t: usize, ord: u32) -> ObjectKey {
        self.with_claims(s, ord, |c| c[t].key.clone())
    }

    /// Drops every check of claim `claim` (it changed, or is about to).
    fn unchecked(&self, claim: &ObjectKey) {
        let slots_of = self.claim_slots_of.borrow();
        let Some(sets) = slots_of.get(claim) else {
            return;
        };
        let mut all = self.claim_keys.borrow_mut();
        for (set, ord) in sets {
            if let Some(slots) = all.get_mut(set).and_then(|k| k.by_ordinal.get_mut(ord)) {
                for slot in slots.iter_mut().filter(|c| c.key == *claim) {
                    slot.checked = None;
                }
            }
        }
    }

    /// `newVersionedStatefulSetPod`: the current revision below the
    /// partition (RollingUpdate), else the update revision.
    fn new_pod(&self, s: &Sync<'_>, ord: u32) -> Pod {
        let set = s.set;
        let below_partition = set.spec.update_strategy.kind == "RollingUpdate"
            && set
                .spec
                .update_strategy
                .rolling_update
                .as_ref()
                .is_some_and(|r| ord < start_ordinal(set) + r.partition);
        let revision = if below_partition {
            &s.current
        } else {
            &s.update
        };
        let template = self
            .revisions
            .get(&s.key)
            .and_then(|r| r.get(revision))
            .cloned()
            .unwrap_or_else(|| set.spec.template.clone());
        let name = format!("{}-{ord}", set.metadata.name);
        let mut labels = template.metadata.labels.clone();
        labels.insert(LABEL_POD_NAME, name.as_str());
        labels.insert(LABEL_POD_INDEX, ord.to_string());
        labels.insert(LABEL_REVISION, revision.as_str());
        let mut spec = crate::api::pod::PodSpec::clone(&template.spec);
        spec.hostname = name.clone();
        spec.subdomain = set.spec.service_name.clone();
        for (i, t) in set.spec.volume_claim_templates.iter().enumerate() {
            let claim = self.claim_key(s, i, ord).name;
            spec.volumes.retain(|v| v.name != t.metadata.name);
            spec.volumes.push(Volume {
                name: t.metadata.name.clone(),
                persistent_volume_claim: Some(ClaimVolumeSource {
                    claim_name: claim,
                    read_only: false,
                }),
                empty_dir: None,
            });
        }
        Pod {
            metadata: ObjectMeta {
                name: name.into(),
                namespace: set.metadata.namespace,
                labels,
                annotations: template.metadata.annotations.clone(),
                owner_references: vec![Self::owner(set)],
                ..Default::default()
            },
            spec: spec.into(),
            status: PodStatus::default(),
        }
    }

    /// `podClaimIsStale`: a claim still owned by an earlier pod of this
    /// ordinal (or already being deleted) makes the ordinal wait until it
    /// is gone. With Retain/Retain claims are meant to be reused: never stale.
    fn claim_is_stale(&self, s: &Sync<'_>, ord: u32, cx: &Ctx<'_>) -> bool {
        let set = s.set;
        let policy = &set.spec.persistent_volume_claim_retention_policy;
        if policy.when_scaled == "Retain" && policy.when_deleted == "Retain" {
            return false;
        }
        let pod = format!("{}-{ord}", set.metadata.name);
        (0..set.spec.volume_claim_templates.len()).any(|t| {
            cx.store
                .get::<PersistentVolumeClaim>(&self.claim_key(s, t, ord))
                .is_some_and(|c| {
                    c.metadata.deletion_timestamp.is_some()
                        || c.metadata
                            .owner_references
                            .iter()
                            .any(|o| o.kind == "Pod" && o.name == pod)
                })
        })
    }

    /// The owner references the retention policy wants on ordinal `ord`'s
    /// claims: the set when `whenDeleted: Delete`; the pod once condemned
    /// when `whenScaled: Delete`.
    fn wanted_owners(set: &StatefulSet, pod: Option<&Pod>, condemned: bool) -> Vec<OwnerReference> {
        let policy = &set.spec.persistent_volume_claim_retention_policy;
        let mut out = Vec::new();
        if condemned && policy.when_scaled == "Delete" {
            if let Some(p) = pod {
                out.push(OwnerReference {
                    kind: "Pod".into(),
                    name: p.metadata.name,
                    uid: p.metadata.uid,
                    controller: true,
                });
            }
        } else if policy.when_deleted == "Delete" {
            out.push(Self::owner(set));
        }
        out
    }

    /// `createPersistentVolumeClaims`: the missing claims of ordinal `ord`.
    /// A failure is reported on the set (FailedCreate) and stops the pod.
    fn create_claims(&self, s: &Sync<'_>, ord: u32, cx: &mut Ctx<'_>) -> Result<(), ()> {
        let set = s.set;
        for (i, t) in set.spec.volume_claim_templates.iter().enumerate() {
            let key = self.claim_key(s, i, ord);
            if cx.store.get::<PersistentVolumeClaim>(&key).is_some() {
                continue;
            }
            let pod_name = format!("{}-{ord}", set.metadata.name);
            let mut labels = t.metadata.labels.clone();
            labels.extend(set.spec.selector.match_labels.iter().map(|(k, v)| (*k, *v)));
            let mut claim = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: key.name,
                    namespace: key.namespace,
                    labels,
                    annotations: t.metadata.annotations.clone(),
                    owner_references: s.kept_owners.clone(),
                    ..Default::default()
                },
                spec: t.spec.clone(),
                status: PersistentVolumeClaimStatus::default(),
            };
            // DefaultStorageClass admission, as for any claim.
            if claim.has_no_class_at_all()
                && let Some(d) = super::pv_controller::default_class(cx.store.list())
            {
                claim.spec.storage_class_name = Some(d);
            }
            let (set_name, claim_name) = (&set.metadata.name, &key.name);
            let result = cx.store.create(claim);
            Self::report(
                cx,
                &set.metadata.key(),
                result,
                (
                    "SuccessfulCreate",
                    format!(
                        "create Claim {claim_name} Pod {pod_name} in StatefulSet {set_name} success"
                    ),
                ),
                (
                    "FailedCreate",
                    format!(
                        "create Claim {claim_name} for Pod {pod_name} in StatefulSet {set_name}"
                    ),
                ),
            )?;
        }
        Ok(())
    }

    /// `CreateStatefulPod`: the claims, then the pod.
    fn create_pod(&self, s: &Sync<'_>, ord: u32, cx: &mut Ctx<'_>) -> Result<(), ()> {
        self.create_claims(s, ord, cx)?;
        let pod = self.new_pod(s, ord);
        let what = format!(
            "create Pod {} in StatefulSet {}",
            pod.metadata.name, s.set.metadata.name
        );
        self.set_pods
            .borrow_mut()
            .wrote(&s.key, &pod.metadata.key());
        let result = cx.store.create(pod);
        let ok = ("SuccessfulCreate", format!("{what} successful"));
        Self::report(cx, &s.key, result, ok, ("FailedCreate", what))
    }

    fn delete_pod(&self, s: &Sync<'_>, pod: &Pod, cx: &mut Ctx<'_>) -> Result<(), ()> {
        let what = format!(
            "delete Pod {} in StatefulSet {}",
            pod.metadata.name, s.set.metadata.name
        );
        self.set_pods
            .borrow_mut()
            .wrote(&s.key, &pod.metadata.key());
        let result = cx.store.delete::<Pod>(&pod.metadata.key());
        let ok = ("SuccessfulDelete", format!("{what} successful"));
        Self::report(cx, &s.key, result, ok, ("FailedDelete", what))
    }

    /// Makes the claims' owner references match the retention policy.
    fn fix_claim_owners(
        &self,
        s: &Sync<'_>,
        ord: u32,
        pod: Option<&SyncPod>,
        condemned: bool,
        cx: &mut Ctx<'_>,
    ) {
        let condemned_owners;
        // The pod object itself is read only here: a replica's claims want
        // the owners every replica's do.
        let wanted = if condemned {
            condemned_owners = Self::wanted_owners(s.set, pod.map(|p| &**p), true);
            &condemned_owners
        } else {
            &s.kept_owners
        };
        for t in 0..s.set.spec.volume_claim_templates.len() {
            let (key, done) = self.with_claims(s, ord, |c| {
                (c[t].key.clone(), c[t].checked.as_ref() == Some(wanted))
            });
            if done {
                continue;
            }
            let Some(c) = cx.store.get::<PersistentVolumeClaim>(&key) else {
                continue;
            };
            if c.metadata.deletion_timestamp.is_some() || c.metadata.owner_references == *wanted {
                self.with_claims(s, ord, |c| c[t].checked = Some(wanted.clone()));
                continue;
            }
            self.unchecked(&key);
            let w = wanted.clone();
            let _ = cx
                .store
                .modify::<PersistentVolumeClaim>(&key, |c| c.metadata.owner_references = w);
        }
    }

    fn available(pod: &SyncPod, min_ready: u32, now: SimTime) -> bool {
        pod.running_and_ready()
            && pod
                .ready_since()
                .is_some_and(|t| now >= t.plus(SimDuration::from_secs(u64::from(min_ready))))
    }

    /// One sync of a set (`updateStatefulSet`).
    fn sync(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        let Some(set) = cx.store.get_shared::<StatefulSet>(key) else {
            self.revisions.remove(key);
            self.claim_keys.get_mut().remove(key);
            self.pod_prefixes.remove(key);
            self.set_pods.get_mut().forget_set(key);
            return;
        };
        if set.metadata.deletion_timestamp.is_some() {
            return;
        }
        let history = self
            .revisions
            .get_or_insert_with(key.clone(), BTreeMap::new);
        // A template seen before has its name in the history (equal values
        // write out alike, so hash alike): no hash of the template per sync.
        // The history holds each template once, and the set's versions
        // share the spec the history was given: found by that pointer (and
        // the template's labels) first, the spec is not compared field by
        // field at every sync.
        let template = &set.spec.template;
        let update = match (history.iter())
            .find(|(_, t)| {
                std::sync::Arc::ptr_eq(&t.spec, &template.spec) && t.metadata == template.metadata
            })
            .or_else(|| history.iter().find(|(_, t)| *t == template))
        {
            Some((name, _)) => *name,
            None => Name::from(revision_name(&set.metadata.name, template)),
        };
        history
            .entry(update)
            .or_insert_with(|| set.spec.template.clone());
        let current = if set.status.current_revision.is_empty()
            || !history.contains_key(&set.status.current_revision)
        {
            update
        } else {
            set.status.current_revision
        };
        let s = Sync {
            set: &set,
            key: key.clone(),
            current,
            update,
            update_deletions: std::cell::Cell::new(0),
            kept_owners: Self::wanted_owners(&set, None, false),
        };
        // The status counts the pods as this sync found them, as the real
        // controller counts its in-memory list: a pod created now is not
        // counted yet, a pod deleted now still is.
        let pods = self.pods_of(&set, cx);
        self.act(&s, &pods, cx);
        self.write_status(&s, &pods, cx);
    }

    /// `processReplica` for ordinal `ord`: `Ok(true)` means stop this
    /// sync (in OrderedReady mode), `Err` a failed API call.
    fn process_replica(
        &self,
        s: &Sync<'_>,
        ord: u32,
        pod: Option<&SyncPod>,
        monotonic: bool,
        cx: &mut Ctx<'_>,
    ) -> Result<bool, ()> {
        let set = s.set;
        let Some(pod) = pod else {
            if self.claim_is_stale(s, ord, cx) {
                return Ok(true);
            }
            self.create_pod(s, ord, cx)?;
            // One creation per sync when ordered.
            return Ok(monotonic);
        };
        if matches!(pod.phase(), PodPhase::Failed | PodPhase::Succeeded) {
            // Deleted now, recreated on a later sync.
            if !pod.deleting() {
                self.delete_pod(s, pod, cx)?;
            }
            return Ok(true);
        }
        if pod.phase() == PodPhase::Pending {
            self.create_claims(s, ord, cx)?;
        }
        if monotonic
            && (pod.deleting() || !Self::available(pod, set.spec.min_ready_seconds, cx.now))
        {
            return Ok(true);
        }
        self.fix_claim_owners(s, ord, Some(pod), false, cx);
        Ok(false)
    }

    /// `processCondemned`: a pod beyond the replicas, highest ordinal first.
    fn process_condemned(
        &self,
        s: &Sync<'_>,
        pod: &SyncPod,
        first_unhealthy: bool,
        monotonic: bool,
        cx: &mut Ctx<'_>,
    ) -> Result<bool, ()> {
        if pod.deleting() {
            // Ordered: wait for it to be gone before the next.
            return Ok(monotonic);
        }
        if monotonic
            && !first_unhealthy
            && !Self::available(pod, s.set.spec.min_ready_seconds, cx.now)
        {
            return Ok(true);
        }
        self.delete_pod(s, pod, cx)?;
        Ok(true)
    }

    /// `runForAll`: in order, stopping at the first that says so
    /// (OrderedReady); or in slow-start batches (Parallel). `Ok(true)`:
    /// the sync stops here.
    fn run_for_all<T>(
        items: &[T],
        monotonic: bool,
        mut f: impl FnMut(&T) -> Result<bool, ()>,
    ) -> Result<bool, ()> {
        if monotonic {
            for item in items {
                if f(item)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        slow_start_batch(items, |item| f(item).map(|_| ())).map(|_| false)
    }

    /// The pods of one sync (`pods`, as the sync listed them): replicas (in
    /// range, by ordinal) and condemned (beyond it, highest ordinal first),
    /// then scaling, then the update strategy.
    fn act(&mut self, s: &Sync<'_>, pods: &BTreeMap<u32, SyncPod>, cx: &mut Ctx<'_>) {
        let set = s.set;
        let monotonic = set.spec.pod_management_policy != "Parallel";
        let start = start_ordinal(set);
        let end = start + set.spec.replicas;
        // On the stack for sets of up to 16 replicas: one is built per sync.
        let replicas: SmallVec<[(u32, Option<&SyncPod>); 16]> =
            (start..end).map(|o| (o, pods.get(&o))).collect();
        let condemned: Vec<(u32, &SyncPod)> = pods
            .iter()
            .rev()
            .filter(|(o, _)| !(start..end).contains(*o))
            .map(|(o, p)| (*o, p))
            .collect();

        // The first unhealthy pod's ordinal: replicas ascending (a missing
        // one counts), then condemned from the lowest ordinal. Kubernetes
        // compares names; an ordinal names one pod of the set here (the
        // pods are keyed by it), and no replica's is a condemned one's.
        let first_unhealthy: Option<u32> = replicas
            .iter()
            .find(|(_, p)| p.is_none_or(|p| !p.healthy()))
            .map(|(o, _)| *o)
            .or_else(|| {
                condemned
                    .iter()
                    .rev()
                    .find(|(_, p)| !p.healthy())
                    .map(|(o, _)| *o)
            });

        let stop = Self::run_for_all(&replicas, monotonic, |(ord, pod)| {
            self.process_replica(s, *ord, *pod, monotonic, cx)
        });
        if stop != Ok(false) {
            return;
        }
        // Condemned claims take the pod as owner when whenScaled is Delete.
        for (ord, pod) in &condemned {
            self.fix_claim_owners(s, *ord, Some(pod), true, cx);
        }
        // Scaling takes precedence over updates.
        let stop = Self::run_for_all(&condemned, monotonic, |(ord, pod)| {
            let first = first_unhealthy == Some(*ord);
            self.process_condemned(s, pod, first, monotonic, cx)
        });
        if stop != Ok(false) {
            return;
        }
        if set.spec.update_strategy.kind == "OnDelete" {
            return;
        }
        self.rolling_update(s, &replicas, cx);
    }

    /// RollingUpdate: from the highest ordinal down to the partition.
    fn rolling_update(&self, s: &Sync<'_>, replicas: &[(u32, Option<&SyncPod>)], cx: &mut Ctx<'_>) {
        let set = s.set;
        let rolling = set.spec.update_strategy.rolling_update.as_ref();
        let partition = rolling.map_or(0, |r| r.partition) as usize;
        // Without the label a pod is outdated (`getPodRevision` is "").
        let outdated = |p: &SyncPod| p.revision() != s.update.as_str() && !p.deleting();
        if self.max_unavailable_gate {
            // updateStatefulSetAfterInvariantEstablished: unhealthy pods
            // count across every ordinal, even below the partition.
            let max = rolling
                .and_then(|r| r.max_unavailable.as_ref())
                .map_or(1, |m| m.resolve(set.spec.replicas));
            let unavailable = replicas
                .iter()
                .filter(|(_, p)| p.is_none_or(|p| !p.healthy()))
                .count() as u32;
            let mut budget = max.saturating_sub(unavailable);
            for (_, p) in replicas.iter().skip(partition).rev() {
                if budget == 0 {
                    break;
                }
                if let Some(p) = p
                    && outdated(p)
                    && self.delete_pod(s, p, cx).is_ok()
                {
                    budget -= 1;
                    s.update_deletions.set(s.update_deletions.get() + 1);
                }
            }
            return;
        }
        // One pod at a time; an unhealthy pod at or above the cursor waits.
        for (_, p) in replicas.iter().skip(partition).rev() {
            let Some(p) = p else { return };
            if outdated(p) {
                if self.delete_pod(s, p, cx).is_ok() {
                    s.update_deletions.set(s.update_deletions.get() + 1);
                }
                return;
            }
            if !p.healthy() {
                return;
            }
        }
    }

    /// The status as the real controller counts it, and completeRollingUpdate.
    fn write_status(&mut self, s: &Sync<'_>, pods: &BTreeMap<u32, SyncPod>, cx: &mut Ctx<'_>) {
        let set = s.set;
        let now = cx.now;
        let mut st = set.status.clone();
        let (mut replicas, mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0, 0);
        for pod in pods.values() {
            replicas += 1;
            if pod.running_and_ready() {
                ready += 1;
                if Self::available(pod, set.spec.min_ready_seconds, now) {
                    available += 1;
                }
            }
            if !pod.deleting() {
                let r = pod.revision();
                if r == s.current {
                    current += 1;
                }
                if r == s.update {
                    updated += 1;
                }
            }
        }
        st.replicas = replicas;
        st.ready_replicas = ready;
        st.available_replicas = available;
        st.current_replicas = current - s.update_deletions.get().min(current);
        st.updated_replicas = updated;
        st.current_revision = s.current;
        st.update_revision = s.update;
        // completeRollingUpdate.
        if set.spec.update_strategy.kind == "RollingUpdate"
            && updated == replicas
            && ready == replicas
        {
            st.current_replicas = updated;
            st.current_revision = s.update;
        }
        if st != set.status {
            let _ = cx.store.modify::<StatefulSet>(&s.key, |x| x.status = st);
        }
        // Availability comes minReadySeconds after readiness: look again then.
        if set.spec.min_ready_seconds > 0 {
            let wait = SimDuration::from_secs(u64::from(set.spec.min_ready_seconds));
            if let Some(t) = pods
                .values()
                .filter_map(|p| p.ready_since())
                .map(|t| t.plus(wait))
                .filter(|t| *t > now)
                .min()
            {
                self.queue.add(s.key.clone(), t);
            }
        }
    }
}

impl Controller for StatefulSetController {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn watches(&self) -> &'static [Kind] {
        &[
            Kind::StatefulSet,
            Kind::Pod,
            Kind::PersistentVolumeClaim,
            Kind::StorageClass,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let owner_set = |meta: &ObjectMeta| {
            meta.owner_references
                .iter()
                .find(|o| o.controller && o.kind == "StatefulSet")
                .map(|o| ObjectKey::new(meta.namespace, o.name))
        };
        let key = match (ev.kind, &ev.object) {
            (Kind::StatefulSet, _) => Some(ev.key.clone()),
            (Kind::Pod, AnyObject::Pod(p)) => {
                self.set_pods.get_mut().pod_changed(p);
                owner_set(&p.metadata)
            }
            // A claim going away may unblock an ordinal waiting on a stale claim.
            (Kind::PersistentVolumeClaim, AnyObject::PersistentVolumeClaim(c)) => {
                self.unchecked(&ev.key);
                // Sets whose name appears between two dashes of the claim's
                // name (`<template>-<set>-<ordinal>`): looked up, not scanned.
                let name = &c.metadata.name;
                let dashes: Vec<usize> = name.match_indices('-').map(|(i, _)| i).collect();
                let mut sets: BTreeSet<ObjectKey> = BTreeSet::new();
                for (n, &i) in dashes.iter().enumerate() {
                    for &j in &dashes[n + 1..] {
                        // A string never interned names no set.
                        let Some(set) = Name::existing(&name[i + 1..j]) else {
                            continue;
                        };
                        let key = ObjectKey::new(c.metadata.namespace, set);
                        if j > i + 1 && cx.store.get::<StatefulSet>(&key).is_some() {
                            sets.insert(key);
                        }
                    }
                }
                for k in sets {
                    self.queue.add(k, cx.now);
                }
                None
            }
            _ => None,
        };
        if let Some(k) = key {
            self.queue.add(k, cx.now);
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(key) = self.queue.pop_due(cx.now) {
            self.sync(&key, cx);
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        store
            .list::<StatefulSet>()
            .filter(|s| {
                s.status.ready_replicas != s.spec.replicas
                    || s.status.current_revision != s.status.update_revision
            })
            .map(|s| {
                let name = &s.metadata.name;
                let start = start_ordinal(s);
                let pods: BTreeMap<u32, &Pod> = store
                    .list::<Pod>()
                    .filter(|p| {
                        p.metadata
                            .owner_references
                            .iter()
                            .any(|o| o.controller && o.uid == s.metadata.uid)
                    })
                    .filter_map(|p| ordinal_of(name, &p.metadata.name).map(|o| (o, p)))
                    .collect();
                // What the next sync would wait for, in the order it looks.
                let waits = (start..start + s.spec.replicas)
                    .find(|o| pods.get(o).is_none_or(|p| !p.healthy()))
                    .map(|o| match pods.get(&o) {
                        None => format!("; {name}-{o} is not created yet"),
                        Some(p) if p.metadata.deletion_timestamp.is_some() => {
                            format!("; waits for {name}-{o} to terminate")
                        }
                        Some(_) => format!("; waits for {name}-{o} to be Running and Ready"),
                    })
                    .unwrap_or_default();
                format!(
                    "StatefulSet/{name}: {}/{} ready, revision {} → {} ({} updated){waits}",
                    s.status.ready_replicas,
                    s.spec.replicas,
                    s.status.current_revision,
                    s.status.update_revision,
                    s.status.updated_replicas
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::stateful_set::{ClaimTemplate, TemplateMeta};

    #[test]
    fn revision_names_follow_the_template() {
        let t = PodTemplate::default();
        let mut t2 = PodTemplate::default();
        t2.metadata.labels.insert("a", "b");
        let (a, b) = (revision_name("web", &t), revision_name("web", &t2));
        assert!(a.starts_with("web-") && a.len() == 14);
        assert_ne!(a, b);
        assert_eq!(
            a,
            revision_name("web", &t),
            "reverting a template gives the old name back"
        );
    }

    #[test]
    fn claim_keys_follow_the_sets_templates() {
        let set = |templates: &[&str]| -> StatefulSet {
            let mut set: StatefulSet = serde_json::from_value(serde_json::json!({
                "metadata": { "name": "web", "namespace": "db" },
                "spec": { "template": { "spec": {} } },
                "status": {}
            }))
            .expect("a set");
            for t in templates {
                std::sync::Arc::make_mut(&mut set.spec)
                    .volume_claim_templates
                    .push(ClaimTemplate {
                        metadata: TemplateMeta {
                            name: t.to_string(),
                            ..Default::default()
                        },
                        spec: Default::default(),
                    });
            }
            set
        };
        let c = StatefulSetController::new(false);
        let keys = |set: &StatefulSet, ord| -> Vec<String> {
            let s = Sync {
                set,
                key: ObjectKey::new("db", "web"),
                current: Name::default(),
                update: Name::default(),
                update_deletions: std::cell::Cell::new(0),
                kept_owners: Vec::new(),
            };
            (0..set.spec.volume_claim_templates.len())
                .map(|t| c.claim_key(&s, t, ord).to_string())
                .collect()
        };
        let two = set(&["data", "logs"]);
        assert_eq!(keys(&two, 3), ["db/data-web-3", "db/logs-web-3"]);
        assert_eq!(keys(&two, 0), ["db/data-web-0", "db/logs-web-0"]);
        // The set made again under its name with other templates.
        let other = set(&["cache"]);
        assert_eq!(keys(&other, 3), ["db/cache-web-3"]);
        assert_eq!(keys(&two, 3), ["db/data-web-3", "db/logs-web-3"]);
    }

    #[test]
    fn ordinals_come_from_names() {
        assert_eq!(ordinal_of("web", "web-12"), Some(12));
        assert_eq!(ordinal_of("web", "webby-1"), None);
        assert_eq!(ordinal_of("web", "web-x"), None);
    }
}
