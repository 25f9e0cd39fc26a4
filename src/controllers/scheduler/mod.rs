//! kube-scheduler (1.33): the scheduling queue with backoff, one scheduling
//! cycle per pod (PreFilter, Filter, Score, Reserve), and the binding cycle
//! (PreBind with VolumeBinding's wait for the claims, then Bind).

pub mod filters;
pub mod node_facts;
pub mod node_tree;
mod quick_fit;
pub mod scoring;
pub mod snapshot;
pub mod topology_spread;
mod usage_cache;
pub mod volume_binding;
mod waiting;

use super::settings::SchedulerSettings;
use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::meta::Name;
use crate::api::persistent_volume::ANN_BOUND_BY_CONTROLLER;
use crate::api::persistent_volume::ClaimRef;
use crate::api::persistent_volume_claim::ANN_SELECTED_NODE;
use crate::api::pod::PodCondition;
use crate::api::{Kind, Node, ObjectKey, ObjectRef, PersistentVolume, PersistentVolumeClaim, Pod};
use crate::cluster::AddrMap;
use crate::cluster::objects::Shared;
use crate::cluster::{ChangeOp, EventType, ObjectSet, Store, WatchEvent};
use crate::engine::{SimTime, StreamKey};
use node_facts::{NodeFacts, NodeFactsCache};
use rand::Rng as _;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use volume_binding::Decision;

/// Event source.
pub const SOURCE: &str = "default-scheduler";

/// `validation.NoteLengthLimit`: longer event messages are cut.
const NOTE_LENGTH_LIMIT: usize = 1024;

/// A pod in its binding cycle, waiting in PreBind for its claims.
struct Binding {
    node: Name,
    deadline: SimTime,
    /// Claims promised to this node by provisioning (selected-node).
    provisioned: Vec<ObjectKey>,
    /// Every claim of the pod.
    claims: Vec<ObjectKey>,
}

/// The scheduler.
pub struct Scheduler {
    settings: SchedulerSettings,
    active: WorkQueue<ObjectKey>,
    /// Pods that failed, with the kinds whose events may make them
    /// schedulable (the failing plugins' EventsToRegister); due at their
    /// leftover flush.
    unschedulable: waiting::Parked,
    /// Scheduling attempts per pod (this map and the next are looked up,
    /// never walked: hashed by the names' addresses).
    attempts: AddrMap<ObjectKey, u32>,
    /// When a pod's backoff ends.
    backoff_until: AddrMap<ObjectKey, SimTime>,
    /// Pods in PreBind, due at their next poll.
    binding: waiting::Waiting<Binding>,
    /// Pods assumed on a node (Reserve) until the informer shows them bound.
    assumed: Assumed,
    /// Node usage, kept current (the scheduler cache).
    usage: usage_cache::UsageCache,
    /// Each node as the last Node event showed it, to tell a relevant node
    /// update from status bookkeeping. Only looked up, so hashed.
    nodes_seen: FxHashMap<Name, Shared<Node>>,
    /// What cycles read of each node.
    facts: NodeFactsCache,
    /// The order cycles look at nodes in, and where the next one starts
    /// (`nextStartNodeIndex`).
    tree: node_tree::NodeTree,
    /// What cycles read of each node, packed in the tree's order.
    snapshot: snapshot::Snapshot,
    /// The tree holds the nodes of the initial list.
    tree_seeded: bool,
    next_start: usize,
    /// Earliest PreBind poll or leftover flush, kept after each handler so
    /// that asking for the next wake-up costs nothing.
    timers_due: Option<SimTime>,
    seed: u64,
}

/// Pods assumed on a node, with the node. Only looked up, never walked: hashed.
pub type Assumed = crate::cluster::AddrMap<ObjectKey, Name>;

/// A cycle's choice: the node, and the volume decisions for it.
type Chosen = (Name, Vec<(ObjectKey, Decision)>);
/// A cycle's failure: the FailedScheduling message and the kinds whose
/// events may help.
type Refusal = (String, BTreeSet<Kind>);

