//! PersistentVolumeClaim: a request for storage.

use super::labels::{Labels, Resources};
use super::meta::{LabelSelector, Name, ObjectMeta};
use super::persistent_volume::{ANN_BETA_STORAGE_CLASS, AccessMode, VolumeMode};
use super::quantity::Quantity;
use crate::cluster::diff::Diff;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Set by the scheduler on a WaitForFirstConsumer claim: the chosen node.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Set by the PV controller: which provisioner must provision this claim.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// Beta form of [`ANN_STORAGE_PROVISIONER`], still written for compatibility.
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// Finalizer that keeps a claim in use by a pod from disappearing.
pub const FINALIZER_PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";

/// Requests and limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRequirements {
    /// Requested resources (`storage`).
    #[serde(default)]
    pub requests: Resources,
    /// Limits.
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub limits: Resources,
}

/// PVC spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeClaimSpec {
    /// Requested access modes.
    pub access_modes: Vec<AccessMode>,
    /// Requested size.
    pub resources: ResourceRequirements,
    /// Class. Absent means "use the default class"; `""` means "no class".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// A specific PV asked for (pre-binding) or the one bound.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub volume_name: Name,
    /// Filesystem (default) or Block.
    #[serde(default)]
    pub volume_mode: VolumeMode,
    /// Only PVs whose labels match may be bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Where a provisioned volume's content comes from (a VolumeSnapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<TypedLocalObjectReference>,
}

/// A claim's `dataSource`: an object in the claim's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypedLocalObjectReference {
    /// API group (`snapshot.storage.k8s.io`; empty for the core group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// Kind (`VolumeSnapshot`).
    pub kind: String,
    /// Name.
    pub name: String,
}

/// PVC phase.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum ClaimPhase {
    /// Not yet bound (the API default on creation).
    #[default]
    Pending,
    /// Bound to a volume.
    Bound,
    /// Was bound, and its volume is gone or taken: terminal.
    Lost,
}

impl fmt::Display for ClaimPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Condition type while the resizer grows the volume.
pub const CONDITION_RESIZING: &str = "Resizing";
/// Condition type while the filesystem waits for kubelet.
pub const CONDITION_FS_RESIZE_PENDING: &str = "FileSystemResizePending";

/// A PVC condition (resize progress).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimCondition {
    /// Condition type.
    #[serde(rename = "type")]
    pub kind: Name,
    /// "True", "False" or "Unknown".
    pub status: Name,
    /// Message.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub message: Name,
}

/// PVC status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeClaimStatus {
    /// Phase.
    #[serde(default)]
    pub phase: ClaimPhase,
    /// Access modes of the bound volume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<AccessMode>,
    /// Capacity of the bound volume.
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub capacity: Resources,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ClaimCondition>,
    /// The size the resizer is growing the volume to
    /// (RecoverVolumeExpansionFailure, beta and on in 1.33).
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub allocated_resources: Resources,
    /// Where a resize stands: ControllerResizeInProgress,
    /// ControllerResizeInfeasible, NodeResizePending, NodeResizeInProgress,
    /// NodeResizeInfeasible.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub allocated_resource_statuses: Labels,
}

/// A PersistentVolumeClaim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: PersistentVolumeClaimSpec,
    /// Status.
    pub status: PersistentVolumeClaimStatus,
}

impl PersistentVolumeClaim {
    /// Requested `storage`.
    pub fn request(&self) -> Option<&Quantity> {
        self.spec.resources.requests.get("storage")
    }

    /// `status.capacity.storage` in bytes (0 when unbound).
    pub fn capacity_bytes(&self) -> i128 {
        self.status
            .capacity
            .get("storage")
            .map_or(0, Quantity::value)
    }

    /// Sets condition `kind` True with `message`, replacing one of that type.
    pub fn set_condition(&mut self, kind: &str, message: &str) {
        self.status.conditions.retain(|c| c.kind != kind);
        self.status.conditions.push(ClaimCondition {
            kind: kind.into(),
            status: "True".into(),
            message: message.into(),
        });
    }

    /// `GetPersistentVolumeClaimClass`: beta annotation, else the field, else "".
    pub fn class(&self) -> &str {
        self.metadata
            .annotation(ANN_BETA_STORAGE_CLASS)
            .or(self.spec.storage_class_name.as_deref())
            .unwrap_or("")
    }

    /// True if the claim names no class at all (neither field nor annotation):
    /// only such claims get the default class.
    pub fn has_no_class_at_all(&self) -> bool {
        self.spec.storage_class_name.is_none()
            && !self.metadata.has_annotation(ANN_BETA_STORAGE_CLASS)
    }
}
