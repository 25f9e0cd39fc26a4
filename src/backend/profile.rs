//! Built-in backend profiles. Every latency, timeout and retry interval a
//! controller uses comes from here (or a scenario's override), never from a
//! constant in controller code.

use super::latency::Latency;
use super::operations::{Operation, OperationProfile};
use super::pricing::Pricing;
use crate::engine::SimDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How fast the control plane propagates writes to watchers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlane {
    /// Delay from an API write to a controller's informer seeing it.
    pub watch_delay: Latency,
}

/// The CSI driver the cluster runs (one per profile).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriverProfile {
    /// Driver name, the StorageClass `provisioner` it serves.
    pub name: String,
    /// Node labels the driver's node plugin registers (its topology keys);
    /// kubelet puts them on every node, valued with the node's zone.
    pub topology_keys: Vec<String>,
    /// The key a provisioned PV's node affinity uses.
    pub pv_topology_key: String,
    /// Volumes one node may have attached (CSINode `allocatable.count`).
    pub max_volumes_per_node: u32,
    /// Sizes are rounded up to a multiple of this many bytes.
    pub size_granularity: i128,
    /// CSIDriver `attachRequired`: volumes go through VolumeAttachments
    /// and ControllerPublishVolume (false: no attach at all).
    pub attach_required: bool,
    /// Node capability STAGE_UNSTAGE_VOLUME: NodeStage once per node before
    /// NodePublish (false: NodePublish alone).
    pub stage_unstage: bool,
    /// Volume capabilities MULTI_NODE_*: ReadWriteMany and ReadOnlyMany
    /// claims are served (false: refused with InvalidArgument).
    pub multi_node: bool,
    /// Controller capability EXPAND_VOLUME and how it works.
    pub expansion: Expansion,
    /// Node capability EXPAND_VOLUME: a grown volume needs NodeExpandVolume
    /// (the filesystem) before the claim shows the new size.
    pub node_expansion: bool,
    /// How long the driver lets an attachment stay `attaching` before it
    /// detaches it and fails ControllerPublishVolume for a fresh retry
    /// (EBS driver: `stuckAttachingTimeout`, 90 s); `None`: waits forever.
    pub stuck_attach_timeout: Option<SimDuration>,
}

/// Whether and how a driver grows volumes (CSI `VolumeExpansion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expansion {
    /// No EXPAND_VOLUME capability: nothing resizes the volume.
    None,
    /// OFFLINE: ControllerExpandVolume only while the volume is attached
    /// nowhere; NodeExpandVolume at the next stage (a pod restart).
    Offline,
    /// ONLINE: grown while in use; kubelet grows the mounted filesystem.
    Online,
}

/// Timeouts and retry intervals of one CSI sidecar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SidecarTimers {
    /// `--timeout` of each CSI call.
    pub timeout: SimDuration,
    /// `--retry-interval-start`: first retry delay, doubled on each failure.
    pub retry_start: SimDuration,
    /// `--retry-interval-max`: cap of the retry delay.
    pub retry_max: SimDuration,
}

impl SidecarTimers {
    /// The delay before retry number `failures` (1-based), as client-go's
    /// exponential failure rate limiter computes it: start × 2^(failures−1),
    /// capped at max.
    pub fn backoff(&self, failures: u32) -> SimDuration {
        let shift = failures.saturating_sub(1).min(40);
        let ms = self.retry_start.as_millis().saturating_mul(1u64 << shift);
        SimDuration(ms.min(self.retry_max.as_millis()))
    }
}

/// The sidecars' knobs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sidecars {
    /// external-provisioner.
    pub provisioner: SidecarTimers,
    /// external-attacher.
    pub attacher: SidecarTimers,
    /// external-resizer.
    pub resizer: SidecarTimers,
    /// csi-snapshotter.
    pub snapshotter: SidecarTimers,
}

/// A named set of latencies, failure settings and sidecar knobs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// Profile name (`reference`, `aws-ebs`).
    pub name: String,
    /// Control-plane propagation.
    pub control_plane: ControlPlane,
    /// The CSI driver.
    pub driver: DriverProfile,
    /// Every operation's behaviour.
    pub operations: BTreeMap<Operation, OperationProfile>,
    /// Sidecar timeouts and retries.
    pub sidecars: Sidecars,
    /// What volumes cost.
    pub pricing: super::pricing::Pricing,
    /// Bytes of disks a zone can hold (unlimited when absent).
    pub zone_capacity: BTreeMap<String, i128>,
    /// The cloud refuses a second modification of a disk this soon after
    /// the last one began (EBS: 6 hours).
    pub modify_cooldown: Option<SimDuration>,
}

