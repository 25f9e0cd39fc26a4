//! PodTopologySpread (pkg/scheduler/framework/plugins/podtopologyspread):
//! the pod's `topologySpreadConstraints` — `DoNotSchedule` ones filter
//! nodes whose domain would exceed `maxSkew`, `ScheduleAnyway` ones score —
//! or, for a pod without any that a StatefulSet selects, the system default
//! constraints (`kubernetes.io/hostname` maxSkew 3, `topology.kubernetes.io/zone`
//! maxSkew 5, both ScheduleAnyway).

use super::filters::{self, NodeStatus};
use super::node_facts::NodeFacts;
use super::scoring::Scored;
use crate::api::meta::Name;
use crate::api::node::{LABEL_HOSTNAME, LABEL_ZONE};
use crate::api::pod::WhenUnsatisfiable;
use crate::api::{LabelSelector, Node, ObjectKey, Pod};
use crate::cluster::ObjectSet;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// `framework.MaxNodeScore`.
const MAX_NODE_SCORE: i64 = 100;

/// Filter text when a node's domain would exceed maxSkew.
pub const CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
/// Filter text when a node lacks a hard constraint's topology key.
pub const MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// One constraint as the plugin uses it.
#[derive(Clone, Debug)]
struct Constraint {
    key: String,
    /// `key`, interned: nodes' labels are found by it.
    key_name: Name,
    max_skew: i64,
    hard: bool,
    /// All must match (the system default merges several owners').
    selectors: Vec<LabelSelector>,
    min_domains: i64,
}

impl Constraint {
    fn selects(&self, pod: &Pod) -> bool {
        self.selectors
            .iter()
            .all(|s| s.matches(&pod.metadata.labels))
    }
}

/// What PreFilter/PreScore computed for one pod in one scheduling cycle.
///
/// The counts are sums, read one entry at a time and never walked in an
/// order that reaches output, so they are hashed by interned value.
pub struct Spread {
    constraints: Vec<Constraint>,
    /// Per constraint: matching pods per domain value, over eligible nodes.
    domains: Vec<FxHashMap<Name, i64>>,
    /// Per constraint: matching pods per node name.
    per_node: Vec<FxHashMap<Name, i64>>,
    /// Whether the pod matches each constraint's own selector.
    self_match: Vec<bool>,
}

/// `DefaultSelector`: the selectors of the StatefulSets that select the pod.
fn default_selectors(pod: &Pod, cache: &ObjectSet) -> Vec<LabelSelector> {
    cache
        .sets_that_may_select(pod.metadata.namespace, &pod.metadata.labels)
        .map(|s| s.spec.selector.clone())
        .filter(|sel| {
            !(sel.match_labels.is_empty() && sel.match_expressions.is_empty())
                && sel.matches(&pod.metadata.labels)
        })
        .collect()
}

fn constraints_of(pod: &Pod, cache: &ObjectSet) -> Vec<Constraint> {
    if pod.spec.topology_spread_constraints.is_empty() {
        let selectors = default_selectors(pod, cache);
        if selectors.is_empty() {
            return Vec::new();
        }
        return [(LABEL_HOSTNAME, 3), (LABEL_ZONE, 5)]
            .into_iter()
            .map(|(key, max_skew)| Constraint {
                key: key.to_string(),
                key_name: Name::new(key),
                max_skew,
                hard: false,
                selectors: selectors.clone(),
                min_domains: 1,
            })
            .collect();
    }
    pod.spec
        .topology_spread_constraints
        .iter()
        .map(|c| {
            let mut selector = c.label_selector.clone().unwrap_or_default();
            // matchLabelKeys: the pod's own values join the selector.
            for k in &c.match_label_keys {
                if let Some(v) = pod.metadata.labels.get(k) {
                    selector.match_labels.insert(k.as_str(), *v);
                }
            }
            // A constraint without a selector matches no pod.
            let selectors = if c.label_selector.is_none() && c.match_label_keys.is_empty() {
                vec![LabelSelector {
                    match_labels: [("\u{0}".to_string(), "\u{0}".to_string())].into(),
                    match_expressions: Vec::new(),
                }]
            } else {
                vec![selector]
            };
            Constraint {
                key: c.topology_key.clone(),
                key_name: Name::new(&c.topology_key),
                max_skew: i64::from(c.max_skew),
                hard: c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule,
                selectors,
                min_domains: i64::from(c.min_domains.unwrap_or(1)),
            }
        })
        .collect()
}

