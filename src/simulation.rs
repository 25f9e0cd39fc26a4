//! One run: the engine's queue drives scenario actions, watch deliveries and
//! controller wake-ups against the store, until the scenario's end, until
//! nothing is pending, or until a safety bound stops it.

use crate::api::{AnyObject, Kind, ObjectRef};
use crate::backend::Profile;
use crate::backend::latency::Sampler;
use crate::backend::{Call, CallId, Cloud, GrpcCode, Reply, Request, Response, RpcError};
use crate::cluster::{
    CallPhase, Informer, OperationRecord, OwnWrites, Store, StoreError, WatchEvent,
};
use crate::controllers::{self, Controller, Ctx};
use crate::engine::{EventId, EventQueue, SimTime, StreamPrefix};
use crate::scenario::{ActionKind, Scenario, Tracker, When};
use crate::timings::Slot;
use std::collections::BTreeMap;

/// Command-line overrides of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Use this seed instead of the scenario's.
    pub seed: Option<u64>,
    /// Use this built-in profile instead of the scenario's.
    pub profile: Option<Profile>,
    /// Override the bound on handled events.
    pub max_events: Option<u64>,
    /// Override the bound on simulated time.
    pub max_time: Option<SimTime>,
    /// Check Kubernetes' guarantees after every event; a violation stops
    /// the run (`storsim::invariants`).
    pub check_invariants: bool,
    /// More controllers, after the real ones (tests use this to show the
    /// invariant checker catching a broken one).
    pub extra_controllers: Vec<fn() -> Box<dyn controllers::Controller>>,
    /// Time every handled event by its kind and component
    /// ([`RunResult::timings`]); wall time, never part of a result.
    pub timings: bool,
    /// Encode the log on the run's own thread. By default a run on a
    /// machine with more than one core hands its records to a thread of
    /// their own ([`Store::log_in_thread`]); a batch, which keeps every
    /// core busy with runs side by side, writes in line. The output is the
    /// same either way.
    pub inline_log: bool,
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum EndReason {
    /// It reached the scenario's `end`.
    ReachedEnd,
    /// Nothing was left to do.
    Settled,
    /// A guarantee Kubernetes gives was broken (a bug in a model).
    Invariant(crate::invariants::Violation),
    /// A safety bound stopped it early.
    Bound {
        /// Which bound, in words.
        what: String,
        /// What was still pending, one line each.
        pending: Vec<String>,
    },
}

/// What a run leaves behind.
pub struct RunResult {
    /// The final state and the full log.
    pub store: Store,
    /// When the run stopped.
    pub end_time: SimTime,
    /// Why.
    pub end: EndReason,
    /// When each labelled action ran.
    pub labels: BTreeMap<String, SimTime>,
    /// Queue events handled.
    pub events_handled: u64,
    /// The seed used.
    pub seed: u64,
    /// The profile used.
    pub profile: String,
    /// Its prices, for the bill.
    pub pricing: crate::backend::pricing::Pricing,
    /// Its CSI driver.
    pub driver: String,
    /// True when seed and profile are the scenario's own (timings checked).
    pub own_profile_and_seed: bool,
    /// Where the wall-clock time went, when [`RunOptions::timings`] asked.
    pub timings: Option<crate::timings::Timings>,
}

/// Whose state an event may have changed, so whose next wake to recompute.
#[derive(Clone, Copy)]
enum Touched {
    /// Every controller's (scenario actions reach into several).
    All,
    /// This controller's.
    One(usize),
    /// The controllers of this process (a watch event told them all).
    Process(usize),
    /// No controller's.
    None,
}

/// A process the controllers run in, with the informers they share: one
/// watch stream per kind, whose changes reach all of them at once, and one
/// cache.
struct Process {
    /// Its name (the controller's own for a component of its own), which
    /// keys its watch streams' delays.
    name: &'static str,
    /// Its controllers, in the run's controller order.
    members: Vec<usize>,
    /// The kinds any of them watches.
    watches: Vec<Kind>,
}

/// The processes of `controllers`, in the order of their first member.
fn processes(controllers: &[Box<dyn Controller>]) -> Vec<Process> {
    let mut procs: Vec<Process> = Vec::new();
    for (c, ctrl) in controllers.iter().enumerate() {
        let p = match procs.iter().position(|p| p.name == ctrl.process()) {
            Some(p) => p,
            None => {
                procs.push(Process {
                    name: ctrl.process(),
                    members: Vec::new(),
                    watches: Vec::new(),
                });
                procs.len() - 1
            }
        };
        procs[p].members.push(c);
        for k in ctrl.watches() {
            if !procs[p].watches.contains(k) {
                procs[p].watches.push(*k);
            }
        }
    }
    procs
}

