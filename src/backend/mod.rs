//! The latency-modelled world outside the controllers: control-plane
//! propagation, the CSI driver and the cloud it drives. Every figure here is
//! profile data, never a constant inside controller logic.

pub mod bill;
pub mod cloud;
pub mod latency;
pub mod machines;
pub mod operations;
pub mod pricing;
pub mod profile;

pub use cloud::{Call, CallId, Cloud, Reply, Request, Response};
pub use latency::Latency;
pub use operations::{GrpcCode, Operation, OperationProfile, RpcError};
pub use profile::{ControlPlane, Profile};
