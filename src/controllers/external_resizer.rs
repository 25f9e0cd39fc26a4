//! The CSI external-resizer sidecar (kubernetes-csi/external-resizer,
//! `pkg/controller/controller.go` with RecoverVolumeExpansionFailure on, as
//! in 1.33): a bound claim asking for more than its volume has is marked
//! `Resizing` (allocatedResources = the new size, status
//! ControllerResizeInProgress), the driver's ControllerExpandVolume grows
//! the disk, the PV takes the new capacity, and the claim either waits for
//! kubelet (`FileSystemResizePending`, NodeResizePending) or is done
//! (`VolumeResizeSuccessful`). Failures are `VolumeResizeFailed` events,
//! retried with the sidecar's backoff; a driver that expands offline only
//! is not asked again while a pod uses the claim.

use super::in_flight::InFlight;
use super::workqueue::{RateLimiter, WorkQueue};
use super::{Controller, Ctx};
use crate::api::persistent_volume_claim::{CONDITION_FS_RESIZE_PENDING, CONDITION_RESIZING};
use crate::api::{
    Kind, ObjectKey, ObjectRef, PersistentVolume, PersistentVolumeClaim, Pod, Quantity,
};
use crate::backend::operations::GrpcCode;
use crate::backend::profile::Expansion;
use crate::backend::{Reply, Request, Response};
use crate::cluster::{EventType, Store, WatchEvent};
use crate::engine::SimTime;
use std::collections::BTreeSet;

/// Event source: `external-resizer <driver>`.
pub const SOURCE: &str = "external-resizer";

/// `allocatedResourceStatuses` values.
pub const CONTROLLER_RESIZE_IN_PROGRESS: &str = "ControllerResizeInProgress";
/// See [`CONTROLLER_RESIZE_IN_PROGRESS`].
pub const CONTROLLER_RESIZE_INFEASIBLE: &str = "ControllerResizeInfeasible";
/// See [`CONTROLLER_RESIZE_IN_PROGRESS`].
pub const NODE_RESIZE_PENDING: &str = "NodeResizePending";
/// See [`CONTROLLER_RESIZE_IN_PROGRESS`].
pub const NODE_RESIZE_IN_PROGRESS: &str = "NodeResizeInProgress";

/// The message of the `FileSystemResizePending` condition.
pub const FS_RESIZE_PENDING_MESSAGE: &str =
    "Waiting for user to (re-)start a pod to finish file system resize of volume on node.";

/// The controller.
#[derive(Default)]
pub struct ExternalResizer {
    queue: WorkQueue<ObjectKey>,
    in_flight: InFlight<ObjectKey>,
    retries: RateLimiter<ObjectKey>,
    /// Claims whose last expansion failed because the volume was in use
    /// (`usedPVCs.hasInUseErrors`).
    in_use_errors: BTreeSet<ObjectKey>,
    /// Claims queued by a pod going away: tried at once (a plain `Add`),
    /// though their backoff (kept) has not run out.
    now: BTreeSet<ObjectKey>,
}

fn size_of(q: Option<&Quantity>) -> i128 {
    q.map_or(0, Quantity::value)
}

impl ExternalResizer {
    fn event(cx: &mut Ctx<'_>, key: &ObjectKey, kind: EventType, reason: &str, msg: String) {
        cx.store.record_event(
            ObjectRef::new(Kind::PersistentVolumeClaim, key.clone()),
            kind,
            reason,
            msg,
            SOURCE,
        );
    }

    /// `usedPVCs.checkForUse`: a pod that has not finished names the claim.
    fn in_use(key: &ObjectKey, cx: &Ctx<'_>) -> bool {
        cx.store.list::<Pod>().any(|p| {
            p.metadata.namespace == key.namespace
                && !p.is_terminal()
                && p.claim_names().any(|c| c == key.name)
        })
    }

    fn sync(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        if self.in_flight.contains(key) {
            return;
        }
        let Some(claim) = cx.store.get_shared::<PersistentVolumeClaim>(key) else {
            self.forget(key);
            return;
        };
        if claim.spec.volume_name.is_empty() || claim.metadata.deletion_timestamp.is_some() {
            return;
        }
        let Some(pv) = cx
            .store
            .get_shared::<PersistentVolume>(&ObjectKey::cluster_named(claim.spec.volume_name))
        else {
            return;
        };
        let driver = cx.profile.driver.clone();
        let Some(csi) = &pv.spec.csi else { return };
        if csi.driver != driver.name || driver.expansion == Expansion::None {
            return;
        }
        let want = size_of(claim.request());
        // `pvcNeedResize`: the volume is smaller than the claim asks.
        if size_of(pv.capacity()) >= want {
            return;
        }
        if !self.now.remove(key)
            && let Some(at) = self.retries.backing_off(key, cx.now)
        {
            self.queue.add(key.clone(), at);
            return;
        }
        // markControllerResizeInProgress.
        let Some(new_size) = claim.request().cloned() else {
            return;
        };
        let _ = cx.store.modify::<PersistentVolumeClaim>(key, |c| {
            c.status.allocated_resources.insert("storage", new_size);
            c.status
                .allocated_resource_statuses
                .insert("storage", CONTROLLER_RESIZE_IN_PROGRESS.to_string());
            if !c
                .status
                .conditions
                .iter()
                .any(|x| x.kind == CONDITION_RESIZING)
            {
                c.set_condition(CONDITION_RESIZING, "");
            }
        });
        if self.in_use_errors.contains(key) && Self::in_use(key, cx) {
            let msg = format!(
                "Unable to expand {}/{} because CSI driver {} only supports offline expansion and volume is currently in-use",
                key.namespace, key.name, driver.name
            );
            Self::event(cx, key, EventType::Warning, "VolumeResizeFailed", msg);
            let at = self
                .retries
                .failed(key, cx.now, &cx.profile.sidecars.resizer);
            self.queue.add(key.clone(), at);
            return;
        }
        Self::event(
            cx,
            key,
            EventType::Normal,
            "Resizing",
            format!("External resizer is resizing volume {}", pv.metadata.name),
        );
        self.in_use_errors.remove(key);
        // The driver rounds up to its allocation unit, as CreateVolume does.
        let g = driver.size_granularity.max(1);
        let size_bytes = (want + g - 1) / g * g;
        let id = cx.call(
            Request::ControllerExpand {
                volume_id: csi.volume_handle.to_string(),
                size_bytes,
            },
            Some(cx.profile.sidecars.resizer.timeout),
        );
        self.in_flight.insert(key.clone(), id);
    }

