//! The node lifecycle controller (pkg/controller/nodelifecycle, 1.33
//! defaults): every `--node-monitor-period` (5 s) it checks each node's
//! last heartbeat; a node silent for more than `--node-monitor-grace-period`
//! (50 s) becomes NotReady (Ready=Unknown), gets the `unreachable` taints
//! (NoSchedule at once, NoExecute through the per-zone eviction queue) and
//! its pods are marked not ready. A node whose kubelet posts Ready again
//! gets its taints back off.
//!
//! The eviction queue's rate follows the zone's state (`handleDisruption`,
//! `ComputeZoneState`): a zone with some Ready nodes is *normal* (0.1
//! node/s), or *partially disrupted* when more than 2 and at least 55 % of
//! its nodes are not Ready (0.01 node/s in a zone of more than 50 nodes,
//! none at all in a smaller one); a zone with no Ready node is *fully
//! disrupted* and keeps the normal rate, unless every zone is: then the
//! controller assumes the fault is its own ("master disruption mode"),
//! takes the NoExecute taints off every node and evicts nothing until a
//! node is Ready again.
//!
//! Heartbeats (the kubelet's Lease, renewed every 10 s) are not written as
//! API objects here; the controller reads when a machine went down and
//! takes the last renewal before it, which is what the Lease would say.

use super::scheduler::set_condition;
use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::node::{TAINT_UNREACHABLE, Taint};
use crate::api::{Kind, Node, ObjectKey, ObjectRef, Pod};
use crate::cluster::{EventType, Store, WatchEvent};
use crate::engine::{SimDuration, SimTime, StreamKey, Ticks};
use std::collections::{BTreeMap, BTreeSet};

/// Event source.
pub const SOURCE: &str = "node-controller";

/// `--node-monitor-period`.
const MONITOR_PERIOD: SimDuration = SimDuration::from_secs(5);
/// `--node-monitor-grace-period` (50 s since 1.32).
const GRACE_PERIOD: SimDuration = SimDuration::from_secs(50);
/// The kubelet's Lease renewal interval (25 % of the 40 s lease).
const LEASE_RENEW: SimDuration = SimDuration::from_secs(10);
/// `--node-eviction-rate` 0.1 nodes/s: NoExecute taints in a healthy zone
/// at least this far apart.
const EVICTION_SPACING: SimDuration = SimDuration::from_secs(10);
/// `--secondary-node-eviction-rate` 0.01 nodes/s in a partially disrupted
/// large zone.
const SECONDARY_EVICTION_SPACING: SimDuration = SimDuration::from_secs(100);
/// `--large-cluster-size-threshold`: a partially disrupted zone of at most
/// this many nodes evicts nothing.
const LARGE_CLUSTER_SIZE: usize = 50;
/// `--unhealthy-zone-threshold`.
const UNHEALTHY_ZONE_THRESHOLD: f64 = 0.55;

/// `ZoneState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ZoneState {
    Normal,
    PartialDisruption,
    FullDisruption,
}

/// One zone's NoExecute tainting queue: its rate (None = stopped) and when
/// its token bucket (burst 1) next has a token.
#[derive(Clone, Copy, Debug)]
struct ZoneQueue {
    state: ZoneState,
    spacing: Option<SimDuration>,
    next_free: SimTime,
}

/// The controller.
pub struct NodeLifecycle {
    seed: u64,
    queue: WorkQueue<String>,
    /// Nodes it has marked NotReady.
    unready: BTreeSet<String>,
    /// Nodes marked NotReady still waiting for their NoExecute taint, in
    /// the order they were queued.
    to_taint: Vec<String>,
    /// Each zone's state and tainting queue.
    zones: BTreeMap<String, ZoneQueue>,
}

impl NodeLifecycle {
    /// A controller whose heartbeat phases come from `seed`.
    pub fn new(seed: u64) -> Self {
        NodeLifecycle {
            seed,
            queue: WorkQueue::default(),
            unready: BTreeSet::new(),
            to_taint: Vec::new(),
            zones: BTreeMap::new(),
        }
    }

    /// The first monitor tick strictly after `t`.
    fn next_tick(t: SimTime) -> SimTime {
        Ticks::every(MONITOR_PERIOD).next_after(t)
    }