impl Spread {
    /// PreFilter/PreScore: counts the matching pods (same namespace, not
    /// terminating, bound or assumed) per node and per domain, over the
    /// nodes the pod's node affinity admits that carry the constraint keys.
    /// `None` when the pod has no constraints (the plugin skips it).
    pub fn prepare(pod: &Pod, cache: &ObjectSet, assumed: &super::Assumed) -> Option<Spread> {
        let constraints = constraints_of(pod, cache);
        if constraints.is_empty() {
            return None;
        }
        let mut per_node = vec![FxHashMap::<Name, i64>::default(); constraints.len()];
        // Only pods carrying the first label of some constraint's selector
        // can be counted (all pods of the namespace when a selector has no
        // matchLabels); counting is a sum, so the order does not matter.
        let ns = pod.metadata.namespace;
        let all_of_ns = ObjectKey {
            namespace: ns,
            name: Name::default(),
        };
        let mut candidates: BTreeMap<&str, &Pod> = BTreeMap::new();
        for sel in constraints.iter().flat_map(|c| c.selectors.iter()) {
            match sel.match_labels.iter().next() {
                Some((k, v)) => candidates.extend(
                    cache
                        .pods_labelled(ns, *k, *v)
                        .map(|p| (p.metadata.name.as_str(), p)),
                ),
                None => candidates.extend(
                    cache
                        .list_prefixed::<Pod>(&all_of_ns)
                        .map(|p| (p.metadata.name.as_str(), p)),
                ),
            }
        }
        for p in candidates.into_values() {
            if p.metadata.namespace != pod.metadata.namespace
                || p.metadata.deletion_timestamp.is_some()
                || p.metadata.key() == pod.metadata.key()
            {
                continue;
            }
            let node = if p.spec.node_name.is_empty() {
                match assumed.get(&p.metadata.key()) {
                    Some(n) => *n,
                    None => continue,
                }
            } else {
                p.spec.node_name
            };
            for (i, c) in constraints.iter().enumerate() {
                if c.selects(p) {
                    *per_node[i].entry(node).or_default() += 1;
                }
            }
        }
        let mut domains = vec![FxHashMap::<Name, i64>::default(); constraints.len()];
        let eligible = |n: &Node| {
            filters::node_affinity_matches(pod, n)
                && constraints
                    .iter()
                    .all(|c| n.metadata.labels.contains_key(&c.key))
        };
        let add = |domain: &mut FxHashMap<Name, i64>, value: Name, count: i64| {
            *domain.entry(value).or_default() += count;
        };
        // Filtering takes the minimum over every domain, empty ones
        // included: a hard constraint's domains come from every eligible
        // node.
        if constraints.iter().any(|c| c.hard) {
            for (key, n) in cache.list_keyed::<Node>().filter(|(_, n)| eligible(n)) {
                for (i, c) in constraints.iter().enumerate().filter(|(_, c)| c.hard) {
                    let count = per_node[i].get(&key.name).copied().unwrap_or(0);
                    add(&mut domains[i], n.metadata.labels[c.key.as_str()], count);
                }
            }
        }
        // Scoring reads a soft constraint's count in one domain (absent is
        // 0), and a soft hostname constraint's counts per node: only nodes
        // with matching pods add to them.
        for (i, c) in constraints.iter().enumerate() {
            if c.hard || c.key == LABEL_HOSTNAME {
                continue;
            }
            for (name, count) in &per_node[i] {
                let key = ObjectKey {
                    namespace: Name::default(),
                    name: *name,
                };
                if let Some(n) = cache.get::<Node>(&key)
                    && eligible(n)
                {
                    add(&mut domains[i], n.metadata.labels[c.key.as_str()], *count);
                }
            }
        }
        let self_match = constraints.iter().map(|c| c.selects(pod)).collect();
        Some(Spread {
            constraints,
            domains,
            per_node,
            self_match,
        })
    }

    /// Whether a DoNotSchedule constraint is on topology key `key` (its
    /// filter then reads that label of every node).
    pub fn filters_on(&self, key: &str) -> bool {
        self.constraints.iter().any(|c| c.hard && c.key == key)
    }

