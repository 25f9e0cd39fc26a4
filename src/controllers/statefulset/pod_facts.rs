//! What a StatefulSet sync reads of each of the set's pods, kept per set.
//!
//! Every sync of a set walks all its pods: whose they are, their ordinal,
//! revision label and readiness. In a large cluster those pods are long out
//! of the processor's caches, and each read is a chase through the pod's
//! labels, owner references and conditions, after a walk of the cache's
//! range of names. The answers change only when a pod does, and the
//! controller hears of every such change, so each set's listing is kept
//! with the answers, small and together, and only the pods that changed are
//! read again ([`SetPods`]).

use crate::api::meta::ObjectMeta;
use crate::api::{Name, ObjectKey, Pod, PodPhase};
use crate::cluster::AddrMap;
use crate::cluster::Shared;
use crate::engine::SimTime;
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One version of a pod, as a sync reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct PodFacts {
    /// `<set>-<ordinal>`'s ordinal, if the name has that form.
    ordinal: Option<u32>,
    /// The controller owner reference's UID (the API server allows one);
    /// with several, the pod itself is asked.
    controller: Controller,
    /// The `controller-revision-hash` label.
    revision: Option<Name>,
    /// The phase.
    phase: PodPhase,
    /// Deletion requested (Terminating).
    deleting: bool,
    /// When the Ready condition turned True, if it is ([`Pod::ready_since`]).
    ready_since: Option<SimTime>,
}

/// The controller owner references of a pod.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Controller {
    None,
    One(Name),
    Several,
}

impl PodFacts {
    fn read(pod: &Pod, set_name: Name) -> Self {
        let mut controllers = pod
            .metadata
            .owner_references
            .iter()
            .filter(|o| o.controller);
        let controller = match (controllers.next(), controllers.next()) {
            (None, _) => Controller::None,
            (Some(o), None) => Controller::One(o.uid),
            _ => Controller::Several,
        };
        PodFacts {
            ordinal: super::ordinal_of(&set_name, &pod.metadata.name),
            controller,
            revision: pod.metadata.labels.get(super::LABEL_REVISION).copied(),
            phase: pod.status.phase,
            deleting: pod.metadata.deletion_timestamp.is_some(),
            ready_since: pod.ready_since(),
        }
    }

    /// Whether a controller owner reference of `meta` has `uid`.
    fn owned_by(&self, uid: Name, meta: &ObjectMeta) -> bool {
        match self.controller {
            Controller::None => false,
            Controller::One(u) => u == uid,
            Controller::Several => meta
                .owner_references
                .iter()
                .any(|o| o.controller && o.uid == uid),
        }
    }
}

/// A pod as one sync sees it: the object, and what every sync reads of it.
/// It reads as the [`Pod`]; the methods below answer from the facts.
#[derive(Clone)]
pub(super) struct SyncPod {
    pod: Shared<Pod>,
    facts: PodFacts,
}

impl std::ops::Deref for SyncPod {
    type Target = Pod;
    fn deref(&self) -> &Pod {
        &self.pod
    }
}

impl SyncPod {
    /// [`Pod::running_and_ready`] (`isRunningAndReady`).
    pub(super) fn running_and_ready(&self) -> bool {
        // Ready is True exactly when it has a time it turned True.
        self.facts.phase == PodPhase::Running && self.facts.ready_since.is_some()
    }

    /// The pod's phase.
    pub(super) fn phase(&self) -> PodPhase {
        self.facts.phase
    }

    /// Whether its deletion was requested (a `deletionTimestamp`).
    pub(super) fn deleting(&self) -> bool {
        self.facts.deleting
    }

    /// [`Pod::healthy`] (`isHealthy`): running, ready and not terminating.
    pub(super) fn healthy(&self) -> bool {
        self.running_and_ready() && !self.deleting()
    }

    /// [`Pod::ready_since`].
    pub(super) fn ready_since(&self) -> Option<SimTime> {
        self.facts.ready_since
    }

    /// The `controller-revision-hash` label, `""` without one.
    pub(super) fn revision(&self) -> &'static str {
        self.facts.revision.map_or("", |r| r.as_str())
    }
}

