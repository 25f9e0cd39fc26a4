//! StatefulSet: ordered pods with stable identities and per-pod claims.
//! The controller that acts on it arrives with the StatefulSet issue; the
//! object and its API defaults live here so the store can hold it.

use super::labels::Labels;
use super::meta::{LabelSelector, Name, ObjectMeta};
use super::persistent_volume_claim::PersistentVolumeClaimSpec;
use super::pod::PodSpec;
use crate::cluster::diff::Diff;
use serde::{Deserialize, Serialize};

/// Metadata allowed in a template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateMeta {
    /// Name (claim templates).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub annotations: Labels,
}

/// Pod template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTemplate {
    /// Template metadata.
    #[serde(default)]
    pub metadata: TemplateMeta,
    /// Pod spec, shared by the set's versions and its revision history
    /// (status writes leave it alone; a revision is found by comparing
    /// pointers first).
    pub spec: std::sync::Arc<PodSpec>,
}

/// A claim template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimTemplate {
    /// Template metadata (its name prefixes each claim).
    pub metadata: TemplateMeta,
    /// Claim spec.
    pub spec: PersistentVolumeClaimSpec,
}

/// Rolling update parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollingUpdate {
    /// Ordinals below this are not updated.
    #[serde(default)]
    pub partition: u32,
    /// Pods that may be unavailable during an update (gate
    /// MaxUnavailableStatefulSet): a number or a percentage of replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
}

/// An integer or a percentage, like Kubernetes' IntOrString.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(untagged)]
pub enum IntOrPercent {
    /// A count.
    Int(u32),
    /// `"50%"`.
    Percent(String),
}

impl IntOrPercent {
    /// `getStatefulSetMaxUnavailable`: the value for `total` replicas, a
    /// percentage rounded down, and never less than 1.
    pub fn resolve(&self, total: u32) -> u32 {
        let v = match self {
            IntOrPercent::Int(n) => *n,
            IntOrPercent::Percent(p) => {
                let pct: u32 = p.trim_end_matches('%').parse().unwrap_or(0);
                total * pct / 100
            }
        };
        v.max(1)
    }
}

/// Update strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateStrategy {
    /// RollingUpdate (default) or OnDelete.
    #[serde(rename = "type", default = "rolling")]
    pub kind: String,
    /// Rolling update parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdate>,
}

fn rolling() -> String {
    "RollingUpdate".to_string()
}

impl Default for UpdateStrategy {
    fn default() -> Self {
        UpdateStrategy {
            kind: rolling(),
            rolling_update: None,
        }
    }
}

/// PVC retention policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Retain (default) or Delete.
    #[serde(default = "retain")]
    pub when_deleted: String,
    /// Retain (default) or Delete.
    #[serde(default = "retain")]
    pub when_scaled: String,
}

fn retain() -> String {
    "Retain".to_string()
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            when_deleted: retain(),
            when_scaled: retain(),
        }
    }
}

/// Ordinals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ordinals {
    /// First ordinal.
    #[serde(default)]
    pub start: u32,
}

/// StatefulSet spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatefulSetSpec {
    /// Desired replicas; default 1.
    #[serde(default = "one")]
    pub replicas: u32,
    /// Governing service.
    #[serde(default)]
    pub service_name: String,
    /// Pod selector.
    #[serde(default)]
    pub selector: LabelSelector,
    /// Pod template.
    pub template: PodTemplate,
    /// Claim templates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<ClaimTemplate>,
    /// OrderedReady (default) or Parallel.
    #[serde(default = "ordered_ready")]
    pub pod_management_policy: String,
    /// Update strategy.
    #[serde(default)]
    pub update_strategy: UpdateStrategy,
    /// PVC retention.
    #[serde(default)]
    pub persistent_volume_claim_retention_policy: RetentionPolicy,
    /// Seconds a pod must be Ready to count as available.
    #[serde(default)]
    pub min_ready_seconds: u32,
    /// Ordinal numbering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordinals: Option<Ordinals>,
}

fn one() -> u32 {
    1
}

fn ordered_ready() -> String {
    "OrderedReady".to_string()
}

/// StatefulSet status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatefulSetStatus {
    /// Pods created.
    #[serde(default)]
    pub replicas: u32,
    /// Pods Running and Ready.
    #[serde(default)]
    pub ready_replicas: u32,
    /// Ready for minReadySeconds.
    #[serde(default)]
    pub available_replicas: u32,
    /// Pods at the current revision.
    #[serde(default)]
    pub current_replicas: u32,
    /// Pods at the update revision.
    #[serde(default)]
    pub updated_replicas: u32,
    /// The revision pods below the partition (or not yet updated) run.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub current_revision: Name,
    /// The revision of the current template.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub update_revision: Name,
}

/// A StatefulSet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSet {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec, shared between the set's versions: a status write (the
    /// controller's, on most syncs) copies a pointer, not the template.
    pub spec: std::sync::Arc<StatefulSetSpec>,
    /// Status.
    pub status: StatefulSetStatus,
}