/// Names of the built-in profiles.
pub const BUILT_IN: [&str; 4] = ["reference", "aws-ebs", "aws-efs", "nfs"];

const GIB: i128 = 1 << 30;

fn ms(v: u64) -> SimDuration {
    SimDuration::from_millis(v)
}

fn lognormal(median: u64, p99: u64) -> OperationProfile {
    OperationProfile::with_latency(Latency::Lognormal {
        median: ms(median),
        p99: ms(p99),
    })
}

impl Profile {
    /// A built-in profile by name.
    ///
    /// `reference` reproduces the reference document's CSI flow: CreateVolume
    /// 27 s (T+3 s → T+30 s), attach 5 s (T+35 s → T+40 s), format 1 s,
    /// NodePublish 1 s; the provisioner timeout is raised to 60 s (the EBS
    /// Helm chart's value) so the 27 s call fits. Operations the document
    /// does not time take the `aws-ebs` figures.
    ///
    /// `aws-ebs` uses published figures where there are any
    /// (kubernetes-semantics.md §9, §12.13, §12.14): CreateVolume lognormal
    /// median 1.5 s / p99 4 s; attach and detach "within 1–4 seconds"
    /// (uniform 1–4 s); sidecars as in the EBS Helm chart v1.45 (timeouts
    /// 60 s; provisioner retry max 30 min, attacher 5 min); 26 attachments per
    /// node (m5.large: 28 − 1 ENI − 1 root). Assumptions where AWS publishes
    /// nothing: DeleteVolume median 300 ms / p99 1 s (one API call), NodeStage
    /// mount median 100 ms / p99 400 ms, format (mkfs.ext4 with lazy init)
    /// median 1 s / p99 3 s, NodePublish / NodeUnpublish (bind mounts) median
    /// 30 ms / p99 150 ms, NodeUnstage median 100 ms / p99 400 ms,
    /// ControllerExpandVolume (ModifyVolume until `optimizing`: "size changes
    /// usually take a few seconds") median 6 s / p99 25 s, NodeExpandVolume
    /// (resize2fs) median 500 ms / p99 3 s. EBS refuses a second
    /// modification within 6 hours of the last (ModifyVolume API). The watch
    /// delay (informer propagation) is a modelling assumption in both.
    pub fn built_in(name: &str) -> Option<Profile> {
        let aws_ops = || {
            let mut ops = BTreeMap::new();
            ops.insert(Operation::CreateVolume, lognormal(1500, 4000));
            ops.insert(Operation::DeleteVolume, lognormal(300, 1000));
            ops.insert(
                Operation::Attach,
                OperationProfile::with_latency(Latency::Uniform([ms(1000), ms(4000)])),
            );
            ops.insert(
                Operation::Detach,
                OperationProfile::with_latency(Latency::Uniform([ms(1000), ms(4000)])),
            );
            ops.insert(Operation::NodeStage, lognormal(100, 400));
            ops.insert(Operation::Format, lognormal(1000, 3000));
            ops.insert(Operation::NodePublish, lognormal(30, 150));
            ops.insert(Operation::NodeUnpublish, lognormal(30, 150));
            ops.insert(Operation::NodeUnstage, lognormal(100, 400));
            // A refused ModifyVolume (rate, offline) is one API call.
            ops.insert(
                Operation::ControllerExpand,
                OperationProfile {
                    failure_latency: Some(Latency::Lognormal {
                        median: ms(200),
                        p99: ms(1000),
                    }),
                    ..lognormal(6000, 25000)
                },
            );
            ops.insert(Operation::NodeExpand, lognormal(500, 3000));
            // CreateSnapshot returns as soon as EC2 has the point-in-time
            // snapshot; completing it (S3 upload) takes minutes to hours
            // with the data written (assumption: median 2 min, p99 15 min).
            ops.insert(Operation::CreateSnapshot, lognormal(500, 2000));
            ops.insert(Operation::SnapshotUpload, lognormal(120_000, 900_000));
            ops.insert(Operation::DeleteSnapshot, lognormal(300, 1000));
            ops
        };
        let helm = |retry_max_min: u64| SidecarTimers {
            timeout: SimDuration::from_secs(60),
            retry_start: SimDuration::from_secs(1),
            retry_max: SimDuration::from_secs(retry_max_min * 60),
        };
        match name {
            "reference" => {
                let mut operations = aws_ops();
                operations.insert(
                    Operation::CreateVolume,
                    OperationProfile::fixed(SimDuration::from_secs(27)),
                );
                operations.insert(
                    Operation::Attach,
                    OperationProfile::fixed(SimDuration::from_secs(5)),
                );
                operations.insert(
                    Operation::Detach,
                    OperationProfile::fixed(SimDuration::from_secs(5)),
                );
                operations.insert(
                    Operation::Format,
                    OperationProfile::fixed(SimDuration::from_secs(1)),
                );
                operations.insert(
                    Operation::NodePublish,
                    OperationProfile::fixed(SimDuration::from_secs(1)),
                );
                // "T+1s ControllerExpandVolume … T+30s Cloud completes
                // expansion"; "T+33s NodeExpandVolume … T+35s Filesystem
                // expanded".
                operations.insert(
                    Operation::ControllerExpand,
                    OperationProfile {
                        latency: Latency::Fixed(SimDuration::from_secs(29)),
                        ..operations[&Operation::ControllerExpand].clone()
                    },
                );
                operations.insert(
                    Operation::NodeExpand,
                    OperationProfile::fixed(SimDuration::from_secs(2)),
                );
                // "T+1s CSI Controller: CreateSnapshot … T+60s AWS completes
                // snapshot".
                operations.insert(
                    Operation::CreateSnapshot,
                    OperationProfile::fixed(SimDuration::from_secs(1)),
                );
                operations.insert(
                    Operation::SnapshotUpload,
                    OperationProfile::fixed(SimDuration::from_secs(59)),
                );
                Some(Profile {
                    name: name.to_string(),
                    control_plane: ControlPlane {
                        watch_delay: Latency::Fixed(ms(10)),
                    },
                    driver: DriverProfile {
                        name: "ebs.csi.aws.com".into(),
                        // The document's PV shows the driver's own zone key.
                        topology_keys: vec!["topology.ebs.csi.aws.com/zone".into()],
                        pv_topology_key: "topology.ebs.csi.aws.com/zone".into(),
                        max_volumes_per_node: 26,
                        size_granularity: GIB,
                        attach_required: true,
                        stage_unstage: true,
                        multi_node: false,
                        expansion: Expansion::Online,
                        node_expansion: true,
                        stuck_attach_timeout: Some(SimDuration::from_secs(90)),
                    },
                    operations,
                    sidecars: Sidecars {
                        provisioner: helm(5),
                        attacher: helm(5),
                        resizer: helm(30),
                        snapshotter: SidecarTimers {
                            timeout: SimDuration::from_secs(60),
                            retry_start: SimDuration::from_secs(1),
                            retry_max: SimDuration::from_secs(5 * 60),
                        },
                    },
                    pricing: Pricing::aws_ebs(),
                    zone_capacity: BTreeMap::new(),
                    modify_cooldown: Some(SimDuration::from_secs(6 * 3600)),
                })
            }
            "aws-ebs" => Some(Profile {
                name: name.to_string(),
                control_plane: ControlPlane {
                    watch_delay: Latency::Lognormal {
                        median: ms(15),
                        p99: ms(80),
                    },
                },
                driver: DriverProfile {
                    name: "ebs.csi.aws.com".into(),
                    topology_keys: vec![
                        "topology.ebs.csi.aws.com/zone".into(),
                        "topology.kubernetes.io/zone".into(),
                    ],
                    pv_topology_key: "topology.kubernetes.io/zone".into(),
                    max_volumes_per_node: 26,
                    size_granularity: GIB,
                    attach_required: true,
                    stage_unstage: true,
                    multi_node: false,
                    expansion: Expansion::Online,
                    node_expansion: true,
                    stuck_attach_timeout: Some(SimDuration::from_secs(90)),
                },
                operations: aws_ops(),
                sidecars: Sidecars {
                    provisioner: helm(30),
                    attacher: helm(5),
                    resizer: helm(30),
                    // No --timeout in the chart: the sidecar's 1 min.
                    snapshotter: helm(30),
                },
                pricing: Pricing::aws_ebs(),
                zone_capacity: BTreeMap::new(),
                modify_cooldown: Some(SimDuration::from_secs(6 * 3600)),
            }),
            // Amazon EFS through its CSI driver: regional file systems (no
            // topology), no attach (attachRequired: false), NodePublish
            // only (an NFS mount), ReadWriteMany. Dynamic provisioning makes
            // an access point. Latencies are assumptions: nothing is
            // published; an access point and an NFS mount are one API call
            // and one mount each.
            // Amazon EFS through its CSI driver: an access point per volume
            // (one API call), an NFS mount per pod. Latencies are
            // assumptions: nothing is published.
            "aws-efs" => Some(Self::shared_filesystem(
                name,
                "efs.csi.aws.com",
                [(500, 2000), (300, 1000), (400, 2000), (100, 400)],
                Pricing {
                    source: "EFS bills stored bytes, not capacity: not priced".into(),
                    default_type: "efs".into(),
                    types: BTreeMap::new(),
                },
            )),
            // An NFS server through csi-driver-nfs (`nfs.csi.k8s.io`): a
            // volume is a subdirectory of the share (the controller mounts
            // the share and mkdirs: assumption median 300 ms / p99 1.5 s;
            // deleting removes the tree, 500 ms / 5 s), an NFS mount per
            // pod (200 ms / 1 s). Capacity is not enforced, so not priced.
            "nfs" => Some(Self::shared_filesystem(
                name,
                "nfs.csi.k8s.io",
                [(300, 1500), (500, 5000), (200, 1000), (50, 300)],
                Pricing {
                    source: "an NFS share: capacity is not enforced nor priced".into(),
                    default_type: "nfs".into(),
                    types: BTreeMap::new(),
                },
            )),
            _ => None,
        }
    }

