//! Pod: the consumer of claims.

use super::meta::{Name, ObjectKey, ObjectMeta};
use super::node::NodeSelector;
use super::quantity::Quantity;
use crate::cluster::diff::Diff;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A container's resource requests and limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerResources {
    /// Requests (`cpu`, `memory`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
    /// Limits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
}

/// Where a volume is mounted in a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeMount {
    /// Volume name.
    pub name: String,
    /// Mount path.
    pub mount_path: String,
    /// Read-only mount.
    #[serde(default)]
    pub read_only: bool,
}

/// A container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Resources.
    #[serde(default)]
    pub resources: ContainerResources,
    /// Volume mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    /// Readiness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// Ports (accepted, not modelled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<serde_json::Value>,
    /// Environment (accepted, not modelled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<serde_json::Value>,
}

/// A probe, with the API's defaults (`SetDefaults_Probe`). The handler is
/// accepted as written; whether it succeeds is the image's behaviour
/// (`ready_after` in the scenario's `[images]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    /// Delay after the container started before the first probe (default 0).
    #[serde(default)]
    pub initial_delay_seconds: u64,
    /// Probe period (default 10).
    #[serde(default = "ten")]
    pub period_seconds: u64,
    /// Probe timeout (default 1).
    #[serde(default = "one")]
    pub timeout_seconds: u64,
    /// Consecutive successes to pass (default 1).
    #[serde(default = "one")]
    pub success_threshold: u32,
    /// Consecutive failures to fail (default 3).
    #[serde(default = "three")]
    pub failure_threshold: u32,
    /// HTTP GET handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<serde_json::Value>,
    /// TCP handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<serde_json::Value>,
    /// Exec handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<serde_json::Value>,
}

fn ten() -> u64 {
    10
}

fn one<T: From<u8>>() -> T {
    T::from(1)
}

fn three() -> u32 {
    3
}

impl Probe {
    /// What a failing probe of this kind reports (`prober.go runProbe`).
    pub fn failure_output(&self) -> &'static str {
        if self.http_get.is_some() {
            "HTTP probe failed with statuscode: 503"
        } else if self.tcp_socket.is_some() {
            "dial tcp: connect: connection refused"
        } else {
            "command terminated with non-zero exit code"
        }
    }
}

/// A claim used as a pod volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimVolumeSource {
    /// The claim, in the pod's namespace.
    pub claim_name: Name,
    /// Mount read-only.
    #[serde(default)]
    pub read_only: bool,
}

/// A pod volume. Only claims take part in storage orchestration; other
/// sources (emptyDir, configMap, secret) are accepted and cost nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// Volume name.
    pub name: String,
    /// A claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<ClaimVolumeSource>,
    /// An emptyDir (accepted, not modelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<BTreeMap<String, String>>,
}

/// A toleration of a node taint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toleration {
    /// Taint key (empty with Exists tolerates everything).
    #[serde(default)]
    pub key: String,
    /// Equal (default) or Exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Taint value for Equal.
    #[serde(default)]
    pub value: String,
    /// Effect tolerated (empty: all).
    #[serde(default)]
    pub effect: String,
    /// For NoExecute: how long the pod stays bound after the taint appears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<u64>,
}

impl Toleration {
    /// `Toleration.ToleratesTaint`.
    pub fn tolerates(&self, taint: &super::node::Taint) -> bool {
        if !self.effect.is_empty() && self.effect != taint.effect {
            return false;
        }
        match self.operator.as_deref() {
            Some("Exists") => self.key.is_empty() || self.key == taint.key,
            _ => self.key == taint.key && self.value == taint.value,
        }
    }
}

/// Node affinity of a pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAffinity {
    /// Hard requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_during_scheduling_ignored_during_execution: Option<NodeSelector>,
}

/// Pod affinity settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Affinity {
    /// Node affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<NodeAffinity>,
}

/// Pod spec.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSpec {
    /// Containers, shared between the specs copied from one another: a
    /// pod's spec is its template's with its own name and claims, and
    /// binding copies it with a node name, while the containers (whose
    /// probes, ports and environment are JSON values) stay as they were.
    #[serde(default)]
    pub containers: std::sync::Arc<Vec<Container>>,
    /// Volumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Node the pod is bound to (set by the scheduler).
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub node_name: Name,
    /// Simple node selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Grace period on deletion; API default 30.
    #[serde(default = "thirty")]
    pub termination_grace_period_seconds: u64,
    /// Scheduler name.
    #[serde(default = "default_scheduler")]
    pub scheduler_name: String,
    /// Hostname (StatefulSet pods: the pod name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// Subdomain (StatefulSet pods: the governing service).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subdomain: String,
    /// Restart policy (accepted; containers are not restarted in this model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// How the pod spreads over topology domains (PodTopologySpread).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
}

