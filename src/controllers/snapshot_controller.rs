//! The snapshot controller (external-snapshotter's common controller,
//! `snapshot_controller.go`): for a VolumeSnapshot of a bound claim it puts
//! the protection finalizers on, creates the VolumeSnapshotContent
//! `snapcontent-<uid>` for the driver's csi-snapshotter (`CreatingSnapshot`),
//! binds the two, and mirrors the content's status into the snapshot
//! (`SnapshotCreated` once the backend has taken it, `SnapshotReady` once it
//! can be restored from). Deleting a snapshot deletes its content when the
//! class says Delete — but not while a claim is being restored from it
//! (`SnapshotDeletePending`).

use super::workqueue::{RateLimiter, WorkQueue};
use super::{Controller, Ctx};
use crate::api::volume_snapshot::{
    ContentSource, FINALIZER_PVC_AS_SOURCE, FINALIZER_SNAPSHOT_AS_SOURCE, FINALIZER_SNAPSHOT_BOUND,
    SnapshotError, SnapshotRef, VolumeSnapshotContentSpec, content_name,
};
use crate::api::{
    AnyObject, ClaimPhase, Kind, ObjectKey, ObjectMeta, ObjectRef, PersistentVolume,
    PersistentVolumeClaim, Quantity, VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent,
};
use crate::cluster::{EventType, Store, WatchEvent};
use crate::engine::SimTime;

/// Event source.
pub const SOURCE: &str = "snapshot-controller";

/// The controller.
#[derive(Default)]
pub struct SnapshotController {
    queue: WorkQueue<ObjectKey>,
    retries: RateLimiter<ObjectKey>,
}

impl SnapshotController {
    fn event(cx: &mut Ctx<'_>, key: &ObjectKey, kind: EventType, reason: &str, msg: String) {
        cx.store.record_event(
            ObjectRef::new(Kind::VolumeSnapshot, key.clone()),
            kind,
            reason,
            msg,
            SOURCE,
        );
    }

    /// Records an error on the snapshot (status.error and a Warning), to be
    /// tried again with the controller's backoff.
    fn fail(&mut self, key: &ObjectKey, reason: &str, msg: String, cx: &mut Ctx<'_>) {
        let now = cx.now;
        let m = msg.clone();
        let _ = cx.store.modify::<VolumeSnapshot>(key, |s| {
            s.status.ready_to_use = Some(false);
            s.status.error = Some(SnapshotError {
                time: now,
                message: m,
            });
        });
        Self::event(cx, key, EventType::Warning, reason, msg);
        let at = self
            .retries
            .failed(key, cx.now, &cx.profile.sidecars.snapshotter);
        self.queue.add(key.clone(), at);
    }