    /// A shared file system (EFS, NFS): no topology (volumes are not
    /// zonal, PVs get no node affinity), attachRequired false (no
    /// VolumeAttachment), no STAGE_UNSTAGE_VOLUME (NodePublishVolume alone
    /// mounts it), ReadWriteMany and ReadOnlyMany served, nothing to grow.
    /// `latencies` (median, p99 in ms): CreateVolume, DeleteVolume,
    /// NodePublish, NodeUnpublish.
    fn shared_filesystem(
        name: &str,
        driver: &str,
        latencies: [(u64, u64); 4],
        pricing: Pricing,
    ) -> Profile {
        let mut ops = BTreeMap::new();
        let [create, delete, publish, unpublish] = latencies;
        ops.insert(Operation::CreateVolume, lognormal(create.0, create.1));
        ops.insert(Operation::DeleteVolume, lognormal(delete.0, delete.1));
        ops.insert(Operation::NodePublish, lognormal(publish.0, publish.1));
        ops.insert(
            Operation::NodeUnpublish,
            lognormal(unpublish.0, unpublish.1),
        );
        for op in Operation::ALL {
            ops.entry(op)
                .or_insert_with(|| OperationProfile::fixed(SimDuration::ZERO));
        }
        let helm = |retry_max_min: u64| SidecarTimers {
            timeout: SimDuration::from_secs(60),
            retry_start: SimDuration::from_secs(1),
            retry_max: SimDuration::from_secs(retry_max_min * 60),
        };
        Profile {
            name: name.to_string(),
            control_plane: ControlPlane {
                watch_delay: Latency::Lognormal {
                    median: ms(15),
                    p99: ms(80),
                },
            },
            driver: DriverProfile {
                name: driver.into(),
                topology_keys: Vec::new(),
                pv_topology_key: String::new(),
                max_volumes_per_node: u32::MAX,
                size_granularity: 1,
                attach_required: false,
                stage_unstage: false,
                multi_node: true,
                expansion: Expansion::None,
                node_expansion: false,
                stuck_attach_timeout: None,
            },
            operations: ops,
            sidecars: Sidecars {
                provisioner: helm(5),
                attacher: helm(5),
                resizer: helm(30),
                snapshotter: helm(5),
            },
            pricing,
            zone_capacity: BTreeMap::new(),
            modify_cooldown: None,
        }
    }

