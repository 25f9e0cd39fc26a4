//! The scenario file as written: serde types that mirror the TOML. Values
//! that are checked after parsing (names, references) keep their spans so an
//! error can point at them. Object specs are parsed separately, by kind, from
//! the spanned document tree (see `load.rs`).

use crate::api::node::Taint;
use crate::api::node::TopologySelectorTerm;
use crate::api::{Quantity, ReclaimPolicy, VolumeBindingMode};
use crate::backend::{GrpcCode, Latency, Operation};
use crate::controllers::ComponentSettings;
use crate::engine::SimDuration;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Format version; only 1 exists.
    pub format: Spanned<i64>,
    /// Kubernetes YAML manifests (files or directories, relative to this
    /// file) whose objects are created at T+0 with the file's own.
    #[serde(default)]
    pub manifests: Vec<Spanned<String>>,
    /// Name, description, seed, end.
    pub scenario: ScenarioMeta,
    /// Zones and nodes.
    #[serde(default)]
    pub cluster: ClusterDef,
    /// Backend profile and overrides.
    #[serde(default)]
    pub backend: BackendDef,
    /// Kubernetes timers per component.
    #[serde(default)]
    pub components: ComponentSettings,
    /// How images behave on the nodes (pull, start, readiness, stop).
    #[serde(default)]
    pub images: BTreeMap<String, crate::controllers::kubelet::ImageBehaviour>,
    /// Feature gates (alpha features of 1.33 are off unless set here).
    #[serde(default)]
    pub feature_gates: BTreeMap<String, bool>,
    /// StorageClasses.
    #[serde(default)]
    pub storage_class: Vec<StorageClassDef>,
    /// VolumeSnapshotClasses.
    #[serde(default)]
    pub snapshot_class: Vec<SnapshotClassDef>,
    /// Objects created at T+0, in file order.
    #[serde(default)]
    pub object: Vec<ObjectDef>,
    /// The timeline of actions.
    #[serde(default)]
    pub action: Vec<ActionDef>,
    /// The reference document's lines this scenario reproduces.
    #[serde(default)]
    pub reference: Vec<ReferenceDef>,
    /// What should happen.
    #[serde(default)]
    pub expect: Vec<ExpectDef>,
    /// A teaching lab: its brief; the expectations are its goals.
    #[serde(default)]
    pub lab: Option<LabDef>,
}

/// `[lab]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabDef {
    /// Title.
    pub title: String,
    /// What the student must achieve.
    pub goal: String,
    /// What to know first.
    #[serde(default)]
    pub background: String,
    /// Questions to answer from the run.
    #[serde(default)]
    pub questions: Vec<String>,
    /// Hints, in the order to give them.
    #[serde(default)]
    pub hints: Vec<String>,
}

/// `[scenario]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioMeta {
    /// Short name.
    pub name: String,
    /// What the scenario shows, and where it departs from the reference.
    #[serde(default)]
    pub description: String,
    /// Seed of every random stream.
    #[serde(default = "one")]
    pub seed: u64,
    /// When the run ends; without it the run ends when nothing is pending.
    #[serde(default)]
    pub end: Option<SimDuration>,
    /// Safety bound on handled events.
    #[serde(default)]
    pub max_events: Option<u64>,
    /// Safety bound on simulated time (when there is no `end`).
    #[serde(default)]
    pub max_time: Option<SimDuration>,
    /// Run claims the backend can never serve (ReadWriteMany on a
    /// single-node driver) instead of refusing the file: to watch the
    /// provisioner fail as Kubernetes does.
    #[serde(default)]
    pub allow_infeasible: bool,
}

fn one() -> u64 {
    1
}

/// `[cluster]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterDef {
    /// Zone names.
    #[serde(default)]
    pub zones: Vec<Spanned<String>>,
    /// Region label for every node.
    #[serde(default)]
    pub region: Option<String>,
    /// Generators: `per_zone` nodes in every zone.
    #[serde(default)]
    pub node_group: Vec<NodeGroupDef>,
    /// Nodes named one by one.
    #[serde(default)]
    pub node: Vec<NodeDef>,
}

