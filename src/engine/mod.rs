//! The generic discrete-event kernel. It knows nothing of Kubernetes: integer
//! millisecond time, a `(time, seq)` ordered queue with lazy cancellation, and
//! seeded random streams keyed by what each draw is for.

pub mod prefetch;
pub mod queue;
pub mod rng;
pub mod time;

pub use queue::{EventId, EventQueue};
pub use rng::{Rng, StreamKey, StreamPrefix, stable_hash64};
pub use time::{SimDuration, SimTime, Ticks};
