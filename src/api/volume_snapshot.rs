//! The snapshot API (`snapshot.storage.k8s.io/v1`, external-snapshotter's
//! CRDs): VolumeSnapshotClass, VolumeSnapshot (a user's request) and
//! VolumeSnapshotContent (the snapshot in the backend, like a PV for a PVC).

use super::meta::ObjectMeta;
use super::quantity::Quantity;
use crate::cluster::diff::Diff;
use crate::engine::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Annotation that marks the default snapshot class of a driver.
pub const ANN_DEFAULT_SNAPSHOT_CLASS: &str = "snapshot.storage.kubernetes.io/is-default-class";
/// Finalizer on a VolumeSnapshot that is the source of a restore or bound.
pub const FINALIZER_SNAPSHOT_AS_SOURCE: &str =
    "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection";
/// Finalizer on a VolumeSnapshot bound to its content.
pub const FINALIZER_SNAPSHOT_BOUND: &str =
    "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection";
/// Finalizer on a claim while a snapshot of it is being taken.
pub const FINALIZER_PVC_AS_SOURCE: &str = "snapshot.storage.kubernetes.io/pvc-as-source-protection";
/// Finalizer the csi-snapshotter puts on a content it has a snapshot for.
pub const FINALIZER_CONTENT_BOUND: &str =
    "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";
/// The API group a claim's `dataSource` names for a snapshot.
pub const SNAPSHOT_API_GROUP: &str = "snapshot.storage.k8s.io";

/// What happens to the backend snapshot when its content goes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum DeletionPolicy {
    /// DeleteSnapshot with the content.
    #[default]
    Delete,
    /// Keep the backend snapshot.
    Retain,
}

/// A VolumeSnapshotClass. Its fields sit at the top level, as in the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotClass {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// CSI driver that takes the snapshots.
    pub driver: String,
    /// Delete or Retain (required by the API).
    pub deletion_policy: DeletionPolicy,
    /// Opaque parameters for the driver.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

impl VolumeSnapshotClass {
    /// True if the class carries the default annotation set to "true".
    pub fn is_default(&self) -> bool {
        self.metadata.annotation(ANN_DEFAULT_SNAPSHOT_CLASS) == Some("true")
    }
}

/// Where a snapshot comes from: a claim (dynamic) or an existing content
/// (pre-provisioned).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSnapshotSource {
    /// The claim to snapshot, in the snapshot's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim_name: Option<String>,
    /// A pre-provisioned content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_content_name: Option<String>,
}

/// VolumeSnapshot spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSnapshotSpec {
    /// The source.
    pub source: VolumeSnapshotSource,
    /// Class; absent means the driver's default class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_class_name: Option<String>,
}

/// A snapshot's last error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotError {
    /// When.
    pub time: SimTime,
    /// What.
    pub message: String,
}

/// VolumeSnapshot status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSnapshotStatus {
    /// The content it is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_volume_snapshot_content_name: Option<String>,
    /// When the backend took the point-in-time snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<SimTime>,
    /// Usable as a restore source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_to_use: Option<bool>,
    /// The smallest volume a restore may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_size: Option<Quantity>,
    /// Last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SnapshotError>,
}

/// A VolumeSnapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshot {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: VolumeSnapshotSpec,
    /// Status.
    #[serde(default)]
    pub status: VolumeSnapshotStatus,
}

impl VolumeSnapshot {
    /// `status.readyToUse` is true.
    pub fn ready(&self) -> bool {
        self.status.ready_to_use == Some(true)
    }
}

/// The snapshot a content stands for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentSource {
    /// The volume to snapshot (dynamic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_handle: Option<String>,
    /// An existing backend snapshot (pre-provisioned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_handle: Option<String>,
}

/// The VolumeSnapshot a content is bound to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

/// VolumeSnapshotContent spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSnapshotContentSpec {
    /// The snapshot it belongs to.
    pub volume_snapshot_ref: SnapshotRef,
    /// The source.
    pub source: ContentSource,
    /// The driver.
    pub driver: String,
    /// Delete or Retain.
    pub deletion_policy: DeletionPolicy,
    /// The class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_class_name: Option<String>,
}

/// VolumeSnapshotContent status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSnapshotContentStatus {
    /// The backend snapshot ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_handle: Option<String>,
    /// When the backend took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<SimTime>,
    /// Usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_to_use: Option<bool>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_size: Option<i128>,
    /// Last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SnapshotError>,
}

/// A VolumeSnapshotContent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotContent {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: VolumeSnapshotContentSpec,
    /// Status.
    #[serde(default)]
    pub status: VolumeSnapshotContentStatus,
}

/// The content name the snapshot controller gives a dynamic snapshot:
/// `snapcontent-` + the snapshot's UID.
pub fn content_name(snapshot_uid: &str) -> String {
    format!("snapcontent-{snapshot_uid}")
}
