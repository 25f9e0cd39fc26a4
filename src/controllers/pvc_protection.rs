//! The pvc-protection controller (pkg/controller/volume/pvcprotection):
//! removes `kubernetes.io/pvc-protection` from a claim being deleted once no
//! scheduled pod references it.

use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::persistent_volume_claim::FINALIZER_PVC_PROTECTION;
use crate::api::{AnyObject, Kind, ObjectKey, PersistentVolumeClaim, Pod};
use crate::cluster::{ChangeOp, Store, WatchEvent};
use crate::engine::SimTime;

/// The controller.
#[derive(Default)]
pub struct PvcProtectionController {
    queue: WorkQueue<ObjectKey>,
}

/// `podUsesPVC`: only scheduled pods count, whatever their phase, because
/// the kubelet only sees scheduled pods and refuses to start a pod whose
/// claim is being deleted.
pub fn pod_uses_claim(pod: &Pod, claim: &ObjectKey) -> bool {
    pod.metadata.namespace == claim.namespace
        && !pod.spec.node_name.is_empty()
        && pod.claim_names().any(|c| c == claim.name)
}

impl Controller for PvcProtectionController {
    fn name(&self) -> &'static str {
        "pvc-protection-controller"
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn uses_indexes(&self) -> bool {
        true
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::PersistentVolumeClaim, Kind::Pod]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let (store, now) = (&cx.store, cx.now);
        match ev.kind {
            Kind::PersistentVolumeClaim => self.queue.add(ev.key.clone(), now),
            Kind::Pod => {
                // `enqueuePVCs`: only a pod that is gone, finished or not
                // scheduled can release its claims (a scheduled pod uses
                // them whatever else changed). Of those claims, queue the
                // ones being deleted: for any other the sync does nothing.
                if let AnyObject::Pod(pod) = &ev.object
                    && (ev.op == ChangeOp::Deleted
                        || pod.is_terminal()
                        || pod.spec.node_name.is_empty())
                {
                    for key in pod.claim_keys() {
                        if store
                            .get::<PersistentVolumeClaim>(&key)
                            .is_some_and(|c| c.metadata.deletion_timestamp.is_some())
                        {
                            self.queue.add(key, now);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        let (store, now) = (&mut cx.store, cx.now);
        while let Some(key) = self.queue.pop_due(now) {
            let Some(claim) = store.get::<PersistentVolumeClaim>(&key) else {
                continue;
            };
            let held = claim
                .metadata
                .finalizers
                .iter()
                .any(|f| f == FINALIZER_PVC_PROTECTION);
            if claim.metadata.deletion_timestamp.is_none() || !held {
                continue;
            }
            // The informer's pods by claim (`podIndexer`).
            let used = (store.cache().pods_using(&key))
                .filter_map(|p| store.get::<Pod>(p))
                .any(|p| pod_uses_claim(p, &key));
            if !used {
                let _ =
                    store.remove_finalizer::<PersistentVolumeClaim>(&key, FINALIZER_PVC_PROTECTION);
            }
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        store
            .list::<PersistentVolumeClaim>()
            .filter(|c| c.metadata.deletion_timestamp.is_some())
            .map(|c| {
                let users: Vec<&str> = store
                    .list::<Pod>()
                    .filter(|p| pod_uses_claim(p, &c.metadata.key()))
                    .map(|p| p.metadata.name.as_str())
                    .collect();
                format!(
                    "PersistentVolumeClaim/{} is Terminating: still used by pod(s) {}",
                    c.metadata.name,
                    users.join(", ")
                )
            })
            .collect()
    }
}
