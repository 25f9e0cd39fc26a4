//! The latency-modelled world outside the controllers: control-plane
//! propagation now, cloud and CSI operations as they are modelled. Every
//! figure here is profile data, never a constant inside controller logic.

pub mod latency;
pub mod profile;

pub use latency::Latency;
pub use profile::{ControlPlane, Profile};