/// Each synced set's pods, as its last sync listed them.
///
/// Every sync of a set lists its pods: a walk of the cache's `<set>-` range
/// and a read of each pod. A set's listing changes only when one of those
/// pods, or a pod that names the set as its controller, changes in the
/// controller's view: through a watch event (the informer delivers it, and
/// the controller is told) or the controller's own write. So a listing is
/// kept, and a sync reads again only the pods marked since; the result is
/// the listing the walk would give.
#[derive(Default)]
pub(super) struct SetPods {
    sets: AddrMap<ObjectKey, Listing>,
    /// The sets whose listings hold each pod (a pod with two controller
    /// references, which the API server refuses, could be in two).
    sets_of_pod: AddrMap<ObjectKey, SmallVec<[ObjectKey; 1]>>,
    /// Each listed set by UID: a pod that names it as controller may join.
    set_of_uid: AddrMap<Name, ObjectKey>,
}

/// One set's pods, by pod key.
struct Listing {
    /// The set's name and UID when listed (a set made again under its
    /// name is another set).
    name: Name,
    uid: Name,
    /// The pods, hashed: each sync reads again a few of them by key, and
    /// only a listing collected afresh walks them (sorted by key then).
    pods: AddrMap<ObjectKey, (u32, SyncPod)>,
    /// Pods to read again at the next sync.
    stale: Vec<ObjectKey>,
    /// `pods` by ordinal, as the last sync got it: kept (while each ordinal
    /// has one name) and changed only at the pods read again, so a sync
    /// does not copy (and drop) every pod's handle, each a write to a
    /// pod's reference count.
    ordered: Option<Arc<BTreeMap<u32, SyncPod>>>,
}

/// `pod` as a pod of the set `set_name` with UID `set_uid`, if it is one:
/// a controller owner reference names the UID and its name has an ordinal
/// of the set.
fn read(pod: Shared<Pod>, set_name: Name, set_uid: Name) -> Option<(u32, SyncPod)> {
    let facts = PodFacts::read(&pod, set_name);
    if !facts.owned_by(set_uid, &pod.metadata) {
        return None;
    }
    Some((facts.ordinal?, SyncPod { pod, facts }))
}

impl SetPods {
    /// The pods of the set `key` (name and UID in `set`) by ordinal: the
    /// first time (or for a set made again) all that `list` gives (the
    /// cache's `<set>-` range, in key order); afterwards the kept listing,
    /// with the pods marked since read again through `get`.
    pub(super) fn of_set<I: Iterator<Item = Shared<Pod>>>(
        &mut self,
        key: &ObjectKey,
        set: &ObjectMeta,
        list: impl FnOnce() -> I,
        get: impl Fn(&ObjectKey) -> Option<Shared<Pod>>,
    ) -> Arc<BTreeMap<u32, SyncPod>> {
        let (name, uid) = (set.name, set.uid);
        let kept = self
            .sets
            .get(key)
            .is_some_and(|l| l.name == name && l.uid == uid);
        if !kept {
            self.forget_set(key);
            let mut pods = AddrMap::default();
            for pod in list() {
                let pod_key = pod.metadata.key();
                if let Some(entry) = read(pod, name, uid) {
                    self.join(&pod_key, key);
                    pods.insert(pod_key, entry);
                }
            }
            self.set_of_uid.insert(uid, key.clone());
            let stale = Vec::new();
            self.sets.insert(
                key.clone(),
                Listing {
                    name,
                    uid,
                    pods,
                    stale,
                    ordered: None,
                },
            );
        }
        let stale = std::mem::take(&mut self.sets.get_mut(key).expect("listed").stale);
        // The kept map by ordinal follows each pod read again: a pod's
        // ordinal comes from its name, so a key keeps its ordinal. It is
        // kept only while no two names give one ordinal (`web-1`,
        // `web-01`); such a listing is collected afresh, where the last
        // in name order wins.
        let mut ordered = self.sets.get_mut(key).expect("listed").ordered.take();
        for pod_key in stale {
            let entry = get(&pod_key).and_then(|p| read(p, name, uid));
            let listing = self.sets.get_mut(key).expect("listed");
            // What the kept map by ordinal needs of the new entry, taken
            // before the entry replaces the old one in one probe.
            let new = match (&ordered, &entry) {
                (Some(_), Some((ord, pod))) => Some((*ord, pod.clone())),
                _ => None,
            };
            let found = entry.is_some();
            let old = match entry {
                Some(entry) => listing.pods.insert(pod_key.clone(), entry),
                None => listing.pods.remove(&pod_key),
            };
            if let Some(map) = ordered.as_mut() {
                let map = Arc::make_mut(map);
                match (&old, new) {
                    (_, Some((ord, pod))) => {
                        if old.is_none() && map.contains_key(&ord) {
                            ordered = None;
                        } else {
                            map.insert(ord, pod);
                        }
                    }
                    (Some((ord, _)), None) => {
                        map.remove(ord);
                    }
                    (None, None) => {}
                }
            }
            if found {
                self.join(&pod_key, key);
            } else {
                self.leave(&pod_key, key);
            }
        }
        let listing = self.sets.get_mut(key).expect("listed");
        let ordered = ordered.unwrap_or_else(|| {
            // In key order: of two names with one ordinal, the last wins.
            let mut by_key: Vec<_> = listing.pods.iter_unordered().collect();
            by_key.sort_unstable_by_key(|(k, _)| *k);
            Arc::new(
                by_key
                    .into_iter()
                    .map(|(_, (ord, pod))| (*ord, pod.clone()))
                    .collect(),
            )
        });
        if ordered.len() == listing.pods.len() {
            listing.ordered = Some(Arc::clone(&ordered));
        }
        ordered
    }

