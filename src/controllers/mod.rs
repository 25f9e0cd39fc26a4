//! One file per real component, named as Kubernetes names it. Controllers
//! never call each other: like the real ones they meet only in the store,
//! learn of changes through watches (delivered after the profile's
//! propagation delay) and act when their own timers fire.

pub mod attach_detach;
pub mod claim_volumes;
pub mod csi_snapshotter;
pub mod endpoints;
pub mod expand_controller;
pub mod external_attacher;
pub mod external_resizer;
pub mod garbage_collector;
pub mod in_flight;
pub mod kubelet;
pub mod node_lifecycle;
pub mod pod_gc;
pub mod pods_by_node;
pub mod provisioner;
pub mod pv_controller;
pub mod pv_protection;
pub mod pvc_protection;
pub mod scheduler;
pub mod settings;
pub mod snapshot_controller;
pub mod statefulset;
pub mod taint_eviction;
pub mod workqueue;

pub use settings::ComponentSettings;

use crate::api::{Kind, ObjectKey, ObjectRef};
use crate::backend::{CallId, Profile, Reply, Request};
use crate::cluster::{EventType, Informer, OwnWrites, Store, StoreError, Stored, WatchEvent};
use crate::engine::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// What a controller's handler can reach: the clock, the API (its informer
/// cache for reads, the API server for writes), the backend profile (driver,
/// sidecar timers) and the CSI driver / cloud, which it calls asynchronously.
pub struct Ctx<'a> {
    /// Now.
    pub now: SimTime,
    /// Reads from this controller's informer, writes to the API server.
    pub store: Api<'a>,
    /// The backend profile in force.
    pub profile: &'a Profile,
    /// Which machines are down (what runs on a node stops with it).
    pub machines: &'a crate::backend::machines::Machines,
    calls: Vec<(CallId, Request, Option<SimDuration>)>,
    next_call: &'a mut CallId,
}

impl<'a> Ctx<'a> {
    /// A context at `now` for a controller whose informer cache is `cache`
    /// — its process's, shared with `own`, its writes not yet delivered,
    /// when other controllers run in the process; its own, which takes its
    /// writes at once, when it runs alone. `next_call` numbers the calls
    /// it makes.
    pub fn new(
        now: SimTime,
        server: &'a mut Store,
        cache: &'a mut Informer,
        own: Option<&'a mut OwnWrites>,
        profile: &'a Profile,
        machines: &'a crate::backend::machines::Machines,
        next_call: &'a mut CallId,
    ) -> Self {
        Ctx {
            now,
            store: Api { server, cache, own },
            profile,
            machines,
            calls: Vec::new(),
            next_call,
        }
    }

    /// Calls the driver or the cloud. The reply comes later through
    /// [`Controller::on_reply`], or as DeadlineExceeded after `timeout`.
    pub fn call(&mut self, request: Request, timeout: Option<SimDuration>) -> CallId {
        let id = *self.next_call;
        *self.next_call += 1;
        self.calls.push((id, request, timeout));
        id
    }

    /// The calls made during this handler, for the simulation to run.
    pub fn take_calls(&mut self) -> Vec<(CallId, Request, Option<SimDuration>)> {
        std::mem::take(&mut self.calls)
    }
}

/// A controller's view of the API: reads come from its informer cache (as
/// of the watch events it has received) and its own writes, writes go to
/// the API server. Writes apply to the server's current object, as a
/// client retrying on conflict would.
pub struct Api<'a> {
    server: &'a mut Store,
    cache: &'a mut Informer,
    /// This controller's undelivered writes, in a process whose informer
    /// is shared (`None`: its own cache takes its writes).
    own: Option<&'a mut OwnWrites>,
}

