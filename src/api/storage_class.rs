//! StorageClass: how a claim's volume is provisioned and bound.

use super::meta::ObjectMeta;
use super::node::TopologySelectorTerm;
use crate::cluster::diff::Diff;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Annotation that marks the cluster's default class.
pub const ANN_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// When a claim of this class is bound.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum VolumeBindingMode {
    /// Bind (and provision) as soon as the claim exists: the API default.
    #[default]
    Immediate,
    /// Wait until a pod using the claim is scheduled.
    WaitForFirstConsumer,
}

/// What happens to a volume when its claim goes away. The API default is
/// Retain for a PV created by hand (a StorageClass defaults to Delete).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum ReclaimPolicy {
    /// Keep the volume, phase Released, until an admin acts.
    #[default]
    Retain,
    /// Delete the volume and its backing storage.
    Delete,
    /// Scrub and make Available again (deprecated).
    Recycle,
}

/// A StorageClass. Its fields sit at the top level, as in the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct StorageClass {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// The provisioner (CSI driver name, or `kubernetes.io/no-provisioner`).
    pub provisioner: String,
    /// Opaque parameters for the provisioner.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Reclaim policy given to provisioned volumes; API default Delete.
    pub reclaim_policy: ReclaimPolicy,
    /// Binding mode; API default Immediate.
    pub volume_binding_mode: VolumeBindingMode,
    /// Whether claims of this class may be expanded.
    #[serde(default)]
    pub allow_volume_expansion: bool,
    /// Topologies where volumes may be provisioned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_topologies: Vec<TopologySelectorTerm>,
    /// Mount options for provisioned volumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
}

impl StorageClass {
    /// True if the class carries the default-class annotation set to "true".
    pub fn is_default(&self) -> bool {
        self.metadata.annotation(ANN_DEFAULT_CLASS) == Some("true")
    }
}