/// `[[cluster.node_group]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroupDef {
    /// Nodes per zone.
    pub per_zone: u32,
    /// Name prefix: nodes are `<prefix>-<zone>-<i>`.
    #[serde(default = "node_prefix")]
    pub name_prefix: String,
    /// Allocatable CPU.
    #[serde(default = "default_cpu")]
    pub cpu: Quantity,
    /// Allocatable memory.
    #[serde(default = "default_memory")]
    pub memory: Quantity,
    /// Pod capacity.
    #[serde(default = "default_pods")]
    pub pods: u32,
    /// Extra labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Taints.
    #[serde(default)]
    pub taints: Vec<Taint>,
}

/// `[[cluster.node]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDef {
    /// Node name.
    pub name: Spanned<String>,
    /// Zone (one of `cluster.zones`).
    #[serde(default)]
    pub zone: Option<Spanned<String>>,
    /// Allocatable CPU.
    #[serde(default = "default_cpu")]
    pub cpu: Quantity,
    /// Allocatable memory.
    #[serde(default = "default_memory")]
    pub memory: Quantity,
    /// Pod capacity.
    #[serde(default = "default_pods")]
    pub pods: u32,
    /// Extra labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Taints.
    #[serde(default)]
    pub taints: Vec<Taint>,
}

fn node_prefix() -> String {
    "node".into()
}
fn default_cpu() -> Quantity {
    Quantity::parse("4").expect("valid literal")
}
fn default_memory() -> Quantity {
    Quantity::parse("16Gi").expect("valid literal")
}
fn default_pods() -> u32 {
    110
}

/// `[backend]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendDef {
    /// Built-in profile to start from.
    #[serde(default = "reference_spanned")]
    pub profile: Spanned<String>,
    /// Control-plane overrides.
    #[serde(default)]
    pub control_plane: Option<ControlPlaneDef>,
    /// Per-operation overrides, `[backend.operations.create_volume]`.
    #[serde(default)]
    pub operations: BTreeMap<Operation, Spanned<OperationDef>>,
    /// Sidecar knobs, `[backend.sidecars.provisioner]` / `.attacher`.
    #[serde(default)]
    pub sidecars: SidecarsDef,
    /// CSI driver overrides.
    #[serde(default)]
    pub driver: Option<DriverDef>,
    /// Per-zone limits, `[backend.zones."us-east-1a"]`.
    #[serde(default)]
    pub zones: BTreeMap<String, Spanned<ZoneDef>>,
}

/// `[backend.zones."<zone>"]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDef {
    /// How much disk the zone can still provide (`"500Gi"`); a CreateVolume
    /// beyond it fails with ResourceExhausted.
    pub capacity: Quantity,
}

impl Default for BackendDef {
    fn default() -> Self {
        BackendDef {
            profile: Spanned::new(0..0, reference()),
            control_plane: None,
            operations: BTreeMap::new(),
            sidecars: SidecarsDef::default(),
            driver: None,
            zones: BTreeMap::new(),
        }
    }
}

/// An operation override: any field left out keeps the profile's value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationDef {
    /// Latency.
    #[serde(default)]
    pub latency: Option<Latency>,
    /// Latency of failing attempts.
    #[serde(default)]
    pub failure_latency: Option<Latency>,
    /// Failure probability per attempt.
    #[serde(default)]
    pub failure_rate: Option<f64>,
    /// The first N attempts on each object fail.
    #[serde(default)]
    pub fail_first: Option<u32>,
    /// gRPC code of failures.
    #[serde(default)]
    pub error: Option<GrpcCode>,
    /// Description of failures.
    #[serde(default)]
    pub message: Option<String>,
    /// The API's rate limit, `{ per_second = 2.0, burst = 5 }`.
    #[serde(default)]
    pub rate_limit: Option<crate::backend::operations::RateLimit>,
    /// Attach: the first N attempts on each volume and node hang.
    #[serde(default)]
    pub stuck_first: Option<u32>,
}

