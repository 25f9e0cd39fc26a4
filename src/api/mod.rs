//! The API objects storsim models, with Kubernetes field names (camelCase in
//! files), the API server's defaults, and what `kubectl get` shows of each.

pub mod labels;
pub mod meta;
pub mod node;
pub mod persistent_volume;
pub mod persistent_volume_claim;
pub mod pod;
pub mod quantity;
pub mod stateful_set;
pub mod storage_class;
pub mod volume_attachment;
pub mod volume_snapshot;

pub use labels::Labels;
pub use meta::{Kind, LabelSelector, Name, ObjectKey, ObjectMeta, ObjectRef};
pub use node::Node;
pub use persistent_volume::{AccessMode, PersistentVolume, VolumeMode, VolumePhase};
pub use persistent_volume_claim::{ClaimPhase, PersistentVolumeClaim};
pub use pod::{Pod, PodPhase};
pub use quantity::Quantity;
pub use stateful_set::StatefulSet;
pub use storage_class::{ReclaimPolicy, StorageClass, VolumeBindingMode};
pub use volume_attachment::VolumeAttachment;
pub use volume_snapshot::{VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What every stored object offers the store and the report.
pub trait Resource: Clone + Serialize + DeserializeOwned + Into<AnyObject> {
    /// The kind.
    const KIND: Kind;
    /// Metadata.
    fn meta(&self) -> &ObjectMeta;
    /// Mutable metadata.
    fn meta_mut(&mut self) -> &mut ObjectMeta;
    /// The STATUS column of `kubectl get` (the phase, or Terminating while
    /// deletion is pending), if the kind has one.
    fn phase(&self) -> Option<String> {
        None
    }
    /// Condition types that are currently True.
    fn true_conditions(&self) -> Vec<String> {
        Vec::new()
    }
    /// `kubectl get` columns besides NAME and STATUS, as (header, value).
    fn columns(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Applies the defaults and admission the API server adds on create.
    fn admit(&mut self) {}
    /// A delete only marks the object Terminating, for its owner to finish
    /// (a pod bound to a node: kubelet makes the final delete).
    fn graceful_delete(&self) -> bool {
        false
    }
}

/// Any stored object, as the store, informers, watch events and the log
/// share it: one version of an object is allocated once and handed on by
/// reference count.
///
/// Each kind sits behind its own `Arc`, not inline: an enum of the kinds
/// themselves is as large as the largest (544 bytes, a volume), and most
/// stored versions are pods (200) and attachments (232) — a 100 k-pod fleet
/// keeps hundreds of thousands. And not in a `Box` under a shared `Arc`:
/// then every read of a cached object follows two pointers, to the shared
/// enum and on to the object, which at scale are two cache misses.
/// Cloning an `AnyObject` shares the version; changing it
/// (`Arc::make_mut`) copies it first if anyone else holds it.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum AnyObject {
    Node(std::sync::Arc<Node>),
    StorageClass(std::sync::Arc<StorageClass>),
    PersistentVolume(std::sync::Arc<PersistentVolume>),
    PersistentVolumeClaim(std::sync::Arc<PersistentVolumeClaim>),
    Pod(std::sync::Arc<Pod>),
    StatefulSet(std::sync::Arc<StatefulSet>),
    VolumeAttachment(std::sync::Arc<VolumeAttachment>),
    VolumeSnapshotClass(std::sync::Arc<VolumeSnapshotClass>),
    VolumeSnapshot(std::sync::Arc<VolumeSnapshot>),
    VolumeSnapshotContent(std::sync::Arc<VolumeSnapshotContent>),
}

macro_rules! any_from {
    ($($t:ident),*) => {$(
        impl From<$t> for AnyObject {
            fn from(o: $t) -> Self { AnyObject::$t(std::sync::Arc::new(o)) }
        }
    )*};
}
any_from!(
    Node,
    StorageClass,
    PersistentVolume,
    PersistentVolumeClaim,
    Pod,
    StatefulSet,
    VolumeAttachment,
    VolumeSnapshotClass,
    VolumeSnapshot,
    VolumeSnapshotContent
);

impl AnyObject {
    /// Metadata of the object, whatever its kind.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            AnyObject::Node(o) => o.meta(),
            AnyObject::StorageClass(o) => o.meta(),
            AnyObject::PersistentVolume(o) => o.meta(),
            AnyObject::PersistentVolumeClaim(o) => o.meta(),
            AnyObject::Pod(o) => o.meta(),
            AnyObject::StatefulSet(o) => o.meta(),
            AnyObject::VolumeAttachment(o) => o.meta(),
            AnyObject::VolumeSnapshotClass(o) => o.meta(),
            AnyObject::VolumeSnapshot(o) => o.meta(),
            AnyObject::VolumeSnapshotContent(o) => o.meta(),
        }
    }

    /// The fields a write from `self` to `new`, an object of the same kind,
    /// changed, as dotted paths ([`crate::cluster::diff::changed`]); empty
    /// when the two are equal or of different kinds.
    pub fn changed_paths(&self, new: &AnyObject) -> Vec<String> {
        use crate::cluster::diff::changed;
        let paths = match (self, new) {
            (AnyObject::Node(a), AnyObject::Node(b)) => changed(&**a, &**b),
            (AnyObject::StorageClass(a), AnyObject::StorageClass(b)) => changed(&**a, &**b),
            (AnyObject::PersistentVolume(a), AnyObject::PersistentVolume(b)) => changed(&**a, &**b),
            (AnyObject::PersistentVolumeClaim(a), AnyObject::PersistentVolumeClaim(b)) => {
                changed(&**a, &**b)
            }
            (AnyObject::Pod(a), AnyObject::Pod(b)) => changed(&**a, &**b),
            (AnyObject::StatefulSet(a), AnyObject::StatefulSet(b)) => changed(&**a, &**b),
            (AnyObject::VolumeAttachment(a), AnyObject::VolumeAttachment(b)) => changed(&**a, &**b),
            (AnyObject::VolumeSnapshotClass(a), AnyObject::VolumeSnapshotClass(b)) => {
                changed(&**a, &**b)
            }
            (AnyObject::VolumeSnapshot(a), AnyObject::VolumeSnapshot(b)) => changed(&**a, &**b),
            (AnyObject::VolumeSnapshotContent(a), AnyObject::VolumeSnapshotContent(b)) => {
                changed(&**a, &**b)
            }
            _ => None,
        };
        paths.unwrap_or_default()
    }

    /// The phase / STATUS word, whatever the kind.
    pub fn phase(&self) -> Option<String> {
        self.with(|r| r.0)
    }

    /// Conditions that are True, whatever the kind.
    pub fn true_conditions(&self) -> Vec<String> {
        self.with(|r| r.1)
    }

    /// `kubectl get` columns, whatever the kind.
    pub fn columns(&self) -> Vec<(&'static str, String)> {
        self.with(|r| r.2)
    }

    /// Phase, True conditions and `kubectl get` columns at once, whatever
    /// the kind (what a change record shows of the object).
    pub fn phase_conditions_columns(
        &self,
    ) -> (Option<String>, Vec<String>, Vec<(&'static str, String)>) {
        self.with(|r| r)
    }

    fn with<R>(
        &self,
        f: impl FnOnce((Option<String>, Vec<String>, Vec<(&'static str, String)>)) -> R,
    ) -> R {
        fn pc<T: Resource>(o: &T) -> (Option<String>, Vec<String>, Vec<(&'static str, String)>) {
            (o.phase(), o.true_conditions(), o.columns())
        }
        f(match self {
            AnyObject::Node(o) => pc(&**o),
            AnyObject::StorageClass(o) => pc(&**o),
            AnyObject::PersistentVolume(o) => pc(&**o),
            AnyObject::PersistentVolumeClaim(o) => pc(&**o),
            AnyObject::Pod(o) => pc(&**o),
            AnyObject::StatefulSet(o) => pc(&**o),
            AnyObject::VolumeAttachment(o) => pc(&**o),
            AnyObject::VolumeSnapshotClass(o) => pc(&**o),
            AnyObject::VolumeSnapshot(o) => pc(&**o),
            AnyObject::VolumeSnapshotContent(o) => pc(&**o),
        })
    }

    /// The object as the API writes it (camelCase JSON).
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            AnyObject::Node(o) => serde_json::to_value(o),
            AnyObject::StorageClass(o) => serde_json::to_value(o),
            AnyObject::PersistentVolume(o) => serde_json::to_value(o),
            AnyObject::PersistentVolumeClaim(o) => serde_json::to_value(o),
            AnyObject::Pod(o) => serde_json::to_value(o),
            AnyObject::StatefulSet(o) => serde_json::to_value(o),
            AnyObject::VolumeAttachment(o) => serde_json::to_value(o),
            AnyObject::VolumeSnapshotClass(o) => serde_json::to_value(o),
            AnyObject::VolumeSnapshot(o) => serde_json::to_value(o),
            AnyObject::VolumeSnapshotContent(o) => serde_json::to_value(o),
        };
        // Our types always serialize; a failure would be a bug, shown as null.
        v.unwrap_or_default()
    }

    /// Where the shared object lives (for a prefetch hint).
    pub fn addr(&self) -> *const u8 {
        match self {
            AnyObject::Node(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::StorageClass(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::PersistentVolume(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::PersistentVolumeClaim(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::Pod(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::StatefulSet(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::VolumeAttachment(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::VolumeSnapshotClass(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::VolumeSnapshot(o) => std::sync::Arc::as_ptr(o).cast(),
            AnyObject::VolumeSnapshotContent(o) => std::sync::Arc::as_ptr(o).cast(),
        }
    }

    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            AnyObject::Node(_) => Kind::Node,
            AnyObject::StorageClass(_) => Kind::StorageClass,
            AnyObject::PersistentVolume(_) => Kind::PersistentVolume,
            AnyObject::PersistentVolumeClaim(_) => Kind::PersistentVolumeClaim,
            AnyObject::Pod(_) => Kind::Pod,
            AnyObject::StatefulSet(_) => Kind::StatefulSet,
            AnyObject::VolumeAttachment(_) => Kind::VolumeAttachment,
            AnyObject::VolumeSnapshotClass(_) => Kind::VolumeSnapshotClass,
            AnyObject::VolumeSnapshot(_) => Kind::VolumeSnapshot,
            AnyObject::VolumeSnapshotContent(_) => Kind::VolumeSnapshotContent,
        }
    }
}

/// A column header as the timeline and `shows = { … }` write it:
/// lower case, spaces as dashes (`ACCESS MODES` → `access-modes`).
pub fn column_key(header: &str) -> String {
    header.to_lowercase().replace(' ', "-")
}

/// Non-empty columns as `key=value` words, the way the timeline prints them.
pub fn columns_text(columns: &[(&'static str, impl AsRef<str>)]) -> String {
    let mut out = String::new();
    write_columns(&mut out, columns);
    out
}

/// [`columns_text`], appended to `out`: the timeline writes a million of
/// these, so without a string per column or per line.
pub fn write_columns(out: &mut String, columns: &[(&'static str, impl AsRef<str>)]) {
    let mut first = true;
    for (k, v) in columns {
        let v = v.as_ref();
        if v.is_empty() {
            continue;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        // [`column_key`]; an ASCII header (all of them) lowered in place,
        // word by word, without a string of its own.
        if k.is_ascii() {
            for (i, word) in k.split(' ').enumerate() {
                if i > 0 {
                    out.push('-');
                }
                let start = out.len();
                out.push_str(word);
                out[start..].make_ascii_lowercase();
            }
        } else {
            out.push_str(&column_key(k));
        }
        out.push('=');
        out.push_str(v);
    }
}

/// Adds `finalizer` unless present (what protection admission plugins do).
fn add_finalizer(meta: &mut ObjectMeta, finalizer: &str) {
    if !meta.finalizers.iter().any(|f| f == finalizer) {
        meta.finalizers.push(finalizer.into());
    }
}

/// Types of the conditions whose status is "True".
fn true_types<'a>(conditions: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    conditions
        .filter(|(_, status)| *status == "True")
        .map(|(t, _)| t.to_string())
        .collect()
}

fn join_modes(modes: &[AccessMode]) -> String {
    persistent_volume::access_modes_string(modes)
}

macro_rules! meta_impl {
    () => {
        fn meta(&self) -> &ObjectMeta {
            &self.metadata
        }
        fn meta_mut(&mut self) -> &mut ObjectMeta {
            &mut self.metadata
        }
    };
}

impl Resource for Node {
    const KIND: Kind = Kind::Node;
    meta_impl!();
    fn phase(&self) -> Option<String> {
        let mut s = if self.status.ready {
            "Ready"
        } else {
            "NotReady"
        }
        .to_string();
        if self.spec.unschedulable {
            s.push_str(",SchedulingDisabled");
        }
        Some(s)
    }
    fn true_conditions(&self) -> Vec<String> {
        if self.status.ready {
            vec!["Ready".into()]
        } else {
            vec![]
        }
    }
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![("ZONE", self.zone().unwrap_or("").to_string())]
    }
}

impl Resource for StorageClass {
    const KIND: Kind = Kind::StorageClass;
    meta_impl!();
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PROVISIONER", self.provisioner.clone()),
            ("RECLAIMPOLICY", format!("{:?}", self.reclaim_policy)),
            (
                "VOLUMEBINDINGMODE",
                format!("{:?}", self.volume_binding_mode),
            ),
            (
                "ALLOWVOLUMEEXPANSION",
                self.allow_volume_expansion.to_string(),
            ),
        ]
    }
}

/// `kubectl get` shows Terminating for an object whose deletion is pending.
fn status_word(meta: &ObjectMeta, phase: impl ToString) -> Option<String> {
    Some(if meta.deletion_timestamp.is_some() {
        "Terminating".to_string()
    } else {
        phase.to_string()
    })
}

impl Resource for PersistentVolume {
    const KIND: Kind = Kind::PersistentVolume;
    meta_impl!();
    fn phase(&self) -> Option<String> {
        status_word(&self.metadata, self.status.phase)
    }
    fn columns(&self) -> Vec<(&'static str, String)> {
        let claim = self
            .spec
            .claim_ref
            .as_ref()
            .map(|c| format!("{}/{}", c.namespace, c.name))
            .unwrap_or_default();
        vec![
            (
                "CAPACITY",
                self.capacity().map(|q| q.to_string()).unwrap_or_default(),
            ),
            ("ACCESS MODES", join_modes(&self.spec.access_modes)),
            (
                "RECLAIM POLICY",
                format!("{:?}", self.spec.persistent_volume_reclaim_policy),
            ),
            ("CLAIM", claim),
            ("STORAGECLASS", self.class().to_string()),
        ]
    }
    fn admit(&mut self) {
        // pv-protection admission adds its finalizer to every new PV.
        add_finalizer(
            &mut self.metadata,
            persistent_volume::FINALIZER_PV_PROTECTION,
        );
    }
}

impl Resource for PersistentVolumeClaim {
    const KIND: Kind = Kind::PersistentVolumeClaim;
    meta_impl!();
    fn phase(&self) -> Option<String> {
        status_word(&self.metadata, self.status.phase)
    }
    fn true_conditions(&self) -> Vec<String> {
        true_types(
            self.status
                .conditions
                .iter()
                .map(|c| (c.kind.as_str(), c.status.as_str())),
        )
    }
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VOLUME", self.spec.volume_name.to_string()),
            (
                "CAPACITY",
                self.status
                    .capacity
                    .get("storage")
                    .map(|q| q.to_string())
                    .unwrap_or_default(),
            ),
            ("ACCESS MODES", join_modes(&self.status.access_modes)),
            ("STORAGECLASS", self.class().to_string()),
        ]
    }
    fn admit(&mut self) {
        // pvc-protection admission adds its finalizer to every new claim.
        add_finalizer(
            &mut self.metadata,
            persistent_volume_claim::FINALIZER_PVC_PROTECTION,
        );
    }
}

impl Resource for Pod {
    const KIND: Kind = Kind::Pod;
    meta_impl!();
    /// DefaultTolerationSeconds: tolerate not-ready and unreachable
    /// (NoExecute) for 300 s, unless the pod already tolerates them.
    fn admit(&mut self) {
        for key in [node::TAINT_NOT_READY, node::TAINT_UNREACHABLE] {
            let taint = node::Taint {
                key: key.into(),
                value: String::new(),
                effect: "NoExecute".into(),
            };
            if !self.spec.tolerations.iter().any(|t| t.tolerates(&taint)) {
                std::sync::Arc::make_mut(&mut self.spec)
                    .tolerations
                    .push(pod::Toleration {
                        key: key.into(),
                        operator: Some("Exists".into()),
                        value: String::new(),
                        effect: "NoExecute".into(),
                        toleration_seconds: Some(300),
                    });
            }
        }
    }
    fn graceful_delete(&self) -> bool {
        !self.spec.node_name.is_empty()
    }
    fn phase(&self) -> Option<String> {
        // `kubectl get pods` STATUS: Terminating wins, then the reason, then phase.
        if self.metadata.deletion_timestamp.is_some() {
            return Some("Terminating".into());
        }
        if !self.status.reason.is_empty() {
            return Some(self.status.reason.to_string());
        }
        Some(self.status.phase.to_string())
    }
    fn true_conditions(&self) -> Vec<String> {
        true_types(
            self.status
                .conditions
                .iter()
                .map(|c| (c.kind.as_str(), c.status.as_str())),
        )
    }
    fn columns(&self) -> Vec<(&'static str, String)> {
        // READY counts containers; storsim models their readiness together.
        let total = self.spec.containers.len();
        let ready = if self.condition_true("ContainersReady") {
            total
        } else {
            0
        };
        let mut columns = vec![
            ("READY", format!("{ready}/{total}")),
            ("NODE", self.spec.node_name.to_string()),
            // As `kubectl get pods -L controller-revision-hash` shows it.
            (
                "REVISION",
                self.metadata
                    .labels
                    .get("controller-revision-hash")
                    .map(Name::to_string)
                    .unwrap_or_default(),
            ),
        ];
        // RESTARTS, once there are any (kept off otherwise so that timelines
        // of pods that never restart stay as they were).
        if self.status.restart_count > 0 {
            columns.insert(1, ("RESTARTS", self.status.restart_count.to_string()));
        }
        columns
    }
}

impl Resource for StatefulSet {
    const KIND: Kind = Kind::StatefulSet;
    meta_impl!();
    fn columns(&self) -> Vec<(&'static str, String)> {
        let images: Vec<&str> = self
            .spec
            .template
            .spec
            .containers
            .iter()
            .map(|c| c.image.as_str())
            .collect();
        let st = &self.status;
        // The rollout as `kubectl rollout status` tells it: how many pods
        // run the update revision, and current → update while they differ.
        let revision = if st.current_revision == st.update_revision {
            st.current_revision.to_string()
        } else {
            format!("{}→{}", st.current_revision, st.update_revision)
        };
        vec![
            (
                "READY",
                format!("{}/{}", st.ready_replicas, self.spec.replicas),
            ),
            (
                "UPDATED",
                format!("{}/{}", st.updated_replicas, self.spec.replicas),
            ),
            ("REVISION", revision),
            // `kubectl get sts -o wide`.
            ("IMAGES", images.join(",")),
        ]
    }
}

impl Resource for VolumeAttachment {
    const KIND: Kind = Kind::VolumeAttachment;
    meta_impl!();
    fn phase(&self) -> Option<String> {
        // kubectl shows only ATTACHED true/false; a word reads better here.
        Some(
            if self.metadata.deletion_timestamp.is_some() {
                "Detaching"
            } else if self.status.attached {
                "Attached"
            } else {
                "Attaching"
            }
            .to_string(),
        )
    }
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ATTACHER", self.spec.attacher.to_string()),
            ("PV", self.spec.persistent_volume_name.to_string()),
            ("NODE", self.spec.node_name.to_string()),
            ("ATTACHED", self.status.attached.to_string()),
        ]
    }
}

impl Resource for VolumeSnapshotClass {
    const KIND: Kind = Kind::VolumeSnapshotClass;
    meta_impl!();
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DRIVER", self.driver.clone()),
            ("DELETIONPOLICY", format!("{:?}", self.deletion_policy)),
        ]
    }
}

/// kubectl shows READYTOUSE only; a word reads better in the timeline.
fn snapshot_phase(meta: &ObjectMeta, ready: bool) -> Option<String> {
    Some(
        if meta.deletion_timestamp.is_some() {
            "Terminating"
        } else if ready {
            "ReadyToUse"
        } else {
            "Pending"
        }
        .to_string(),
    )
}

/// `kubectl get`'s CREATIONTIME: the backend's, as seconds into the run.
fn creation_column(t: Option<crate::engine::SimTime>) -> String {
    t.map(|t| {
        format!(
            "T+{}",
            crate::engine::SimDuration::from_millis(t.as_millis())
        )
    })
    .unwrap_or_default()
}

impl Resource for VolumeSnapshot {
    const KIND: Kind = Kind::VolumeSnapshot;
    meta_impl!();
    fn phase(&self) -> Option<String> {
        snapshot_phase(&self.metadata, self.ready())
    }
    fn columns(&self) -> Vec<(&'static str, String)> {
        let s = &self.status;
        vec![
            (
                "READYTOUSE",
                s.ready_to_use.map(|r| r.to_string()).unwrap_or_default(),
            ),
            (
                "SOURCEPVC",
                self.spec
                    .source
                    .persistent_volume_claim_name
                    .clone()
                    .unwrap_or_default(),
            ),
            (
                "RESTORESIZE",
                s.restore_size
                    .as_ref()
                    .map(|q| q.to_string())
                    .unwrap_or_default(),
            ),
            (
                "SNAPSHOTCLASS",
                self.spec
                    .volume_snapshot_class_name
                    .clone()
                    .unwrap_or_default(),
            ),
            (
                "SNAPSHOTCONTENT",
                s.bound_volume_snapshot_content_name
                    .clone()
                    .unwrap_or_default(),
            ),
            ("CREATIONTIME", creation_column(s.creation_time)),
        ]
    }
    fn admit(&mut self) {
        // The validating webhook / CRD schema: exactly one source; the
        // finalizers come from the snapshot controller.
    }
}

impl Resource for VolumeSnapshotContent {
    const KIND: Kind = Kind::VolumeSnapshotContent;
    meta_impl!();
    fn phase(&self) -> Option<String> {
        snapshot_phase(&self.metadata, self.status.ready_to_use == Some(true))
    }
    fn columns(&self) -> Vec<(&'static str, String)> {
        let s = &self.status;
        vec![
            (
                "READYTOUSE",
                s.ready_to_use.map(|r| r.to_string()).unwrap_or_default(),
            ),
            (
                "RESTORESIZE",
                s.restore_size.map(|b| b.to_string()).unwrap_or_default(),
            ),
            ("DELETIONPOLICY", format!("{:?}", self.spec.deletion_policy)),
            ("DRIVER", self.spec.driver.clone()),
            ("VOLUMESNAPSHOT", self.spec.volume_snapshot_ref.name.clone()),
            ("HANDLE", s.snapshot_handle.clone().unwrap_or_default()),
        ]
    }
}
