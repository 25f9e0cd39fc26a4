//! What a StatefulSet sync reads of each of the set's pods, kept per pod.
//!
//! Every sync of a set walks all its pods: whose they are, their ordinal,
//! revision label and readiness. In a large cluster those pods are long out
//! of the processor's caches, and each read is a chase through the pod's
//! labels, owner references and conditions. The answers change only when
//! the pod does, so they are kept here, small and together, for the
//! version they were read from (its resourceVersion), and read again only
//! from a newer one.

use crate::api::meta::ObjectMeta;
use crate::api::{Name, ObjectKey, Pod, PodPhase};
use crate::cluster::Shared;
use crate::engine::SimTime;
use rustc_hash::FxHashMap;

/// One version of a pod, as a sync reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct PodFacts {
    /// The version read.
    resource_version: u64,
    /// The set name the ordinal was read against.
    set_name: Name,
    /// `<set>-<ordinal>`'s ordinal, if the name has that form.
    ordinal: Option<u32>,
    /// The controller owner reference's UID (the API server allows one);
    /// with several, the pod itself is asked.
    controller: Controller,
    /// The `controller-revision-hash` label.
    revision: Option<Name>,
    /// Phase Running.
    running: bool,
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
            resource_version: pod.metadata.resource_version,
            set_name,
            ordinal: super::ordinal_of(&set_name, &pod.metadata.name),
            controller,
            revision: pod.metadata.labels.get(super::LABEL_REVISION).copied(),
            running: pod.status.phase == PodPhase::Running,
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
        self.facts.running && self.facts.ready_since.is_some()
    }

    /// [`Pod::healthy`] (`isHealthy`): running, ready and not terminating.
    pub(super) fn healthy(&self) -> bool {
        self.running_and_ready() && self.pod.metadata.deletion_timestamp.is_none()
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

/// The facts of every pod the controller has synced, by pod.
#[derive(Default)]
pub(super) struct PodFactsCache {
    by_pod: FxHashMap<ObjectKey, PodFacts>,
}

impl PodFactsCache {
    /// `pod` with its facts (read again if the pod changed since), if a
    /// controller owner reference names `set_uid` and its name has an
    /// ordinal of `set_name`.
    pub(super) fn of_set(
        &mut self,
        pod: Shared<Pod>,
        set_name: Name,
        set_uid: Name,
    ) -> Option<(u32, SyncPod)> {
        let key = pod.metadata.key();
        let rv = pod.metadata.resource_version;
        let facts = match self.by_pod.get(&key) {
            Some(f) if f.resource_version == rv && f.set_name == set_name => *f,
            _ => {
                let f = PodFacts::read(&pod, set_name);
                self.by_pod.insert(key, f);
                f
            }
        };
        if !facts.owned_by(set_uid, &pod.metadata) {
            return None;
        }
        Some((facts.ordinal?, SyncPod { pod, facts }))
    }

    /// The pod is gone.
    pub(super) fn forget(&mut self, pod: &ObjectKey) {
        self.by_pod.remove(pod);
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
        let obj = std::sync::Arc::new(crate::api::AnyObject::from(p));
        Shared::new(obj).expect("a pod")
    }

    /// The facts answer as the pod would, and follow the pod's versions.
    #[test]
    fn facts_answer_as_the_pod_and_follow_its_versions() {
        let mut cache = PodFactsCache::default();
        let (web, uid) = (Name::new("web"), Name::new("u1"));
        let p = pod(5, "web-3", &[("u1", true)], None);
        let (ord, sp) = cache.of_set(p.clone(), web, uid).expect("owned");
        assert_eq!(ord, 3);
        assert_eq!(sp.running_and_ready(), p.running_and_ready());
        assert!(!sp.healthy());
        assert_eq!(sp.revision(), "web-r5");
        // A newer version is read again: now Ready since t=7.
        let p = pod(6, "web-3", &[("u1", true)], Some(7));
        let (_, sp) = cache.of_set(p.clone(), web, uid).expect("owned");
        assert_eq!(sp.revision(), "web-r6");
        assert!(sp.running_and_ready() && p.running_and_ready() && sp.healthy());
        assert_eq!(sp.ready_since(), Some(SimTime(7)));
        // Not this set's: another controller's, none, or not `<set>-<n>`.
        assert!(
            cache
                .of_set(pod(7, "web-3", &[("u2", true)], None), web, uid)
                .is_none()
        );
        assert!(
            cache
                .of_set(pod(8, "web-3", &[("u1", false)], None), web, uid)
                .is_none()
        );
        assert!(
            cache
                .of_set(pod(9, "web-x", &[("u1", true)], None), web, uid)
                .is_none()
        );
        // Two controller references (the API server refuses them): the pod
        // itself is asked.
        let two = pod(10, "web-1", &[("u2", true), ("u1", true)], None);
        assert_eq!(cache.of_set(two, web, uid).map(|(o, _)| o), Some(1));
    }
}
