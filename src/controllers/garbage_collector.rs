//! The garbage collector (kube-controller-manager): objects whose owner
//! (by UID) is gone are deleted, in the background, as `kubectl delete`'s
//! default propagation does. The StatefulSet PVC retention policy and
//! StatefulSet deletion work through it.

use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::meta::OwnerReference;
use crate::api::{Kind, Name, ObjectKey, ObjectMeta, PersistentVolumeClaim, Pod, StatefulSet};
use crate::cluster::{AddrMap, ChangeOp, Store, Stored, WatchEvent};
use crate::engine::SimTime;

/// Event source.
pub const SOURCE: &str = "garbage-collector-controller";

/// The controller.
#[derive(Default)]
pub struct GarbageCollector {
    queue: WorkQueue<(Kind, ObjectKey)>,
    /// Dependents by owner UID, as the watch showed them (the real
    /// collector's dependency graph): an owner's deletion looks here, not
    /// at every object. A superset; each use checks the cache. Looked up
    /// by UID, never walked, so hashed by the names' addresses. Each
    /// owner's dependents are hashed too (every watch event of a dependent
    /// looks its entry up) and sorted when the owner goes, the one time
    /// they are walked.
    dependents: AddrMap<Name, AddrMap<(Kind, ObjectKey), ()>>,
}

impl GarbageCollector {
    /// Whether `owner` still exists with its UID.
    fn owner_exists(owner: &OwnerReference, namespace: Name, cx: &Ctx<'_>) -> bool {
        fn uid_is<T: Stored>(key: &ObjectKey, uid: Name, cx: &Ctx<'_>) -> bool {
            cx.store.live::<T>(key).is_some_and(|o| o.meta().uid == uid)
        }
        // The kinds' names interned once: an owner's kind is compared by
        // address, without reading its string from the interner.
        static KINDS: std::sync::OnceLock<[(Name, Kind); 3]> = std::sync::OnceLock::new();
        let kinds = KINDS.get_or_init(|| {
            [Kind::Pod, Kind::StatefulSet, Kind::PersistentVolumeClaim]
                .map(|k| (Name::new(k.as_str()), k))
        });
        let key = ObjectKey {
            namespace,
            name: owner.name,
        };
        match kinds.iter().find(|(name, _)| *name == owner.kind) {
            Some((_, Kind::Pod)) => uid_is::<Pod>(&key, owner.uid, cx),
            Some((_, Kind::StatefulSet)) => uid_is::<StatefulSet>(&key, owner.uid, cx),
            Some((_, Kind::PersistentVolumeClaim)) => {
                uid_is::<PersistentVolumeClaim>(&key, owner.uid, cx)
            }
            _ => true,
        }
    }

    /// Deletes `key` if every owner it names is gone.
    fn collect<T: Stored>(key: &ObjectKey, cx: &mut Ctx<'_>) {
        if cx
            .store
            .live::<T>(key)
            .is_some_and(|o| Self::orphaned(o.meta(), cx))
        {
            let _ = cx.store.delete::<T>(key);
        }
    }

    fn orphaned(meta: &ObjectMeta, cx: &Ctx<'_>) -> bool {
        meta.deletion_timestamp.is_none()
            && !meta.owner_references.is_empty()
            && meta
                .owner_references
                .iter()
                .all(|o| !Self::owner_exists(o, meta.namespace, cx))
    }
}

