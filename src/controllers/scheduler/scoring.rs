//! The Score plugins of the 1.33 default profile that tell nodes apart for
//! storsim's pods, each normalised to 0–100 and weighted as the profile
//! weighs it:
//!
//! - NodeResourcesFit, LeastAllocated (weight 1): free share of CPU and
//!   memory after the pod, counting every container without a request as
//!   100m CPU / 200 MB (`NonZeroRequested`).
//! - NodeResourcesBalancedAllocation (weight 1): how evenly CPU and memory
//!   would be used, from actual requests.
//! - PodTopologySpread (weight 2) with the system default constraints
//!   (`kubernetes.io/hostname` maxSkew 3, `topology.kubernetes.io/zone`
//!   maxSkew 5, ScheduleAnyway) for pods a StatefulSet selects: fewer
//!   matching pods on the node and in its zone score higher, which is what
//!   spreads a StatefulSet's replicas, and so their volumes, across zones.
//!
//! TaintToleration, NodeAffinity (no preferred terms) and InterPodAffinity
//! (no affinity terms) score every node alike here. ImageLocality is not
//! modelled: nodes do not report their images.

use super::filters::{self, NodeUsage};
use crate::api::node::{LABEL_HOSTNAME, LABEL_ZONE};
use crate::api::{LabelSelector, Node, ObjectKey, Pod, StatefulSet};
use crate::cluster::ObjectSet;
use std::collections::BTreeMap;

/// `framework.MaxNodeScore`.
const MAX_NODE_SCORE: i64 = 100;

/// The system default spread constraints: (topology key, maxSkew).
const DEFAULT_CONSTRAINTS: [(&str, i64); 2] = [(LABEL_HOSTNAME, 3), (LABEL_ZONE, 5)];

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

/// The weighted total score of each feasible node, in the order given.
pub fn total_scores(
    pod: &Pod,
    feasible: &[&Node],
    all_nodes: &[Node],
    usage: &NodeUsage,
    cache: &ObjectSet,
    assumed: &BTreeMap<ObjectKey, String>,
) -> Vec<i64> {
    let spread = spread_scores(pod, feasible, all_nodes, cache, assumed);
    feasible
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (least, balanced) = resource_scores(pod, n, usage);
            least + balanced + 2 * spread.as_ref().map_or(0, |s| s[i])
        })
        .collect()
}

fn allocatable(node: &Node, resource: &str) -> i128 {
    let q = node.status.allocatable.get(resource);
    match resource {
        "cpu" => q.map(|q| q.milli_value()),
        _ => q.map(|q| q.value()),
    }
    .unwrap_or(0)
}

/// (LeastAllocated, BalancedAllocation) for `pod` on `node`.
fn resource_scores(pod: &Pod, node: &Node, usage: &NodeUsage) -> (i64, i64) {
    let name = &node.metadata.name;
    let (alloc_cpu, alloc_mem) = (allocatable(node, "cpu"), allocatable(node, "memory"));
    // LeastAllocated, on non-zero requests.
    let (nz_cpu, nz_mem) = usage.non_zero.get(name).copied().unwrap_or((0, 0));
    let (pod_cpu, pod_mem) = non_zero_requests(pod);
    let least = |req: i128, alloc: i128| -> i64 {
        if alloc == 0 || req > alloc {
            0
        } else {
            ((alloc - req) * i128::from(MAX_NODE_SCORE) / alloc) as i64
        }
    };
    let least_allocated =
        (least(nz_cpu + pod_cpu, alloc_cpu) + least(nz_mem + pod_mem, alloc_mem)) / 2;
    // BalancedAllocation, on actual requests: 1 − the standard deviation of
    // the two fractions (|a − b| / 2 for two resources).
    let (used_cpu, used_mem, _) = usage.requested.get(name).copied().unwrap_or((0, 0, 0));
    let (req_cpu, req_mem) = filters::pod_requests(pod);
    let fraction = |req: i128, alloc: i128| {
        if alloc == 0 {
            0.0
        } else {
            (req as f64 / alloc as f64).min(1.0)
        }
    };
    let fc = fraction(used_cpu + req_cpu, alloc_cpu);
    let fm = fraction(used_mem + req_mem, alloc_mem);
    let balanced = ((1.0 - (fc - fm).abs() / 2.0) * MAX_NODE_SCORE as f64) as i64;
    (least_allocated, balanced)
}