/// One topology spread constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySpreadConstraint {
    /// The largest allowed difference of matching pods between domains.
    pub max_skew: u32,
    /// The node label whose values are the domains.
    pub topology_key: String,
    /// `DoNotSchedule` (a filter) or `ScheduleAnyway` (a preference).
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// The pods that count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<super::meta::LabelSelector>,
    /// With DoNotSchedule: fewer eligible domains than this count as a
    /// global minimum of 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_domains: Option<u32>,
    /// Pod label keys whose values are added to the selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_label_keys: Vec<String>,
    /// `Honor` (default): only nodes the pod's node affinity admits count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity_policy: Option<String>,
    /// `Ignore` (default): tainted nodes count too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_taints_policy: Option<String>,
}

/// `whenUnsatisfiable`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum WhenUnsatisfiable {
    /// A hard rule: nodes that would break maxSkew are filtered out.
    DoNotSchedule,
    /// A soft rule: nodes are scored by how much they keep the spread.
    ScheduleAnyway,
}

fn thirty() -> u64 {
    30
}

fn default_scheduler() -> String {
    "default-scheduler".to_string()
}

/// Pod phase.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum PodPhase {
    /// Accepted, not all containers running.
    #[default]
    Pending,
    /// Bound to a node, containers running.
    Running,
    /// All containers exited successfully.
    Succeeded,
    /// All containers exited, some failed.
    Failed,
    /// State unknown (node unreachable).
    Unknown,
}

impl fmt::Display for PodPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A pod condition (PodScheduled, Initialized, ContainersReady, Ready).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodCondition {
    /// Condition type.
    #[serde(rename = "type")]
    pub kind: Name,
    /// "True", "False" or "Unknown".
    pub status: Name,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub reason: Name,
    /// Message.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub message: Name,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<crate::engine::SimTime>,
}

/// Pod status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodStatus {
    /// Phase.
    #[serde(default)]
    pub phase: PodPhase,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PodCondition>,
    /// The short reason `kubectl get pods` shows in STATUS (ContainerCreating…).
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub reason: Name,
    /// Container restarts (the sum of the containers' `restartCount`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restart_count: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A Pod.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec, shared between the versions of the pod that leave it alone
    /// (nearly every write is to the status): a write copies and compares
    /// a pointer, not the containers, volumes and probes.
    pub spec: std::sync::Arc<PodSpec>,
    /// Status.
    pub status: PodStatus,
}

impl Pod {
    /// Names of the claims this pod uses.
    pub fn claim_names(&self) -> impl Iterator<Item = &str> {
        self.spec.volumes.iter().filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.as_str())
        })
    }

    /// The keys of the claims its volumes name (in its namespace): copies
    /// of interned names, no interning.
    pub fn claim_keys(&self) -> impl Iterator<Item = ObjectKey> + '_ {
        self.spec.volumes.iter().filter_map(|v| {
            v.persistent_volume_claim.as_ref().map(|c| ObjectKey {
                namespace: self.metadata.namespace,
                name: c.claim_name,
            })
        })
    }

    /// Succeeded or Failed: its containers will never run again.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.phase, PodPhase::Succeeded | PodPhase::Failed)
    }

    /// True if condition `kind` is "True".
    pub fn condition_true(&self, kind: &str) -> bool {
        self.status
            .conditions
            .iter()
            .any(|c| c.kind == kind && c.status == "True")
    }

    /// Since when the pod has been Ready, if it is.
    pub fn ready_since(&self) -> Option<crate::engine::SimTime> {
        self.status
            .conditions
            .iter()
            .find(|c| c.kind == "Ready" && c.status == "True")
            .map(|c| c.last_transition_time.unwrap_or_default())
    }

    /// `isRunningAndReady`.
    pub fn running_and_ready(&self) -> bool {
        self.status.phase == PodPhase::Running && self.condition_true("Ready")
    }

    /// `isHealthy`: running, ready and not terminating.
    pub fn healthy(&self) -> bool {
        self.running_and_ready() && self.metadata.deletion_timestamp.is_none()
    }
}