    fn join(&mut self, pod: &ObjectKey, set: &ObjectKey) {
        let sets = self
            .sets_of_pod
            .get_or_insert_with(pod.clone(), SmallVec::new);
        if !sets.contains(set) {
            sets.push(set.clone());
        }
    }

    fn leave(&mut self, pod: &ObjectKey, set: &ObjectKey) {
        if let Some(sets) = self.sets_of_pod.get_mut(pod) {
            sets.retain(|s| s != set);
            if sets.is_empty() {
                self.sets_of_pod.remove(pod);
            }
        }
    }

    fn mark(&mut self, set: &ObjectKey, pod: &ObjectKey) {
        if let Some(listing) = self.sets.get_mut(set) {
            listing.stale.push(pod.clone());
        }
    }

    /// A watch event of `pod` (any change, deletion included): the sets
    /// that list it, and the set it names as controller, read it again.
    pub(super) fn pod_changed(&mut self, pod: &Pod) {
        let key = pod.metadata.key();
        let mut sets: SmallVec<[ObjectKey; 2]> = self
            .sets_of_pod
            .get(&key)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for o in pod
            .metadata
            .owner_references
            .iter()
            .filter(|o| o.controller)
        {
            if let Some(set) = self.set_of_uid.get(&o.uid) {
                sets.push(set.clone());
            }
        }
        for set in &sets {
            self.mark(set, &key);
        }
    }

    /// The controller wrote pod `pod` of set `set` (created or deleted it).
    pub(super) fn wrote(&mut self, set: &ObjectKey, pod: &ObjectKey) {
        self.mark(set, pod);
    }