    /// The class a snapshot uses: its own, or the driver's default.
    fn class_of(snap: &VolumeSnapshot, cx: &Ctx<'_>) -> Result<VolumeSnapshotClass, String> {
        match &snap.spec.volume_snapshot_class_name {
            Some(name) => cx
                .store
                .get::<VolumeSnapshotClass>(&ObjectKey::cluster(name))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io {name:?} not found"
                    )
                }),
            None => cx
                .store
                .list::<VolumeSnapshotClass>()
                .find(|c| c.is_default() && c.driver == cx.profile.driver.name)
                .cloned()
                .ok_or_else(|| {
                    "Failed to set default snapshot class with error cannot find default snapshot class".to_string()
                }),
        }
    }

    fn sync(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        let Some(snap) = cx.store.get::<VolumeSnapshot>(key).cloned() else {
            self.retries.forget(key);
            return;
        };
        if snap.metadata.deletion_timestamp.is_some() {
            // A snapshot being deleted still learns that it is ready.
            if let Some(name) = &snap.status.bound_volume_snapshot_content_name {
                self.mirror(&snap, name, cx);
            }
            if let Some(snap) = cx.store.get::<VolumeSnapshot>(key).cloned() {
                self.delete(&snap, cx);
            }
            return;
        }
        if let Some(t) = self.retries.backing_off(key, cx.now) {
            self.queue.add(key.clone(), t);
            return;
        }
        match &snap.status.bound_volume_snapshot_content_name {
            None => self.create_content(&snap, cx),
            Some(name) => self.mirror(&snap, name, cx),
        }
    }

    /// A new dynamic snapshot: finalizers, then its content.
    fn create_content(&mut self, snap: &VolumeSnapshot, cx: &mut Ctx<'_>) {
        let key = snap.metadata.key();
        let class = match Self::class_of(snap, cx) {
            Ok(c) => c,
            Err(msg) => return self.fail(&key, "GetSnapshotClassFailed", msg, cx),
        };
        let Some(pvc_name) = snap.spec.source.persistent_volume_claim_name.clone() else {
            return;
        };
        let pvc_key = ObjectKey::new(key.namespace, &pvc_name);
        let Some(pvc) = cx.store.get::<PersistentVolumeClaim>(&pvc_key).cloned() else {
            let msg = format!(
                "PVC source for snapshot {}/{} is missing",
                key.namespace, key.name
            );
            return self.fail(&key, "SnapshotPVCSourceMissing", msg, cx);
        };
        let handle = cx
            .store
            .get::<PersistentVolume>(&ObjectKey::cluster_named(pvc.spec.volume_name))
            .and_then(|pv| pv.spec.csi.as_ref())
            .map(|c| c.volume_handle);
        let Some(handle) = handle.filter(|_| pvc.status.phase == ClaimPhase::Bound) else {
            let msg = format!(
                "Failed to create snapshot content with error snapshot controller failed to update {}/{} on API server: the PVC {pvc_name} is not yet bound to a PV, will not attempt to take a snapshot",
                key.namespace, key.name
            );
            return self.fail(&key, "SnapshotContentCreationFailed", msg, cx);
        };
        // The claim may not go while its snapshot is being taken.
        let _ = cx.store.modify::<PersistentVolumeClaim>(&pvc_key, |c| {
            if !c
                .metadata
                .finalizers
                .iter()
                .any(|f| f == FINALIZER_PVC_AS_SOURCE)
            {
                c.metadata.finalizers.push(FINALIZER_PVC_AS_SOURCE.into());
            }
        });
        let _ = cx.store.modify::<VolumeSnapshot>(&key, |s| {
            for f in [FINALIZER_SNAPSHOT_AS_SOURCE, FINALIZER_SNAPSHOT_BOUND] {
                if !s.metadata.finalizers.iter().any(|x| x == f) {
                    s.metadata.finalizers.push(f.into());
                }
            }
        });
        let name = content_name(&snap.metadata.uid);
        let content = VolumeSnapshotContent {
            metadata: ObjectMeta {
                name: name.clone().into(),
                ..Default::default()
            },
            spec: VolumeSnapshotContentSpec {
                volume_snapshot_ref: SnapshotRef {
                    namespace: key.namespace.to_string(),
                    name: key.name.to_string(),
                    uid: snap.metadata.uid.to_string(),
                },
                source: ContentSource {
                    volume_handle: Some(handle.to_string()),
                    snapshot_handle: None,
                },
                driver: class.driver.clone(),
                deletion_policy: class.deletion_policy,
                volume_snapshot_class_name: Some(class.metadata.name.to_string()),
            },
            status: Default::default(),
        };
        if cx.store.create(content).is_ok() {
            let msg = format!(
                "Waiting for a snapshot {}/{} to be created by the CSI driver.",
                key.namespace, key.name
            );
            Self::event(cx, &key, EventType::Normal, "CreatingSnapshot", msg);
        }
        let class_name = class.metadata.name;
        let _ = cx.store.modify::<VolumeSnapshot>(&key, |s| {
            s.status.bound_volume_snapshot_content_name = Some(name);
            s.status.ready_to_use = Some(false);
            s.spec.volume_snapshot_class_name = Some(class_name.to_string());
        });
        self.retries.forget(&key);
    }

    /// Copies the content's status to the snapshot, with the events a user
    /// sees when it is taken and when it is ready.
    fn mirror(&mut self, snap: &VolumeSnapshot, content: &str, cx: &mut Ctx<'_>) {
        let key = snap.metadata.key();
        let Some(c) = cx
            .store
            .get::<VolumeSnapshotContent>(&ObjectKey::cluster(content))
            .cloned()
        else {
            return;
        };
        let st = &c.status;
        let created_now = snap.status.creation_time.is_none() && st.creation_time.is_some();
        let ready_now = !snap.ready() && st.ready_to_use == Some(true);
        let error = st.error.clone();
        let changed = snap.status.creation_time != st.creation_time
            || snap.status.ready_to_use != st.ready_to_use.or(Some(false))
            || snap.status.error != error
            || snap.status.restore_size.as_ref().map(Quantity::value) != st.restore_size;
        if !changed {
            return;
        }
        let (created, ready, size) = (st.creation_time, st.ready_to_use, st.restore_size);
        let _ = cx.store.modify::<VolumeSnapshot>(&key, |s| {
            s.status.creation_time = created;
            s.status.ready_to_use = ready.or(Some(false));
            s.status.restore_size = size.map(Quantity::from_bytes);
            s.status.error = error;
        });
        let who = format!("{}/{}", key.namespace, key.name);
        if created_now {
            let msg = format!("Snapshot {who} was successfully created by the CSI driver.");
            Self::event(cx, &key, EventType::Normal, "SnapshotCreated", msg);
        }
        if ready_now {
            let msg = format!("Snapshot {who} is ready to use.");
            Self::event(cx, &key, EventType::Normal, "SnapshotReady", msg);
            // Taken: the claim may go now.
            if let Some(pvc) = &snap.spec.source.persistent_volume_claim_name {
                let _ = cx.store.remove_finalizer::<PersistentVolumeClaim>(
                    &ObjectKey::new(key.namespace, pvc),
                    FINALIZER_PVC_AS_SOURCE,
                );
            }
        }
    }

    /// A deleted snapshot: its content goes first (if the policy says
    /// Delete), then the finalizers — unless a restore still needs it.
    fn delete(&mut self, snap: &VolumeSnapshot, cx: &mut Ctx<'_>) {
        let key = snap.metadata.key();
        let restoring = cx.store.list::<PersistentVolumeClaim>().any(|c| {
            c.metadata.namespace == key.namespace
                && c.spec.volume_name.is_empty()
                && c.spec
                    .data_source
                    .as_ref()
                    .is_some_and(|d| d.kind == "VolumeSnapshot" && d.name == key.name)
        });
        if restoring {
            Self::event(
                cx,
                &key,
                EventType::Warning,
                "SnapshotDeletePending",
                "Snapshot is being used to restore a PVC".to_string(),
            );
            // Looked at again when a claim changes (see `on_watch`).
            return;
        }
        if let Some(name) = &snap.status.bound_volume_snapshot_content_name {
            let ck = ObjectKey::cluster(name);
            if let Some(c) = cx.store.get::<VolumeSnapshotContent>(&ck) {
                if c.spec.deletion_policy == crate::api::volume_snapshot::DeletionPolicy::Delete {
                    if c.metadata.deletion_timestamp.is_none() {
                        let _ = cx.store.delete::<VolumeSnapshotContent>(&ck);
                    }
                    // The snapshot stays until its content is gone.
                    return;
                }
            }
        }
        if let Some(pvc) = &snap.spec.source.persistent_volume_claim_name {
            let _ = cx.store.remove_finalizer::<PersistentVolumeClaim>(
                &ObjectKey::new(key.namespace, pvc),
                FINALIZER_PVC_AS_SOURCE,
            );
        }
        for f in [FINALIZER_SNAPSHOT_AS_SOURCE, FINALIZER_SNAPSHOT_BOUND] {
            let _ = cx.store.remove_finalizer::<VolumeSnapshot>(&key, f);
        }
    }
}

