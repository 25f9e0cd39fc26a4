//! The Score plugins of the 1.33 default profile that tell nodes apart for
//! storsim's pods, each normalised to 0–100 and weighted as the profile
//! weighs it:
//!
//! - NodeResourcesFit, LeastAllocated (weight 1): free share of CPU and
//!   memory after the pod, counting every container without a request as
//!   100m CPU / 200 MB (`NonZeroRequested`).
//! - NodeResourcesBalancedAllocation (weight 1): how evenly CPU and memory
//!   would be used, from actual requests.
//! - PodTopologySpread (weight 2, [`super::topology_spread`]): the pod's
//!   ScheduleAnyway constraints, or the system defaults for pods a
//!   StatefulSet selects: fewer matching pods on the node and in its zone
//!   score higher, which spreads replicas, and so their volumes, across
//!   zones.
//!
//! TaintToleration, NodeAffinity (no preferred terms) and InterPodAffinity
//! (no affinity terms) score every node alike here. ImageLocality is not
//! modelled: nodes do not report their images.

use super::filters::{self, NodeUsage};
use super::node_facts::NodeFacts;
use super::snapshot::Place;
use super::topology_spread::Spread;
use crate::api::Pod;
use crate::api::meta::Name;
use rustc_hash::FxHashMap;

/// `framework.MaxNodeScore`.
const MAX_NODE_SCORE: i64 = 100;

/// `DefaultMilliCPURequest`: what scoring counts for a container without a
/// CPU request.
pub const DEFAULT_MILLI_CPU: i128 = 100;
/// `DefaultMemoryRequest` (200 MB), likewise for memory.
pub const DEFAULT_MEMORY: i128 = 200 * 1024 * 1024;

/// CPU (milli) and memory a pod counts for in scoring: each container's
/// request, or the defaults where it has none (`GetNonzeroRequests`).
pub fn non_zero_requests(pod: &Pod) -> (i128, i128) {
    pod.spec.containers.iter().fold((0, 0), |(c, m), k| {
        let r = &k.resources.requests;
        let cpu = r
            .get("cpu")
            .map(|q| q.milli_value())
            .unwrap_or(DEFAULT_MILLI_CPU);
        let mem = r.get("memory").map(|q| q.value()).unwrap_or(DEFAULT_MEMORY);
        (c + cpu, m + mem)
    })
}

/// What the scores read of a node: its name, its labels and its resources.
/// A cycle scores from the snapshot's rows ([`Place`]); from the facts and
/// usage ([`NodeFacts`]) only when a row cannot hold a node's numbers.
pub trait Scored {
    /// The node's name.
    fn name(&self) -> Name;
    /// The value of label `key`.
    fn label(&self, key: Name) -> Option<Name>;
    /// Allocatable, non-zero requested and requested CPU and memory.
    fn resources(&self, usage: &NodeUsage) -> Resources;
    /// The node's class (nodes of a class have the same labels but for
    /// their hostname), if known.
    fn class(&self) -> Option<usize> {
        None
    }
}

/// A node's CPU (milli) and memory (bytes), as the two resource plugins
/// read them.
#[derive(Clone, Copy, Debug)]
pub struct Resources {
    /// Allocatable (0 when not reported).
    pub alloc: (i128, i128),
    /// Requested by the node's pods, as `NonZeroRequested` counts.
    pub non_zero: (i128, i128),
    /// Requested by the node's pods.
    pub requested: (i128, i128),
}

impl Scored for &NodeFacts {
    fn name(&self) -> Name {
        self.name
    }

    fn label(&self, key: Name) -> Option<Name> {
        NodeFacts::label(self, key)
    }

    fn resources(&self, usage: &NodeUsage) -> Resources {
        let entry = self.usage(usage);
        let (used_cpu, used_mem, _) = entry.map_or((0, 0, 0), |e| e.requested);
        Resources {
            alloc: (self.cpu_milli.unwrap_or(0), self.memory.unwrap_or(0)),
            non_zero: entry.map_or((0, 0), |e| e.non_zero),
            requested: (used_cpu, used_mem),
        }
    }
}

