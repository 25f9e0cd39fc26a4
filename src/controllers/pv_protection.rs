//! The pv-protection controller (pkg/controller/volume/pvprotection):
//! removes `kubernetes.io/pv-protection` from a PV being deleted once it is
//! no longer Bound.

use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::persistent_volume::FINALIZER_PV_PROTECTION;
use crate::api::{Kind, ObjectKey, PersistentVolume, VolumePhase};
use crate::cluster::{Store, WatchEvent};
use crate::engine::SimTime;

/// The controller.
#[derive(Default)]
pub struct PvProtectionController {
    queue: WorkQueue<ObjectKey>,
}

impl Controller for PvProtectionController {
    fn name(&self) -> &'static str {
        "pv-protection-controller"
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::PersistentVolume]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        self.queue.add(ev.key.clone(), cx.now);
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        let (store, now) = (&mut cx.store, cx.now);
        while let Some(key) = self.queue.pop_due(now) {
            let Some(pv) = store.get::<PersistentVolume>(&key) else {
                continue;
            };
            let held = pv
                .metadata
                .finalizers
                .iter()
                .any(|f| f == FINALIZER_PV_PROTECTION);
            // isVolumeUsed: a PV is in use while its phase is Bound.
            if pv.metadata.deletion_timestamp.is_some()
                && held
                && pv.status.phase != VolumePhase::Bound
            {
                let _ = store.remove_finalizer::<PersistentVolume>(&key, FINALIZER_PV_PROTECTION);
            }
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        store
            .list::<PersistentVolume>()
            .filter(|p| p.metadata.deletion_timestamp.is_some())
            .map(|p| {
                format!(
                    "PersistentVolume/{} is Terminating: kubernetes.io/pv-protection holds it while it is {}",
                    p.metadata.name, p.status.phase
                )
            })
            .collect()
    }
}
