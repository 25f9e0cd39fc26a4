//! Built-in backend profiles and scenario overrides.

use super::latency::Latency;
use crate::engine::SimDuration;
use serde::{Deserialize, Serialize};

/// How fast the control plane propagates writes to watchers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlane {
    /// Delay from an API write to a controller's informer seeing it.
    pub watch_delay: Latency,
}

/// A named set of latencies.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// Profile name (`reference`, `aws-ebs`).
    pub name: String,
    /// Control-plane propagation.
    pub control_plane: ControlPlane,
}

/// Names of the built-in profiles.
pub const BUILT_IN: [&str; 2] = ["reference", "aws-ebs"];

impl Profile {
    /// A built-in profile by name.
    ///
    /// The watch delays are modelling assumptions, not published figures:
    /// informer propagation on a healthy control plane is typically tens of
    /// milliseconds. `reference` keeps it fixed so the reference document's
    /// timelines read cleanly; `aws-ebs` lets it vary.
    pub fn built_in(name: &str) -> Option<Profile> {
        let control_plane = match name {
            "reference" => ControlPlane {
                watch_delay: Latency::Fixed(SimDuration(10)),
            },
            "aws-ebs" => ControlPlane {
                watch_delay: Latency::Lognormal {
                    median: SimDuration(15),
                    p99: SimDuration(80),
                },
            },
            _ => return None,
        };
        Some(Profile {
            name: name.to_string(),
            control_plane,
        })
    }
}