impl Scheduler {
    /// A scheduler with `settings`; `seed` drives its tie-breaking.
    pub fn new(settings: SchedulerSettings, seed: u64) -> Self {
        Scheduler {
            settings,
            active: WorkQueue::default(),
            unschedulable: waiting::Parked::default(),
            attempts: AddrMap::default(),
            backoff_until: AddrMap::default(),
            binding: waiting::Waiting::default(),
            assumed: Assumed::default(),
            usage: usage_cache::UsageCache::default(),
            timers_due: None,
            nodes_seen: FxHashMap::default(),
            facts: NodeFactsCache::default(),
            tree: node_tree::NodeTree::default(),
            snapshot: snapshot::Snapshot::default(),
            tree_seeded: false,
            next_start: 0,
            seed,
        }
    }

    fn wants(pod: &Pod) -> bool {
        pod.spec.node_name.is_empty()
            && pod.metadata.deletion_timestamp.is_none()
            && pod.spec.scheduler_name == SOURCE
            && !pod.is_terminal()
    }

    /// A cluster event: parked pods that one of their failing plugins
    /// registered for move to the active queue (QueueingHints, on in 1.33). With SchedulerPopFromBackoffQ (beta, on in 1.33) an idle
    /// scheduler pops a backing-off pod at once, so they are tried now.
    fn requeue_parked(&mut self, ev: &WatchEvent, cache: &ObjectSet, now: SimTime) {
        let wake: Vec<ObjectKey> = if ev.kind == Kind::PersistentVolumeClaim {
            // VolumeBinding's hint for claims: only a pod that uses the
            // claim (the cache's pods by claim), in name order.
            let mut users: Vec<ObjectKey> = (cache.pods_using(&ev.key))
                .filter(|pod| self.unschedulable.waits_for(pod, ev.kind))
                .cloned()
                .collect();
            users.sort_unstable();
            users
        } else {
            self.unschedulable.waiting_for(ev.kind).cloned().collect()
        };
        for key in wake {
            self.unschedulable.remove(&key);
            self.active.add(key, now);
        }
    }

    /// Recomputes [`Scheduler::timers_due`].
    fn refresh_timers(&mut self) {
        let polls = self.binding.next_due();
        let flushes = self.unschedulable.next_due();
        self.timers_due = polls.into_iter().chain(flushes).min();
    }

    /// `flushUnschedulablePodsLeftover`: every 30 s, pods parked for more
    /// than 5 minutes are tried again.
    fn flush_time(parked_at: SimTime) -> SimTime {
        let due = parked_at
            .plus(crate::engine::SimDuration::from_secs(300))
            .as_millis();
        SimTime(due.div_ceil(30_000) * 30_000)
    }

