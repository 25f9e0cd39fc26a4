//! PersistentVolume: a piece of storage in the cluster.

use super::labels::{Labels, Resources};
use super::meta::{Name, ObjectMeta};
use super::node::NodeSelector;
use super::quantity::Quantity;
use super::storage_class::ReclaimPolicy;
use crate::cluster::diff::Diff;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Set on a PV or PVC when the PV controller (not the user) bound it.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// Set on a PVC once binding is complete.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on dynamically provisioned PVs: the provisioner's name.
pub const ANN_DYNAMICALLY_PROVISIONED: &str = "pv.kubernetes.io/provisioned-by";
/// Beta class annotation; takes precedence over `storageClassName`.
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
/// Finalizer that keeps a bound PV from disappearing.
pub const FINALIZER_PV_PROTECTION: &str = "kubernetes.io/pv-protection";

/// How a volume may be mounted.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Diff,
)]
pub enum AccessMode {
    /// Read-write by one node.
    ReadWriteOnce,
    /// Read-only by many nodes.
    ReadOnlyMany,
    /// Read-write by many nodes.
    ReadWriteMany,
    /// Read-write by one pod.
    ReadWriteOncePod,
}

impl AccessMode {
    /// The short form `kubectl get` shows.
    pub fn short(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "RWO",
            AccessMode::ReadOnlyMany => "ROX",
            AccessMode::ReadWriteMany => "RWX",
            AccessMode::ReadWriteOncePod => "RWOP",
        }
    }

    /// ReadWriteMany or ReadOnlyMany: the volume must reach several nodes
    /// (CSI MULTI_NODE_* capabilities).
    pub fn is_multi_node(self) -> bool {
        matches!(self, AccessMode::ReadWriteMany | AccessMode::ReadOnlyMany)
    }
}

/// Modes as `kubectl` prints them and as the PV controller indexes them
/// (`GetAccessModesAsString`: fixed order RWO, ROX, RWX, RWOP, no duplicates).
pub fn access_modes_string(modes: &[AccessMode]) -> String {
    let order = [
        AccessMode::ReadWriteOnce,
        AccessMode::ReadOnlyMany,
        AccessMode::ReadWriteMany,
        AccessMode::ReadWriteOncePod,
    ];
    order
        .iter()
        .filter(|m| modes.contains(m))
        .map(|m| m.short())
        .collect::<Vec<_>>()
        .join(",")
}

/// Block device or filesystem.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum VolumeMode {
    /// A mounted filesystem (the default on both PV and PVC).
    #[default]
    Filesystem,
    /// A raw block device.
    Block,
}

/// Which claim a PV is bound or reserved to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimRef {
    /// Claim namespace (default `default`).
    #[serde(default = "default_ns")]
    pub namespace: Name,
    /// Claim name.
    pub name: Name,
    /// Claim UID; empty while the PV is only reserved (pre-bound by name).
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub uid: Name,
}

fn default_ns() -> Name {
    Name::new("default")
}

/// PV node affinity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeNodeAffinity {
    /// Nodes that can access the volume.
    pub required: NodeSelector,
}

/// A CSI volume source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CsiVolumeSource {
    /// CSI driver name.
    pub driver: Name,
    /// Backend volume ID.
    pub volume_handle: Name,
    /// Filesystem type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<Name>,
    /// Driver attributes.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub volume_attributes: Labels,
}

/// A path on the node (hostPath or local volumes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PathSource {
    /// Path on the node.
    pub path: String,
    /// hostPath type (ignored by the simulation).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// An NFS export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NfsSource {
    /// Server.
    pub server: String,
    /// Exported path.
    pub path: String,
    /// Read-only export.
    #[serde(default)]
    pub read_only: bool,
}

/// PV spec. Exactly one volume source (`csi`, `hostPath`, `local`, `nfs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeSpec {
    /// `storage` capacity.
    pub capacity: Resources,
    /// Access modes.
    pub access_modes: Vec<AccessMode>,
    /// Reclaim policy; API default Retain for PVs created by hand.
    #[serde(default = "retain")]
    pub persistent_volume_reclaim_policy: ReclaimPolicy,
    /// Class; empty means "no class".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_class_name: String,
    /// Filesystem (default) or Block.
    #[serde(default)]
    pub volume_mode: VolumeMode,
    /// Claim this PV is bound or reserved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_ref: Option<ClaimRef>,
    /// Nodes that can reach the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<VolumeNodeAffinity>,
    /// Mount options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
    /// CSI source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi: Option<CsiVolumeSource>,
    /// hostPath source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<PathSource>,
    /// local source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<PathSource>,
    /// NFS source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs: Option<NfsSource>,
}

fn retain() -> ReclaimPolicy {
    ReclaimPolicy::Retain
}

/// PV lifecycle phase.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum VolumePhase {
    /// Just created, not yet seen by the PV controller.
    #[default]
    Pending,
    /// Free (or reserved by name) and can be bound.
    Available,
    /// Bound to a claim.
    Bound,
    /// Its claim is gone; not yet reclaimed.
    Released,
    /// Automatic reclaim failed.
    Failed,
}

impl fmt::Display for VolumePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// PV status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersistentVolumeStatus {
    /// Phase.
    #[serde(default)]
    pub phase: VolumePhase,
    /// Why the volume is in this phase (reclaim failures).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// A PersistentVolume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolume {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: PersistentVolumeSpec,
    /// Status.
    pub status: PersistentVolumeStatus,
}

impl PersistentVolume {
    /// The `storage` capacity (zero if absent, which validation refuses).
    pub fn capacity(&self) -> Option<&Quantity> {
        self.spec.capacity.get("storage")
    }

    /// `GetPersistentVolumeClass`: the beta annotation wins over the field.
    pub fn class(&self) -> &str {
        self.metadata
            .annotation(ANN_BETA_STORAGE_CLASS)
            .unwrap_or(&self.spec.storage_class_name)
    }

    /// Names of the volume sources set (validation wants exactly one).
    pub fn sources(&self) -> Vec<&'static str> {
        let s = &self.spec;
        [
            (s.csi.is_some(), "csi"),
            (s.host_path.is_some(), "hostPath"),
            (s.local.is_some(), "local"),
            (s.nfs.is_some(), "nfs"),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .map(|(_, n)| n)
        .collect()
    }
}