enum SimEvent {
    Action(usize),
    /// A watch event reaches a process (one copy shared by every process
    /// it goes to: a queue entry stays two words wide).
    Deliver(usize, std::rc::Rc<WatchEvent>),
    Wake(usize),
    /// A backend call completes (its effect applies even if its caller gave up).
    CallDone(Box<(Call, Option<RpcError>, u32)>),
    /// A caller's timeout on a call runs out.
    CallTimeout(CallId),
}

/// A call whose caller is still waiting.
struct OpenCall {
    caller: usize,
    request: Request,
    attempt: u32,
}

struct Sim<'a> {
    scenario: &'a Scenario,
    profile: Profile,
    /// The profile as the run started, for clearing injected faults.
    base_profile: Profile,
    /// Which machines are down.
    machines: crate::backend::machines::Machines,
    seed: u64,
    queue: EventQueue<SimEvent>,
    store: Store,
    controllers: Vec<Box<dyn Controller>>,
    wakes: Vec<Option<(SimTime, EventId)>>,
    triggers: Vec<(usize, Tracker)>,
    log_cursor: usize,
    labels: BTreeMap<String, SimTime>,
    cloud: Cloud,
    /// The processes the controllers run in.
    processes: Vec<Process>,
    /// Each controller's process.
    process_of: Vec<usize>,
    /// Each process's informer cache, as of the events delivered to it.
    informers: Vec<Informer>,
    /// Each controller's writes its process's informer has not delivered
    /// yet, where the process has other controllers (alone, a controller's
    /// writes go into its cache at once).
    own_writes: Vec<Option<OwnWrites>>,
    /// Latest delivery time per (process, kind) watch stream: one slot
    /// per kind (in `Kind::ALL`'s order) for each process, read and
    /// written on every delivery, never walked.
    last_delivery: Vec<[SimTime; Kind::ALL.len()]>,
    /// Room for a watch event's stream key (`Kind/ns/name`), reused by
    /// every event of the run instead of allocated per write.
    stream_object: String,
    next_call: CallId,
    /// The calls whose callers still wait, by id: looked up and removed,
    /// never walked, so their order cannot reach the output.
    open_calls: rustc_hash::FxHashMap<CallId, OpenCall>,
}

/// Runs `scenario` with `opts`.
pub fn run(scenario: &Scenario, opts: &RunOptions) -> RunResult {
    run_observed(scenario, opts, &mut |_| {})
}

