//! The CSI external-attacher sidecar (kubernetes-csi/external-attacher,
//! `csi_handler.go`): answers VolumeAttachments with ControllerPublishVolume
//! and, when they are deleted, ControllerUnpublishVolume; failures go to the
//! VolumeAttachment's status and are retried with exponential backoff.

use super::in_flight::InFlight;
use super::workqueue::{RateLimiter, WorkQueue};
use super::{Controller, Ctx};
use crate::api::{Kind, Name, ObjectKey, PersistentVolume, VolumeAttachment};
use crate::backend::{Reply, Request};
use crate::cluster::{Store, WatchEvent};
use crate::engine::SimTime;

/// Event source (the sidecar records no events of its own here).
pub const SOURCE: &str = "external-attacher";

/// The finalizer the attacher puts on VolumeAttachments: `external-attacher/`
/// plus the driver name with dots as dashes.
pub fn finalizer(driver: &str) -> Name {
    format!("external-attacher/{}", driver.replace('.', "-")).into()
}

/// The controller. VolumeAttachments are known by their interned names:
/// a key is a copy, not an interning or an allocation.
#[derive(Default)]
pub struct ExternalAttacher {
    queue: WorkQueue<Name>,
    in_flight: InFlight<Name>,
    retries: RateLimiter<Name>,
    /// The run's driver and its finalizer, made once (a format and an
    /// interning, wanted at every sync and reply).
    finalizer: Option<(String, Name)>,
}

impl ExternalAttacher {
    /// [`finalizer`] of `driver`, kept.
    fn finalizer_of(&mut self, driver: &str) -> Name {
        match &self.finalizer {
            Some((d, fin)) if d == driver => *fin,
            _ => {
                let fin = finalizer(driver);
                self.finalizer = Some((driver.to_string(), fin));
                fin
            }
        }
    }

    fn sync(&mut self, name: Name, cx: &mut Ctx<'_>) {
        if self.in_flight.contains(&name) {
            return;
        }
        let key = ObjectKey::cluster_named(name);
        let Some(va) = cx.store.get_shared::<VolumeAttachment>(&key) else {
            self.forget(&name);
            return;
        };
        let driver = &cx.profile.driver.name;
        if va.spec.attacher != *driver {
            return;
        }
        if let Some(t) = self.retries.backing_off(&name, cx.now) {
            self.queue.add(name, t);
            return;
        }
        let deleting = va.metadata.deletion_timestamp.is_some();
        if !deleting && va.status.attached {
            return;
        }
        let fin = self.finalizer_of(driver);
        if deleting && !va.metadata.finalizers.contains(&fin) {
            return;
        }
        let Some(pv) = cx
            .store
            .get::<PersistentVolume>(&ObjectKey::cluster(va.spec.persistent_volume_name))
        else {
            return;
        };
        let Some(csi) = &pv.spec.csi else { return };
        let (volume_id, node) = (csi.volume_handle.to_string(), va.spec.node_name.to_string());
        if !deleting && !va.metadata.finalizers.contains(&fin) {
            let _ = cx
                .store
                .modify::<VolumeAttachment>(&key, |v| v.metadata.finalizers.push(fin));
        }
        let timeout = cx.profile.sidecars.attacher.timeout;
        let request = if deleting {
            Request::Detach { volume_id, node }
        } else {
            Request::Attach { volume_id, node }
        };
        let id = cx.call(request, Some(timeout));
        self.in_flight.insert(name, id);
    }

    fn forget(&mut self, name: &Name) {
        self.in_flight.forget(name);
        self.retries.forget(name);
    }
}

impl Controller for ExternalAttacher {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::VolumeAttachment, Kind::PersistentVolume]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        if ev.kind == Kind::VolumeAttachment {
            let name = ev.key.name;
            let at = self.retries.backing_off(&name, cx.now).unwrap_or(cx.now);
            self.queue.add(name, at);
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(name) = self.queue.pop_due(cx.now) {
            self.sync(name, cx);
        }
    }

    fn on_reply(&mut self, reply: &Reply, cx: &mut Ctx<'_>) {
        let Some(name) = self.in_flight.take(reply.id) else {
            return;
        };
        let key = ObjectKey::cluster_named(name);
        let detaching = matches!(reply.request, Request::Detach { .. });
        match &reply.result {
            Ok(_) if detaching => {
                let fin = self.finalizer_of(&cx.profile.driver.name);
                let _ = cx.store.remove_finalizer::<VolumeAttachment>(&key, &fin);
                self.forget(&name);
            }
            Ok(_) => {
                let _ = cx.store.modify::<VolumeAttachment>(&key, |v| {
                    v.status.attached = true;
                    v.status.attach_error = None;
                });
                self.forget(&name);
            }
            Err(e) => {
                let msg = e.to_string();
                let _ = cx.store.modify::<VolumeAttachment>(&key, |v| {
                    if detaching {
                        v.status.detach_error = Some(msg);
                    } else {
                        v.status.attach_error = Some(msg);
                    }
                });
                let at = self
                    .retries
                    .failed(&name, cx.now, &cx.profile.sidecars.attacher);
                self.queue.add(name, at);
            }
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        self.retries
            .failing()
            .filter(|(n, _)| {
                store
                    .get::<VolumeAttachment>(&ObjectKey::cluster_named(**n))
                    .is_some()
            })
            .map(|(n, k)| format!("VolumeAttachment/{n}: {k} failed attempt(s), retrying"))
            .collect()
    }
}
