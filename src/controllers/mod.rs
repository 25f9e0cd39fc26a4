//! One file per real component, named as Kubernetes names it. Controllers
//! never call each other: like the real ones they meet only in the store,
//! learn of changes through watches (delivered after the profile's
//! propagation delay) and act when their own timers fire.

pub mod attach_detach;
pub mod claim_index;
pub mod csi_snapshotter;
pub mod endpoints;
pub mod expand_controller;
pub mod external_attacher;
pub mod external_resizer;
pub mod garbage_collector;
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
use crate::cluster::{EventType, Informer, Store, StoreError, Stored, WatchEvent};
use crate::engine::{SimDuration, SimTime};

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
    /// A context at `now` for a controller whose informer cache is `cache`;
    /// `next_call` numbers the calls it makes.
    pub fn new(
        now: SimTime,
        server: &'a mut Store,
        cache: &'a mut Informer,
        profile: &'a Profile,
        machines: &'a crate::backend::machines::Machines,
        next_call: &'a mut CallId,
    ) -> Self {
        Ctx {
            now,
            store: Api { server, cache },
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
/// of the watch events it has received), writes go to the API server and,
/// once accepted, into its own cache. Writes apply to the server's current
/// object, as a client retrying on conflict would.
pub struct Api<'a> {
    server: &'a mut Store,
    cache: &'a mut Informer,
}

impl Api<'_> {
    /// The object `key`, as this controller's informer has it.
    pub fn get<T: Stored>(&self, key: &ObjectKey) -> Option<&T> {
        self.cache.get(key)
    }

    /// Every object of kind `T` the informer has, by key.
    pub fn list<T: Stored>(&self) -> impl Iterator<Item = &T> {
        self.cache.list()
    }

    /// The informer's objects of kind `T` in `namespace` whose names start
    /// with `prefix`, by name, as shared handles to keep while writing.
    pub fn list_prefixed_shared<'a, T: Stored>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = crate::cluster::Shared<T>> + 'a {
        self.cache.list_prefixed_shared(namespace, prefix)
    }

    /// The object `key` as a shared handle, to keep while writing.
    pub fn get_shared<T: Stored>(&self, key: &ObjectKey) -> Option<crate::cluster::Shared<T>> {
        self.cache
            .get_shared(T::KIND, key)
            .and_then(crate::cluster::Shared::new)
    }

    /// The whole informer cache.
    pub fn cache(&self) -> &crate::cluster::ObjectSet {
        self.cache
    }

    /// A live GET from the API server, for the few places where controllers
    /// double-check their cache.
    pub fn live<T: Stored>(&self, key: &ObjectKey) -> Option<&T> {
        self.server.get(key)
    }

    fn refresh<T: Stored>(&mut self, key: &ObjectKey) {
        match self.server.get_shared(T::KIND, key) {
            Some(o) => self.cache.own_write(o),
            None => self.cache.forget(T::KIND, key),
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
    /// Kinds this controller's informer caches; it is told about their
    /// changes (and ignores those it only lists).
    fn watches(&self) -> &'static [Kind];
    /// Whether it asks its cache the indexed questions (pods by label,
    /// sets by selector, volume candidates): then its cache keeps the
    /// indexes that answer them fast.
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