/// `[backend.sidecars]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidecarsDef {
    /// external-provisioner.
    #[serde(default)]
    pub provisioner: Option<SidecarDef>,
    /// external-attacher.
    #[serde(default)]
    pub attacher: Option<SidecarDef>,
    /// external-resizer.
    #[serde(default)]
    pub resizer: Option<SidecarDef>,
    /// csi-snapshotter.
    #[serde(default)]
    pub snapshotter: Option<SidecarDef>,
}

/// One sidecar's flags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidecarDef {
    /// `--timeout`.
    #[serde(default)]
    pub timeout: Option<SimDuration>,
    /// `--retry-interval-start`.
    #[serde(default)]
    pub retry_start: Option<SimDuration>,
    /// `--retry-interval-max`.
    #[serde(default)]
    pub retry_max: Option<SimDuration>,
}

/// `[backend.driver]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverDef {
    /// Driver name.
    #[serde(default)]
    pub name: Option<String>,
    /// Attachments per node.
    #[serde(default)]
    pub max_volumes_per_node: Option<u32>,
    /// How the driver grows volumes: `none`, `offline` or `online`.
    #[serde(default)]
    pub expansion: Option<crate::backend::profile::Expansion>,
}

fn reference() -> String {
    "reference".into()
}

fn reference_spanned() -> Spanned<String> {
    Spanned::new(0..0, reference())
}

/// `[backend.control_plane]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlaneDef {
    /// Delay from a write to a watcher seeing it.
    #[serde(default)]
    pub watch_delay: Option<Spanned<Latency>>,
}

/// `[[snapshot_class]]`: a VolumeSnapshotClass, fields at top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotClassDef {
    /// Name.
    pub name: Spanned<String>,
    /// CSI driver.
    pub driver: String,
    /// Delete or Retain (required, as in the API).
    pub deletion_policy: crate::api::volume_snapshot::DeletionPolicy,
    /// Parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Shortcut for the default-class annotation.
    #[serde(default, rename = "default")]
    pub is_default: bool,
}

/// `[[storage_class]]`: the API's fields at top level, metadata flattened.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageClassDef {
    /// Name.
    pub name: Spanned<String>,
    /// Provisioner.
    pub provisioner: String,
    /// Parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Reclaim policy (default Delete).
    #[serde(default)]
    pub reclaim_policy: Option<Spanned<ReclaimPolicy>>,
    /// Binding mode (default Immediate).
    #[serde(default)]
    pub volume_binding_mode: Option<VolumeBindingMode>,
    /// Expansion allowed.
    #[serde(default)]
    pub allow_volume_expansion: bool,
    /// Allowed topologies.
    #[serde(default)]
    pub allowed_topologies: Vec<TopologySelectorTerm>,
    /// Mount options.
    #[serde(default)]
    pub mount_options: Vec<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Shortcut for the default-class annotation.
    #[serde(default, rename = "default")]
    pub is_default: bool,
}

/// `[[object]]` and `create = { … }`: any object, metadata flattened, the
/// spec and status by kind. `spec` and `status` are re-read from the spanned
/// tree with the kind's type, so their errors point into them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectDef {
    /// Kind (`PersistentVolumeClaim`, `pvc`, …).
    pub kind: Spanned<String>,
    /// Name.
    pub name: Spanned<String>,
    /// Namespace (default `default` for namespaced kinds).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The spec, checked against the kind. Only whether there is one is
    /// read here: the loader reads it from the spanned tree by the kind.
    #[serde(default)]
    pub spec: Option<serde::de::IgnoredAny>,
    /// An initial status (as if restored from an earlier cluster), checked
    /// against the kind. The real API server ignores status on create; this
    /// exists to start a scenario from a half-finished state. Read as
    /// `spec` is.
    #[serde(default)]
    pub status: Option<serde::de::IgnoredAny>,
}