    /// The last Lease renewal of `node` at or before `t`.
    fn last_renewal(&self, node: &str, t: SimTime) -> SimTime {
        let key = StreamKey {
            component: "kubelet",
            object: node,
            operation: "lease",
            attempt: 0,
        };
        Ticks::seeded(LEASE_RENEW, &key, self.seed).last_at_or_before(t)
    }

    fn node_event(cx: &mut Ctx<'_>, node: &str, reason: &str, msg: String) {
        cx.store.record_event(
            ObjectRef::new(Kind::Node, ObjectKey::cluster(node)),
            EventType::Normal,
            reason,
            msg,
            SOURCE,
        );
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: String::new(),
            effect: effect.into(),
        }
    }

    /// One monitor pass over `node`.
    fn monitor(&mut self, name: &str, cx: &mut Ctx<'_>) {
        let now = cx.now;
        let Some(node) = cx.store.get::<Node>(&ObjectKey::cluster(name)).cloned() else {
            return;
        };
        if let Some(down) = cx.machines.down_since(name) {
            let silent_after = self.last_renewal(name, down).plus(GRACE_PERIOD);
            if now <= silent_after {
                self.queue
                    .add(name.to_string(), Self::next_tick(silent_after));
                return;
            }
            if self.unready.insert(name.to_string()) {
                let _ = cx.store.modify::<Node>(&ObjectKey::cluster(name), |n| {
                    n.status.ready = false;
                    let t = Self::taint(TAINT_UNREACHABLE, "NoSchedule");
                    if !n.spec.taints.contains(&t) {
                        n.spec.taints.push(t);
                    }
                });
                let msg = format!("Node {name} status is now: NodeNotReady");
                Self::node_event(cx, name, "NodeNotReady", msg);
                let pods: Vec<ObjectKey> = cx
                    .store
                    .list::<Pod>()
                    .filter(|p| p.spec.node_name == name)
                    .map(|p| p.metadata.key())
                    .collect();
                for k in pods {
                    let _ = cx.store.modify::<Pod>(&k, |p| {
                        set_condition(p, "Ready", "False", "", "", now);
                    });
                    cx.store.record_event(
                        ObjectRef::new(Kind::Pod, k),
                        EventType::Warning,
                        "NodeNotReady",
                        "Node is not ready".to_string(),
                        SOURCE,
                    );
                }
                self.to_taint.push(name.to_string());
            }
        } else if self.unready.contains(name) && node.status.ready {
            // The kubelet posted Ready again.
            self.unready.remove(name);
            self.to_taint.retain(|n| n != name);
            let _ = cx.store.modify::<Node>(&ObjectKey::cluster(name), |n| {
                n.spec.taints.retain(|t| t.key != TAINT_UNREACHABLE);
            });
            let msg = format!("Node {name} status is now: NodeReady");
            Self::node_event(cx, name, "NodeReady", msg);
        }
    }
}