    /// One scheduling cycle for `key`.
    fn schedule_one(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        let Some(pod) = cx.store.get_shared::<Pod>(key) else {
            return;
        };
        if !Self::wants(&pod) || self.binding.contains_key(key) || self.assumed.contains_key(key) {
            return;
        }
        let attempt = {
            let n = self.attempts.get_or_insert_with(key.clone(), || 0);
            *n += 1;
            *n
        };
        let (node, decisions) = match self.evaluate(&pod, attempt, cx) {
            Ok(chosen) => chosen,
            Err((message, kinds)) => {
                self.fail(&pod, message, kinds, cx);
                return;
            }
        };
        let driver = cx.profile.driver.name.clone();
        // Reserve: the pod counts on its node from now on.
        self.assumed.insert(key.clone(), node);
        self.usage
            .refresh(key, cx.store.cache(), &self.assumed, &driver);
        self.unschedulable.remove(key);
        // PreBind: bindAPIUpdate, then wait for the claims to be bound.
        let mut provisioned = Vec::new();
        for (claim_key, decision) in &decisions {
            match decision {
                Decision::Static(pv) => {
                    let claim = cx.store.get_shared::<PersistentVolumeClaim>(claim_key);
                    if let Some(c) = claim {
                        let _ = cx
                            .store
                            .modify::<PersistentVolume>(&ObjectKey::cluster(pv), |v| {
                                v.spec.claim_ref = Some(ClaimRef {
                                    namespace: c.metadata.namespace,
                                    name: c.metadata.name,
                                    uid: c.metadata.uid,
                                });
                                v.metadata
                                    .annotations
                                    .insert(ANN_BOUND_BY_CONTROLLER, "yes");
                            });
                    }
                }
                Decision::Provision => {
                    let n = node;
                    let _ = cx.store.modify::<PersistentVolumeClaim>(claim_key, |c| {
                        c.metadata.annotations.insert(ANN_SELECTED_NODE, n);
                    });
                    provisioned.push(claim_key.clone());
                }
            }
        }
        let claims: Vec<ObjectKey> = pod.claim_keys().collect();
        if decisions.is_empty() {
            self.bind(key, &node, cx);
        } else {
            let poll = self.settings.bind_poll;
            self.binding.insert(
                key.clone(),
                cx.now.plus(poll),
                Binding {
                    node,
                    deadline: cx.now.plus(self.settings.bind_timeout),
                    provisioned,
                    claims,
                },
            );
        }
    }

