//! PodTopologySpread (pkg/scheduler/framework/plugins/podtopologyspread):
//! the pod's `topologySpreadConstraints` — `DoNotSchedule` ones filter
//! nodes whose domain would exceed `maxSkew`, `ScheduleAnyway` ones score —
//! or, for a pod without any that a StatefulSet selects, the system default
//! constraints (`kubernetes.io/hostname` maxSkew 3, `topology.kubernetes.io/zone`
//! maxSkew 5, both ScheduleAnyway).

use super::filters::{self, NodeStatus};
use crate::api::node::{LABEL_HOSTNAME, LABEL_ZONE};
use crate::api::pod::WhenUnsatisfiable;
use crate::api::{LabelSelector, Node, ObjectKey, Pod};
use crate::cluster::ObjectSet;
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
pub struct Spread {
    constraints: Vec<Constraint>,
    /// Per constraint: matching pods per domain value, over eligible nodes.
    domains: Vec<BTreeMap<String, i64>>,
    /// Per constraint: matching pods per node name.
    per_node: Vec<BTreeMap<String, i64>>,
    /// Whether the pod matches each constraint's own selector.
    self_match: Vec<bool>,
}

/// `DefaultSelector`: the selectors of the StatefulSets that select the pod.
fn default_selectors(pod: &Pod, cache: &ObjectSet) -> Vec<LabelSelector> {
    cache
        .sets_that_may_select(&pod.metadata.namespace, &pod.metadata.labels)
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
                    selector.match_labels.insert(k.clone(), v.clone());
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
    pub fn prepare(
        pod: &Pod,
        cache: &ObjectSet,
        assumed: &BTreeMap<ObjectKey, String>,
    ) -> Option<Spread> {
        let constraints = constraints_of(pod, cache);
        if constraints.is_empty() {
            return None;
        }
        let mut per_node = vec![BTreeMap::<String, i64>::new(); constraints.len()];
        // Only pods carrying the first label of some constraint's selector
        // can be counted (all pods of the namespace when a selector has no
        // matchLabels); counting is a sum, so the order does not matter.
        let ns = &pod.metadata.namespace;
        let mut candidates: BTreeMap<&str, &Pod> = BTreeMap::new();
        for sel in constraints.iter().flat_map(|c| c.selectors.iter()) {
            match sel.match_labels.iter().next() {
                Some((k, v)) => candidates.extend(
                    cache
                        .pods_labelled(ns, k, v)
                        .map(|p| (p.metadata.name.as_str(), p)),
                ),
                None => candidates.extend(
                    cache
                        .list_prefixed::<Pod>(ns, "")
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
                    Some(n) => n.clone(),
                    None => continue,
                }
            } else {
                p.spec.node_name.clone()
            };
            for (i, c) in constraints.iter().enumerate() {
                if c.selects(p) {
                    *per_node[i].entry(node.clone()).or_default() += 1;
                }
            }
        }
        let mut domains = vec![BTreeMap::<String, i64>::new(); constraints.len()];
        let eligible = |n: &Node| {
            filters::node_affinity_matches(pod, n)
                && constraints
                    .iter()
                    .all(|c| n.metadata.labels.contains_key(&c.key))
        };
        let add = |domain: &mut BTreeMap<String, i64>, value: &String, count: i64| match domain
            .get_mut(value)
        {
            Some(d) => *d += count,
            None => {
                domain.insert(value.clone(), count);
            }
        };
        // Filtering takes the minimum over every domain, empty ones
        // included: a hard constraint's domains come from every eligible
        // node.
        if constraints.iter().any(|c| c.hard) {
            for n in cache.list::<Node>().filter(|n| eligible(n)) {
                for (i, c) in constraints.iter().enumerate().filter(|(_, c)| c.hard) {
                    let count = per_node[i].get(&n.metadata.name).copied().unwrap_or(0);
                    add(&mut domains[i], &n.metadata.labels[&c.key], count);
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
                if let Some(n) = cache.get::<Node>(&ObjectKey::cluster(name))
                    && eligible(n)
                {
                    add(&mut domains[i], &n.metadata.labels[&c.key], *count);
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

    /// Filter: every DoNotSchedule constraint holds on `node`.
    pub fn filter(&self, node: &Node) -> Option<NodeStatus> {
        for (i, c) in self.constraints.iter().enumerate().filter(|(_, c)| c.hard) {
            let Some(value) = node.metadata.labels.get(&c.key) else {
                return Some(NodeStatus {
                    resolvable: false,
                    reasons: vec![MISSING_LABEL.into()],
                });
            };
            let domains = &self.domains[i];
            // Fewer domains than minDomains: the global minimum is 0.
            let min = if (domains.len() as i64) < c.min_domains {
                0
            } else {
                domains.values().copied().min().unwrap_or(0)
            };
            let here = domains.get(value).copied().unwrap_or(0);
            let skew = here + i64::from(self.self_match[i]) - min;
            if skew > c.max_skew {
                return Some(NodeStatus {
                    resolvable: true,
                    reasons: vec![CONSTRAINTS_NOT_MATCH.into()],
                });
            }
        }
        None
    }

    /// Score: the ScheduleAnyway constraints, normalised to 0–100 with fewer
    /// matching pods scoring higher; `None` when there are none.
    pub fn scores(&self, feasible: &[&Node]) -> Option<Vec<i64>> {
        let soft: Vec<usize> = (0..self.constraints.len())
            .filter(|i| !self.constraints[*i].hard)
            .collect();
        if soft.is_empty() {
            return None;
        }
        // topologyNormalizingWeight: ln(domains among the feasible nodes + 2);
        // for the hostname key, the feasible nodes themselves.
        let weights: BTreeMap<usize, f64> = soft
            .iter()
            .map(|&i| {
                let key = &self.constraints[i].key;
                let size = if key == LABEL_HOSTNAME {
                    feasible.len()
                } else {
                    feasible
                        .iter()
                        .filter_map(|n| n.metadata.labels.get(key))
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                };
                (i, ((size + 2) as f64).ln())
            })
            .collect();
        let raw: Vec<i64> = feasible
            .iter()
            .map(|n| {
                let mut score = 0.0;
                for &i in &soft {
                    let c = &self.constraints[i];
                    let Some(v) = n.metadata.labels.get(&c.key) else {
                        continue;
                    };
                    let count = if c.key == LABEL_HOSTNAME {
                        self.per_node[i].get(&n.metadata.name).copied().unwrap_or(0)
                    } else {
                        self.domains[i].get(v).copied().unwrap_or(0)
                    };
                    // scoreForCount.
                    score += count as f64 * weights[&i] + (c.max_skew - 1) as f64;
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
