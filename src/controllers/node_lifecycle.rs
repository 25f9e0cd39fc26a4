//! The node lifecycle controller (pkg/controller/nodelifecycle, 1.33
//! defaults): every `--node-monitor-period` (5 s) it checks each node's
//! last heartbeat; a node silent for more than `--node-monitor-grace-period`
//! (50 s) becomes NotReady (Ready=Unknown), gets the `unreachable` taints
//! (NoSchedule at once, NoExecute through the per-zone eviction queue at
//! 0.1 node/s) and its pods are marked not ready. A node whose kubelet
//! posts Ready again gets its taints back off.
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
/// `--node-eviction-rate` 0.1 nodes/s: NoExecute taints in one zone at
/// least this far apart.
const EVICTION_SPACING: SimDuration = SimDuration::from_secs(10);

/// The controller.
pub struct NodeLifecycle {
    seed: u64,
    queue: WorkQueue<String>,
    /// Nodes it has marked NotReady.
    unready: BTreeSet<String>,
    /// Nodes marked NotReady still waiting for their NoExecute taint.
    to_taint: BTreeSet<String>,
    /// When each zone last got a NoExecute taint.
    last_taint: BTreeMap<String, SimTime>,
}

impl NodeLifecycle {
    /// A controller whose heartbeat phases come from `seed`.
    pub fn new(seed: u64) -> Self {
        NodeLifecycle {
            seed,
            queue: WorkQueue::default(),
            unready: BTreeSet::new(),
            to_taint: BTreeSet::new(),
            last_taint: BTreeMap::new(),
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
        let zone = node.zone().unwrap_or_default().to_string();
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
                self.to_taint.insert(name.to_string());
            }
            if self.to_taint.contains(name) {
                // The zone's eviction queue lets one node through per 10 s.
                let free_at = self
                    .last_taint
                    .get(&zone)
                    .map_or(now, |t| t.plus(EVICTION_SPACING));
                if free_at > now {
                    self.queue.add(name.to_string(), free_at);
                    return;
                }
                self.to_taint.remove(name);
                self.last_taint.insert(zone, now);
                let _ = cx.store.modify::<Node>(&ObjectKey::cluster(name), |n| {
                    let t = Self::taint(TAINT_UNREACHABLE, "NoExecute");
                    if !n.spec.taints.contains(&t) {
                        n.spec.taints.push(t);
                    }
                });
            }
        } else if self.unready.contains(name) && node.status.ready {
            // The kubelet posted Ready again.
            self.unready.remove(name);
            self.to_taint.remove(name);
            let _ = cx.store.modify::<Node>(&ObjectKey::cluster(name), |n| {
                n.spec.taints.retain(|t| t.key != TAINT_UNREACHABLE);
            });
            let msg = format!("Node {name} status is now: NodeReady");
            Self::node_event(cx, name, "NodeReady", msg);
        }
    }
}

impl Controller for NodeLifecycle {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::Node, Kind::Pod]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        // A node it marked NotReady reporting Ready: seen at the next tick.
        if ev.kind == Kind::Node && self.unready.contains(&ev.key.name) {
            self.queue.add(ev.key.name.clone(), Self::next_tick(cx.now));
        }
    }

    fn on_machines(&mut self, cx: &mut Ctx<'_>) {
        let down: Vec<String> = cx
            .store
            .list::<Node>()
            .map(|n| n.metadata.name.clone())
            .filter(|n| cx.machines.is_down(n) && !self.unready.contains(n))
            .collect();
        for n in down {
            self.queue.add(n, Self::next_tick(cx.now));
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(name) = self.queue.pop_due(cx.now) {
            self.monitor(&name, cx);
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