    /// The behaviour of `op`.
    pub fn operation(&self, op: Operation) -> &OperationProfile {
        &self.operations[&op]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_covers_every_operation() {
        for name in BUILT_IN {
            let p = Profile::built_in(name).unwrap();
            for op in Operation::ALL {
                assert!(p.operations.contains_key(&op), "{name} lacks {op}");
                p.operation(op).validate().unwrap();
            }
        }
    }

    #[test]
    fn backoff_doubles_from_start_and_caps_at_max() {
        let t = SidecarTimers {
            timeout: SimDuration::from_secs(10),
            retry_start: SimDuration::from_secs(1),
            retry_max: SimDuration::from_secs(300),
        };
        let secs: Vec<u64> = (1..=11).map(|n| t.backoff(n).as_millis() / 1000).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }
}

/// A scenario's changes to whichever profile it runs with: they describe
/// the scenario's situation (a throttled API, a sidecar's timeout), so they
/// apply on top of the scenario's own profile and of one chosen on the
/// command line alike.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// Watch propagation.
    pub watch_delay: Option<Latency>,
    /// Per-operation changes.
    pub operations: BTreeMap<Operation, OperationOverride>,
    /// external-provisioner flags.
    pub provisioner: SidecarOverride,
    /// external-attacher flags.
    pub attacher: SidecarOverride,
    /// external-resizer flags.
    pub resizer: SidecarOverride,
    /// csi-snapshotter flags.
    pub snapshotter: SidecarOverride,
    /// The driver's expansion capability.
    pub expansion: Option<Expansion>,
    /// Driver name.
    pub driver_name: Option<String>,
    /// Attachments per node.
    pub max_volumes_per_node: Option<u32>,
    /// Zone capacity limits, in bytes.
    pub zone_capacity: BTreeMap<String, i128>,
}