    /// The read-only part of a cycle: PreFilter, Filter on every node,
    /// Score and the choice, and the volume decisions for the chosen node;
    /// or the FailedScheduling message and the kinds that may help.
    fn evaluate(&mut self, pod: &Pod, attempt: u32, cx: &Ctx<'_>) -> Result<Chosen, Refusal> {
        let cache = cx.store.cache();
        // How many nodes, not which: a sampled cycle reads only the nodes it
        // looks at (the whole list would be a walk of every node per cycle).
        let node_count = cache.count::<Node>();
        self.seed_tree(cache);
        let rebuilt = self.tree.rebuild();
        let reranked = self.facts.rank();
        self.mark_usage();
        if rebuilt || reranked {
            // Nodes in the tree have facts: both follow the same events.
            let facts = &self.facts;
            let walk: Vec<usize> = self
                .tree
                .list()
                .iter()
                .filter_map(|k| facts.slot(k.name))
                .collect();
            debug_assert_eq!(walk.len(), self.tree.list().len());
            self.snapshot.rebuild(&walk, facts, &self.usage.usage);
        } else {
            self.snapshot.refresh(&self.facts, &self.usage.usage);
        }
        if let Err(msg) = volume_binding::prefilter(pod, cache) {
            let kinds = [
                Kind::PersistentVolumeClaim,
                Kind::PersistentVolume,
                Kind::StorageClass,
            ]
            .into();
            return Err((
                fit_message(node_count, Some(&msg), &filters::Refusals::default()),
                kinds,
            ));
        }
        let driver = &cx.profile.driver.name;
        #[cfg(debug_assertions)]
        crate::cluster::objects::uncounted(|| {
            self.usage.assert_current(cache, &self.assumed, driver);
        });
        let usage = &self.usage.usage;
        let rwop = filters::rwop_conflict(pod, cache, &self.assumed);
        let spread = topology_spread::Spread::prepare(pod, cache, &self.assumed);
        let csi_volumes = filters::pod_csi_volumes(pod, cache, driver);
        let claims = volume_binding::PodClaims::of(pod, cache);
        let cycle = filters::Cycle {
            requests: filters::pod_requests(pod),
            csi_volumes: &csi_volumes,
            claims: &claims,
            rwop_conflict: rwop,
            max_volumes: cx.profile.driver.max_volumes_per_node,
            spread: spread.as_ref(),
        };
        let to_find = node_tree::num_feasible_nodes_to_find(
            node_count,
            self.settings.percentage_of_nodes_to_score,
        );
        let facts = &self.facts;
        let snap = &self.snapshot;
        let mut quick_fit = quick_fit::QuickFit::new(pod, &cycle, snap.classes());
        // A node whose bound volumes require another zone is infeasible
        // whatever turns it down first; when some node fits, which filter
        // turned the others down is never told, only how many there were.
        // So a first pass counts such nodes without filtering them, and
        // only a cycle that finds no node at all runs every filter again
        // for the FailedScheduling message (the same nodes, same order).
        let mut quick = claims.any_affinity();
        let (feasible, refusals) = loop {
            let mut refusals = filters::Refusals::default();
            // Feasible nodes by their place in the snapshot.
            let mut feasible: Vec<usize> = Vec::new();
            let mut skipped = false;
            let mut look = |pos: usize| {
                // The facts are not touched for a node the row settles.
                let at = || facts.at(snap.slot(pos));
                if quick_fit
                    .as_mut()
                    .is_some_and(|q| q.fits(snap.row(pos), at))
                {
                    return true;
                }
                if quick {
                    let conflict = match quick_fit.as_mut() {
                        Some(q) => q.node_conflict(snap.row(pos), at),
                        None => claims.node_conflict(at()),
                    };
                    debug_assert_eq!(conflict, claims.node_conflict(at()), "by class");
                    if conflict {
                        refusals.nodes += 1;
                        skipped = true;
                        return false;
                    }
                }
                let f = at();
                match filters::filter(pod, f, usage, &cycle) {
                    None => true,
                    Some(s) => {
                        refusals.add(s);
                        false
                    }
                }
            };
            if to_find >= node_count || snap.is_empty() {
                // Every node is filtered: the order cannot change the outcome.
                for (key, _) in cache.list_keyed::<Node>() {
                    match snap.position(key.name) {
                        Some(pos) => {
                            if look(pos) {
                                feasible.push(pos);
                            }
                        }
                        None => debug_assert!(false, "node {key} is not in the snapshot"),
                    }
                }
            } else {
                // From where the last cycle stopped, in the tree's zone-by-zone
                // order, until enough feasible nodes are found. (The real
                // scheduler filters 16 nodes at a time, so it may look at a few
                // more; one at a time, the sample is the same in every run.)
                // (The walk wraps around without a division per node.)
                let start = self.next_start % snap.len();
                for pos in (start..snap.len()).chain(0..start) {
                    if look(pos) {
                        feasible.push(pos);
                        if feasible.len() == to_find {
                            break;
                        }
                    }
                }
            }
            if feasible.is_empty() && skipped {
                quick = false;
                continue;
            }
            break (feasible, refusals);
        };
        if !snap.is_empty() {
            let processed = feasible.len() + refusals.nodes;
            self.next_start = (self.next_start + processed) % snap.len();
        }
        if feasible.is_empty() {
            let kinds = refusals
                .by_reason
                .iter()
                .flat_map(|(r, _)| requeue_kinds(r))
                .collect();
            return Err((fit_message(node_count, None, &refusals), kinds));
        }
        let chosen = self.select(pod, &feasible, spread.as_ref(), attempt);
        let chosen = self.facts.at(self.snapshot.slot(chosen));
        let decisions = volume_binding::find_pod_volumes(&claims, chosen).unwrap_or_default();
        Ok((chosen.name, decisions))
    }

    /// The initial LIST reaches the node tree in name order (the informer's
    /// adds), before any watch event.
    fn seed_tree(&mut self, cache: &ObjectSet) {
        if !self.tree_seeded {
            self.tree_seeded = true;
            for n in cache.list_prefixed_shared::<Node>(&ObjectKey::cluster("")) {
                self.tree.add(&n);
                // The node's usage entry is made with its facts, empty (as no
                // entry reads), so the entries lie in the facts' order: a
                // cycle's walk reads both arrays alike, not the entries in
                // the order pods first landed, which missed the cache on
                // nearly every node.
                self.usage.usage.entry(n.metadata.name);
                self.facts.put(n);
            }
        }
    }

