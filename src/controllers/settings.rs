//! Kubernetes timers are component settings with the real defaults,
//! overridable per scenario under `[components.<name>]`.

use crate::engine::SimDuration;
use serde::{Deserialize, Serialize};

/// Settings of every component, as `[components]` in a scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSettings {
    /// The PV controller (kube-controller-manager).
    #[serde(default)]
    pub pv_controller: PvControllerSettings,
}

/// PV controller settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PvControllerSettings {
    /// `--pvclaimbinder-sync-period`: how often every claim and volume is
    /// re-synced (default 15 s, `config/v1alpha1/defaults.go`).
    #[serde(default = "fifteen_seconds")]
    pub sync_period: SimDuration,
}

fn fifteen_seconds() -> SimDuration {
    SimDuration::from_secs(15)
}

impl Default for PvControllerSettings {
    fn default() -> Self {
        PvControllerSettings {
            sync_period: fifteen_seconds(),
        }
    }
}