/// [`run`], calling `observe` with the API server's state after the
/// cluster is set up and after every handled event: what tests use to
/// check invariants at every step.
pub fn run_observed(
    scenario: &Scenario,
    opts: &RunOptions,
    observe: &mut dyn FnMut(&Store),
) -> RunResult {
    crate::allocator::keep_freed_memory();
    let seed = opts.seed.unwrap_or(scenario.seed);
    // A profile from the command line replaces the scenario's base profile;
    // the scenario's own overrides still apply on top of it.
    let profile = match &opts.profile {
        Some(p) => p.clone().with(&scenario.overrides),
        None => scenario.profile.clone(),
    };
    let own =
        seed == scenario.seed && profile.name == scenario.profile.name && opts.profile.is_none();
    let mut controllers = controllers::all(
        &scenario.settings,
        seed,
        &scenario.images,
        &scenario.feature_gates,
    );
    controllers.extend(opts.extra_controllers.iter().map(|make| make()));
    let mut checker = opts
        .check_invariants
        .then(|| crate::invariants::Checker::new(scenario));
    let n = controllers.len();
    let processes = processes(&controllers);
    let n_processes = processes.len();
    let mut process_of = vec![0; n];
    for (p, process) in processes.iter().enumerate() {
        for &c in &process.members {
            process_of[c] = p;
        }
    }
    // A process's cache keeps the indexes if any of its controllers asks.
    // Every cache numbers keys as the API server does.
    let store = Store::new();
    let informers = processes
        .iter()
        .map(|p| {
            Informer::of(
                &store,
                p.members.iter().any(|&c| controllers[c].uses_indexes()),
            )
        })
        .collect();
    let own_writes = process_of
        .iter()
        .map(|&p| (processes[p].members.len() > 1).then(OwnWrites::default))
        .collect();
    let mut sim = Sim {
        scenario,
        base_profile: profile.clone(),
        machines: Default::default(),
        profile,
        seed,
        queue: EventQueue::new(),
        store,
        controllers,
        wakes: vec![None; n],
        triggers: Vec::new(),
        log_cursor: 0,
        labels: BTreeMap::new(),
        cloud: Cloud::new(node_zones(scenario), 0),
        processes,
        process_of,
        informers,
        own_writes,
        last_delivery: vec![[SimTime::ZERO; Kind::ALL.len()]; n_processes],
        stream_object: String::with_capacity(64),
        next_call: 1,
        open_calls: Default::default(),
    };
    sim.cloud = Cloud::new(
        node_zones(scenario),
        sim.profile.driver.max_volumes_per_node,
    )
    .with_zone_capacity(sim.profile.zone_capacity.clone());
    if !opts.inline_log && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
        sim.store.log_in_thread();
    }
    let max_events = opts.max_events.unwrap_or(scenario.max_events);
    let max_time = opts.max_time.unwrap_or(scenario.max_time);

    // T+0: the cluster, then the file's objects, in file order.
    for node in &scenario.nodes {
        // The CSI node plugin registers and kubelet labels the node with the
        // driver's topology keys (here: its zone).
        let mut node = node.clone();
        if let Some(zone) = node.zone().map(str::to_string) {
            for key in &sim.profile.driver.topology_keys {
                node.metadata.labels.insert(key.clone(), zone.clone());
            }
        }
        let _ = sim.store.create(node);
    }
    for class in &scenario.classes {
        let _ = sim.store.create(class.clone());
    }
    for class in &scenario.snapshot_classes {
        let _ = sim.store.create(class.clone());
    }
    // The cluster existed before the scenario: every controller starts with
    // it in its informer (the initial LIST and cache sync), not a watch later.
    for w in sim.store.drain_watch_events() {
        for (p, process) in sim.processes.iter().enumerate() {
            if process.watches.contains(&w.kind) {
                sim.informers[p].apply(&w);
            }
        }
    }
    for obj in &scenario.objects {
        let _ = create_any(&mut sim.store, obj.clone());
    }
    sim.adopt_static_disks();
    for (i, action) in scenario.actions.iter().enumerate() {
        match &action.when {
            When::At(t) => {
                sim.queue.schedule(*t, SimEvent::Action(i));
            }
            When::After { occurrence, .. } => {
                sim.triggers.push((i, Tracker::new(occurrence.clone())))
            }
        }
    }
    sim.after_handler(Touched::All);
    observe(&sim.store);

    let mut handled: u64 = 0;
    let mut timings = opts.timings.then(crate::timings::Recorder::default);
    let end = loop {
        let Some((t, _, ev)) = sim.queue.pop() else {
            // Quiet before the end: simulated time still runs to `end`.
            break if scenario.end.is_some_and(|e| e <= max_time) {
                EndReason::ReachedEnd
            } else {
                EndReason::Settled
            };
        };
        if let Some(e) = scenario.end
            && t > e
            && e <= max_time
        {
            sim.store.set_now(e);
            break EndReason::ReachedEnd;
        }
        if t > max_time {
            sim.store.set_now(max_time);
            break sim.bound(format!("simulated time reached the bound of {max_time}"));
        }
        if handled >= max_events {
            break sim.bound(format!(
                "{max_events} events were handled (the event bound)"
            ));
        }
        handled += 1;
        sim.store.set_now(t);
        // Measured only when asked: the slot, the clock and the effect
        // check cost a few tens of nanoseconds an event.
        let started = timings
            .as_ref()
            .map(|_| (sim.slot(&ev), std::time::Instant::now(), sim.effects()));
        sim.prefetch_next();
        let touched = sim.dispatch(ev);
        sim.after_handler(touched);
        if let (Some(rec), Some((slot, at, before))) = (timings.as_mut(), started) {
            let nanos = u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX);
            rec.add(slot, nanos, sim.effects() != before);
        }
        observe(&sim.store);
        if let Some(v) = checker.as_mut().and_then(|c| c.check(&sim.store)) {
            break EndReason::Invariant(v);
        }
    };
    let end = match (&end, &checker) {
        (EndReason::ReachedEnd | EndReason::Settled, Some(c)) => {
            c.finish(&sim.store).map_or(end, EndReason::Invariant)
        }
        _ => end,
    };
    let end_time = match (&end, scenario.end) {
        (EndReason::ReachedEnd, Some(e)) => e,
        _ => sim.store.now(),
    };
    let timings = timings.map(|rec| rec.finish(|slot| sim.slot_name(slot)));
    // The run is over when its log is written: its time includes all of it.
    sim.store.log().settle();
    RunResult {
        store: sim.store,
        end_time,
        end,
        labels: sim.labels,
        events_handled: handled,
        seed,
        profile: sim.profile.name.clone(),
        pricing: sim.profile.pricing.clone(),
        driver: sim.profile.driver.name.clone(),
        own_profile_and_seed: own,
        timings,
    }
}

