//! The taint eviction controller (pkg/controller/tainteviction, split out
//! of node lifecycle in 1.29): a pod on a node with a NoExecute taint it
//! does not tolerate is deleted at once; one it tolerates for
//! `tolerationSeconds` is deleted that long after the taint was seen,
//! unless the taint goes first. The deletion is a normal graceful delete.

use super::scheduler::set_condition;
use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::node::Taint;
use crate::api::{Kind, Name, Node, ObjectKey, ObjectRef, Pod};
use crate::cluster::{ChangeOp, EventType, Store, WatchEvent};
use crate::engine::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// Event source.
pub const SOURCE: &str = "taint-eviction-controller";

/// The controller.
#[derive(Default)]
pub struct TaintEviction {
    queue: WorkQueue<ObjectKey>,
    /// Pods whose deletion is scheduled, and when.
    scheduled: BTreeMap<ObjectKey, SimTime>,
    /// Each node's NoExecute taints as last seen: only a change of those
    /// makes its pods worth a look (status updates do not). Looked up,
    /// never walked: hashed by the interned name.
    no_execute: rustc_hash::FxHashMap<Name, Vec<Taint>>,
    /// Pods by node, for a node whose taints changed.
    pods: super::pods_by_node::PodsByNode,
}

/// What the NoExecute taints of its node mean for a pod.
enum Verdict {
    /// No NoExecute taint: nothing to do.
    Stay,
    /// Tolerated for ever.
    Tolerated,
    /// A taint it does not tolerate: delete now, whatever was scheduled.
    Now,
    /// Tolerated for this long: delete that long after the taint was seen.
    After(SimDuration),
}

fn verdict(pod: &Pod, node: &Node) -> Verdict {
    let taints: Vec<&Taint> = node
        .spec
        .taints
        .iter()
        .filter(|t| t.effect == "NoExecute")
        .collect();
    if taints.is_empty() {
        return Verdict::Stay;
    }
    let mut min: Option<u64> = None;
    for t in taints {
        let Some(tol) = pod.spec.tolerations.iter().find(|x| x.tolerates(t)) else {
            return Verdict::Now;
        };
        if let Some(s) = tol.toleration_seconds {
            min = Some(min.map_or(s, |m| m.min(s)));
        }
    }
    match min {
        Some(s) => Verdict::After(SimDuration::from_secs(s)),
        None => Verdict::Tolerated,
    }
}

impl TaintEviction {
    fn event(cx: &mut Ctx<'_>, pod: &ObjectKey, msg: String) {
        cx.store.record_event(
            ObjectRef::new(Kind::Pod, pod.clone()),
            EventType::Normal,
            "TaintManagerEviction",
            msg,
            SOURCE,
        );
    }

    fn review(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        let now = cx.now;
        let pod = cx.store.get_shared::<Pod>(key);
        let node = pod.as_ref().and_then(|p| {
            cx.store
                .get_shared::<Node>(&ObjectKey::cluster_named(p.spec.node_name))
        });
        let Some(pod) = pod else {
            // handlePodUpdate: a pod gone cancels its deletion, saying so.
            self.cancel(key, cx);
            return;
        };
        let Some(node) = node else {
            self.scheduled.remove(key);
            return;
        };
        if pod.metadata.deletion_timestamp.is_some() || pod.is_terminal() {
            self.scheduled.remove(key);
            return;
        }
        match verdict(&pod, &node) {
            Verdict::Stay | Verdict::Tolerated => self.cancel(key, cx),
            Verdict::Now => {
                // processPodOnNode: a taint the pod does not tolerate
                // cancels a deletion scheduled for a tolerated one (with
                // its Event) and deletes now.
                self.cancel(key, cx);
                Self::evict(key, cx);
            }
            Verdict::After(d) => {
                // A deletion already scheduled keeps its time.
                let at = *self.scheduled.entry(key.clone()).or_insert(now.plus(d));
                if at > now {
                    self.queue.add(key.clone(), at);
                    return;
                }
                self.scheduled.remove(key);
                Self::evict(key, cx);
            }
        }
    }

    /// cancelWorkWithEvent: drops a scheduled deletion, saying so.
    fn cancel(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        if self.scheduled.remove(key).is_some() {
            Self::event(cx, key, format!("Cancelling deletion of Pod {key}"));
        }
    }

    /// Deletes the pod (gracefully), marking why.
    fn evict(key: &ObjectKey, cx: &mut Ctx<'_>) {
        let now = cx.now;
        Self::event(cx, key, format!("Marking for deletion Pod {key}"));
        let _ = cx.store.modify::<Pod>(key, |p| {
            set_condition(
                p,
                "DisruptionTarget",
                "True",
                "DeletionByTaintManager",
                "Taint manager: deleting due to NoExecute taint",
                now,
            );
        });
        let _ = cx.store.delete::<Pod>(key);
    }
}

impl Controller for TaintEviction {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::Pod, Kind::Node]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        match ev.kind {
            Kind::Pod => {
                // PodUpdated: a pod is looked at when it comes, goes or
                // changes node, not on its status updates (pod tolerations
                // do not change in the model).
                let moved = self.pods.observe(ev);
                if moved || ev.op != ChangeOp::Modified {
                    self.queue.add(ev.key.clone(), cx.now);
                }
            }
            Kind::Node => {
                let taints: Vec<Taint> = cx
                    .store
                    .get::<Node>(&ev.key)
                    .map(|n| {
                        n.spec
                            .taints
                            .iter()
                            .filter(|t| t.effect == "NoExecute")
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                let before = self.no_execute.insert(ev.key.name, taints.clone());
                if before.unwrap_or_default() == taints {
                    return;
                }
                let pods: Vec<ObjectKey> = self.pods.pods_on(ev.key.name).cloned().collect();
                for k in pods {
                    self.queue.add(k, cx.now);
                }
            }
            _ => {}
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(key) = self.queue.pop_due(cx.now) {
            self.review(&key, cx);
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, _store: &Store) -> Vec<String> {
        self.scheduled
            .iter()
            .map(|(k, t)| format!("Pod/{} is to be evicted at {t} (NoExecute taint)", k.name))
            .collect()
    }
}
