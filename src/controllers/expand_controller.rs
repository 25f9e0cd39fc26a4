//! kube-controller-manager's expand controller (`volume_expand`,
//! pkg/controller/volume/expand): it queues every bound claim that asks for
//! more than it has, finds no in-tree plugin that can grow a CSI volume and
//! says so on the claim, leaving the work to the driver's external-resizer.

use super::{Controller, Ctx};
use crate::api::persistent_volume_claim::ClaimPhase;
use crate::api::{AnyObject, Kind, ObjectKey, ObjectRef, PersistentVolume};
use crate::cluster::{ChangeOp, EventType, Store, WatchEvent};
use crate::engine::SimTime;

/// Event source.
pub const SOURCE: &str = "volume_expand";

/// The controller (stateless: each claim update is one sync).
pub struct ExpandController;

impl Controller for ExpandController {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::PersistentVolumeClaim, Kind::PersistentVolume]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        if ev.op == ChangeOp::Deleted {
            return;
        }
        let AnyObject::PersistentVolumeClaim(c) = &ev.object else {
            return;
        };
        let want = c.request().map_or(0, |q| q.value());
        if c.status.phase != ClaimPhase::Bound || want <= c.capacity_bytes() {
            return;
        }
        let csi = cx
            .store
            .get::<PersistentVolume>(&ObjectKey::cluster_named(c.spec.volume_name))
            .is_some_and(|pv| pv.spec.csi.is_some());
        if csi {
            cx.store.record_event(
                ObjectRef::new(Kind::PersistentVolumeClaim, ev.key.clone()),
                EventType::Warning,
                "ExternalExpanding",
                "Ignoring the PVC: didn't find a plugin capable of expanding the volume; waiting for an external controller to process this PVC.",
                SOURCE,
            );
        }
    }

    fn on_wake(&mut self, _cx: &mut Ctx<'_>) {}

    fn next_wake(&self) -> Option<SimTime> {
        None
    }

    fn pending(&self, _store: &Store) -> Vec<String> {
        Vec::new()
    }
}
