//! Node, and the node-selector types shared by PV node affinity, pod
//! affinity and StorageClass allowed topologies.

use super::labels::Resources;
use super::meta::{Name, ObjectMeta, SelectorOperator};

use crate::cluster::diff::Diff;
use serde::{Deserialize, Serialize};

/// Well-known zone label.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// Well-known region label.
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
/// Well-known hostname label.
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// Taint of a node whose Ready condition is False.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint of a node whose Ready condition is Unknown.
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Well-known OS label.
pub const LABEL_OS: &str = "kubernetes.io/os";

/// A taint on a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value.
    #[serde(default)]
    pub value: String,
    /// NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: String,
}

/// Node spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    /// Cordoned.
    #[serde(default)]
    pub unschedulable: bool,
    /// Taints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}

/// Node status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeStatus {
    /// Resources that pods may request (`cpu`, `memory`, `pods`).
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub allocatable: Resources,
    /// True while the kubelet reports Ready.
    #[serde(default = "yes")]
    pub ready: bool,
    /// Volumes the kubelet reports as in use (`volumesInUse`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_in_use: Vec<Name>,
    /// Volumes the attach/detach controller reports attached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_attached: Vec<Name>,
}

fn yes() -> bool {
    true
}

/// A worker node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Metadata (labels carry zone and hostname).
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: NodeSpec,
    /// Status.
    pub status: NodeStatus,
}

/// `nodeSelectorTerms` are ORed; expressions inside a term are ANDed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelector {
    /// The terms; a node matches if any term matches.
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

/// One ANDed group of node requirements.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelectorTerm {
    /// Requirements on node labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<NodeSelectorRequirement>,
}

/// One requirement on a node label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelectorRequirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub operator: SelectorOperator,
    /// Values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl NodeSelector {
    /// True if any term matches `labels` (an empty term matches nothing, as in
    /// Kubernetes' nodeaffinity helpers).
    pub fn matches(&self, labels: &crate::api::Labels) -> bool {
        self.node_selector_terms.iter().any(|t| {
            !t.match_expressions.is_empty()
                && t.match_expressions
                    .iter()
                    .all(|r| r.operator.matches(labels, &r.key, &r.values))
        })
    }
}

/// A StorageClass allowed-topology term.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySelectorTerm {
    /// Label requirements, ANDed.
    #[serde(default)]
    pub match_label_expressions: Vec<TopologySelectorLabelRequirement>,
}

/// One allowed-topology requirement: `key` in `values`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySelectorLabelRequirement {
    /// Label key.
    pub key: String,
    /// Allowed values.
    pub values: Vec<String>,
}

impl Node {
    /// The node's zone label, if any.
    pub fn zone(&self) -> Option<&str> {
        self.metadata.labels.get_str(LABEL_ZONE)
    }
}