impl NodeLifecycle {
    /// `handleDisruption`: each zone's state from its nodes' Ready
    /// conditions, and the tainting rate that goes with it.
    fn handle_disruption(&mut self, cx: &mut Ctx<'_>) {
        let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for n in cx.store.list::<Node>() {
            let c = counts
                .entry(n.zone().unwrap_or_default().to_string())
                .or_default();
            if n.status.ready {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
        let states: BTreeMap<String, (ZoneState, usize)> = counts
            .into_iter()
            .map(|(z, (ready, not_ready))| {
                let state = if ready == 0 && not_ready > 0 {
                    ZoneState::FullDisruption
                } else if not_ready > 2
                    && not_ready as f64 / (ready + not_ready) as f64 >= UNHEALTHY_ZONE_THRESHOLD
                {
                    ZoneState::PartialDisruption
                } else {
                    ZoneState::Normal
                };
                (z, (state, ready + not_ready))
            })
            .collect();
        self.zones.retain(|z, _| states.contains_key(z));
        let all_are = states
            .values()
            .all(|(s, _)| *s == ZoneState::FullDisruption);
        let all_were = !self.zones.is_empty()
            && self
                .zones
                .values()
                .all(|q| q.state == ZoneState::FullDisruption);
        if all_are && all_were {
            return;
        }
        let now = cx.now;
        if all_are {
            // Master disruption mode: every node loses its NoExecute taint
            // and nothing is evicted.
            let names: Vec<String> = cx
                .store
                .list::<Node>()
                .map(|n| n.metadata.name.to_string())
                .collect();
            for name in names {
                let _ = cx.store.modify::<Node>(&ObjectKey::cluster(&name), |n| {
                    n.spec
                        .taints
                        .retain(|t| !(t.key == TAINT_UNREACHABLE && t.effect == "NoExecute"));
                });
                if self.unready.contains(&name) && !self.to_taint.contains(&name) {
                    self.to_taint.push(name);
                }
            }
            for (z, (_, _)) in &states {
                self.zones.insert(
                    z.clone(),
                    ZoneQueue {
                        state: ZoneState::FullDisruption,
                        spacing: None,
                        next_free: now,
                    },
                );
            }
            return;
        }
        for (z, (state, size)) in states {
            let spacing = match state {
                ZoneState::Normal | ZoneState::FullDisruption => Some(EVICTION_SPACING),
                ZoneState::PartialDisruption if size > LARGE_CLUSTER_SIZE => {
                    Some(SECONDARY_EVICTION_SPACING)
                }
                ZoneState::PartialDisruption => None,
            };
            let Some(q) = self.zones.get_mut(&z) else {
                let fresh = ZoneQueue {
                    state,
                    spacing,
                    next_free: now,
                };
                self.zones.insert(z, fresh);
                continue;
            };
            if q.state == state && !all_were {
                continue;
            }
            // `SwapLimiter`: a new bucket, drained when the old one had no
            // token left (a stopped queue never has one).
            if q.spacing != spacing {
                if let Some(sp) = spacing {
                    let had_token = q.spacing.is_some() && q.next_free <= now;
                    q.next_free = if had_token { now } else { now.plus(sp) };
                }
            }
            q.state = state;
            q.spacing = spacing;
        }
    }

    /// The zones' tainting queues: each NotReady node gets its NoExecute
    /// taint when its zone's bucket has a token.
    fn taint_pass(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now;
        let mut waiting = Vec::new();
        for name in std::mem::take(&mut self.to_taint) {
            let Some(node) = cx.store.get::<Node>(&ObjectKey::cluster(&name)) else {
                continue;
            };
            let zone = node.zone().unwrap_or_default().to_string();
            let Some(q) = self.zones.get_mut(&zone) else {
                waiting.push(name);
                continue;
            };
            let Some(spacing) = q.spacing else {
                waiting.push(name);
                continue;
            };
            if q.next_free > now {
                self.queue.add(name.clone(), q.next_free);
                waiting.push(name);
                continue;
            }
            q.next_free = now.plus(spacing);
            let _ = cx.store.modify::<Node>(&ObjectKey::cluster(&name), |n| {
                let t = Self::taint(TAINT_UNREACHABLE, "NoExecute");
                if !n.spec.taints.contains(&t) {
                    n.spec.taints.push(t);
                }
            });
        }
        self.to_taint = waiting;
    }
}

impl Controller for NodeLifecycle {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::Node, Kind::Pod]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        // A node it marked NotReady reporting Ready: seen at the next tick.
        if ev.kind == Kind::Node && self.unready.contains(ev.key.name.as_str()) {
            self.queue
                .add(ev.key.name.to_string(), Self::next_tick(cx.now));
        }
    }

    fn on_machines(&mut self, cx: &mut Ctx<'_>) {
        let down: Vec<String> = cx
            .store
            .list::<Node>()
            .map(|n| n.metadata.name.to_string())
            .filter(|n| cx.machines.is_down(n) && !self.unready.contains(n))
            .collect();
        for n in down {
            self.queue.add(n, Self::next_tick(cx.now));
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        let mut any = false;
        while let Some(name) = self.queue.pop_due(cx.now) {
            self.monitor(&name, cx);
            any = true;
        }
        if any {
            self.handle_disruption(cx);
            self.taint_pass(cx);
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, _store: &Store) -> Vec<String> {
        self.unready
            .iter()
            .map(|n| format!("Node/{n} is NotReady (no heartbeat)"))
            .collect()
    }
}
