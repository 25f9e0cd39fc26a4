//! A cycle's shortcut past the filters: a node whose snapshot row shows
//! that it fits is taken without running them. Only a yes is ever taken
//! from the shortcut; for any other node the filters run in full, so the
//! refusals the FailedScheduling message counts come from them alone.
//!
//! What depends on a node's labels (node affinity, the volumes' topology,
//! hard spread constraints on a label's domains) is asked once per class of
//! nodes alike but for their hostname, of the first node of the class the
//! cycle looks at. So the shortcut is taken only by cycles whose filters
//! read nothing else of a node: no claim promised to a node or matched to
//! static volumes, nothing on the hostname label, no ReadWriteOncePod
//! conflict.

use super::filters::{self, Cycle};
use super::node_facts::NodeFacts;
use super::snapshot::{HAS_CPU, HAS_MEMORY, HAS_PODS, Row, SLOW};
use super::volume_binding;
use crate::api::Pod;
use crate::api::node::LABEL_HOSTNAME;

/// One cycle's shortcut.
pub struct QuickFit<'a> {
    pod: &'a Pod,
    cycle: &'a Cycle<'a>,
    has_node_constraints: bool,
    /// Per class: whether the label filters pass (`None`: not asked yet).
    classes: Vec<Option<bool>>,
    /// Per class: whether a bound volume's node affinity rules the class
    /// out (`None`: not asked yet).
    conflicts: Vec<Option<bool>>,
}

impl<'a> QuickFit<'a> {
    /// The shortcut for a cycle of `pod`, over a snapshot of `classes`
    /// classes; `None` when its filters read more of a node than its row
    /// and its labels but the hostname.
    pub fn new(pod: &'a Pod, cycle: &'a Cycle<'a>, classes: usize) -> Option<Self> {
        let beyond = cycle.rwop_conflict
            || filters::node_constraints_read(pod, LABEL_HOSTNAME)
            || cycle
                .claims
                .reads_beyond_labels_but(super::snapshot::hostname())
            || cycle.spread.is_some_and(|s| s.filters_on(LABEL_HOSTNAME));
        (!beyond).then(|| QuickFit {
            pod,
            cycle,
            has_node_constraints: filters::has_node_constraints(pod),
            classes: vec![None; classes],
            conflicts: vec![None; classes],
        })
    }