impl Api<'_> {
    /// What this controller's own undelivered writes say of `key`.
    fn own(&self, kind: Kind, key: &ObjectKey) -> crate::cluster::informer::OwnEntry<'_> {
        self.own.as_ref()?.lookup(kind, key)
    }

    /// This controller's undelivered writes of `kind`, if any.
    fn own_of_kind(&self, kind: Kind) -> Option<&crate::cluster::informer::OwnOfKind> {
        self.own.as_ref()?.of_kind(kind)
    }

    /// The object `key`, as this controller knows it.
    pub fn get<T: Stored>(&self, key: &ObjectKey) -> Option<&T> {
        match self.own(T::KIND, key) {
            Some(own) => own.and_then(|o| T::downcast(o)),
            None => self.cache.get(key),
        }
    }

    /// Every object of kind `T` this controller knows, by key.
    pub fn list<T: Stored>(&self) -> Box<dyn Iterator<Item = &T> + '_> {
        let Some(own) = self.own_of_kind(T::KIND) else {
            return Box::new(self.cache.list());
        };
        let mut all: BTreeMap<&ObjectKey, &T> = self.cache.list_keyed::<T>().collect();
        merge_own(&mut all, own);
        Box::new(all.into_values())
    }

    /// The objects of kind `T` in `namespace` whose names start with
    /// `prefix`, by name, as shared handles to keep while writing.
    pub fn list_prefixed_shared<'a, T: Stored>(
        &'a self,
        prefix: &'a ObjectKey,
    ) -> Box<dyn Iterator<Item = crate::cluster::Shared<T>> + 'a> {
        // Own writes are few and ordered by key: only those in the range
        // need merging, and usually there are none (then the cache's range
        // is the answer, without a map built per call).
        let own: Vec<(&ObjectKey, &Option<crate::api::AnyObject>)> = self
            .own_of_kind(T::KIND)
            .map(|own| {
                own.range(prefix..)
                    .take_while(|(k, _)| prefix.contains(k))
                    .map(|(k, (_, o))| (k, o))
                    .collect()
            })
            .unwrap_or_default();
        if own.is_empty() {
            return Box::new(self.cache.list_prefixed_shared(prefix));
        }
        let mut all: BTreeMap<ObjectKey, crate::api::AnyObject> = self
            .cache
            .list_prefixed_shared::<T>(prefix)
            .map(|s| (s.meta().key(), s.into_shared()))
            .collect();
        for (k, o) in own {
            match o {
                Some(o) => all.insert(k.clone(), o.clone()),
                None => all.remove(k),
            };
        }
        Box::new(all.into_values().filter_map(crate::cluster::Shared::new))
    }

    /// The object `key` as a shared handle, to keep while writing.
    pub fn get_shared<T: Stored>(&self, key: &ObjectKey) -> Option<crate::cluster::Shared<T>> {
        match self.own(T::KIND, key) {
            Some(own) => own.cloned(),
            None => self.cache.get_shared(T::KIND, key),
        }
        .and_then(crate::cluster::Shared::new)
    }

    /// The volumes `claim` could bind to, by name, as this controller knows
    /// them ([`crate::cluster::ObjectSet::pv_candidates`]).
    pub fn pv_candidates(
        &self,
        claim: &crate::api::PersistentVolumeClaim,
    ) -> Vec<&crate::api::PersistentVolume> {
        use crate::api::PersistentVolume;
        let from_cache = self.cache.pv_candidates(claim);
        let Some(own) = self.own_of_kind(Kind::PersistentVolume) else {
            return from_cache.collect();
        };
        let mut all: BTreeMap<ObjectKey, &PersistentVolume> =
            from_cache.map(|pv| (pv.metadata.key(), pv)).collect();
        for (k, (_, o)) in own {
            all.remove(k);
            if let Some(pv) = o.as_ref().and_then(PersistentVolume::downcast)
                && crate::cluster::ObjectSet::pv_is_candidate(pv, claim)
            {
                all.insert(k.clone(), pv);
            }
        }
        all.into_values().collect()
    }

    /// The informer cache as delivered. In a shared process it does not
    /// hold this controller's undelivered writes: read through it only
    /// kinds the controller does not write.
    pub fn cache(&self) -> &crate::cluster::ObjectSet {
        self.cache
    }

    /// A live GET from the API server, for the few places where controllers
    /// double-check their cache.
    pub fn live<T: Stored>(&self, key: &ObjectKey) -> Option<&T> {
        self.server.get(key)
    }

    /// After a write: the controller knows what it left.
    fn refresh<T: Stored>(&mut self, key: &ObjectKey) {
        let obj = self.server.get_shared(T::KIND, key);
        match &mut self.own {
            Some(own) => {
                // The version it left, or for a removal the write's own;
                // nothing if the informer has delivered that version (a
                // write that changed nothing).
                let rv = obj.as_ref().map_or(self.server.resource_version(), |o| {
                    o.meta().resource_version
                });
                let delivered = self
                    .cache
                    .get_shared(T::KIND, key)
                    .is_some_and(|c| c.meta().resource_version >= rv);
                if delivered {
                    own.forget(T::KIND, key);
                } else {
                    own.record(T::KIND, key, rv, obj);
                }
            }
            None => match obj {
                Some(o) => self.cache.own_write(o),
                None => self.cache.forget(T::KIND, key),
            },
        }
    }

    /// Creates an object.
    pub fn create<T: Stored>(&mut self, obj: T) -> Result<(), StoreError> {
        let key = obj.meta().key();
        self.server.create(obj)?;
        self.refresh::<T>(&key);
        Ok(())
    }

    /// Changes an object with `f` (on the server's current version).
    pub fn modify<T: Stored>(
        &mut self,
        key: &ObjectKey,
        f: impl FnOnce(&mut T),
    ) -> Result<(), StoreError> {
        self.server.modify(key, f)?;
        self.refresh::<T>(key);
        Ok(())
    }

    /// [`Api::modify`] for a change that often alters nothing: `needed`
    /// tells, from the server's current version, whether `f` would change
    /// it. When it would not, nothing is written (as a write that changes
    /// nothing writes nothing) and the object is neither copied nor
    /// compared; the controller still learns the current version, as after
    /// any write. Controllers call this on every sync of objects that are
    /// long settled (the PV controller re-binds each bound pair). Debug
    /// builds check that `f` indeed changes nothing when `needed` says so.
    pub fn modify_if<T: Stored>(
        &mut self,
        key: &ObjectKey,
        needed: impl FnOnce(&T) -> bool,
        f: impl FnOnce(&mut T),
    ) -> Result<(), StoreError> {
        let skip = self.server.get::<T>(key).is_some_and(|o| !needed(o));
        if !skip {
            return self.modify(key, f);
        }
        #[cfg(debug_assertions)]
        if let Some(current) = self.server.get::<T>(key) {
            let mut copy = current.clone();
            f(&mut copy);
            assert!(
                copy == *current,
                "{key}: a change said to alter nothing altered it"
            );
        }
        self.refresh::<T>(key);
        Ok(())
    }

    /// Graceful delete.
    pub fn delete<T: Stored>(&mut self, key: &ObjectKey) -> Result<(), StoreError> {
        self.server.delete::<T>(key)?;
        self.refresh::<T>(key);
        Ok(())
    }

    /// Records a DNS name starting or stopping to resolve.
    pub fn record_dns(&mut self, name: String, resolves: bool) {
        self.server.record_dns(name, resolves);
    }

    /// A forced delete (`--grace-period=0 --force`): finalizers still hold.
    pub fn force_delete<T: Stored>(&mut self, key: &ObjectKey) -> Result<(), StoreError> {
        self.server.force_delete::<T>(key)?;
        self.refresh::<T>(key);
        Ok(())
    }

    /// Removes the object at once (kubelet's final DELETE with grace 0).
    pub fn remove<T: Stored>(&mut self, key: &ObjectKey) -> Result<(), StoreError> {
        self.server.remove::<T>(key)?;
        self.refresh::<T>(key);
        Ok(())
    }

    /// Removes a finalizer.
    pub fn remove_finalizer<T: Stored>(
        &mut self,
        key: &ObjectKey,
        finalizer: &str,
    ) -> Result<(), StoreError> {
        self.server.remove_finalizer::<T>(key, finalizer)?;
        self.refresh::<T>(key);
        Ok(())
    }

    /// Records an Event.
    pub fn record_event(
        &mut self,
        object: ObjectRef,
        kind: EventType,
        reason: &str,
        message: impl Into<String>,
        source: &'static str,
    ) {
        self.server
            .record_event(object, kind, reason, message, source);
    }
}