    /// Score the feasible nodes ([`scoring`]), given by their place in the
    /// snapshot, and pick the best (its place); ties are broken at random,
    /// as `selectHost` does, from the pod's stream.
    fn select(
        &self,
        pod: &Pod,
        feasible: &[usize],
        spread: Option<&topology_spread::Spread>,
        attempt: u32,
    ) -> usize {
        let (snap, usage) = (&self.snapshot, &self.usage.usage);
        let scores = if snap.scores_exactly() {
            let nodes: Vec<_> = feasible.iter().map(|&pos| snap.at(pos)).collect();
            scoring::total_scores(pod, &nodes, usage, spread)
        } else {
            let nodes: Vec<&NodeFacts> = feasible
                .iter()
                .map(|&pos| self.facts.at(snap.slot(pos)))
                .collect();
            scoring::total_scores(pod, &nodes, usage, spread)
        };
        let best = *scores.iter().max().expect("nodes is not empty");
        let mut top: Vec<usize> = feasible
            .iter()
            .zip(&scores)
            .filter(|(_, s)| **s == best)
            .map(|(pos, _)| *pos)
            .collect();
        // Ties are broken over the best nodes in name order, as when every
        // node is filtered, whatever order they were found in (a node's
        // score does not depend on the others' order). Ranks are distinct.
        top.sort_unstable_by_key(|&pos| snap.rank(pos));
        if top.len() == 1 {
            return top[0];
        }
        let object = pod.metadata.key().to_string();
        let mut rng = StreamKey {
            component: "scheduler",
            object: &object,
            operation: "select-host",
            attempt: u64::from(attempt),
        }
        .stream(self.seed);
        top[(rng.next_u64() % top.len() as u64) as usize]
    }

    /// Bind: the pod gets its node; PodScheduled becomes True.
    fn bind(&mut self, key: &ObjectKey, node: &str, cx: &mut Ctx<'_>) {
        let n = node.to_string();
        let now = cx.now;
        let bound = cx.store.modify::<Pod>(key, |p| {
            std::sync::Arc::make_mut(&mut p.spec).node_name = n.into();
            set_condition(p, "PodScheduled", "True", "", "", now);
        });
        if bound.is_ok() {
            let msg = format!(
                "Successfully assigned {}/{} to {node}",
                key.namespace, key.name
            );
            cx.store.record_event(
                ObjectRef::new(Kind::Pod, key.clone()),
                EventType::Normal,
                "Scheduled",
                msg,
                SOURCE,
            );
        }
        self.attempts.remove(key);
        self.backoff_until.remove(key);
    }

    /// The snapshot's rows of the nodes whose usage changed are made again
    /// at the next cycle.
    fn mark_usage(&mut self) {
        for name in self.usage.drain_touched() {
            self.snapshot.mark(name);
        }
    }

    /// The pod is no longer assumed anywhere.
    fn forget(&mut self, key: &ObjectKey, cx: &Ctx<'_>) {
        self.assumed.remove(key);
        let driver = &cx.profile.driver.name;
        self.usage
            .refresh(key, cx.store.cache(), &self.assumed, driver);
    }

    /// A failed attempt: FailedScheduling, PodScheduled=False, park the pod
    /// until an event of one of `kinds` (or the leftover flush).
    fn fail(&mut self, pod: &Pod, message: String, kinds: BTreeSet<Kind>, cx: &mut Ctx<'_>) {
        let key = pod.metadata.key();
        let mut event = message.clone();
        if event.len() > NOTE_LENGTH_LIMIT {
            let mut cut = NOTE_LENGTH_LIMIT - 4;
            while !event.is_char_boundary(cut) {
                cut -= 1;
            }
            event.truncate(cut);
            event.push_str(" ...");
        }
        cx.store.record_event(
            ObjectRef::new(Kind::Pod, key.clone()),
            EventType::Warning,
            "FailedScheduling",
            event,
            SOURCE,
        );
        let now = cx.now;
        // A retry that fails alike finds the condition already so.
        let (kind, status, reason) = ("PodScheduled", "False", "Unschedulable");
        let _ = cx.store.modify_if::<Pod>(
            &key,
            |p| !condition_already(p, kind, status, reason, &message),
            |p| set_condition(p, kind, status, reason, &message, now),
        );
        let attempts = self.attempts.get(&key).copied().unwrap_or(1);
        self.backoff_until
            .insert(key.clone(), cx.now.plus(self.settings.backoff(attempts)));
        let flush = Self::flush_time(cx.now);
        self.unschedulable.insert(key, flush, kinds);
    }