impl Scored for Place<'_> {
    fn name(&self) -> Name {
        Place::name(self)
    }

    fn label(&self, key: Name) -> Option<Name> {
        Place::label(self, key)
    }

    fn class(&self) -> Option<usize> {
        Some(usize::from(self.row().class))
    }

    fn resources(&self, _: &NodeUsage) -> Resources {
        let r = self.row();
        let wide = |(a, b): (i64, i64)| (i128::from(a), i128::from(b));
        Resources {
            alloc: wide(r.alloc),
            non_zero: wide(r.non_zero),
            requested: wide(r.used),
        }
    }
}

/// The weighted total score of each feasible node, in the order given.
pub fn total_scores<N: Scored>(
    pod: &Pod,
    feasible: &[N],
    usage: &NodeUsage,
    spread: Option<&Spread>,
) -> Vec<i64> {
    let spread = spread.and_then(|s| s.scores(feasible));
    // The pod's side, once (PreScore), not once per node.
    let requests = PodRequests {
        non_zero: non_zero_requests(pod),
        actual: filters::pod_requests(pod),
    };
    // The two resource scores are a function of the node's numbers, and
    // a cluster's nodes share a few sizes and, with like pods, a few
    // usages: each distinct set of numbers is scored once per cycle (two
    // divisions and two floating-point ones), and found again by its six
    // numbers, hashed as 64-bit words when they fit.
    let mut scored: FxHashMap<[i64; 6], (i64, i64)> = FxHashMap::default();
    feasible
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let numbers = n.resources(usage);
            let (least, balanced) = match numbers.narrow() {
                Some(key) => *scored
                    .entry(key)
                    .or_insert_with(|| resource_scores(&requests, &numbers)),
                None => resource_scores(&requests, &numbers),
            };
            least + balanced + 2 * spread.as_ref().map_or(0, |s| s[i])
        })
        .collect()
}

impl Resources {
    /// The six numbers as 64-bit words, when they all fit.
    fn narrow(&self) -> Option<[i64; 6]> {
        let (a, b, c) = (self.alloc, self.non_zero, self.requested);
        let mut out = [0; 6];
        for (o, v) in out.iter_mut().zip([a.0, a.1, b.0, b.1, c.0, c.1]) {
            *o = i64::try_from(v).ok()?;
        }
        Some(out)
    }
}

/// What a pod requests, as the two plugins count it.
struct PodRequests {
    /// [`non_zero_requests`], for LeastAllocated.
    non_zero: (i128, i128),
    /// [`filters::pod_requests`], for BalancedAllocation.
    actual: (i128, i128),
}

/// (LeastAllocated, BalancedAllocation) for a pod requesting `pod` on a
/// node with `node`'s resources.
fn resource_scores(pod: &PodRequests, node: &Resources) -> (i64, i64) {
    let (alloc_cpu, alloc_mem) = node.alloc;
    // LeastAllocated, on non-zero requests.
    let (nz_cpu, nz_mem) = node.non_zero;
    let (pod_cpu, pod_mem) = pod.non_zero;
    let least_allocated =
        (least(nz_cpu + pod_cpu, alloc_cpu) + least(nz_mem + pod_mem, alloc_mem)) / 2;
    // BalancedAllocation, on actual requests: 1 − the standard deviation of
    // the two fractions (|a − b| / 2 for two resources).
    let (used_cpu, used_mem) = node.requested;
    let (req_cpu, req_mem) = pod.actual;
    let fc = fraction(used_cpu + req_cpu, alloc_cpu);
    let fm = fraction(used_mem + req_mem, alloc_mem);
    let balanced = ((1.0 - (fc - fm).abs() / 2.0) * MAX_NODE_SCORE as f64) as i64;
    (least_allocated, balanced)
}

/// LeastAllocated's score for one resource: the free share after `req`.
fn least(req: i128, alloc: i128) -> i64 {
    if alloc == 0 || req > alloc {
        return 0;
    }
    let free = (alloc - req) * i128::from(MAX_NODE_SCORE);
    // Node sizes fit 64 bits: the same quotient without a 128-bit
    // division, which is a library call, for every node scored.
    match (i64::try_from(free), i64::try_from(alloc)) {
        (Ok(f), Ok(a)) => f / a,
        _ => (free / alloc) as i64,
    }
}