/// The process of the controllers that run inside kube-controller-manager.
pub const CONTROLLER_MANAGER: &str = "kube-controller-manager";

/// Puts a controller's undelivered writes over the objects of its informer.
fn merge_own<'a, T: Stored>(
    all: &mut BTreeMap<&'a ObjectKey, &'a T>,
    own: &'a crate::cluster::informer::OwnOfKind,
) {
    for (k, (_, o)) in own {
        match o.as_ref().and_then(T::downcast) {
            Some(o) => all.insert(k, o),
            None => all.remove(k),
        };
    }
}

/// A control-plane component.
pub trait Controller {
    /// The component name Events carry as their source.
    fn name(&self) -> &'static str;
    /// The process it runs in. The controllers of one process share its
    /// informers, as kube-controller-manager's controllers share one
    /// informer factory: one watch per kind, one cache, each change
    /// delivered to all of them at once. A component of its own (the
    /// scheduler, a CSI sidecar) is its own process.
    fn process(&self) -> &'static str {
        self.name()
    }
    /// Kinds this controller watches: its process's informer caches them
    /// and it is told about their changes (and ignores those it only
    /// lists).
    fn watches(&self) -> &'static [Kind];
    /// Whether it asks its cache the indexed questions (pods by label or
    /// by claim, sets by selector, volume candidates): then its process's cache
    /// keeps the indexes that answer them fast.
    fn uses_indexes(&self) -> bool {
        false
    }
    /// A watched change arrived (after the propagation delay). Usually this
    /// only queues work; the work runs in [`Controller::on_wake`].
    fn on_watch(&mut self, event: &WatchEvent, cx: &mut Ctx<'_>);
    /// The controller's wake time came: do the work that is due.
    fn on_wake(&mut self, cx: &mut Ctx<'_>);
    /// A machine went down or came back (the scenario's doing).
    fn on_machines(&mut self, _cx: &mut Ctx<'_>) {}
    /// A call this controller made has returned.
    fn on_reply(&mut self, reply: &Reply, cx: &mut Ctx<'_>) {
        let _ = (reply, cx);
    }
    /// When the controller next wants to run, if at all. Nothing pending
    /// means no timer, so an idle cluster costs nothing.
    fn next_wake(&self) -> Option<SimTime>;
    /// Human lines about work still pending, for runs stopped by a bound
    /// (`store` is the API server's final state).
    fn pending(&self, store: &Store) -> Vec<String>;
}

/// The controllers of a run, in a fixed order; `seed` feeds the streams of
/// those that draw (the scheduler's tie-breaks); `images` tells kubelet how
/// each image behaves.
pub fn all(
    settings: &ComponentSettings,
    seed: u64,
    images: &std::collections::BTreeMap<String, kubelet::ImageBehaviour>,
    gates: &std::collections::BTreeMap<String, bool>,
) -> Vec<Box<dyn Controller>> {
    let max_unavailable = gates
        .get("MaxUnavailableStatefulSet")
        .copied()
        .unwrap_or(false);
    vec![
        Box::new(statefulset::StatefulSetController::new(max_unavailable)),
        Box::new(garbage_collector::GarbageCollector::default()),
        Box::new(taint_eviction::TaintEviction::default()),
        Box::new(node_lifecycle::NodeLifecycle::new(seed)),
        Box::new(pod_gc::PodGc::default()),
        Box::new(endpoints::Endpoints::default()),
        Box::new(scheduler::Scheduler::new(settings.scheduler.clone(), seed)),
        Box::new(attach_detach::AttachDetachController::default()),
        Box::new(external_attacher::ExternalAttacher::default()),
        Box::new(kubelet::Kubelet::new(images.clone(), seed)),
        Box::new(pv_controller::PvController::new(
            settings.pv_controller.clone(),
        )),
        Box::new(pvc_protection::PvcProtectionController::default()),
        Box::new(pv_protection::PvProtectionController::default()),
        Box::new(provisioner::Provisioner::default()),
        Box::new(expand_controller::ExpandController),
        Box::new(external_resizer::ExternalResizer::default()),
        Box::new(snapshot_controller::SnapshotController::default()),
        Box::new(csi_snapshotter::CsiSnapshotter::default()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ObjectMeta, Pod};
    use crate::backend::machines::Machines;

    fn pod(name: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                namespace: "default".into(),
                name: name.into(),
                ..Default::default()
            },
            spec: Default::default(),
            status: Default::default(),
        }
    }

    /// Runs `f` as the controller whose undelivered writes are `own`, in a
    /// process whose informer is `cache`.
    fn as_controller<R>(
        store: &mut Store,
        cache: &mut Informer,
        own: &mut OwnWrites,
        f: impl FnOnce(&mut Api<'_>) -> R,
    ) -> R {
        let profile = Profile::built_in("reference").unwrap();
        let machines = Machines::default();
        let mut next_call = 1;
        let mut cx = Ctx::new(
            SimTime::ZERO,
            store,
            cache,
            Some(own),
            &profile,
            &machines,
            &mut next_call,
        );
        f(&mut cx.store)
    }

    fn names(api: &Api<'_>) -> Vec<String> {
        api.list::<Pod>()
            .map(|p| p.metadata.name.to_string())
            .collect()
    }

    #[test]
    fn in_a_shared_process_only_the_writer_knows_its_write_until_the_watch_delivers_it() {
        let mut store = Store::new();
        let mut cache = Informer::of(&store, false);
        let (mut a, mut b) = (OwnWrites::default(), OwnWrites::default());
        let key = ObjectKey::new("default", "web-0");
        as_controller(&mut store, &mut cache, &mut a, |api| {
            api.create(pod("web-0")).unwrap();
            assert!(api.get::<Pod>(&key).is_some(), "the writer knows at once");
            assert_eq!(names(api), ["web-0"]);
            assert_eq!(
                api.list_prefixed_shared::<Pod>(&ObjectKey::new("default", "web-"))
                    .count(),
                1
            );
        });
        as_controller(&mut store, &mut cache, &mut b, |api| {
            assert!(api.get::<Pod>(&key).is_none(), "the others do not");
            assert!(names(api).is_empty());
        });
        // The watch delivers the pod: everyone knows it, and the writer's
        // own entry is gone.
        for w in store.drain_watch_events() {
            cache.apply(&w);
            a.expire(&w);
            b.expire(&w);
        }
        assert!(a.of_kind(Kind::Pod).is_none());
        as_controller(&mut store, &mut cache, &mut b, |api| {
            assert_eq!(names(api), ["web-0"]);
        });
        // The writer removes it: it knows at once, the others see it until
        // the deletion is delivered, and an older change delivered in
        // between does not bring it back for the writer.
        let created = store.get_shared(Kind::Pod, &key).unwrap();
        as_controller(&mut store, &mut cache, &mut a, |api| {
            api.remove::<Pod>(&key).unwrap();
            assert!(api.get::<Pod>(&key).is_none());
            assert!(names(api).is_empty());
        });
        let stale = WatchEvent {
            kind: Kind::Pod,
            key: key.clone(),
            op: crate::cluster::ChangeOp::Modified,
            resource_version: created.meta().resource_version,
            object: created,
            number: None,
        };
        a.expire(&stale);
        as_controller(&mut store, &mut cache, &mut a, |api| {
            assert!(api.get::<Pod>(&key).is_none(), "an older change is no news");
        });
        as_controller(&mut store, &mut cache, &mut b, |api| {
            assert!(api.get::<Pod>(&key).is_some());
        });
        for w in store.drain_watch_events() {
            cache.apply(&w);
            a.expire(&w);
        }
        assert!(a.of_kind(Kind::Pod).is_none());
        as_controller(&mut store, &mut cache, &mut b, |api| {
            assert!(api.get::<Pod>(&key).is_none());
        });
    }

    /// A change said to be needed is written; one said not to be writes
    /// nothing, yet the writer still learns the current version, as after
    /// a write that changed nothing.
    #[test]
    fn modify_if_writes_only_what_is_needed_and_the_writer_sees_the_server() {
        let mut store = Store::new();
        let mut cache = Informer::of(&store, false);
        let mut own = OwnWrites::default();
        let key = ObjectKey::new("default", "web-0");
        store.create(pod("web-0")).unwrap();
        let label = |p: &Pod| p.metadata.labels.get_str("app").map(str::to_string);
        as_controller(&mut store, &mut cache, &mut own, |api| {
            assert!(api.get::<Pod>(&key).is_none(), "not delivered yet");
            let rv = api.live::<Pod>(&key).unwrap().metadata.resource_version;
            // Not needed: nothing written, but the pod is known now.
            api.modify_if::<Pod>(&key, |_| false, |_| {}).unwrap();
            assert_eq!(api.live::<Pod>(&key).unwrap().metadata.resource_version, rv);
            assert!(
                api.get::<Pod>(&key).is_some(),
                "the writer learns the server's"
            );
            // Needed: written.
            let set = |p: &mut Pod| {
                p.metadata.labels.insert("app", "web");
            };
            let missing = |p: &Pod| !p.metadata.labels.contains_key("app");
            api.modify_if::<Pod>(&key, missing, set).unwrap();
            let after = api.live::<Pod>(&key).unwrap();
            assert_eq!(label(after).as_deref(), Some("web"));
            assert!(after.metadata.resource_version > rv);
            let rv = after.metadata.resource_version;
            // Asked again, it is no longer needed: no second write.
            api.modify_if::<Pod>(&key, missing, set).unwrap();
            assert_eq!(api.live::<Pod>(&key).unwrap().metadata.resource_version, rv);
            assert!(
                api.modify_if::<Pod>(&ObjectKey::new("default", "x"), missing, set)
                    .is_err()
            );
        });
    }

    /// Debug builds catch a predicate that denies a write `f` would make.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "a change said to alter nothing altered it")]
    fn modify_if_catches_a_wrong_predicate_in_debug_builds() {
        let mut store = Store::new();
        let mut cache = Informer::of(&store, false);
        let mut own = OwnWrites::default();
        store.create(pod("web-0")).unwrap();
        as_controller(&mut store, &mut cache, &mut own, |api| {
            let key = ObjectKey::new("default", "web-0");
            let _ = api.modify_if::<Pod>(
                &key,
                |_| false,
                |p| {
                    p.metadata.labels.insert("app", "web");
                },
            );
        });
    }
}
