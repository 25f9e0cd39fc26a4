//! The csi-snapshotter sidecar (external-snapshotter, `pkg/sidecar-controller`):
//! for a VolumeSnapshotContent of its driver it calls CreateSnapshot and
//! writes the answer (handle, creation time, restore size, readyToUse) to
//! the content's status. A snapshot not ready yet is asked about again —
//! CreateSnapshot is idempotent, and that is how the sidecar polls a
//! dynamic snapshot — with the sidecar's backoff (1 s, doubling, to its
//! maximum). A content deleted with policy Delete gets DeleteSnapshot
//! before its finalizer goes.

use super::in_flight::InFlight;
use super::workqueue::{RateLimiter, WorkQueue};
use super::{Controller, Ctx};
use crate::api::volume_snapshot::{DeletionPolicy, FINALIZER_CONTENT_BOUND, SnapshotError};
use crate::api::{Kind, ObjectKey, ObjectRef, VolumeSnapshotContent};
use crate::backend::{Reply, Request, Response};
use crate::cluster::{EventType, Store, WatchEvent};
use crate::engine::SimTime;

/// Event source.
pub const SOURCE: &str = "csi-snapshotter";

/// The sidecar.
#[derive(Default)]
pub struct CsiSnapshotter {
    queue: WorkQueue<String>,
    in_flight: InFlight<String>,
    retries: RateLimiter<String>,
}

/// The snapshot name the sidecar asks the driver for: `snapshot-` + the
/// VolumeSnapshot's UID.
fn snapshot_name(c: &VolumeSnapshotContent) -> String {
    format!("snapshot-{}", c.spec.volume_snapshot_ref.uid)
}

impl CsiSnapshotter {
    fn sync(&mut self, name: &str, cx: &mut Ctx<'_>) {
        if self.in_flight.contains(name) {
            return;
        }
        let key = ObjectKey::cluster(name);
        let Some(c) = cx.store.get_shared::<VolumeSnapshotContent>(&key) else {
            self.retries.forget(&name.to_string());
            return;
        };
        if c.spec.driver != cx.profile.driver.name {
            return;
        }
        if let Some(t) = self.retries.backing_off(&name.to_string(), cx.now) {
            self.queue.add(name.to_string(), t);
            return;
        }
        let timeout = Some(cx.profile.sidecars.snapshotter.timeout);
        if c.metadata.deletion_timestamp.is_some() {
            if !c
                .metadata
                .finalizers
                .iter()
                .any(|f| f == FINALIZER_CONTENT_BOUND)
            {
                return;
            }
            match (&c.status.snapshot_handle, c.spec.deletion_policy) {
                (Some(id), DeletionPolicy::Delete) => {
                    let id = cx.call(
                        Request::DeleteSnapshot {
                            snapshot_id: id.clone(),
                        },
                        timeout,
                    );
                    self.in_flight.insert(name.to_string(), id);
                }
                _ => {
                    let _ = cx
                        .store
                        .remove_finalizer::<VolumeSnapshotContent>(&key, FINALIZER_CONTENT_BOUND);
                }
            }
            return;
        }
        if c.status.ready_to_use == Some(true) {
            return;
        }
        let Some(volume_id) = c.spec.source.volume_handle.clone() else {
            return;
        };
        if !c
            .metadata
            .finalizers
            .iter()
            .any(|f| f == FINALIZER_CONTENT_BOUND)
        {
            let _ = cx.store.modify::<VolumeSnapshotContent>(&key, |c| {
                c.metadata.finalizers.push(FINALIZER_CONTENT_BOUND.into())
            });
        }
        let id = cx.call(
            Request::CreateSnapshot {
                name: snapshot_name(&c),
                volume_id,
            },
            timeout,
        );
        self.in_flight.insert(name.to_string(), id);
    }
}

impl Controller for CsiSnapshotter {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::VolumeSnapshotContent]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let name = ev.key.name.to_string();
        let at = self.retries.backing_off(&name, cx.now).unwrap_or(cx.now);
        self.queue.add(name, at);
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(name) = self.queue.pop_due(cx.now) {
            self.sync(&name, cx);
        }
    }

    fn on_reply(&mut self, reply: &Reply, cx: &mut Ctx<'_>) {
        let Some(name) = self.in_flight.take(reply.id) else {
            return;
        };
        let key = ObjectKey::cluster(&name);
        let timers = cx.profile.sidecars.snapshotter.clone();
        match (&reply.request, &reply.result) {
            (Request::DeleteSnapshot { .. }, Ok(_)) => {
                let _ = cx
                    .store
                    .remove_finalizer::<VolumeSnapshotContent>(&key, FINALIZER_CONTENT_BOUND);
                self.retries.forget(&name);
            }
            (
                _,
                Ok(Response::Snapshot {
                    snapshot_id,
                    created_at,
                    size_bytes,
                    ready,
                }),
            ) => {
                let (id, t, size, ready) = (snapshot_id.clone(), *created_at, *size_bytes, *ready);
                let _ = cx.store.modify::<VolumeSnapshotContent>(&key, |c| {
                    c.status.snapshot_handle = Some(id);
                    c.status.creation_time = Some(t);
                    c.status.restore_size = Some(size);
                    c.status.ready_to_use = Some(ready);
                    c.status.error = None;
                });
                if ready {
                    self.retries.forget(&name);
                } else {
                    // Not ready: asked again with the rate limiter's backoff.
                    let at = self.retries.failed(&name, cx.now, &timers);
                    self.queue.add(name, at);
                }
            }
            (_, Ok(_)) => {}
            (request, Err(e)) => {
                let now = cx.now;
                let msg = match request {
                    Request::CreateSnapshot { volume_id, .. } => format!(
                        "Failed to check and update snapshot content: failed to take snapshot of the volume {volume_id}: {:?}",
                        e.to_string()
                    ),
                    _ => format!("Failed to delete snapshot: {e}"),
                };
                let reason = match request {
                    Request::CreateSnapshot { .. } => "SnapshotCreationFailed",
                    _ => "SnapshotDeleteError",
                };
                let m = msg.clone();
                let _ = cx.store.modify::<VolumeSnapshotContent>(&key, |c| {
                    c.status.error = Some(SnapshotError {
                        time: now,
                        message: m,
                    });
                });
                cx.store.record_event(
                    ObjectRef::new(Kind::VolumeSnapshotContent, key.clone()),
                    EventType::Warning,
                    reason,
                    msg,
                    SOURCE,
                );
                let at = self.retries.failed(&name, cx.now, &timers);
                self.queue.add(name, at);
            }
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, _store: &Store) -> Vec<String> {
        Vec::new()
    }
}