/// `[[action]]`: when (`at` or `after` + `delay`) and one of `create`,
/// `delete`, `patch`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDef {
    /// Absolute time from the start.
    #[serde(default)]
    pub at: Option<Spanned<SimDuration>>,
    /// Fire after this occurrence…
    #[serde(default)]
    pub after: Option<Spanned<OccurrenceDef>>,
    /// …plus this delay.
    #[serde(default)]
    pub delay: Option<SimDuration>,
    /// Names this instant for `from = "<label>"` in expectations.
    #[serde(default)]
    pub label: Option<Spanned<String>>,
    /// Create an object.
    #[serde(default)]
    pub create: Option<ObjectDef>,
    /// Delete an object (`Kind/name`): graceful, finalizers respected.
    #[serde(default)]
    pub delete: Option<Spanned<String>>,
    /// Merge-patch an object.
    #[serde(default)]
    pub patch: Option<PatchDef>,
    /// `kubectl scale statefulset`.
    #[serde(default)]
    pub scale: Option<ScaleDef>,
    /// `kubectl set image statefulset/<name> <container>=<image>`.
    #[serde(default)]
    pub set_image: Option<SetImageDef>,
    /// Grow (or shrink back) a claim's request, as `kubectl patch pvc`.
    #[serde(default)]
    pub resize: Option<ResizeDef>,
    /// `kubectl apply -f`: a manifest file (relative to the scenario).
    #[serde(default)]
    pub apply: Option<Spanned<String>>,
    /// With `delete`: `--grace-period=0 --force` (the object goes at once).
    #[serde(default)]
    pub force: Option<bool>,
    /// Inject a backend fault from now on.
    #[serde(default)]
    pub fault: Option<FaultDef>,
    /// Clear the faults injected on an operation (`"attach"`): it behaves as
    /// the profile says again.
    #[serde(default)]
    pub clear_fault: Option<Spanned<String>>,
    /// `kubectl taint nodes <node> key=value:Effect`.
    #[serde(default)]
    pub taint: Option<TaintDef>,
    /// `kubectl taint nodes <node> key-`: removes the key's taints.
    #[serde(default)]
    pub untaint: Option<UntaintDef>,
    /// A node's machine goes down (kubelet stops; heartbeats stop).
    #[serde(default)]
    pub fail_node: Option<Spanned<String>>,
    /// A node's machine comes back.
    #[serde(default)]
    pub recover_node: Option<Spanned<String>>,
    /// Every node of a zone goes down.
    #[serde(default)]
    pub fail_zone: Option<Spanned<String>>,
    /// Every node of a zone comes back.
    #[serde(default)]
    pub recover_zone: Option<Spanned<String>>,
}

/// `taint = { node = "node-us-east-1a-0", key = "dedicated", value = "db", effect = "NoExecute" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaintDef {
    /// The node.
    pub node: Spanned<String>,
    /// Taint key.
    pub key: String,
    /// Taint value.
    #[serde(default)]
    pub value: String,
    /// NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: Spanned<String>,
}

/// `untaint = { node = "node-us-east-1a-0", key = "dedicated" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UntaintDef {
    /// The node.
    pub node: Spanned<String>,
    /// Taint key.
    pub key: String,
}

/// `fault = { operation = "attach", change = { failure_rate = 1.0, message = "…" } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultDef {
    /// The operation (`create_volume`, `attach`, … or its CSI name).
    pub operation: Spanned<String>,
    /// What changes, as in `[backend.operations.*]`.
    pub change: OperationDef,
}

/// `scale = { statefulset = "web", replicas = 3 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleDef {
    /// The StatefulSet.
    pub statefulset: Spanned<String>,
    /// New replica count.
    pub replicas: u32,
}