    /// VolumeBinding's NodeConflict for the node of `row`
    /// ([`volume_binding::PodClaims::node_conflict`]), asked once per
    /// class: a volume's node affinity reads the node's labels, and with
    /// the shortcut on it does not read the hostname, the one label a
    /// class leaves out. A cycle that walks past the two nodes in three a
    /// zonal volume rules out reads none of their facts but the first of
    /// each class. `facts` gives the node's facts.
    pub fn node_conflict<'f>(&mut self, row: &Row, facts: impl FnOnce() -> &'f NodeFacts) -> bool {
        let claims = self.cycle.claims;
        let Some(known) = self.conflicts.get_mut(usize::from(row.class)) else {
            // A node of no class.
            return claims.node_conflict(facts());
        };
        *known.get_or_insert_with(|| claims.node_conflict(facts()))
    }

    /// True when the node of `row` surely passes every filter; false when
    /// they must run to tell. `facts` gives the node's facts, read only
    /// for the first node of its class.
    pub fn fits<'f>(&mut self, row: &Row, facts: impl FnOnce() -> &'f NodeFacts) -> bool {
        if row.flags & SLOW != 0 {
            return false;
        }
        // A class already found to fail its label filters fails whatever
        // the node's numbers: a cycle that walks past the two nodes in
        // three a zonal volume rules out does no arithmetic for them.
        let class = usize::from(row.class);
        if self.classes.get(class) == Some(&Some(false)) {
            return false;
        }
        // NodeResourcesFit.
        let (cpu, mem) = self.cycle.requests;
        let over = |flag: u8, used: i64, request: i128, alloc: i64| {
            row.flags & flag != 0 && request > 0 && i128::from(used) + request > i128::from(alloc)
        };
        if (row.flags & HAS_PODS != 0 && row.pods >= row.alloc_pods)
            || over(HAS_CPU, row.used.0, cpu, row.alloc.0)
            || over(HAS_MEMORY, row.used.1, mem, row.alloc.1)
        {
            return false;
        }
        // NodeVolumeLimits: even if all of the pod's volumes are new there.
        let volumes = row.csi_volumes as usize + self.cycle.csi_volumes.len();
        if volumes > self.cycle.max_volumes as usize {
            return false;
        }
        // NodeAffinity, VolumeBinding, PodTopologySpread: by the class.
        if let Some(known) = self.classes[class] {
            return known;
        }
        let f = facts();
        let fits = (!self.has_node_constraints
            || filters::node_affinity_matches(self.pod, f.node()))
            && volume_binding::filter(self.cycle.claims, f).is_empty()
            && self.cycle.spread.is_none_or(|s| s.filter(f).is_none());
        self.classes[class] = Some(fits);
        fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AnyObject;
    use crate::api::meta::Name;
    use crate::cluster::ObjectSet;
    use crate::cluster::objects::Shared;
    use crate::controllers::scheduler::filters::NodeUsage;
    use crate::controllers::scheduler::node_facts::NodeFactsCache;
    use crate::controllers::scheduler::snapshot::Snapshot;
    use proptest::prelude::*;
    use serde_json::json;

    /// A node as a test describes it.
    #[derive(Clone, Debug)]
    struct TestNode {
        cpu: Option<u32>,
        pods: Option<u32>,
        used_cpu: u32,
        used_pods: u32,
        volumes: u32,
        zone: bool,
        unschedulable: bool,
        tainted: bool,
    }

    fn test_node() -> impl Strategy<Value = TestNode> {
        (
            proptest::option::of(0u32..4000),
            proptest::option::of(0u32..4),
            (0u32..4000, 0u32..4, 0u32..3),
            (any::<bool>(), any::<bool>(), any::<bool>()),
        )
            .prop_map(|(cpu, pods, (used_cpu, used_pods, volumes), flags)| {
                let (zone, unschedulable, tainted) = flags;
                TestNode {
                    cpu,
                    pods,
                    used_cpu,
                    used_pods,
                    volumes,
                    zone,
                    unschedulable,
                    tainted,
                }
            })
    }

    /// The nodes in a facts cache, usage and snapshot.
    fn cluster(nodes: &[TestNode]) -> (NodeFactsCache, NodeUsage, Snapshot) {
        let (mut facts, mut usage) = (NodeFactsCache::default(), NodeUsage::default());
        for (i, n) in nodes.iter().enumerate() {
            let name = format!("node-{i}");
            let mut allocatable = serde_json::Map::new();
            if let Some(cpu) = n.cpu {
                allocatable.insert("cpu".into(), json!(format!("{cpu}m")));
            }
            if let Some(pods) = n.pods {
                allocatable.insert("pods".into(), json!(pods.to_string()));
            }
            let zone = if n.zone { "a" } else { "b" };
            let taints = match n.tainted {
                true => json!([{ "key": "k", "effect": "NoSchedule" }]),
                false => json!([]),
            };
            let node: crate::api::Node = serde_json::from_value(json!({
                "metadata": { "name": name, "labels": {
                    "kubernetes.io/hostname": name,
                    "topology.kubernetes.io/zone": zone,
                } },
                "spec": { "unschedulable": n.unschedulable, "taints": taints },
                "status": { "allocatable": allocatable },
            }))
            .expect("a node");
            let shared = Shared::new(AnyObject::from(node)).expect("a node");
            facts.put(shared);
            let entry = usage.entry(Name::new(&name));
            entry.requested = (i128::from(n.used_cpu), 0, n.used_pods);
            for v in 0..n.volumes {
                let handle = Name::new(&format!("vol-{v}"));
                (entry.csi_volumes).insert(filters::CsiVolumeId::Handle(handle), 1);
            }
        }
        facts.rank();
        let walk: Vec<usize> = (0..nodes.len())
            .map(|i| facts.slot(Name::new(&format!("node-{i}"))).expect("a slot"))
            .collect();
        let mut snapshot = Snapshot::default();
        snapshot.rebuild(&walk, &facts, &usage);
        (facts, usage, snapshot)
    }

    fn pod(cpu: u32, zone: Option<&str>) -> Pod {
        let selector = zone.map(|z| json!({ "topology.kubernetes.io/zone": z }));
        serde_json::from_value(json!({
            "metadata": { "name": "p", "namespace": "default" },
            "spec": {
                "nodeSelector": selector.unwrap_or(json!({})),
                "containers": [{
                    "name": "c",
                    "image": "app:1",
                    "resources": { "requests": { "cpu": format!("{cpu}m") } },
                }],
            },
            "status": {},
        }))
        .expect("a pod")
    }

    /// Whether the shortcut takes each node, and whether the filters pass it.
    fn verdicts(nodes: &[TestNode], pod: &Pod, volumes: usize, max: u32) -> Vec<(bool, bool)> {
        let (facts, usage, snapshot) = cluster(nodes);
        let cache = ObjectSet::default();
        let claims = volume_binding::PodClaims::of(pod, &cache);
        let csi: Vec<filters::CsiVolumeId> = (0..volumes)
            .map(|v| filters::CsiVolumeId::Handle(Name::new(&format!("new-{v}"))))
            .collect();
        let cycle = Cycle {
            requests: filters::pod_requests(pod),
            csi_volumes: &csi,
            claims: &claims,
            rwop_conflict: false,
            max_volumes: max,
            spread: None,
        };
        let mut quick = QuickFit::new(pod, &cycle, snapshot.classes()).expect("a shortcut");
        (0..snapshot.len())
            .map(|pos| {
                let f = facts.at(snapshot.slot(pos));
                let takes = quick.fits(snapshot.row(pos), || f);
                (takes, filters::filter(pod, f, &usage, &cycle).is_none())
            })
            .collect()
    }

    proptest! {
        /// The shortcut never takes a node the filters turn down.
        #[test]
        fn the_shortcut_takes_only_nodes_that_fit(
            nodes in proptest::collection::vec(test_node(), 1..8),
            cpu in 0u32..3000,
            zone in proptest::option::of(prop_oneof![Just("a"), Just("b"), Just("c")]),
            volumes in 0usize..3,
            max in 0u32..5,
        ) {
            for (takes, fits) in verdicts(&nodes, &pod(cpu, zone), volumes, max) {
                prop_assert!(!takes || fits);
            }
        }
    }

    /// A plain node with room is taken, without the filters; a tainted,
    /// full or other-zone one is left to them.
    #[test]
    fn the_shortcut_takes_plain_nodes_with_room() {
        let plain = TestNode {
            cpu: Some(2000),
            pods: Some(3),
            used_cpu: 500,
            used_pods: 1,
            volumes: 1,
            zone: true,
            unschedulable: false,
            tainted: false,
        };
        let nodes = [
            plain.clone(),
            TestNode {
                tainted: true,
                ..plain.clone()
            },
            TestNode {
                used_cpu: 1900,
                ..plain.clone()
            },
            TestNode {
                zone: false,
                ..plain.clone()
            },
        ];
        let takes: Vec<bool> = verdicts(&nodes, &pod(200, Some("a")), 1, 2)
            .into_iter()
            .map(|(takes, _)| takes)
            .collect();
        assert_eq!(takes, [true, false, false, false]);
    }
}