    /// A PreBind poll (`checkBindings`): bound → Bind; selected-node reset by
    /// the provisioner or timeout → the binding cycle fails.
    fn poll_binding(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        let Some(b) = self.binding.get(key) else {
            return;
        };
        let Some(pod) = cx.store.get_shared::<Pod>(key) else {
            self.binding.remove(key);
            self.forget(key, cx);
            return;
        };
        let mut error = None;
        let mut all_bound = true;
        for ck in &b.claims {
            let Some(c) = cx.store.get::<PersistentVolumeClaim>(ck) else {
                error = Some(format!("persistentvolumeclaim {:?} not found", ck.name));
                break;
            };
            if b.provisioned.contains(ck)
                && c.metadata.annotation(ANN_SELECTED_NODE) != Some(b.node.as_str())
            {
                error = Some(format!("provisioning failed for PVC {:?}", ck.name));
                break;
            }
            if !volume_binding::is_fully_bound(c) {
                all_bound = false;
            }
        }
        if error.is_none() && all_bound {
            let node = b.node;
            self.binding.remove(key);
            self.bind(key, &node, cx);
            return;
        }
        if error.is_none() && cx.now >= b.deadline {
            error = Some("context deadline exceeded".into());
        }
        match error {
            Some(e) => {
                self.binding.remove(key);
                self.forget(key, cx);
                let msg = format!("running PreBind plugin \"VolumeBinding\": binding volumes: {e}");
                // A binding-cycle error goes back to the queue at once (after backoff).
                self.fail(&pod, msg, BTreeSet::new(), cx);
                self.unschedulable.remove(key);
                let at = self.backoff_until.get(key).copied().unwrap_or(cx.now);
                self.active.add(key.clone(), at);
            }
            None => {
                let poll = self.settings.bind_poll;
                self.binding.reschedule(key, cx.now.plus(poll));
            }
        }
    }