impl Controller for SnapshotController {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn watches(&self) -> &'static [Kind] {
        &[
            Kind::VolumeSnapshot,
            Kind::VolumeSnapshotContent,
            Kind::VolumeSnapshotClass,
            Kind::PersistentVolumeClaim,
            Kind::PersistentVolume,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        match (ev.kind, &ev.object) {
            (Kind::VolumeSnapshot, _) => self.queue.add(ev.key.clone(), cx.now),
            (Kind::VolumeSnapshotContent, AnyObject::VolumeSnapshotContent(c)) => {
                let r = &c.spec.volume_snapshot_ref;
                self.queue
                    .add(ObjectKey::new(&r.namespace, &r.name), cx.now);
            }
            // A restore finishing may let a deleted snapshot go.
            (Kind::PersistentVolumeClaim, AnyObject::PersistentVolumeClaim(c)) => {
                if let Some(d) = &c.spec.data_source
                    && d.kind == "VolumeSnapshot"
                {
                    self.queue
                        .add(ObjectKey::new(c.metadata.namespace, &d.name), cx.now);
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

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        store
            .list::<VolumeSnapshot>()
            .filter(|s| !s.ready())
            .map(|s| {
                let why = s
                    .status
                    .error
                    .as_ref()
                    .map_or("waiting for the CSI driver".to_string(), |e| {
                        e.message.clone()
                    });
                format!("VolumeSnapshot/{} is not ready: {why}", s.metadata.name)
            })
            .collect()
    }
}