impl Sim<'_> {
    /// PVs written by hand that name a disk of this driver (pre-provisioned
    /// volumes): the cloud has those disks, in the zone the PV's node
    /// affinity names.
    fn adopt_static_disks(&mut self) {
        let driver = self.profile.driver.name.clone();
        let keys = [
            self.profile.driver.pv_topology_key.clone(),
            crate::api::node::LABEL_ZONE.to_string(),
            "topology.ebs.csi.aws.com/zone".to_string(),
        ];
        for pv in self.store.list::<crate::api::PersistentVolume>() {
            let Some(csi) = &pv.spec.csi else { continue };
            if csi.driver != driver
                || pv
                    .metadata
                    .has_annotation(crate::api::persistent_volume::ANN_DYNAMICALLY_PROVISIONED)
            {
                continue;
            }
            let zone = pv
                .spec
                .node_affinity
                .iter()
                .flat_map(|a| &a.required.node_selector_terms)
                .flat_map(|t| &t.match_expressions)
                .find(|r| keys.contains(&r.key))
                .and_then(|r| r.values.first().cloned())
                .unwrap_or_default();
            let size = pv.capacity().map_or(0, crate::api::Quantity::value);
            self.cloud.adopt(&csi.volume_handle, &zone, size);
        }
    }
}

/// Node → zone, for the cloud's attach checks.
fn node_zones(scenario: &Scenario) -> BTreeMap<String, String> {
    scenario
        .nodes
        .iter()
        .filter_map(|n| {
            n.zone()
                .map(|z| (n.metadata.name.to_string(), z.to_string()))
        })
        .collect()
}