    /// A watched change: queue new pods, forget bound or deleted ones, and
    /// requeue parked pods the change may help.
    fn handle_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let now = cx.now;
        match ev.kind {
            Kind::Pod => {
                let key = ev.key.clone();
                match cx.store.get::<Pod>(&key) {
                    Some(p) if Self::wants(p) => {
                        if ev.op == ChangeOp::Added && !self.unschedulable.contains_key(&key) {
                            self.active.add(key, now);
                        }
                    }
                    Some(p) => {
                        if !p.spec.node_name.is_empty() {
                            // The informer shows it bound: no longer just assumed.
                            self.assumed.remove(&key);
                        }
                        self.unschedulable.remove(&key);
                    }
                    None => {
                        // Deleted: forget it, and its resources are free for others.
                        self.unschedulable.remove(&key);
                        self.assumed.remove(&key);
                        self.binding.remove(&key);
                        self.requeue_parked(ev, cx.store.cache(), now);
                    }
                }
            }
            Kind::Node => {
                self.seed_tree(cx.store.cache());
                // The node as the cache now has it, looked up once.
                let seen = cx
                    .store
                    .cache()
                    .get_shared(Kind::Node, &ev.key)
                    .and_then(Shared::<Node>::new);
                let before = match &seen {
                    Some(n) => self.nodes_seen.insert(ev.key.name, n.clone()),
                    None => self.nodes_seen.remove(&ev.key.name),
                };
                // A status write that leaves alone all the scheduler reads
                // (volumes attached or in use) changes neither the tree,
                // the facts nor the snapshot: they keep the version read
                // before, alike in every field they read.
                let alike = matches!((&before, &seen), (Some(b), Some(n))
                    if ev.op == ChangeOp::Modified && same_for_scheduling(b, n));
                if !alike {
                    match &seen {
                        Some(n) if ev.op == ChangeOp::Added => self.tree.add(n),
                        Some(n) => self.tree.update(n),
                        None => self.tree.remove(&ev.key.name),
                    }
                    match &seen {
                        Some(n) => {
                            self.usage.usage.entry(n.metadata.name);
                            self.facts.put(n.clone());
                            self.snapshot.mark(n.metadata.name);
                        }
                        None => self.facts.remove(ev.key.name),
                    }
                }
                // Nodes from the initial list have not been seen yet: their
                // first update counts only if it is an add or a delete.
                let changed = match ev.op {
                    ChangeOp::Added | ChangeOp::Deleted => true,
                    ChangeOp::Modified => match (before, &seen) {
                        (Some(_), Some(_)) => !alike,
                        (Some(_), None) => true,
                        (None, _) => false,
                    },
                };
                if changed {
                    self.requeue_parked(ev, cx.store.cache(), now);
                }
            }
            _ => self.requeue_parked(ev, cx.store.cache(), now),
        }
    }

    /// Due PreBind polls, leftover flushes, then every pod due in the
    /// active queue.
    fn handle_wake(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now;
        for key in self.binding.due(now) {
            self.poll_binding(&key, cx);
        }
        for key in self.unschedulable.due(now) {
            self.unschedulable.remove(&key);
            self.active.add(key, now);
        }
        while let Some(key) = self.active.pop_due(now) {
            // A pod still backing off waits, unless nothing else is waiting
            // (SchedulerPopFromBackoffQ): here the queue is drained in order.
            self.schedule_one(&key, cx);
        }
    }
}

/// Whether two versions of a node are alike for scheduling: its labels,
/// spec, allocatable and readiness (Node Add / UpdateNodeLabel /
/// UpdateNodeTaint and what resource fit watches), not status bookkeeping
/// such as volumesInUse or volumesAttached.
fn same_for_scheduling(a: &Node, b: &Node) -> bool {
    std::ptr::eq(a, b)
        || (a.metadata.labels == b.metadata.labels
            && a.spec == b.spec
            && a.status.allocatable == b.status.allocatable
            && a.status.ready == b.status.ready)
}

/// The kinds whose events the plugin behind `reason` registers for
/// (`EventsToRegister`); pod deletions free resources and ReadWriteOncePod
/// claims.
fn requeue_kinds(reason: &str) -> Vec<Kind> {
    use volume_binding::{BIND_CONFLICT, NODE_CONFLICT, PV_NOT_EXIST};
    match reason {
        r if r.starts_with("Insufficient") || r == "Too many pods" => vec![Kind::Node, Kind::Pod],
        r if r.starts_with(topology_spread::CONSTRAINTS_NOT_MATCH) => vec![Kind::Node, Kind::Pod],
        r if r.starts_with("node has pod using PersistentVolumeClaim") => {
            vec![Kind::Pod, Kind::PersistentVolumeClaim]
        }
        "node(s) exceed max volume count" => vec![
            Kind::Node,
            Kind::Pod,
            Kind::PersistentVolume,
            Kind::PersistentVolumeClaim,
        ],
        r if r == NODE_CONFLICT || r == BIND_CONFLICT || r == PV_NOT_EXIST => {
            vec![
                Kind::Node,
                Kind::PersistentVolume,
                Kind::PersistentVolumeClaim,
                Kind::StorageClass,
            ]
        }
        _ => vec![Kind::Node],
    }
}

