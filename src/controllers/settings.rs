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
    /// kube-scheduler.
    #[serde(default)]
    pub scheduler: SchedulerSettings,
}

/// kube-scheduler settings (component config and VolumeBindingArgs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// `VolumeBindingArgs.bindTimeoutSeconds`: how long PreBind waits for
    /// the claims to be bound (default 600 s).
    #[serde(default = "six_hundred_seconds")]
    pub bind_timeout: SimDuration,
    /// PreBind's poll interval (1 s in binder.go).
    #[serde(default = "one_second")]
    pub bind_poll: SimDuration,
    /// `podInitialBackoffSeconds` (1 s).
    #[serde(default = "one_second")]
    pub pod_initial_backoff: SimDuration,
    /// `podMaxBackoffSeconds` (10 s).
    #[serde(default = "ten_seconds")]
    pub pod_max_backoff: SimDuration,
    /// `percentageOfNodesToScore`: on 100 nodes or more, a cycle stops
    /// filtering once it has found this share of the nodes feasible (at
    /// least 100). 0, the default, is adaptive: 50 % less one point per
    /// 125 nodes, at least 5 %. 100 filters every node.
    #[serde(default)]
    pub percentage_of_nodes_to_score: u32,
}

fn six_hundred_seconds() -> SimDuration {
    SimDuration::from_secs(600)
}

fn one_second() -> SimDuration {
    SimDuration::from_secs(1)
}

fn ten_seconds() -> SimDuration {
    SimDuration::from_secs(10)
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            bind_timeout: six_hundred_seconds(),
            bind_poll: one_second(),
            pod_initial_backoff: one_second(),
            pod_max_backoff: ten_seconds(),
            percentage_of_nodes_to_score: 0,
        }
    }
}

impl SchedulerSettings {
    /// `calculateBackoffDuration`: initial × 2^(attempts−1), capped.
    pub fn backoff(&self, attempts: u32) -> SimDuration {
        if attempts == 0 {
            return SimDuration::ZERO;
        }
        let shift = (attempts - 1).min(40);
        let ms = self
            .pod_initial_backoff
            .as_millis()
            .saturating_mul(1u64 << shift);
        SimDuration(ms.min(self.pod_max_backoff.as_millis()))
    }
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
