//! The simulated cloud behind the CSI driver: disks that live in one zone,
//! attachments to nodes, and the calls that change them. A call is planned
//! when it is made (its latency and whether it fails are drawn then, from a
//! stream keyed by operation, target and attempt) and takes effect when it
//! completes — even if the caller stopped waiting at its timeout, as a cloud
//! API does.

use super::operations::{GrpcCode, Operation, RpcError};
use super::profile::Profile;
use crate::engine::{SimDuration, SimTime, StreamKey};
use rand::Rng as _;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Identifies one call.
pub type CallId = u64;

/// What a controller asks the driver or the cloud to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Create a disk named `name` (the PV name) in `zone`.
    CreateVolume {
        /// Volume name (idempotency key).
        name: String,
        /// Requested size.
        size_bytes: i128,
        /// Zone chosen from the topology requirements ("" for a regional
        /// volume).
        zone: String,
        /// The claim asks for a multi-node access mode (RWX or ROX).
        multi_node: bool,
        /// Restore from this snapshot.
        snapshot: Option<String>,
    },
    /// Delete a disk.
    DeleteVolume {
        /// Disk ID.
        volume_id: String,
    },
    /// Attach a disk to a node.
    Attach {
        /// Disk ID.
        volume_id: String,
        /// Node.
        node: String,
    },
    /// Detach a disk from a node.
    Detach {
        /// Disk ID.
        volume_id: String,
        /// Node.
        node: String,
    },
    /// Stage (format on first use, mount to the global path) on a node.
    NodeStage {
        /// Disk ID.
        volume_id: String,
        /// Node.
        node: String,
    },
    /// Bind-mount into a pod.
    NodePublish {
        /// Disk ID.
        volume_id: String,
        /// Node.
        node: String,
        /// Pod (namespace/name).
        pod: String,
    },
    /// Undo NodePublish.
    NodeUnpublish {
        /// Disk ID.
        volume_id: String,
        /// Node.
        node: String,
        /// Pod (namespace/name).
        pod: String,
    },
    /// Undo NodeStage.
    NodeUnstage {
        /// Disk ID.
        volume_id: String,
        /// Node.
        node: String,
    },
    /// Grow a disk (ControllerExpandVolume: EBS ModifyVolume).
    ControllerExpand {
        /// Disk ID.
        volume_id: String,
        /// The size asked for.
        size_bytes: i128,
    },
    /// Start a snapshot of a disk.
    CreateSnapshot {
        /// Snapshot name (idempotency key).
        name: String,
        /// The disk.
        volume_id: String,
    },
    /// Delete a snapshot.
    DeleteSnapshot {
        /// The snapshot.
        snapshot_id: String,
    },
    /// Grow the filesystem of a disk staged on a node.
    NodeExpand {
        /// Disk ID.
        volume_id: String,
        /// Node.
        node: String,
        /// The size asked for.
        size_bytes: i128,
    },
}

impl Request {
    /// The operation.
    pub fn op(&self) -> Operation {
        match self {
            Request::CreateVolume { .. } => Operation::CreateVolume,
            Request::DeleteVolume { .. } => Operation::DeleteVolume,
            Request::Attach { .. } => Operation::Attach,
            Request::Detach { .. } => Operation::Detach,
            Request::NodeStage { .. } => Operation::NodeStage,
            Request::NodePublish { .. } => Operation::NodePublish,
            Request::NodeUnpublish { .. } => Operation::NodeUnpublish,
            Request::NodeUnstage { .. } => Operation::NodeUnstage,
            Request::ControllerExpand { .. } => Operation::ControllerExpand,
            Request::NodeExpand { .. } => Operation::NodeExpand,
            Request::CreateSnapshot { .. } => Operation::CreateSnapshot,
            Request::DeleteSnapshot { .. } => Operation::DeleteSnapshot,
        }
    }