/// Creates any object in the store.
fn create_any(store: &mut Store, obj: AnyObject) -> Result<(), StoreError> {
    match obj {
        AnyObject::Node(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::StorageClass(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::PersistentVolume(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::PersistentVolumeClaim(o) => {
            let mut o = std::sync::Arc::unwrap_or_clone(o);
            // DefaultStorageClass admission: a claim with no class at all gets
            // the default class at creation.
            if o.has_no_class_at_all()
                && let Some(d) = controllers::pv_controller::default_class(store.list())
            {
                o.spec.storage_class_name = Some(d);
            }
            store.create(o)
        }
        AnyObject::Pod(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::StatefulSet(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeAttachment(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeSnapshotClass(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeSnapshot(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeSnapshotContent(o) => store.create(std::sync::Arc::unwrap_or_clone(o)),
    }
}

/// Replaces any object in the store (after a patch).
fn update_any(store: &mut Store, obj: AnyObject) -> Result<(), StoreError> {
    match obj {
        AnyObject::Node(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::StorageClass(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::PersistentVolume(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::PersistentVolumeClaim(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::Pod(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::StatefulSet(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeAttachment(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeSnapshotClass(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeSnapshot(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
        AnyObject::VolumeSnapshotContent(o) => store.update(std::sync::Arc::unwrap_or_clone(o)),
    }
}

/// `kubectl patch --type merge`: the patched object, if the API server
/// accepts it.
fn patch_any(
    store: &mut Store,
    target: &ObjectRef,
    patch: &serde_json::Value,
) -> Result<(), String> {
    let obj = store
        .get_any(target)
        .ok_or_else(|| format!("{target} not found"))?;
    let new = crate::cluster::patch::apply(&obj, patch)?;
    crate::cluster::admission::validate_update(store, &obj, &new)?;
    update_any(store, new).map_err(|e| e.to_string())
}

/// `kubectl apply`: creates `obj`, or merges its labels, annotations and
/// spec (or, for a class, its fields) into the object of that name, through
/// the API server's checks.
fn apply_any(store: &mut Store, obj: &AnyObject) -> Result<(), String> {
    let target = ObjectRef::new(obj.kind(), obj.meta().key());
    if store.get_any(&target).is_none() {
        crate::cluster::admission::validate_create(obj)?;
        return create_any(store, obj.clone()).map_err(|e| e.to_string());
    }
    let mut body = obj.to_json();
    if let Some(m) = body.as_object_mut() {
        // What the cluster owns stays the cluster's.
        m.remove("status");
        let meta = obj.meta();
        m.insert(
            "metadata".into(),
            serde_json::json!({ "labels": meta.labels, "annotations": meta.annotations }),
        );
    }
    patch_any(store, &target, &body)
}

/// Graceful delete of any object.
fn delete_any(store: &mut Store, r: &ObjectRef, force: bool) -> Result<(), StoreError> {
    use crate::api::{Kind, *};
    fn one<T: crate::cluster::Stored>(
        store: &mut Store,
        k: &crate::api::ObjectKey,
        force: bool,
    ) -> Result<(), StoreError> {
        if force {
            store.force_delete::<T>(k)
        } else {
            store.delete::<T>(k)
        }
    }
    let k = &r.key;
    match r.kind {
        Kind::Node => one::<Node>(store, k, force),
        Kind::StorageClass => one::<StorageClass>(store, k, force),
        Kind::PersistentVolume => one::<PersistentVolume>(store, k, force),
        Kind::PersistentVolumeClaim => one::<PersistentVolumeClaim>(store, k, force),
        Kind::Pod => one::<Pod>(store, k, force),
        Kind::StatefulSet => one::<StatefulSet>(store, k, force),
        Kind::VolumeAttachment => one::<VolumeAttachment>(store, k, force),
        Kind::VolumeSnapshotClass => one::<VolumeSnapshotClass>(store, k, force),
        Kind::VolumeSnapshot => one::<VolumeSnapshot>(store, k, force),
        Kind::VolumeSnapshotContent => one::<VolumeSnapshotContent>(store, k, force),
    }
}

/// `kubectl scale` / `kubectl set image` on a StatefulSet.
fn modify_set(
    store: &mut Store,
    r: &ObjectRef,
    f: impl FnOnce(&mut crate::api::StatefulSet) -> Result<(), String>,
) -> Result<(), String> {
    let mut set = store
        .get::<crate::api::StatefulSet>(&r.key)
        .cloned()
        .ok_or_else(|| format!("{r} not found"))?;
    f(&mut set)?;
    store.update(set).map_err(|e| e.to_string())
}

impl Sim<'_> {
    /// What `ev` is, for the timings table.
    fn slot(&self, ev: &SimEvent) -> Slot {
        match ev {
            SimEvent::Action(_) => Slot::Action,
            SimEvent::Deliver(p, w) => Slot::Deliver {
                process: *p,
                kind: w.kind,
            },
            SimEvent::Wake(c) => Slot::Wake(*c),
            SimEvent::CallDone(done) => Slot::Reply(done.0.caller),
            SimEvent::CallTimeout(id) => {
                Slot::Timeout(self.open_calls.get(id).map_or(usize::MAX, |o| o.caller))
            }
        }
    }

    /// A row's name: the event's kind and whose it is.
    fn slot_name(&self, slot: Slot) -> String {
        let controller = |c: usize| self.controllers.get(c).map_or("?", |c| c.name());
        match slot {
            Slot::Action => "scenario action".to_string(),
            Slot::Deliver { process, kind } => {
                format!(
                    "deliver {} to {}",
                    kind.as_str(),
                    self.processes[process].name
                )
            }
            Slot::Wake(c) => format!("wake {}", controller(c)),
            Slot::Reply(c) => format!("reply to {}", controller(c)),
            Slot::Timeout(c) => format!("call timeout of {}", controller(c)),
        }
    }

    /// What the handlers of an event can leave behind: records in the log
    /// (writes, Events, calls) and backend calls started.
    fn effects(&self) -> (usize, CallId) {
        (self.store.log().len(), self.next_call)
    }

    /// Starts loading what the next event will touch first, while this one
    /// runs: for a watch delivery, the event, its object and the version
    /// it replaces in the informer (whose count the replacement drops).
    /// Pairs on separate cores (`docs/performance-history.md`): 30 k pods
    /// −0.9 %, 100 k −1.6 %; 10 k unchanged.
    fn prefetch_next(&self) {
        use crate::engine::prefetch::prefetch;
        if let Some(SimEvent::Deliver(p, w)) = self.queue.peek() {
            prefetch(std::rc::Rc::as_ptr(w).cast());
            prefetch(w.object.addr());
            if let Some(n) = w.number
                && let Some(old) = self.informers[*p].slot_object(w.kind, n)
            {
                prefetch(old.addr());
            }
        }
    }

    /// Handles one event; says whose state it may have changed.
    fn dispatch(&mut self, ev: SimEvent) -> Touched {
        match ev {
            SimEvent::Action(i) => {
                self.run_action(i);
                Touched::All
            }
            SimEvent::Deliver(p, w) => {
                // The informer sees the change first (and what it delivers
                // is no longer any controller's own news), then each
                // handler registered for the kind runs, in controller order.
                self.informers[p].apply(&w);
                for &c in &self.processes[p].members {
                    if let Some(own) = &mut self.own_writes[c] {
                        own.expire(&w);
                    }
                }
                for i in 0..self.processes[p].members.len() {
                    let c = self.processes[p].members[i];
                    if self.controllers[c].watches().contains(&w.kind) {
                        self.with_ctx(c, |ctrl, cx| ctrl.on_watch(&w, cx));
                    }
                }
                Touched::Process(p)
            }
            SimEvent::Wake(c) => {
                self.wakes[c] = None;
                self.with_ctx(c, |ctrl, cx| ctrl.on_wake(cx));
                Touched::One(c)
            }
            SimEvent::CallDone(done) => {
                let (call, failure, attempt) = *done;
                let now = self.store.now();
                let result = self.cloud.complete(&call.request, failure, now);
                let waiting = self.open_calls.remove(&call.id).is_some();
                let caller = self.controllers[call.caller].name();
                self.record_call(
                    call.id,
                    &call.request,
                    CallPhase::End,
                    attempt,
                    Some(&result),
                    caller,
                );
                if waiting {
                    let reply = Reply {
                        id: call.id,
                        request: call.request,
                        result,
                    };
                    self.with_ctx(call.caller, |ctrl, cx| ctrl.on_reply(&reply, cx));
                }
                Touched::One(call.caller)
            }
            SimEvent::CallTimeout(id) => {
                // Still open means not completed: the caller gives up now.
                if let Some(open) = self.open_calls.remove(&id) {
                    let caller = self.controllers[open.caller].name();
                    self.record_call(
                        id,
                        &open.request,
                        CallPhase::Timeout,
                        open.attempt,
                        None,
                        caller,
                    );
                    let err = RpcError {
                        code: GrpcCode::DeadlineExceeded,
                        message: "context deadline exceeded".into(),
                    };
                    let reply = Reply {
                        id,
                        request: open.request,
                        result: Err(err),
                    };
                    self.with_ctx(open.caller, |ctrl, cx| ctrl.on_reply(&reply, cx));
                    return Touched::One(open.caller);
                }
                Touched::None
            }
        }
    }

    /// Runs a handler of controller `c` with a context, then starts the
    /// backend calls it made.
    fn with_ctx(&mut self, c: usize, f: impl FnOnce(&mut dyn Controller, &mut Ctx<'_>)) {
        let now = self.store.now();
        let mut cx = Ctx::new(
            now,
            &mut self.store,
            &mut self.informers[self.process_of[c]],
            self.own_writes[c].as_mut(),
            &self.profile,
            &self.machines,
            &mut self.next_call,
        );
        f(self.controllers[c].as_mut(), &mut cx);
        let calls = cx.take_calls();
        for (id, request, timeout) in calls {
            let call = Call {
                id,
                caller: c,
                request,
                timeout,
            };
            let plan = self.cloud.plan(&call, now, &self.profile, self.seed);
            let attempt = plan.attempt + 1;
            let caller = self.controllers[c].name();
            self.record_call(id, &call.request, CallPhase::Start, attempt, None, caller);
            self.open_calls.insert(
                id,
                OpenCall {
                    caller: c,
                    request: call.request.clone(),
                    attempt,
                },
            );
            if let Some(t) = timeout
                && now.plus(t) < plan.complete_at
            {
                self.queue.schedule(now.plus(t), SimEvent::CallTimeout(id));
            }
            self.queue.schedule(
                plan.complete_at,
                SimEvent::CallDone(Box::new((call, plan.failure, attempt))),
            );
        }
    }

    fn record_call(
        &mut self,
        call: CallId,
        request: &Request,
        phase: CallPhase,
        attempt: u32,
        result: Option<&Result<Response, RpcError>>,
        caller: &'static str,
    ) {
        let result = result.map(|r| match r {
            Ok(Response::Created {
                volume_id, zone, ..
            }) => Ok(format!("{volume_id} in {zone}")),
            Ok(Response::Snapshot {
                snapshot_id, ready, ..
            }) => Ok(format!(
                "{snapshot_id} {}",
                if *ready { "completed" } else { "pending" }
            )),
            Ok(Response::Expanded { size_bytes }) => {
                Ok(format!("{}", crate::api::Quantity::from_bytes(*size_bytes)))
            }
            Ok(Response::Done) => Ok("ok".to_string()),
            Err(e) => Err(e.to_string()),
        });
        self.store.record_operation(OperationRecord {
            t: SimTime::ZERO,
            seq: 0,
            call,
            op: request.op(),
            target: request.target().into(),
            phase,
            attempt,
            result: result.map(|r| r.map(Into::into).map_err(Into::into)),
            caller,
        });
    }

    fn run_action(&mut self, i: usize) {
        let action = &self.scenario.actions[i];
        let now = self.store.now();
        if let Some(l) = &action.label {
            self.labels.insert(l.clone(), now);
        }
        // Logged first, so the timeline shows the action before its effects.
        self.store
            .record_action(action.kind.describe(), action.label.clone());
        let result = match &action.kind {
            ActionKind::Create(o) => {
                create_any(&mut self.store, (**o).clone()).map_err(|e| e.to_string())
            }
            ActionKind::Delete(r, force) => {
                delete_any(&mut self.store, r, *force).map_err(|e| e.to_string())
            }
            ActionKind::Machines { nodes, down, .. } => {
                for n in nodes {
                    if *down {
                        self.machines.fail(n, now);
                    } else {
                        self.machines.recover(n);
                    }
                }
                for c in 0..self.controllers.len() {
                    self.with_ctx(c, |ctrl, cx| ctrl.on_machines(cx));
                }
                Ok(())
            }
            ActionKind::Taint(node, taint) => self
                .store
                .modify::<crate::api::Node>(&crate::api::ObjectKey::cluster(node), |n| {
                    n.spec
                        .taints
                        .retain(|t| !(t.key == taint.key && t.effect == taint.effect));
                    n.spec.taints.push(taint.clone());
                })
                .map_err(|e| e.to_string()),
            ActionKind::Untaint(node, key) => self
                .store
                .modify::<crate::api::Node>(&crate::api::ObjectKey::cluster(node), |n| {
                    n.spec.taints.retain(|t| &t.key != key)
                })
                .map_err(|e| e.to_string()),
            ActionKind::Fault(op, change) => {
                if let Some(p) = self.profile.operations.get_mut(op) {
                    change.apply(p);
                }
                Ok(())
            }
            ActionKind::ClearFault(op) => {
                if let Some(p) = self.base_profile.operations.get(op) {
                    self.profile.operations.insert(*op, p.clone());
                }
                Ok(())
            }
            ActionKind::Scale(r, n) => modify_set(&mut self.store, r, |s| {
                std::sync::Arc::make_mut(&mut s.spec).replicas = *n;
                Ok(())
            }),
            ActionKind::SetImage {
                set,
                container,
                image,
            } => modify_set(&mut self.store, set, |s| {
                let containers = std::sync::Arc::make_mut(
                    &mut std::sync::Arc::make_mut(
                        &mut std::sync::Arc::make_mut(&mut s.spec).template.spec,
                    )
                    .containers,
                );
                let only = containers.len() == 1;
                let c = containers
                    .iter_mut()
                    .find(|c| container.as_ref().map_or(only, |n| &c.name == n))
                    .ok_or_else(|| match container {
                        Some(n) => format!("unable to find container named {n:?}"),
                        None => "the set has several containers; name one".to_string(),
                    })?;
                c.image = image.clone();
                Ok(())
            }),
            ActionKind::Patch { target, patch } => patch_any(&mut self.store, target, patch),
            ActionKind::Apply {
                objects, partial, ..
            } => {
                let mut result = Ok(());
                for o in objects {
                    if let Err(e) = apply_any(&mut self.store, o) {
                        result = Err(e);
                        break;
                    }
                }
                for p in partial {
                    if result.is_err() {
                        break;
                    }
                    // Written in part: merged into the object of that name,
                    // which must exist (as `kubectl apply` of a fragment).
                    let target = ObjectRef::new(p.kind, p.meta.key());
                    result = if self.store.get_any(&target).is_some() {
                        let patch = serde_json::json!({
                            "metadata": { "labels": p.meta.labels, "annotations": p.meta.annotations },
                            "spec": p.spec,
                        });
                        patch_any(&mut self.store, &target, &patch)
                    } else {
                        Err(format!(
                            "{} {:?} is invalid: {}",
                            p.kind, p.meta.name, p.missing
                        ))
                    };
                }
                result
            }
            ActionKind::Resize { claim, size } => {
                let patch = serde_json::json!({
                    "spec": { "resources": { "requests": { "storage": size.as_str() } } }
                });
                patch_any(&mut self.store, claim, &patch)
            }
        };
        if matches!(
            action.kind,
            ActionKind::Create(_) | ActionKind::Apply { .. }
        ) {
            self.adopt_static_disks();
        }
        if let Err(e) = result {
            // Like kubectl, the action fails and the cluster carries on.
            self.store
                .record_action(format!("{} failed: {e}", action.kind.describe()), None);
        }
    }

    /// After every handler: deliver new watch events, fire triggers, and
    /// keep each controller's wake-up where it wants it.
    fn after_handler(&mut self, touched: Touched) {
        let now = self.store.now();
        for w in self.store.drain_watch_events() {
            let w = std::rc::Rc::new(w);
            // The delay's parameters and the hashed seed, component and
            // object of each process's stream key, once per event.
            let mut shared: Option<(Sampler, StreamPrefix)> = None;
            for (p, process) in self.processes.iter().enumerate() {
                if !process.watches.contains(&w.kind) {
                    continue;
                }
                let latency = &self.profile.control_plane.watch_delay;
                let delay = latency.fixed().unwrap_or_else(|| {
                    let (sampler, prefix) = shared.get_or_insert_with(|| {
                        let object = &mut self.stream_object;
                        object.clear();
                        object.push_str(w.kind.as_str());
                        object.push('/');
                        w.key.push_to(object);
                        let prefix = StreamPrefix::new(self.seed, "watch", object);
                        (latency.sampler(), prefix)
                    });
                    sampler.sample(&mut prefix.stream(process.name, w.resource_version))
                });
                // One watch stream per process and kind delivers in order:
                // an event never overtakes an earlier one of its stream.
                let stream = &mut self.last_delivery[p][w.kind.index()];
                let at = now.plus(delay).max(*stream);
                *stream = at;
                self.queue
                    .schedule(at, SimEvent::Deliver(p, std::rc::Rc::clone(&w)));
            }
        }
        let log = self.store.log();
        // Waiting triggers read each new record once; with none (a fleet),
        // nothing is read (a log written in a thread stays there).
        let from = std::mem::replace(&mut self.log_cursor, log.len());
        let new = (!self.triggers.is_empty()).then(|| log.since(from));
        for rec in new.into_iter().flatten() {
            let mut fired = Vec::new();
            self.triggers.retain_mut(|(i, tracker)| {
                if tracker.observe(&rec) {
                    fired.push(*i);
                    false
                } else {
                    true
                }
            });
            for i in fired {
                if let When::After { delay, .. } = &self.scenario.actions[i].when {
                    self.queue
                        .schedule(rec.t().plus(*delay), SimEvent::Action(i));
                }
            }
        }
        // A controller's next wake follows from its own state alone, which
        // only its own handlers change.
        match touched {
            Touched::All => (0..self.controllers.len()).for_each(|c| self.rewake(c, now)),
            Touched::One(c) => self.rewake(c, now),
            Touched::Process(p) => {
                for i in 0..self.processes[p].members.len() {
                    self.rewake(self.processes[p].members[i], now);
                }
            }
            Touched::None => {}
        }
    }

    /// Keeps controller `c`'s wake-up where it now wants it.
    fn rewake(&mut self, c: usize, now: SimTime) {
        let want = self.controllers[c].next_wake().map(|t| t.max(now));
        let have = self.wakes[c].map(|(t, _)| t);
        if want == have {
            return;
        }
        if let Some((_, id)) = self.wakes[c].take() {
            self.queue.cancel(id);
        }
        if let Some(t) = want {
            let id = self.queue.schedule(t, SimEvent::Wake(c));
            self.wakes[c] = Some((t, id));
        }
    }

    fn bound(&self, what: String) -> EndReason {
        let mut pending: Vec<String> = self
            .controllers
            .iter()
            .flat_map(|c| c.pending(&self.store))
            .collect();
        for (i, _) in &self.triggers {
            pending.push(format!(
                "action {} is still waiting for its trigger",
                self.scenario.actions[*i].kind.describe()
            ));
        }
        if pending.is_empty() {
            pending.push(format!("{} queued events", self.queue.len()));
        }
        EndReason::Bound { what, pending }
    }
}