/// `resize = { claim = "data-web-0", size = "200Gi" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResizeDef {
    /// The claim.
    pub claim: Spanned<String>,
    /// The new `spec.resources.requests.storage`.
    pub size: Spanned<String>,
}

/// `set_image = { statefulset = "web", container = "app", image = "nginx:2" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetImageDef {
    /// The StatefulSet.
    pub statefulset: Spanned<String>,
    /// Container name (optional when there is one container).
    #[serde(default)]
    pub container: Option<Spanned<String>>,
    /// New image.
    pub image: String,
}

/// `patch = { object = "Kind/name", spec = {…}, metadata = {…}, status = {…} }`:
/// a JSON merge patch (RFC 7386) applied to the object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchDef {
    /// Target.
    pub object: Spanned<String>,
    /// Metadata to merge (labels, annotations).
    #[serde(default)]
    pub metadata: Option<toml::Value>,
    /// Spec fields to merge.
    #[serde(default)]
    pub spec: Option<toml::Value>,
    /// Status fields to merge.
    #[serde(default)]
    pub status: Option<toml::Value>,
    /// Dotted paths to remove (`spec.claimRef`): TOML has no `null`, which
    /// is how a merge patch removes a field.
    #[serde(default)]
    pub remove: Vec<Spanned<String>>,
}

/// One way to name a moment: an object reaching a phase, condition,
/// annotation, creation or deletion, or an Event; optionally the n-th time.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OccurrenceDef {
    /// The object (`Kind/name` or `Kind/namespace/name`).
    #[serde(default)]
    pub object: Option<Spanned<String>>,
    /// Reaches this phase (STATUS column).
    #[serde(default)]
    pub phase: Option<String>,
    /// Gets this condition True.
    #[serde(default)]
    pub condition: Option<String>,
    /// Gets this annotation.
    #[serde(default)]
    pub annotation: Option<String>,
    /// Is created.
    #[serde(default)]
    pub created: Option<bool>,
    /// Is gone from the API.
    #[serde(default)]
    pub deleted: Option<bool>,
    /// Shows these `kubectl get` columns (as the timeline prints them:
    /// `volume`, `claim`, `capacity`, `access-modes`, …).
    #[serde(default)]
    pub shows: Option<BTreeMap<String, String>>,
    /// An Event.
    #[serde(default)]
    pub event: Option<EventMatchDef>,
    /// A backend or CSI call.
    #[serde(default)]
    pub operation: Option<OperationMatchDef>,
    /// A headless-service DNS name starts to resolve (or, with
    /// `resolves = false`, stops).
    #[serde(default)]
    pub dns: Option<String>,
    /// With `dns`: whether it starts (default) or stops resolving.
    #[serde(default)]
    pub resolves: Option<bool>,
    /// The n-th occurrence (1-based, default 1).
    #[serde(default)]
    pub nth: Option<Spanned<u32>>,
}

/// Matches Events.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMatchDef {
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// Involved object.
    #[serde(default)]
    pub object: Option<Spanned<String>>,
    /// Substring of the message.
    #[serde(default)]
    pub message_contains: Option<String>,
    /// Normal or Warning.
    #[serde(default, rename = "type")]
    pub kind: Option<Spanned<String>>,
}

/// `cost = { total_month = 96.0, orphaned_month = 80.0, orphaned_claims = 10 }`:
/// the monthly bill for the disks that exist when the run ends.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostExpectDef {
    /// Every disk, per month.
    #[serde(default)]
    pub total_month: Option<f64>,
    /// Disks bound to claims no pod uses, per month.
    #[serde(default)]
    pub orphaned_month: Option<f64>,
    /// How many claims no pod uses.
    #[serde(default)]
    pub orphaned_claims: Option<usize>,
}