    /// What the call is about, for traces and for keying its random draws.
    pub fn target(&self) -> String {
        match self {
            Request::CreateVolume { name, .. } => name.clone(),
            Request::DeleteVolume { volume_id } | Request::ControllerExpand { volume_id, .. } => {
                volume_id.clone()
            }
            Request::NodeExpand {
                volume_id, node, ..
            } => [volume_id.as_str(), "@", node].concat(),
            Request::CreateSnapshot { name, .. } => name.clone(),
            Request::DeleteSnapshot { snapshot_id } => snapshot_id.clone(),
            Request::Attach { volume_id, node }
            | Request::Detach { volume_id, node }
            | Request::NodeStage { volume_id, node }
            | Request::NodeUnstage { volume_id, node } => [volume_id.as_str(), "@", node].concat(),
            Request::NodePublish {
                volume_id,
                node,
                pod,
            }
            | Request::NodeUnpublish {
                volume_id,
                node,
                pod,
            } => [volume_id.as_str(), "@", node, "/", pod].concat(),
        }
    }
}

/// A call in flight.
#[derive(Clone, Debug)]
pub struct Call {
    /// Its ID.
    pub id: CallId,
    /// Index of the calling controller.
    pub caller: usize,
    /// What is asked.
    pub request: Request,
    /// The caller stops waiting after this long (`--timeout`).
    pub timeout: Option<SimDuration>,
}

/// What a successful call returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// A disk exists (new, or the one created by an earlier attempt).
    Created {
        /// Disk ID.
        volume_id: String,
        /// Its zone.
        zone: String,
        /// Its size.
        size_bytes: i128,
    },
    /// A snapshot and how it stands.
    Snapshot {
        /// Snapshot ID (`snap-…`).
        snapshot_id: String,
        /// When the point-in-time snapshot was taken.
        created_at: SimTime,
        /// The source disk's size: the smallest restore.
        size_bytes: i128,
        /// Completed: usable as a restore source.
        ready: bool,
    },
    /// A disk (or its filesystem) now has this size.
    Expanded {
        /// The size.
        size_bytes: i128,
    },
    /// Done.
    Done,
}

/// The answer a controller gets.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The call.
    pub id: CallId,
    /// What was asked.
    pub request: Request,
    /// Result.
    pub result: Result<Response, RpcError>,
}

/// How a call will go, decided when it is made.
#[derive(Clone, Debug)]
pub struct Plan {
    /// When it completes.
    pub complete_at: SimTime,
    /// The failure it will end with, if any.
    pub failure: Option<RpcError>,
    /// Which attempt this is (0-based): calls of this operation on this
    /// target since the last one that succeeded. A NodeStage after an
    /// unstage is a new operation, attempt 0, not a retry.
    pub attempt: u32,
}

/// A disk.
#[derive(Clone, Debug)]
pub struct CloudVolume {
    /// Disk ID (`vol-…`).
    pub id: String,
    /// Zone.
    pub zone: String,
    /// Size.
    pub size_bytes: i128,
    /// Nodes it is attached to.
    pub attached: BTreeSet<String>,
    /// Whether it has a filesystem.
    pub formatted: bool,
    /// When its last modification began (EBS allows one per 6 hours).
    pub modified_at: Option<SimTime>,
}

/// A snapshot in the cloud.
#[derive(Clone, Debug)]
pub struct CloudSnapshot {
    /// Snapshot ID.
    pub id: String,
    /// When it was taken.
    pub created_at: SimTime,
    /// When it is complete.
    pub completes_at: SimTime,
    /// The source disk's size.
    pub size_bytes: i128,
}