/// Sets a pod condition; its transition time moves only when its status changes.
pub fn set_condition(
    p: &mut Pod,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: SimTime,
) {
    let old = p.status.conditions.iter().find(|x| x.kind == kind);
    let since = match old {
        Some(x) if x.status == status => x.last_transition_time.or(Some(now)),
        _ => Some(now),
    };
    let c = PodCondition {
        kind: Name::reusing(old.map(|x| x.kind), kind),
        status: Name::reusing(old.map(|x| x.status), status),
        reason: Name::reusing(old.map(|x| x.reason), reason),
        message: Name::reusing(old.map(|x| x.message), message),
        last_transition_time: since,
    };
    match p.status.conditions.iter_mut().find(|x| x.kind == kind) {
        Some(x) => *x = c,
        None => p.status.conditions.push(c),
    }
}

/// Whether [`set_condition`] with these words would leave `p` as it is:
/// the condition is there with them, and with its transition time.
pub fn condition_already(p: &Pod, kind: &str, status: &str, reason: &str, message: &str) -> bool {
    (p.status.conditions.iter().find(|x| x.kind == kind)).is_some_and(|x| {
        x.status == status
            && x.reason == reason
            && x.message == message
            && x.last_transition_time.is_some()
    })
}

/// `FitError.Error()` plus DefaultPreemption's tail: the per-reason
/// histogram sorted as whole strings, then why preemption cannot help.
pub fn fit_message(nodes: usize, prefilter: Option<&str>, refusals: &filters::Refusals) -> String {
    if nodes == 0 {
        return "no nodes available to schedule pods".into();
    }
    let mut msg = format!("0/{nodes} nodes are available:");
    let (not_helpful, no_victims) = match prefilter {
        Some(p) => {
            msg.push_str(&format!(" {p}."));
            (nodes, 0)
        }
        None => {
            let counts: BTreeMap<&str, usize> = refusals
                .by_reason
                .iter()
                .map(|(r, n)| (r.as_ref(), *n))
                .collect();
            msg.push_str(&format!(" {}.", histogram(counts)));
            (refusals.nodes - refusals.resolvable, refusals.resolvable)
        }
    };
    // No pod has a lower priority than another here, so preemption finds no
    // victims on nodes where it could have helped.
    let mut tail: BTreeMap<&str, usize> = BTreeMap::new();
    if not_helpful > 0 {
        tail.insert("Preemption is not helpful for scheduling", not_helpful);
    }
    if no_victims > 0 {
        tail.insert("No preemption victims found for incoming pod", no_victims);
    }
    format!(
        "{msg} preemption: 0/{nodes} nodes are available: {}.",
        histogram(tail)
    )
}

/// `"<count> <reason>"` items sorted as plain strings (count digits first).
fn histogram(counts: BTreeMap<&str, usize>) -> String {
    let mut items: Vec<String> = counts
        .into_iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    items.sort();
    items.join(", ")
}

impl Controller for Scheduler {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn uses_indexes(&self) -> bool {
        true
    }

    fn watches(&self) -> &'static [Kind] {
        &[
            Kind::Pod,
            Kind::Node,
            Kind::PersistentVolume,
            Kind::PersistentVolumeClaim,
            Kind::StorageClass,
            // PodTopologySpread's default selector.
            Kind::StatefulSet,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        self.handle_watch(ev, cx);
        let driver = &cx.profile.driver.name;
        self.usage
            .on_watch(ev, cx.store.cache(), &self.assumed, driver);
        // Marked now, so that events between cycles leave one mark per node.
        self.mark_usage();
        self.refresh_timers();
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        self.handle_wake(cx);
        self.refresh_timers();
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.active
            .next_due()
            .into_iter()
            .chain(self.timers_due)
            .min()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for key in self.unschedulable.keys() {
            if let Some(p) = store.get::<Pod>(key) {
                let why = p
                    .status
                    .conditions
                    .iter()
                    .find(|c| c.kind == "PodScheduled")
                    .map(|c| c.message)
                    .unwrap_or_default();
                out.push(format!("Pod/{} is unschedulable: {why}", key.name));
            }
        }
        for (key, b) in self.binding.iter() {
            out.push(format!(
                "Pod/{} waits in PreBind for its volumes on {}",
                key.name, b.node
            ));
        }
        out
    }
}
