//! The pod garbage collector (pkg/controller/podgc), the part storsim needs:
//! every 20 s (`gcCheckPeriod`) it force-deletes the terminating pods on
//! nodes that are not Ready and carry the `node.kubernetes.io/out-of-service`
//! taint — the non-graceful node shutdown path, which frees a StatefulSet
//! pod's name (and its volume, see the attach/detach controller) at once.

use super::attach_detach::TAINT_OUT_OF_SERVICE;
use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::{Kind, Node, ObjectKey, Pod};
use crate::cluster::{Store, WatchEvent};
use crate::engine::{SimDuration, SimTime, Ticks};

/// Event source.
pub const SOURCE: &str = "pod-garbage-collector";

/// `gcCheckPeriod`.
const GC_CHECK_PERIOD: SimDuration = SimDuration::from_secs(20);

/// The controller.
#[derive(Default)]
pub struct PodGc {
    queue: WorkQueue<()>,
    /// Nodes that are out of service (NotReady with the taint).
    out_of_service: std::collections::BTreeSet<String>,
}

impl PodGc {
    fn next_check(now: SimTime) -> SimTime {
        Ticks::every(GC_CHECK_PERIOD).next_after(now)
    }

    fn out_of_service(n: &Node) -> bool {
        !n.status.ready && n.spec.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE)
    }
}

impl Controller for PodGc {
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
        if ev.kind == Kind::Node {
            let oos = cx
                .store
                .get::<Node>(&ev.key)
                .is_some_and(Self::out_of_service);
            if oos {
                self.out_of_service.insert(ev.key.name.to_string());
            } else {
                self.out_of_service.remove(ev.key.name.as_str());
            }
        }
        if !self.out_of_service.is_empty() {
            self.queue.add((), Self::next_check(cx.now));
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        if self.queue.pop_due(cx.now).is_none() {
            return;
        }
        let doomed: Vec<ObjectKey> = cx
            .store
            .list::<Pod>()
            .filter(|p| p.metadata.deletion_timestamp.is_some())
            .filter(|p| {
                cx.store
                    .get::<Node>(&ObjectKey::cluster_named(p.spec.node_name))
                    .is_some_and(Self::out_of_service)
            })
            .map(|p| p.metadata.key())
            .collect();
        for k in doomed {
            let _ = cx.store.force_delete::<Pod>(&k);
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, _store: &Store) -> Vec<String> {
        Vec::new()
    }
}