/// The cloud's state. Disks are looked up by ID on every call, so they
/// are hashed too (a B-tree of tens of thousands of IDs that share their
/// prefix compared strings at each level); a walk sorts them by ID.
#[derive(Default)]
pub struct Cloud {
    volumes: FxHashMap<String, CloudVolume>,
    by_name: FxHashMap<String, String>,
    /// `by_name` the other way: volume ID → the name it was created under.
    name_of: FxHashMap<String, String>,
    /// Attachments per node (the attach limit), kept with `attached`.
    attachments_on: FxHashMap<String, u32>,
    creating: FxHashMap<String, SimTime>,
    node_zones: FxHashMap<String, String>,
    /// Calls per operation and target: over the run (they key the random
    /// streams and `fail_first`), and since the last success. One entry
    /// for both, so a call finds them with one lookup.
    attempts: FxHashMap<(Operation, String), (u32, u32)>,
    /// Bytes each zone can still hold, where the profile limits it.
    zone_capacity: BTreeMap<String, i128>,
    /// Disks being created: (zone, bytes) by name, counted against capacity.
    creating_bytes: FxHashMap<String, (String, i128)>,
    /// Rate-limit buckets per operation: tokens and when last refilled.
    buckets: BTreeMap<Operation, (f64, SimTime)>,
    max_attachments: u32,
    /// Snapshots by ID.
    snapshots: BTreeMap<String, CloudSnapshot>,
    /// Snapshots being started: name → (taken at, completes at).
    snapshotting: FxHashMap<String, (SimTime, SimTime)>,
    /// When the call now completing completes (for the calls whose
    /// effect depends on time).
    now: SimTime,
    /// Attachments stuck `attaching`, by (disk, node): when the driver
    /// gives up on them.
    stuck: FxHashMap<(String, String), SimTime>,
}

/// How the EBS driver words a failed call before the cloud's error.
fn throttled_prefix(request: &Request) -> String {
    match request {
        Request::CreateVolume { name, .. } => format!("Could not create volume {name:?}"),
        Request::DeleteVolume { volume_id } => format!("Could not delete volume ID {volume_id:?}"),
        Request::Attach { volume_id, node } => {
            format!("Could not attach volume {volume_id:?} to node {node:?}")
        }
        Request::Detach { volume_id, node } => {
            format!("Could not detach volume {volume_id:?} from node {node:?}")
        }
        Request::ControllerExpand { volume_id, .. } => {
            format!("Could not resize volume {volume_id:?}")
        }
        other => format!("{} failed", other.op().csi_name()),
    }
}

/// The disk ID the cloud gives the volume named `name`: stable across runs
/// and seeds, EBS-shaped.
pub fn volume_id_for(name: &str) -> String {
    format!("vol-{}", hex17(name))
}

/// The snapshot ID the cloud gives the snapshot named `name`.
pub fn snapshot_id_for(name: &str) -> String {
    format!("snap-{}", hex17(name))
}

fn hex17(name: &str) -> String {
    let d = Sha256::digest(name.as_bytes());
    let hex: String = d.iter().take(9).map(|b| format!("{b:02x}")).collect();
    hex[..17].to_string()
}

impl Cloud {
    /// A cloud whose nodes are in the given zones.
    pub fn new(node_zones: BTreeMap<String, String>, max_attachments: u32) -> Self {
        Cloud {
            node_zones: node_zones.into_iter().collect(),
            max_attachments,
            ..Default::default()
        }
    }

    /// Limits how many bytes of disks each listed zone holds.
    pub fn with_zone_capacity(mut self, capacity: BTreeMap<String, i128>) -> Self {
        self.zone_capacity = capacity;
        self
    }

    /// Bytes of disks in `zone`, existing or being created.
    fn zone_used(&self, zone: &str) -> i128 {
        let existing: i128 = self
            .volumes
            .values()
            .filter(|v| v.zone == zone)
            .map(|v| v.size_bytes)
            .sum();
        let creating: i128 = self
            .creating_bytes
            .values()
            .filter(|(z, _)| z == zone)
            .map(|(_, b)| *b)
            .sum();
        existing + creating
    }

    /// A disk that exists before the run (a pre-provisioned volume a PV
    /// names by hand): known from now on, with a filesystem. Nothing if the
    /// cloud already has it.
    pub fn adopt(&mut self, id: &str, zone: &str, size_bytes: i128) {
        self.volumes
            .entry(id.to_string())
            .or_insert_with(|| CloudVolume {
                id: id.to_string(),
                zone: zone.to_string(),
                size_bytes,
                attached: BTreeSet::new(),
                formatted: true,
                modified_at: None,
            });
    }

    /// A disk by ID.
    pub fn volume(&self, id: &str) -> Option<&CloudVolume> {
        self.volumes.get(id)
    }