/// `DefaultSelector`: the selectors of the StatefulSets that select the
/// pod; `None` when none does (the plugin then skips the pod).
fn default_selector<'a>(pod: &Pod, cache: &'a ObjectSet) -> Option<Vec<&'a LabelSelector>> {
    let selectors: Vec<&LabelSelector> = cache
        .list::<StatefulSet>()
        .filter(|s| s.metadata.namespace == pod.metadata.namespace)
        .map(|s| &s.spec.selector)
        .filter(|sel| {
            !(sel.match_labels.is_empty() && sel.match_expressions.is_empty())
                && sel.matches(&pod.metadata.labels)
        })
        .collect();
    (!selectors.is_empty()).then_some(selectors)
}

/// PodTopologySpread's normalised score per feasible node, or `None` when
/// the pod has no default constraints.
fn spread_scores(
    pod: &Pod,
    feasible: &[&Node],
    all_nodes: &[Node],
    cache: &ObjectSet,
    assumed: &BTreeMap<ObjectKey, String>,
) -> Option<Vec<i64>> {
    let selectors = default_selector(pod, cache)?;
    // Matching pods per node: same namespace, not terminating, selected by
    // every selector; bound, or assumed by this scheduler.
    let mut per_node: BTreeMap<&str, i64> = BTreeMap::new();
    for p in cache.list::<Pod>() {
        if p.metadata.namespace != pod.metadata.namespace
            || p.metadata.deletion_timestamp.is_some()
            || !selectors.iter().all(|s| s.matches(&p.metadata.labels))
        {
            continue;
        }
        let node = if p.spec.node_name.is_empty() {
            match assumed.get(&p.metadata.key()) {
                Some(n) => n.as_str(),
                None => continue,
            }
        } else {
            p.spec.node_name.as_str()
        };
        *per_node.entry(node).or_default() += 1;
    }
    // Counted nodes: those with every key that the pod's node affinity
    // admits (nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore).
    let has_keys = |n: &Node| {
        DEFAULT_CONSTRAINTS
            .iter()
            .all(|(k, _)| n.metadata.labels.contains_key(*k))
    };
    // Domains present among the feasible nodes, per constraint.
    let mut domain_counts: Vec<BTreeMap<&str, i64>> = vec![BTreeMap::new(); 2];
    for (i, (key, _)) in DEFAULT_CONSTRAINTS.iter().enumerate() {
        for n in feasible {
            if let Some(v) = n.metadata.labels.get(*key) {
                domain_counts[i].entry(v.as_str()).or_insert(0);
            }
        }
    }
    for n in all_nodes
        .iter()
        .filter(|n| has_keys(n) && filters::node_affinity_matches(pod, n))
    {
        let count = per_node.get(n.metadata.name.as_str()).copied().unwrap_or(0);
        for (i, (key, _)) in DEFAULT_CONSTRAINTS.iter().enumerate() {
            if let Some(c) = n
                .metadata
                .labels
                .get(*key)
                .and_then(|v| domain_counts[i].get_mut(v.as_str()))
            {
                *c += count;
            }
        }
    }
    // topologyNormalizingWeight: ln(domains + 2); hostname's domains are
    // the feasible nodes.
    let weights: Vec<f64> = DEFAULT_CONSTRAINTS
        .iter()
        .enumerate()
        .map(|(i, (key, _))| {
            let size = if *key == LABEL_HOSTNAME {
                feasible.len()
            } else {
                domain_counts[i].len()
            };
            ((size + 2) as f64).ln()
        })
        .collect();
    let raw: Vec<i64> = feasible
        .iter()
        .map(|n| {
            let mut score = 0.0;
            for (i, (key, max_skew)) in DEFAULT_CONSTRAINTS.iter().enumerate() {
                let Some(v) = n.metadata.labels.get(*key) else {
                    continue;
                };
                let count = if *key == LABEL_HOSTNAME {
                    per_node.get(n.metadata.name.as_str()).copied().unwrap_or(0)
                } else {
                    domain_counts[i].get(v.as_str()).copied().unwrap_or(0)
                };
                // scoreForCount.
                score += count as f64 * weights[i] + (max_skew - 1) as f64;
            }
            score.round() as i64
        })
        .collect();
    // NormalizeScore: fewer matching pods, higher score.
    let (min, max) = (
        raw.iter().copied().min().unwrap_or(0),
        raw.iter().copied().max().unwrap_or(0),
    );
    Some(
        raw.iter()
            .map(|s| {
                if max == 0 {
                    MAX_NODE_SCORE
                } else {
                    MAX_NODE_SCORE * (max + min - s) / max
                }
            })
            .collect(),
    )
}