    /// Filter: every DoNotSchedule constraint holds on the node.
    pub fn filter(&self, node: &NodeFacts) -> Option<NodeStatus> {
        for (i, c) in self.constraints.iter().enumerate().filter(|(_, c)| c.hard) {
            let Some(value) = node.label(c.key_name) else {
                return Some(NodeStatus::one(false, MISSING_LABEL));
            };
            let domains = &self.domains[i];
            // Fewer domains than minDomains: the global minimum is 0.
            let min = if (domains.len() as i64) < c.min_domains {
                0
            } else {
                domains.values().copied().min().unwrap_or(0)
            };
            let here = domains.get(&value).copied().unwrap_or(0);
            let skew = here + i64::from(self.self_match[i]) - min;
            if skew > c.max_skew {
                return Some(NodeStatus::one(true, CONSTRAINTS_NOT_MATCH));
            }
        }
        None
    }

    /// Score: the ScheduleAnyway constraints, normalised to 0–100 with fewer
    /// matching pods scoring higher; `None` when there are none.
    pub fn scores<N: Scored>(&self, feasible: &[N]) -> Option<Vec<i64>> {
        // The soft constraints, in order, and whether each is on the
        // hostname (compared once, not per node).
        let soft: Vec<(usize, bool)> = (self.constraints.iter().enumerate())
            .filter(|(_, c)| !c.hard)
            .map(|(i, c)| (i, c.key == LABEL_HOSTNAME))
            .collect();
        if soft.is_empty() {
            return None;
        }
        // Each soft constraint's label on each feasible node, and the
        // distinct values among them. A label other than the hostname is
        // read once per class of nodes (alike but for their hostname).
        let mut distinct = Vec::with_capacity(soft.len());
        let values: Vec<Vec<Option<Name>>> = soft
            .iter()
            .map(|&(i, on_hostname)| {
                let key = self.constraints[i].key_name;
                let mut seen = FxHashSet::<Name>::default();
                let mut by_class: Vec<Option<Option<Name>>> = Vec::new();
                let values = feasible
                    .iter()
                    .map(|n| match n.class() {
                        Some(class) if !on_hostname => {
                            if by_class.len() <= class {
                                by_class.resize(class + 1, None);
                            }
                            *by_class[class].get_or_insert_with(|| {
                                let v = n.label(key);
                                seen.extend(v);
                                v
                            })
                        }
                        _ => {
                            let v = n.label(key);
                            if !on_hostname {
                                seen.extend(v);
                            }
                            v
                        }
                    })
                    .collect();
                distinct.push(seen.len());
                values
            })
            .collect();
        // topologyNormalizingWeight: ln(domains among the feasible nodes + 2);
        // for the hostname key, the feasible nodes themselves.
        let weights: Vec<f64> = soft
            .iter()
            .zip(&distinct)
            .map(|(&(_, on_hostname), &d)| {
                let size = if on_hostname { feasible.len() } else { d };
                ((size + 2) as f64).ln()
            })
            .collect();
        // A hostname constraint's counts (a few nodes' worth) found by the
        // node name's address, not its hash: hashing reads each feasible
        // node's name, a cache miss per node in a large cluster.
        let by_addr: Vec<FxHashMap<usize, i64>> = soft
            .iter()
            .map(|&(i, on_hostname)| match on_hostname {
                true => self.per_node[i]
                    .iter()
                    .map(|(n, k)| (n.addr(), *k))
                    .collect(),
                false => FxHashMap::default(),
            })
            .collect();
        let raw: Vec<i64> = (feasible.iter().enumerate())
            .map(|(k, n)| {
                let mut score = 0.0;
                for (j, &(i, on_hostname)) in soft.iter().enumerate() {
                    let Some(v) = values[j][k] else {
                        continue;
                    };
                    let count = if on_hostname {
                        by_addr[j].get(&n.name().addr()).copied().unwrap_or(0)
                    } else {
                        self.domains[i].get(&v).copied().unwrap_or(0)
                    };
                    // scoreForCount.
                    let c = &self.constraints[i];
                    score += count as f64 * weights[j] + (c.max_skew - 1) as f64;
                }
                score.round() as i64
            })
            .collect();
        // NormalizeScore: fewer matching pods, higher score.
        let min = raw.iter().copied().min().unwrap_or(0);
        let max = raw.iter().copied().max().unwrap_or(0);
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
}