    /// Every disk, in ID order.
    pub fn volumes(&self) -> impl Iterator<Item = &CloudVolume> {
        let mut all: Vec<&CloudVolume> = self.volumes.values().collect();
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        all.into_iter()
    }

    /// Decides how `call` goes: its latency (from the profile, or the wait
    /// for an earlier attempt still creating the same disk) and its failure.
    pub fn plan(&mut self, call: &Call, now: SimTime, profile: &Profile, seed: u64) -> Plan {
        let op = call.request.op();
        let target = call.request.target();
        let counts = self.attempts.entry((op, target.clone())).or_insert((0, 0));
        let (attempt, since_success) = *counts;
        *counts = (attempt + 1, since_success + 1);
        let p = profile.operation(op);
        let fails = attempt < p.fail_first
            || (p.failure_rate > 0.0 && {
                let mut rng = StreamKey {
                    component: "backend-failure",
                    object: &target,
                    operation: op.csi_name(),
                    attempt: attempt as u64,
                }
                .stream(seed);
                (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p.failure_rate
            });
        let mut refusal = None;
        // The API's request rate limit: a token bucket per operation; a
        // call finding it empty is throttled (EC2's RequestLimitExceeded,
        // which the EBS driver returns as Internal).
        if let Some(limit) = &p.rate_limit {
            let (tokens, last) = self
                .buckets
                .get(&op)
                .copied()
                .unwrap_or((f64::from(limit.burst), now));
            let elapsed = now.since(last).as_millis() as f64 / 1000.0;
            let tokens = (tokens + elapsed * limit.per_second).min(f64::from(limit.burst));
            if tokens >= 1.0 {
                self.buckets.insert(op, (tokens - 1.0, now));
            } else {
                self.buckets.insert(op, (tokens, now));
                refusal = Some(RpcError {
                    code: GrpcCode::Internal,
                    message: format!(
                        "{}: RequestLimitExceeded: Request limit exceeded.",
                        throttled_prefix(&call.request)
                    ),
                });
            }
        }
        // The EBS driver's ValidateVolumeCapabilities: single-node only.
        if let Request::CreateVolume {
            multi_node: true, ..
        } = &call.request
            && !profile.driver.multi_node
            && refusal.is_none()
        {
            refusal = Some(RpcError {
                code: GrpcCode::InvalidArgument,
                message: "Volume capabilities not supported".into(),
            });
        }
        // A zone out of capacity refuses a new disk, as EC2 does
        // (InsufficientVolumeCapacity), which the EBS driver returns as
        // ResourceExhausted: the provisioner then reschedules the pod.
        if let Request::CreateVolume {
            name,
            size_bytes,
            zone,
            ..
        } = &call.request
            && !fails
            && refusal.is_none()
            && !self.by_name.contains_key(name)
            && !self.creating.contains_key(name)
            && self
                .zone_capacity
                .get(zone)
                .is_some_and(|cap| self.zone_used(zone) + size_bytes > *cap)
        {
            refusal = Some(RpcError {
                code: GrpcCode::ResourceExhausted,
                message: format!(
                    "Could not create volume {name:?}: InsufficientVolumeCapacity: There is not enough capacity to fulfill your EBS volume provision request. You can try to provision a different volume type, EBS volume in a different availability zone, or you can wait and try again later."
                ),
            });
        }
        // One modification per disk per cooldown (EBS: 6 hours, counted
        // from when the last one began).
        if let Request::ControllerExpand { volume_id, .. } = &call.request
            && refusal.is_none()
            && !fails
            && let (Some(cooldown), Some(v)) =
                (profile.modify_cooldown, self.volumes.get(volume_id))
            && let Some(last) = v.modified_at
            && now < last.plus(cooldown)
        {
            refusal = Some(RpcError {
                code: GrpcCode::Internal,
                message: format!(
                    "Could not resize volume {volume_id:?}: rpc error: code = Internal desc = Could not modify volume {volume_id:?}: operation error EC2: ModifyVolume, https response error StatusCode: 400, api error VolumeModificationRateExceeded: You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume."
                ),
            });
        }
        // A driver that expands offline only refuses a disk attached
        // anywhere.
        if let Request::ControllerExpand { volume_id, .. } = &call.request
            && refusal.is_none()
            && !fails
            && profile.driver.expansion == super::profile::Expansion::Offline
            && let Some(v) = self.volumes.get(volume_id)
            && let Some(node) = v.attached.first()
        {
            refusal = Some(RpcError {
                code: GrpcCode::FailedPrecondition,
                message: format!(
                    "volume {volume_id:?} is attached to node {node:?}: the driver only expands volumes offline"
                ),
            });
        }
        let fails = fails || refusal.is_some();
        if let Request::ControllerExpand { volume_id, .. } = &call.request
            && !fails
            && let Some(v) = self.volumes.get_mut(volume_id)
        {
            v.modified_at = Some(now);
        }
        let sample = |op: Operation, n: u32| {
            let p = profile.operation(op);
            let latency = match (&p.failure_latency, fails) {
                (Some(l), true) => l,
                _ => &p.latency,
            };
            match latency.fixed() {
                Some(d) => d,
                None => latency.sample(
                    &mut StreamKey {
                        component: "backend",
                        object: &target,
                        operation: op.csi_name(),
                        attempt: n as u64,
                    }
                    .stream(seed),
                ),
            }
        };
        // An attachment that hangs `attaching`: the driver waits for it
        // until its stuck timeout, then detaches it and fails the call; a
        // retry meanwhile waits for the same attachment.
        let mut stuck_until = None;
        if let Request::Attach { volume_id, node } = &call.request
            && !fails
            && let Some(limit) = profile.driver.stuck_attach_timeout
        {
            let key = (volume_id.clone(), node.clone());
            let until = match self.stuck.get(&key) {
                Some(t) => Some(*t),
                None if attempt < p.stuck_first => {
                    self.stuck.insert(key, now.plus(limit));
                    Some(now.plus(limit))
                }
                None => None,
            };
            if let Some(until) = until {
                stuck_until = Some(until);
                refusal = Some(RpcError {
                    code: GrpcCode::Internal,
                    message: format!(
                        "Could not attach volume {volume_id:?} to node {node:?}: attachment stuck in attaching state for more than {limit}: detached to retry"
                    ),
                });
            }
        }
        let failure = refusal.or_else(|| {
            fails.then(|| RpcError {
                code: p.error,
                message: p.message.clone(),
            })
        });
        let complete_at = match &call.request {
            _ if stuck_until.is_some() => stuck_until.unwrap_or(now),
            Request::CreateVolume { name, .. } if self.by_name.contains_key(name) => now,
            Request::CreateVolume { name, .. } => match self.creating.get(name) {
                // The same disk is still being created: this attempt waits for it.
                Some(ready) if failure.is_none() => *ready,
                _ => {
                    let at = now.plus(sample(op, attempt));
                    if failure.is_none() {
                        self.creating.insert(name.clone(), at);
                        if let Request::CreateVolume {
                            size_bytes, zone, ..
                        } = &call.request
                        {
                            self.creating_bytes
                                .insert(name.clone(), (zone.clone(), *size_bytes));
                        }
                    }
                    at
                }
            },
            Request::CreateSnapshot { name, .. } => {
                let at = now.plus(sample(op, attempt));
                let id = snapshot_id_for(name);
                if failure.is_none()
                    && !self.snapshots.contains_key(&id)
                    && !self.snapshotting.contains_key(name)
                {
                    // The point-in-time snapshot is taken when the call is
                    // made; its blocks are then uploaded.
                    let done = now.plus(sample(Operation::SnapshotUpload, attempt));
                    self.snapshotting.insert(name.clone(), (now, done));
                }
                at
            }
            Request::NodeStage { volume_id, .. } => {
                let format = self.volumes.get(volume_id).is_some_and(|v| !v.formatted);
                let extra = if format {
                    sample(Operation::Format, attempt)
                } else {
                    SimDuration::ZERO
                };
                now.plus(sample(op, attempt)).plus(extra)
            }
            _ => now.plus(sample(op, attempt)),
        };
        Plan {
            complete_at,
            failure,
            attempt: since_success,
        }
    }

    /// Applies a completed call and says how it ended.
    pub fn complete(
        &mut self,
        request: &Request,
        failure: Option<RpcError>,
        now: SimTime,
    ) -> Result<Response, RpcError> {
        self.now = now;
        if let Request::Attach { volume_id, node } = request {
            // The driver has detached a stuck attachment.
            let key = (volume_id.clone(), node.clone());
            if self.stuck.get(&key).is_some_and(|until| *until <= now) {
                self.stuck.remove(&key);
            }
        }
        if let Some(f) = failure {
            return Err(f);
        }
        let result = self.apply(request);
        if result.is_ok() {
            if let Some((_, since_success)) =
                self.attempts.get_mut(&(request.op(), request.target()))
            {
                *since_success = 0;
            }
        }
        result
    }

    fn snapshot_response(s: &CloudSnapshot, now: SimTime) -> Response {
        Response::Snapshot {
            snapshot_id: s.id.clone(),
            created_at: s.created_at,
            size_bytes: s.size_bytes,
            ready: s.completes_at <= now,
        }
    }

    /// Every snapshot, by ID.
    pub fn snapshots(&self) -> impl Iterator<Item = &CloudSnapshot> {
        self.snapshots.values()
    }

    /// A call that did not fail by plan: its effect on the disks, or the
    /// error the cloud's state gives it.
    fn apply(&mut self, request: &Request) -> Result<Response, RpcError> {
        let not_found = |id: &str| RpcError {
            code: GrpcCode::NotFound,
            message: format!("Volume {id:?} not found"),
        };
        match request {
            Request::CreateVolume {
                name,
                size_bytes,
                zone,
                snapshot,
                ..
            } => {
                self.creating.remove(name);
                self.creating_bytes.remove(name);
                // A restore: the snapshot must be complete; the disk is at
                // least its size and already has its filesystem.
                let source = match snapshot {
                    Some(id) => match self.snapshots.get(id) {
                        Some(s) if s.completes_at <= self.now => Some(s.size_bytes),
                        Some(_) => {
                            return Err(RpcError {
                                code: GrpcCode::FailedPrecondition,
                                message: format!("snapshot {id:?} is not completed"),
                            });
                        }
                        None => {
                            return Err(RpcError {
                                code: GrpcCode::NotFound,
                                message: format!("Snapshot {id:?} not found"),
                            });
                        }
                    },
                    None => None,
                };
                let id = self
                    .by_name
                    .entry(name.clone())
                    .or_insert_with(|| volume_id_for(name))
                    .clone();
                self.name_of.insert(id.clone(), name.clone());
                let v = self
                    .volumes
                    .entry(id.clone())
                    .or_insert_with(|| CloudVolume {
                        id: id.clone(),
                        zone: zone.clone(),
                        size_bytes: (*size_bytes).max(source.unwrap_or(0)),
                        attached: BTreeSet::new(),
                        formatted: source.is_some(),
                        modified_at: None,
                    });
                Ok(Response::Created {
                    volume_id: id,
                    zone: v.zone.clone(),
                    size_bytes: v.size_bytes,
                })
            }
            Request::DeleteVolume { volume_id } => {
                // Deleting a disk that is gone is a success (EBS DeleteDisk).
                if let Some(v) = self.volumes.get(volume_id)
                    && !v.attached.is_empty()
                {
                    return Err(RpcError {
                        code: GrpcCode::FailedPrecondition,
                        message: format!("volume {volume_id:?} is still attached"),
                    });
                }
                if self.volumes.remove(volume_id).is_some()
                    && let Some(name) = self.name_of.remove(volume_id)
                {
                    self.by_name.remove(&name);
                }
                Ok(Response::Done)
            }
            Request::Attach { volume_id, node } => {
                let node_zone = self.node_zones.get(node).cloned();
                let count = self.attachments_on.get(node).copied().unwrap_or(0);
                let max = self.max_attachments;
                let Some(v) = self.volumes.get_mut(volume_id) else {
                    return Err(not_found(volume_id));
                };
                if v.attached.contains(node) {
                    return Ok(Response::Done);
                }
                if node_zone.as_deref() != Some(v.zone.as_str()) {
                    return Err(RpcError {
                        code: GrpcCode::Internal,
                        message: format!(
                            "Could not attach volume {volume_id:?} to node {node:?}: InvalidVolume.ZoneMismatch: the volume is in {} and the node in {}",
                            v.zone,
                            node_zone.unwrap_or_else(|| "no zone".into())
                        ),
                    });
                }
                if count >= max {
                    return Err(RpcError {
                        code: GrpcCode::ResourceExhausted,
                        message: format!(
                            "Could not attach volume {volume_id:?} to node {node:?}: attachment limit {max} reached"
                        ),
                    });
                }
                if v.attached.insert(node.clone()) {
                    *self.attachments_on.entry(node.clone()).or_insert(0) += 1;
                }
                Ok(Response::Done)
            }
            Request::Detach { volume_id, node } => {
                if let Some(v) = self.volumes.get_mut(volume_id)
                    && v.attached.remove(node)
                    && let Some(n) = self.attachments_on.get_mut(node)
                {
                    *n -= 1;
                }
                Ok(Response::Done)
            }
            Request::NodeStage { volume_id, node } => {
                let Some(v) = self.volumes.get_mut(volume_id) else {
                    return Err(not_found(volume_id));
                };
                if !v.attached.contains(node) {
                    return Err(RpcError {
                        code: GrpcCode::FailedPrecondition,
                        message: format!("volume {volume_id:?} is not attached to node {node:?}"),
                    });
                }
                v.formatted = true;
                Ok(Response::Done)
            }
            Request::CreateSnapshot { name, volume_id } => {
                let Some(v) = self.volumes.get(volume_id) else {
                    return Err(not_found(volume_id));
                };
                let size_bytes = v.size_bytes;
                let id = snapshot_id_for(name);
                let now = self.now;
                let (taken, done) = self.snapshotting.remove(name).unwrap_or((now, now));
                let s = self.snapshots.entry(id.clone()).or_insert(CloudSnapshot {
                    id,
                    created_at: taken,
                    completes_at: done,
                    size_bytes,
                });
                Ok(Self::snapshot_response(s, now))
            }
            Request::DeleteSnapshot { snapshot_id } => {
                self.snapshots.remove(snapshot_id);
                Ok(Response::Done)
            }
            Request::ControllerExpand {
                volume_id,
                size_bytes,
            } => {
                let Some(v) = self.volumes.get_mut(volume_id) else {
                    return Err(not_found(volume_id));
                };
                // Never shrinks: a smaller request leaves the disk as it is.
                v.size_bytes = v.size_bytes.max(*size_bytes);
                Ok(Response::Expanded {
                    size_bytes: v.size_bytes,
                })
            }
            Request::NodeExpand {
                volume_id,
                size_bytes,
                ..
            } => {
                let Some(v) = self.volumes.get(volume_id) else {
                    return Err(not_found(volume_id));
                };
                Ok(Response::Expanded {
                    size_bytes: v.size_bytes.min(*size_bytes).max(0),
                })
            }
            Request::NodePublish { .. }
            | Request::NodeUnpublish { .. }
            | Request::NodeUnstage { .. } => Ok(Response::Done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud() -> Cloud {
        let zones =
            [("a-0", "zone-a"), ("b-0", "zone-b")].map(|(n, z)| (n.to_string(), z.to_string()));
        Cloud::new(zones.into_iter().collect(), 1)
    }

    fn call(id: CallId, request: Request) -> Call {
        Call {
            id,
            caller: 0,
            request,
            timeout: None,
        }
    }

    #[test]
    fn a_retried_create_waits_for_the_first_and_returns_the_same_disk() {
        let p = Profile::built_in("reference").unwrap();
        let mut c = cloud();
        let req = Request::CreateVolume {
            name: "pvc-1".into(),
            size_bytes: 1 << 30,
            zone: "zone-a".into(),
            multi_node: false,
            snapshot: None,
        };
        let first = c.plan(&call(1, req.clone()), SimTime(0), &p, 1);
        assert_eq!(first.complete_at, SimTime(27_000));
        let retry = c.plan(&call(2, req.clone()), SimTime(11_000), &p, 1);
        assert_eq!(
            retry.complete_at,
            SimTime(27_000),
            "waits for the disk being created"
        );
        let a = c.complete(&req, None, SimTime::ZERO).unwrap();
        let b = c.complete(&req, None, SimTime::ZERO).unwrap();
        assert_eq!(a, b);
        assert_eq!(c.volumes().count(), 1);
    }

    #[test]
    fn attach_refuses_another_zone_and_the_attachment_limit() {
        let mut c = cloud();
        for (name, zone) in [("v1", "zone-a"), ("v2", "zone-a")] {
            let req = Request::CreateVolume {
                name: name.into(),
                size_bytes: 1,
                zone: zone.into(),
                multi_node: false,
                snapshot: None,
            };
            c.complete(&req, None, SimTime::ZERO).unwrap();
        }
        let (v1, v2) = (volume_id_for("v1"), volume_id_for("v2"));
        let cross = c.complete(
            &Request::Attach {
                volume_id: v1.clone(),
                node: "b-0".into(),
            },
            None,
            SimTime::ZERO,
        );
        assert!(
            cross
                .unwrap_err()
                .message
                .contains("InvalidVolume.ZoneMismatch")
        );
        c.complete(
            &Request::Attach {
                volume_id: v1,
                node: "a-0".into(),
            },
            None,
            SimTime::ZERO,
        )
        .unwrap();
        let full = c
            .complete(
                &Request::Attach {
                    volume_id: v2,
                    node: "a-0".into(),
                },
                None,
                SimTime::ZERO,
            )
            .unwrap_err();
        assert_eq!(full.code, GrpcCode::ResourceExhausted);
    }

    #[test]
    fn fail_first_fails_exactly_the_first_attempts() {
        let mut p = Profile::built_in("reference").unwrap();
        p.operations
            .get_mut(&Operation::CreateVolume)
            .unwrap()
            .fail_first = 2;
        let mut c = cloud();
        let req = Request::CreateVolume {
            name: "x".into(),
            size_bytes: 1,
            zone: "zone-a".into(),
            multi_node: false,
            snapshot: None,
        };
        let fails: Vec<bool> = (0..4)
            .map(|i| {
                c.plan(&call(i, req.clone()), SimTime(0), &p, 1)
                    .failure
                    .is_some()
            })
            .collect();
        assert_eq!(fails, vec![true, true, false, false]);
    }

    #[test]
    fn a_rate_limited_operation_is_refused_when_its_bucket_is_empty() {
        let mut p = Profile::built_in("reference").unwrap();
        p.operations
            .get_mut(&Operation::CreateVolume)
            .unwrap()
            .rate_limit = Some(super::super::operations::RateLimit {
            per_second: 0.5,
            burst: 2,
        });
        let mut c = cloud();
        let req = |n: u32| {
            call(
                u64::from(n),
                Request::CreateVolume {
                    name: format!("pvc-{n}"),
                    size_bytes: 1 << 30,
                    zone: "zone-a".into(),
                    multi_node: false,
                    snapshot: None,
                },
            )
        };
        let at = |ms: u64| SimTime(ms);
        assert!(c.plan(&req(1), at(0), &p, 1).failure.is_none());
        assert!(c.plan(&req(2), at(0), &p, 1).failure.is_none());
        let refused = c.plan(&req(3), at(0), &p, 1).failure.expect("bucket empty");
        assert_eq!(refused.code, GrpcCode::Internal);
        assert_eq!(
            refused.message,
            "Could not create volume \"pvc-3\": RequestLimitExceeded: Request limit exceeded."
        );
        assert!(
            c.plan(&req(4), at(1_000), &p, 1).failure.is_some(),
            "half a token"
        );
        assert!(
            c.plan(&req(5), at(2_000), &p, 1).failure.is_none(),
            "one token after 2 s"
        );
    }
}