impl Controller for GarbageCollector {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::Pod, Kind::PersistentVolumeClaim, Kind::StatefulSet]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let meta = ev.object.meta();
        // Whether the object names an owner the graph did not link it to
        // yet (its first event, a new owner, or an owner whose deletion
        // dropped its links). An owner reference removed is no cause, as
        // in the real graph builder, where it only unblocks the owner.
        let mut new_owner = false;
        for o in &meta.owner_references {
            let set = self.dependents.get_or_insert_with(o.uid, AddrMap::default);
            if ev.op == ChangeOp::Deleted {
                set.remove(&(ev.kind, ev.key.clone()));
            } else {
                new_owner |= set.insert((ev.kind, ev.key.clone()), ()).is_none();
            }
        }
        if ev.op == ChangeOp::Deleted {
            // An owner went: look at what it owned.
            let uid = meta.uid;
            let ns = ev.key.namespace;
            let owned = |m: &ObjectMeta| {
                m.namespace == ns && m.owner_references.iter().any(|o| o.uid == uid)
            };
            let mut known: Vec<(Kind, ObjectKey)> = (self.dependents.remove(&uid))
                .map(|set| set.iter_unordered().map(|(k, ())| k.clone()).collect())
                .unwrap_or_default();
            known.sort_unstable();
            let pods: Vec<ObjectKey> = known
                .iter()
                .filter(|(k, _)| *k == Kind::Pod)
                .filter_map(|(_, key)| cx.store.get::<Pod>(key))
                .filter(|p| owned(&p.metadata))
                .map(|p| p.metadata.key())
                .collect();
            let claims: Vec<ObjectKey> = known
                .iter()
                .filter(|(k, _)| *k == Kind::PersistentVolumeClaim)
                .filter_map(|(_, key)| cx.store.get::<PersistentVolumeClaim>(key))
                .filter(|c| owned(&c.metadata))
                .map(|c| c.metadata.key())
                .collect();
            for k in pods {
                self.queue.add((Kind::Pod, k), cx.now);
            }
            for k in claims {
                self.queue.add((Kind::PersistentVolumeClaim, k), cx.now);
            }
        } else if new_owner {
            self.queue.add((ev.kind, ev.key.clone()), cx.now);
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some((kind, key)) = self.queue.pop_due(cx.now) {
            match kind {
                Kind::Pod => Self::collect::<Pod>(&key, cx),
                Kind::PersistentVolumeClaim => Self::collect::<PersistentVolumeClaim>(&key, cx),
                _ => {}
            }
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, _store: &Store) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::meta::OwnerReference;
    use crate::backend::machines::Machines;
    use crate::backend::profile::Profile;
    use crate::cluster::Informer;
    use serde_json::json;

    /// Delivers the store's new watch events to the cache and the
    /// collector; then, if it wants to wake, wakes it. Says whether it did.
    fn deliver(gc: &mut GarbageCollector, store: &mut Store, cache: &mut Informer) -> bool {
        let profile = Profile::built_in("reference").expect("a built-in profile");
        let machines = Machines::default();
        let mut next_call = 1;
        for w in store.drain_watch_events() {
            cache.apply(&w);
            let now = store.now();
            let mut cx = Ctx::new(now, store, cache, None, &profile, &machines, &mut next_call);
            gc.on_watch(&w, &mut cx);
        }
        let due = gc.next_wake().is_some();
        if due {
            let now = store.now();
            let mut cx = Ctx::new(now, store, cache, None, &profile, &machines, &mut next_call);
            gc.on_wake(&mut cx);
        }
        due
    }

    fn owner(name: &str, uid: Name) -> OwnerReference {
        OwnerReference {
            kind: Name::new("StatefulSet"),
            name: Name::new(name),
            uid,
            controller: true,
        }
    }

    /// As the real collector's graph builder: a dependent is looked at when
    /// it is first seen, when it names an owner the graph has not linked it
    /// to, and when an owner goes; an update that leaves its owners as
    /// they were is not (the collector once checked it at every update).
    #[test]
    fn a_dependent_is_checked_when_first_seen_on_a_new_owner_and_when_an_owner_goes() {
        let mut store = Store::new();
        let mut cache = Informer::of(&store, false);
        let mut gc = GarbageCollector::default();
        let set: StatefulSet = serde_json::from_value(json!({
            "metadata": { "namespace": "default", "name": "web" },
            "spec": {
                "selector": { "matchLabels": { "app": "web" } },
                "template": { "metadata": {}, "spec": {} },
            },
            "status": {},
        }))
        .expect("a set");
        store.create(set).expect("created");
        let set_key = ObjectKey::new("default", "web");
        let uid = store
            .get::<StatefulSet>(&set_key)
            .expect("stored")
            .metadata
            .uid;
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": { "namespace": "default", "name": "web-0" },
            "spec": {},
            "status": {},
        }))
        .expect("a pod");
        pod.metadata.owner_references.push(owner("web", uid));
        store.create(pod).expect("created");
        let key = ObjectKey::new("default", "web-0");
        assert!(deliver(&mut gc, &mut store, &mut cache), "first seen");
        assert!(store.get::<Pod>(&key).is_some(), "its owner lives");

        store
            .modify::<Pod>(&key, |p| p.status.reason = "Running".into())
            .expect("modified");
        assert!(
            !deliver(&mut gc, &mut store, &mut cache),
            "the same owners: nothing to look at"
        );

        store
            .modify::<Pod>(&key, |p| {
                (p.metadata.owner_references).push(owner("db", Name::new("no-such-uid")))
            })
            .expect("modified");
        assert!(deliver(&mut gc, &mut store, &mut cache), "a new owner");
        assert!(store.get::<Pod>(&key).is_some(), "one owner still lives");

        store.remove::<StatefulSet>(&set_key).expect("removed");
        assert!(deliver(&mut gc, &mut store, &mut cache), "an owner went");
        assert!(
            store
                .get::<Pod>(&key)
                .is_none_or(|p| p.metadata.deletion_timestamp.is_some()),
            "no owner lives: collected"
        );
    }
}