/// BalancedAllocation's used fraction of one resource, at most 1.
fn fraction(req: i128, alloc: i128) -> f64 {
    // An integer converts to the same f64 from 64 bits as from 128 (both
    // round to nearest); from 64 bits it is one instruction, not a call.
    let float = |v: i128| match i64::try_from(v) {
        Ok(v) => v as f64,
        Err(_) => wide_to_f64(v),
    };
    if alloc == 0 {
        0.0
    } else {
        (float(req) / float(alloc)).min(1.0)
    }
}

/// The 128-bit conversion (a library call), out of line: inlined, the
/// compiler sees that both arms of [`fraction`]'s conversion give the same
/// value and keeps only this one, the call, for every node scored.
#[cold]
#[inline(never)]
fn wide_to_f64(v: i128) -> f64 {
    v as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A node given by its numbers alone.
    struct Numbers(Resources);

    impl Scored for Numbers {
        fn name(&self) -> Name {
            Name::default()
        }

        fn label(&self, _: Name) -> Option<Name> {
            None
        }

        fn resources(&self, _: &NodeUsage) -> Resources {
            self.0
        }
    }

    proptest! {
        /// Nodes that share their numbers share their scores, and every
        /// node scores what it scores alone, whatever the nodes before it
        /// (a few sizes and usages, repeated, some beyond 64 bits).
        #[test]
        fn each_node_scores_as_it_would_alone(
            nodes in proptest::collection::vec(
                (0usize..3, 0i64..4, 0i64..4, any::<bool>()),
                1..40,
            ),
            (cpu, mem) in (0u32..3000, 0u32..4000),
        ) {
            let pod: Pod = serde_json::from_value(serde_json::json!({
                "metadata": { "name": "p" },
                "spec": { "containers": [{ "name": "c", "image": "app", "resources": { "requests": {
                    "cpu": format!("{cpu}m"), "memory": format!("{mem}Mi"),
                } } }] },
                "status": {},
            }))
            .expect("a pod");
            let sizes = [(4000, 16 << 30), (8000, 32 << 30), (2000, i128::from(i64::MAX) * 4)];
            let nodes: Vec<Numbers> = nodes
                .iter()
                .map(|&(size, pods, more, wide)| {
                    let (c, m) = sizes[size];
                    let used = (i128::from(pods) * 500, i128::from(pods) * (1 << 30));
                    let non_zero = (used.0 + i128::from(more) * 100, used.1 + i128::from(more));
                    let m = if wide { m } else { m.min(i128::from(i64::MAX)) };
                    Numbers(Resources { alloc: (c, m), non_zero, requested: used })
                })
                .collect();
            let usage = NodeUsage::default();
            let all = total_scores(&pod, &nodes, &usage, None);
            for (n, score) in nodes.iter().zip(&all) {
                let alone = total_scores(&pod, std::slice::from_ref(n), &usage, None);
                prop_assert_eq!(*score, alone[0]);
            }
        }
    }

    proptest! {
        /// The 64-bit shortcuts give what the 128-bit arithmetic gives,
        /// across and beyond the 64-bit range.
        #[test]
        fn shortcuts_match_128_bit_arithmetic(
            req in prop_oneof![0..=i128::from(i64::MAX), 0..=i128::MAX / 1000],
            alloc in prop_oneof![0..=i128::from(i64::MAX), 0..=i128::MAX / 1000],
        ) {
            let wide = if alloc == 0 || req > alloc {
                0
            } else {
                ((alloc - req) * i128::from(MAX_NODE_SCORE) / alloc) as i64
            };
            prop_assert_eq!(least(req, alloc), wide);
            let wide = if alloc == 0 { 0.0 } else { (req as f64 / alloc as f64).min(1.0) };
            prop_assert_eq!(fraction(req, alloc).to_bits(), wide.to_bits());
        }
    }
}