    fn forget(&mut self, key: &ObjectKey) {
        self.retries.forget(key);
        self.in_use_errors.remove(key);
    }

    fn expanded(&mut self, key: &ObjectKey, size_bytes: i128, cx: &mut Ctx<'_>) {
        let Some(claim) = cx.store.get_shared::<PersistentVolumeClaim>(key) else {
            return;
        };
        let size = Quantity::from_bytes(size_bytes);
        let pv = ObjectKey::cluster_named(claim.spec.volume_name);
        let _ = cx.store.modify::<PersistentVolume>(&pv, |v| {
            v.spec.capacity.insert("storage", size);
        });
        self.forget(key);
        if cx.profile.driver.node_expansion {
            // markForPendingNodeExpansion.
            let _ = cx.store.modify::<PersistentVolumeClaim>(key, |c| {
                c.status.conditions.retain(|x| x.kind != CONDITION_RESIZING);
                c.set_condition(CONDITION_FS_RESIZE_PENDING, FS_RESIZE_PENDING_MESSAGE);
                c.status
                    .allocated_resource_statuses
                    .insert("storage", NODE_RESIZE_PENDING.to_string());
            });
            Self::event(
                cx,
                key,
                EventType::Normal,
                "FileSystemResizeRequired",
                "Require file system resize of volume on node".to_string(),
            );
        } else {
            // markControllerExpansionFinished.
            let _ = cx.store.modify::<PersistentVolumeClaim>(key, |c| {
                c.status.capacity.insert("storage", size);
                c.status.conditions.retain(|x| {
                    x.kind != CONDITION_RESIZING && x.kind != CONDITION_FS_RESIZE_PENDING
                });
                c.status.allocated_resource_statuses.remove("storage");
            });
            Self::event(
                cx,
                key,
                EventType::Normal,
                "VolumeResizeSuccessful",
                "Resize volume succeeded".to_string(),
            );
        }
    }
}

impl Controller for ExternalResizer {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn watches(&self) -> &'static [Kind] {
        &[
            Kind::PersistentVolumeClaim,
            Kind::PersistentVolume,
            Kind::Pod,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        match ev.kind {
            Kind::PersistentVolumeClaim => {
                let at = self.retries.backing_off(&ev.key, cx.now).unwrap_or(cx.now);
                self.queue.add(ev.key.clone(), at);
            }
            // A pod gone (or finished) may free a claim an offline-only
            // driver could not expand: try it at once. A Terminating pod
            // still uses it.
            Kind::Pod => {
                let done = match &ev.object {
                    crate::api::AnyObject::Pod(p) => {
                        ev.op == crate::cluster::ChangeOp::Deleted || p.is_terminal()
                    }
                    _ => false,
                };
                if !done {
                    return;
                }
                if let crate::api::AnyObject::Pod(p) = &ev.object {
                    let claims: Vec<ObjectKey> = p
                        .claim_keys()
                        .filter(|k| self.in_use_errors.contains(k))
                        .collect();
                    for k in claims {
                        self.now.insert(k.clone());
                        self.queue.add(k, cx.now);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(key) = self.queue.pop_due(cx.now) {
            self.sync(&key, cx);
        }
    }

    fn on_reply(&mut self, reply: &Reply, cx: &mut Ctx<'_>) {
        let Some(key) = self.in_flight.take(reply.id) else {
            return;
        };
        match &reply.result {
            Ok(Response::Expanded { size_bytes }) => self.expanded(&key, *size_bytes, cx),
            Ok(_) => {}
            Err(e) => {
                if e.code == GrpcCode::FailedPrecondition {
                    self.in_use_errors.insert(key.clone());
                }
                let pv = cx
                    .store
                    .get::<PersistentVolumeClaim>(&key)
                    .map(|c| c.spec.volume_name)
                    .unwrap_or_default();
                let msg = format!(
                    "resize volume {pv:?} by resizer {:?} failed: {e}",
                    cx.profile.driver.name
                );
                Self::event(cx, &key, EventType::Warning, "VolumeResizeFailed", msg);
                let infeasible = matches!(e.code, GrpcCode::InvalidArgument | GrpcCode::OutOfRange);
                if infeasible {
                    let _ = cx.store.modify::<PersistentVolumeClaim>(&key, |c| {
                        c.status
                            .allocated_resource_statuses
                            .insert("storage", CONTROLLER_RESIZE_INFEASIBLE.to_string());
                    });
                }
                let at = self
                    .retries
                    .failed(&key, cx.now, &cx.profile.sidecars.resizer);
                self.queue.add(key, at);
            }
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        self.retries
            .failing()
            .filter(|(k, _)| store.get::<PersistentVolumeClaim>(k).is_some())
            .map(|(k, n)| {
                format!(
                    "PersistentVolumeClaim/{}: {n} failed resize attempt(s), retrying",
                    k.name
                )
            })
            .collect()
    }
}