    /// The set is gone (or made again): its listing goes.
    pub(super) fn forget_set(&mut self, key: &ObjectKey) {
        if let Some(listing) = self.sets.remove(key) {
            if self.set_of_uid.get(&listing.uid) == Some(key) {
                self.set_of_uid.remove(&listing.uid);
            }
            for (pod, _) in listing.pods.iter_unordered() {
                self.leave(pod, key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::meta::OwnerReference;
    use crate::api::pod::{PodCondition, PodStatus};

    fn pod(rv: u64, name: &str, owners: &[(&str, bool)], ready: Option<u64>) -> Shared<Pod> {
        let mut p = Pod {
            metadata: ObjectMeta {
                namespace: "db".into(),
                name: name.into(),
                resource_version: rv,
                owner_references: owners
                    .iter()
                    .map(|(uid, controller)| OwnerReference {
                        kind: "StatefulSet".into(),
                        name: "web".into(),
                        uid: (*uid).into(),
                        controller: *controller,
                    })
                    .collect(),
                ..Default::default()
            },
            spec: Default::default(),
            status: PodStatus {
                phase: PodPhase::Running,
                ..Default::default()
            },
        };
        p.metadata
            .labels
            .insert(super::super::LABEL_REVISION, format!("web-r{rv}"));
        if let Some(t) = ready {
            p.status.conditions.push(PodCondition {
                kind: "Ready".into(),
                status: "True".into(),
                reason: Name::default(),
                message: Name::default(),
                last_transition_time: Some(SimTime(t)),
            });
        }
        let obj = crate::api::AnyObject::from(p);
        Shared::new(obj).expect("a pod")
    }

    /// The facts answer as the pod would.
    #[test]
    fn facts_answer_as_the_pod_does() {
        let (web, uid) = (Name::new("web"), Name::new("u1"));
        let p = pod(5, "web-3", &[("u1", true)], None);
        let (ord, sp) = read(p.clone(), web, uid).expect("owned");
        assert_eq!(ord, 3);
        assert_eq!(sp.running_and_ready(), p.running_and_ready());
        assert!(!sp.healthy());
        assert_eq!(sp.revision(), "web-r5");
        let p = pod(6, "web-3", &[("u1", true)], Some(7));
        let (_, sp) = read(p.clone(), web, uid).expect("owned");
        assert_eq!(sp.revision(), "web-r6");
        assert!(sp.running_and_ready() && p.running_and_ready() && sp.healthy());
        assert_eq!(sp.ready_since(), Some(SimTime(7)));
        // Not this set's: another controller's, none, or not `<set>-<n>`.
        assert!(read(pod(7, "web-3", &[("u2", true)], None), web, uid).is_none());
        assert!(read(pod(8, "web-3", &[("u1", false)], None), web, uid).is_none());
        assert!(read(pod(9, "web-x", &[("u1", true)], None), web, uid).is_none());
        // Two controller references (the API server refuses them): the pod
        // itself is asked.
        let two = pod(10, "web-1", &[("u2", true), ("u1", true)], None);
        assert_eq!(read(two, web, uid).map(|(o, _)| o), Some(1));
    }

    /// What a sync sees of a set: (ordinal, pod name, resourceVersion).
    fn seen(pods: &BTreeMap<u32, SyncPod>) -> Vec<(u32, String, u64)> {
        pods.iter()
            .map(|(o, p)| (*o, p.metadata.name.to_string(), p.metadata.resource_version))
            .collect()
    }

    proptest::proptest! {
        /// Through any sequence of pod changes (owners gained, lost and
        /// swapped between two sets whose names overlap, pods deleted),
        /// each told as the watch tells it, the kept listings are what a
        /// fresh walk of the cache gives.
        #[test]
        fn kept_listings_are_fresh_listings(
            steps in proptest::collection::vec((0usize..7, 0usize..5, proptest::bool::ANY), 1..60)
        ) {
            let names = ["web-0", "web-1", "web-2", "web-1-0", "web-1-1", "web-x", "web-01"];
            let owners: [&[(&str, bool)]; 5] =
                [&[], &[("u1", true)], &[("u2", true)], &[("u1", false)], &[("u2", true), ("u1", true)]];
            let sets = [("web", "u1"), ("web-1", "u2")];
            let set_meta = |(name, uid): (&str, &str)| ObjectMeta {
                namespace: "db".into(),
                name: name.into(),
                uid: uid.into(),
                ..Default::default()
            };
            let mut cache = crate::cluster::ObjectSet::default();
            let mut kept = SetPods::default();
            for (rv, (n, o, delete)) in steps.into_iter().enumerate() {
                let p = pod(rv as u64 + 1, names[n], owners[o], Some(rv as u64));
                let key = p.metadata.key();
                if delete {
                    let Some(old) = cache.get_shared(crate::api::Kind::Pod, &key) else {
                        continue;
                    };
                    cache.remove(crate::api::Kind::Pod, &key);
                    kept.pod_changed(&Shared::<Pod>::new(old).expect("a pod"));
                } else {
                    cache.put_shared(p.clone().into_shared());
                    kept.pod_changed(&p);
                }
                for set in sets {
                    let meta = set_meta(set);
                    let prefix = ObjectKey::new(meta.namespace, format!("{}-", set.0));
                    let fresh: BTreeMap<u32, SyncPod> = cache
                        .list_prefixed_shared::<Pod>(&prefix)
                        .filter_map(|p| read(p, meta.name, meta.uid))
                        .collect();
                    let listed = kept.of_set(
                        &meta.key(),
                        &meta,
                        || cache.list_prefixed_shared::<Pod>(&prefix),
                        |k| cache.get_shared(crate::api::Kind::Pod, k).and_then(Shared::new),
                    );
                    proptest::prop_assert_eq!(seen(&listed), seen(&fresh));
                }
            }
        }
    }
}
