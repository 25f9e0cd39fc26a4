//! The cloud and CSI operations the controllers call, how long each takes
//! and how it fails: all profile data.

use super::latency::Latency;
use crate::engine::SimDuration;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A backend or CSI operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// CSI CreateVolume (the cloud creates a disk).
    CreateVolume,
    /// CSI DeleteVolume.
    DeleteVolume,
    /// CSI ControllerPublishVolume (the cloud attaches the disk to a node).
    Attach,
    /// CSI ControllerUnpublishVolume (detach).
    Detach,
    /// CSI NodeStageVolume without formatting (mount to the global path).
    NodeStage,
    /// mkfs inside NodeStageVolume, the first time a volume is staged.
    Format,
    /// CSI NodePublishVolume (bind mount into the pod).
    NodePublish,
    /// CSI NodeUnpublishVolume.
    NodeUnpublish,
    /// CSI NodeUnstageVolume.
    NodeUnstage,
    /// CSI ControllerExpandVolume (the cloud grows the disk).
    ControllerExpand,
    /// CSI NodeExpandVolume (the node grows the filesystem).
    NodeExpand,
    /// CSI CreateSnapshot (the cloud starts a point-in-time snapshot).
    CreateSnapshot,
    /// How long the cloud takes to finish a snapshot after CreateSnapshot
    /// (EBS: `pending` until every block is in S3, then `completed`).
    SnapshotUpload,
    /// CSI DeleteSnapshot.
    DeleteSnapshot,
}

impl Operation {
    /// Every operation, in a fixed order.
    pub const ALL: [Operation; 14] = [
        Operation::CreateVolume,
        Operation::DeleteVolume,
        Operation::Attach,
        Operation::Detach,
        Operation::NodeStage,
        Operation::Format,
        Operation::NodePublish,
        Operation::NodeUnpublish,
        Operation::NodeUnstage,
        Operation::ControllerExpand,
        Operation::NodeExpand,
        Operation::CreateSnapshot,
        Operation::SnapshotUpload,
        Operation::DeleteSnapshot,
    ];

    /// Parses a CSI name (`CreateVolume`, `ControllerPublishVolume`) or the
    /// profile's snake_case name (`create_volume`, `attach`).
    pub fn parse(s: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| {
            op.csi_name() == s
                || serde_json::to_value(op)
                    .ok()
                    .and_then(|v| v.as_str().map(|n| n == s))
                    .unwrap_or(false)
        })
    }

    /// The CSI name, as logs and traces show it.
    pub fn csi_name(self) -> &'static str {
        match self {
            Operation::CreateVolume => "CreateVolume",
            Operation::DeleteVolume => "DeleteVolume",
            Operation::Attach => "ControllerPublishVolume",
            Operation::Detach => "ControllerUnpublishVolume",
            Operation::NodeStage => "NodeStageVolume",
            Operation::Format => "NodeStageVolume/format",
            Operation::NodePublish => "NodePublishVolume",
            Operation::NodeUnpublish => "NodeUnpublishVolume",
            Operation::NodeUnstage => "NodeUnstageVolume",
            Operation::ControllerExpand => "ControllerExpandVolume",
            Operation::NodeExpand => "NodeExpandVolume",
            Operation::CreateSnapshot => "CreateSnapshot",
            Operation::SnapshotUpload => "CreateSnapshot/upload",
            Operation::DeleteSnapshot => "DeleteSnapshot",
        }
    }
}

impl fmt::Display for Operation {
    // `pad`, not `write_str`: a width pads it as it pads a str.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.csi_name())
    }
}

/// gRPC status codes a CSI call can end with.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum GrpcCode {
    Canceled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
}

impl fmt::Display for GrpcCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A failed call, printed as gRPC prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// Status code.
    pub code: GrpcCode,
    /// Description.
    pub message: String,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rpc error: code = {} desc = {}", self.code, self.message)
    }
}

/// How one operation behaves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationProfile {
    /// How long it takes.
    pub latency: Latency,
    /// Latency of a failing attempt (default: the same as `latency`);
    /// throttling, for one, fails fast.
    #[serde(default)]
    pub failure_latency: Option<Latency>,
    /// Probability that an attempt fails (drawn per attempt from its own stream).
    #[serde(default)]
    pub failure_rate: f64,
    /// The first this-many attempts on each object fail, whatever the rate:
    /// for scripting a failure deterministically.
    #[serde(default)]
    pub fail_first: u32,
    /// Code of a failure.
    #[serde(default = "internal")]
    pub error: GrpcCode,
    /// Description of a failure.
    #[serde(default = "default_message")]
    pub message: String,
    /// The cloud API's request rate limit for this operation, if any.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Attach only: the first this-many attempts on each volume and node
    /// hang in the cloud (the EBS attachment stays `attaching`) until the
    /// driver gives up on them (`DriverProfile::stuck_attach_timeout`).
    #[serde(default)]
    pub stuck_first: u32,
}

/// A token bucket, as cloud APIs throttle: `burst` calls at once, then
/// `per_second` on average. A call finding the bucket empty is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Refill rate (calls per second).
    pub per_second: f64,
    /// Bucket size.
    pub burst: u32,
}

fn internal() -> GrpcCode {
    GrpcCode::Internal
}

fn default_message() -> String {
    "injected failure".into()
}

impl OperationProfile {
    /// An operation that always takes `d` and never fails.
    pub fn fixed(d: SimDuration) -> Self {
        OperationProfile {
            latency: Latency::Fixed(d),
            failure_latency: None,
            failure_rate: 0.0,
            fail_first: 0,
            error: GrpcCode::Internal,
            message: default_message(),
            rate_limit: None,
            stuck_first: 0,
        }
    }

    /// An operation with `latency` that never fails.
    pub fn with_latency(latency: Latency) -> Self {
        OperationProfile {
            latency,
            ..Self::fixed(SimDuration::ZERO)
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        self.latency.validate()?;
        if let Some(l) = &self.failure_latency {
            l.validate()?;
        }
        if let Some(r) = &self.rate_limit
            && (r.per_second <= 0.0 || !r.per_second.is_finite() || r.burst == 0)
        {
            return Err("rate_limit needs per_second > 0 and burst ≥ 1".into());
        }
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(format!(
                "failure_rate {} is not a probability in [0, 1]",
                self.failure_rate
            ));
        }
        Ok(())
    }
}