/// Changes to one operation; `None` keeps the profile's value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperationOverride {
    /// Latency.
    pub latency: Option<Latency>,
    /// Latency of failing attempts.
    pub failure_latency: Option<Latency>,
    /// Failure probability.
    pub failure_rate: Option<f64>,
    /// Attempts that fail first.
    pub fail_first: Option<u32>,
    /// Error code.
    pub error: Option<super::operations::GrpcCode>,
    /// Error message.
    pub message: Option<String>,
    /// API rate limit.
    pub rate_limit: Option<super::operations::RateLimit>,
    /// Attempts that hang first (attach).
    pub stuck_first: Option<u32>,
}

/// Changes to a sidecar's flags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SidecarOverride {
    /// `--timeout`.
    pub timeout: Option<SimDuration>,
    /// `--retry-interval-start`.
    pub retry_start: Option<SimDuration>,
    /// `--retry-interval-max`.
    pub retry_max: Option<SimDuration>,
}

impl OperationOverride {
    /// Applies the change to `p`.
    pub fn apply(&self, p: &mut OperationProfile) {
        if let Some(l) = &self.latency {
            p.latency = l.clone();
        }
        if let Some(l) = &self.failure_latency {
            p.failure_latency = Some(l.clone());
        }
        if let Some(r) = self.failure_rate {
            p.failure_rate = r;
        }
        if let Some(n) = self.fail_first {
            p.fail_first = n;
        }
        if let Some(e) = self.error {
            p.error = e;
        }
        if let Some(m) = &self.message {
            p.message = m.clone();
        }
        if let Some(n) = self.stuck_first {
            p.stuck_first = n;
        }
        if let Some(r) = &self.rate_limit {
            p.rate_limit = Some(r.clone());
        }
    }
}

impl SidecarOverride {
    fn apply(&self, t: &mut SidecarTimers) {
        t.timeout = self.timeout.unwrap_or(t.timeout);
        t.retry_start = self.retry_start.unwrap_or(t.retry_start);
        t.retry_max = self.retry_max.unwrap_or(t.retry_max);
    }
}

impl Profile {
    /// This profile with a scenario's overrides applied.
    pub fn with(mut self, o: &Overrides) -> Profile {
        if let Some(w) = &o.watch_delay {
            self.control_plane.watch_delay = w.clone();
        }
        for (op, change) in &o.operations {
            if let Some(p) = self.operations.get_mut(op) {
                change.apply(p);
            }
        }
        o.provisioner.apply(&mut self.sidecars.provisioner);
        o.attacher.apply(&mut self.sidecars.attacher);
        o.resizer.apply(&mut self.sidecars.resizer);
        o.snapshotter.apply(&mut self.sidecars.snapshotter);
        if let Some(e) = o.expansion {
            self.driver.expansion = e;
        }
        if let Some(n) = &o.driver_name {
            self.driver.name = n.clone();
        }
        if let Some(m) = o.max_volumes_per_node {
            self.driver.max_volumes_per_node = m;
        }
        self.zone_capacity
            .extend(o.zone_capacity.iter().map(|(z, b)| (z.clone(), *b)));
        self
    }
}