/// `[[reference]]`: one line of the reference document's timeline, and
/// what it corresponds to in the run — within the tolerance of its time, or
/// with the reason real Kubernetes differs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceDef {
    /// The line as the document writes it.
    pub doc: Spanned<String>,
    /// The document's time for it, from the timeline's origin.
    #[serde(default)]
    pub time: Option<SimDuration>,
    /// The occurrence it corresponds to.
    #[serde(default)]
    pub occurrence: Option<Spanned<OccurrenceDef>>,
    /// Allowed difference from `time` (default 2 s).
    #[serde(default)]
    pub tolerance: Option<SimDuration>,
    /// The timeline's origin: an action label (default the start).
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// Why real Kubernetes differs from the line.
    #[serde(default)]
    pub diverges: Option<String>,
}

/// Matches backend and CSI calls.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationMatchDef {
    /// Operation (`CreateVolume`, `ControllerPublishVolume`, … or `attach`).
    pub name: Spanned<String>,
    /// Substring of the target (volume name, `vol-…@node`).
    #[serde(default)]
    pub target_contains: Option<String>,
    /// `start` (default), `end` or `timeout`.
    #[serde(default)]
    pub phase: Option<Spanned<String>>,
    /// For ends: `ok` or `error`.
    #[serde(default)]
    pub result: Option<Spanned<String>>,
}

/// `[[expect]]`: an occurrence written inline (or `first`/`before`, or
/// `never`), with timing. The inline fields repeat [`OccurrenceDef`]'s
/// because serde's `flatten` cannot be combined with `deny_unknown_fields`,
/// and a misspelt field must be an error, not silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDef {
    /// Optional name shown in results.
    #[serde(default)]
    pub name: Option<String>,
    /// For labs: what to try when this goal is not met.
    #[serde(default)]
    pub hint: Option<String>,
    /// Inline occurrence: object.
    #[serde(default)]
    pub object: Option<Spanned<String>>,
    /// Inline occurrence: phase.
    #[serde(default)]
    pub phase: Option<String>,
    /// Inline occurrence: condition.
    #[serde(default)]
    pub condition: Option<String>,
    /// Inline occurrence: annotation.
    #[serde(default)]
    pub annotation: Option<String>,
    /// Inline occurrence: created.
    #[serde(default)]
    pub created: Option<bool>,
    /// Inline occurrence: deleted.
    #[serde(default)]
    pub deleted: Option<bool>,
    /// Inline occurrence: shows these columns.
    #[serde(default)]
    pub shows: Option<BTreeMap<String, String>>,
    /// Inline occurrence: an Event.
    #[serde(default)]
    pub event: Option<EventMatchDef>,
    /// Inline occurrence: a backend call.
    #[serde(default)]
    pub operation: Option<OperationMatchDef>,
    /// Inline occurrence: a DNS name.
    #[serde(default)]
    pub dns: Option<String>,
    /// The monthly bill at the end.
    #[serde(default)]
    pub cost: Option<CostExpectDef>,
    /// Inline occurrence: with `dns`, starts or stops resolving.
    #[serde(default)]
    pub resolves: Option<bool>,
    /// Inline occurrence: the n-th time.
    #[serde(default)]
    pub nth: Option<Spanned<u32>>,
    /// This must never happen.
    #[serde(default)]
    pub never: Option<OccurrenceDef>,
    /// With `before`: this happens first…
    #[serde(default)]
    pub first: Option<OccurrenceDef>,
    /// …and this after it.
    #[serde(default)]
    pub before: Option<OccurrenceDef>,
    /// Happens at this time (± tolerance).
    #[serde(default)]
    pub at: Option<SimDuration>,
    /// Tolerance for `at` (default 0).
    #[serde(default)]
    pub tolerance: Option<SimDuration>,
    /// Happens no later than this.
    #[serde(default)]
    pub by: Option<SimDuration>,
    /// Happens no earlier than this.
    #[serde(default)]
    pub after: Option<SimDuration>,
    /// Times count from this action label (default: the start).
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// Check the state when the run ends instead of an occurrence.
    #[serde(default)]
    pub at_end: Option<bool>,
}
