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
use crate::api::node::LABEL_ZONE;
use crate::api::pod::WhenUnsatisfiable;
use crate::api::{LabelSelector, Node, ObjectKey, Pod};
use crate::cluster::ObjectSet;
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use std::rc::Rc;

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
    /// The topology key, interned: nodes' labels are found by it.
    key: Name,
    max_skew: i64,
    hard: bool,
    /// All must match (the system default merges several owners'). The
    /// two default constraints share theirs: a pod is matched once.
    selectors: Rc<[LabelSelector]>,
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

/// `topology.kubernetes.io/zone`, interned once (interning takes a lock).
fn zone() -> Name {
    static ZONE: std::sync::OnceLock<Name> = std::sync::OnceLock::new();
    *ZONE.get_or_init(|| Name::new(LABEL_ZONE))
}

fn constraints_of(pod: &Pod, cache: &ObjectSet) -> Vec<Constraint> {
    if pod.spec.topology_spread_constraints.is_empty() {
        let selectors: Rc<[LabelSelector]> = default_selectors(pod, cache).into();
        if selectors.is_empty() {
            return Vec::new();
        }
        return [(super::snapshot::hostname(), 3), (zone(), 5)]
            .into_iter()
            .map(|(key, max_skew)| Constraint {
                key,
                max_skew,
                hard: false,
                selectors: Rc::clone(&selectors),
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
                Rc::from([LabelSelector {
                    match_labels: [("\u{0}".to_string(), "\u{0}".to_string())].into(),
                    match_expressions: Vec::new(),
                }])
            } else {
                Rc::from([selector])
            };
            Constraint {
                key: Name::new(&c.topology_key),
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
        // Constraints that share their selectors with an earlier one take
        // its answer: each pod is matched once per distinct selector list.
        let same_as: SmallVec<[usize; 4]> = (constraints.iter().enumerate())
            .map(|(i, c)| {
                (constraints[..i].iter())
                    .position(|d| Rc::ptr_eq(&d.selectors, &c.selectors))
                    .unwrap_or(i)
            })
            .collect();
        // Only pods carrying the first label of some constraint's selector
        // can be counted (all pods of the namespace when a selector has no
        // matchLabels). Counting is a sum, so the order does not matter:
        // a pod found twice is dropped by its address (the cache holds one
        // copy of each).
        let ns = pod.metadata.namespace;
        let all_of_ns = ObjectKey {
            namespace: ns,
            name: Name::default(),
        };
        let mut candidates: Vec<&Pod> = Vec::new();
        let distinct = (constraints.iter().zip(&same_as).enumerate())
            .filter(|(i, (_, same))| *i == **same)
            .flat_map(|(_, (c, _))| c.selectors.iter());
        let mut sources = 0;
        for sel in distinct {
            sources += 1;
            match sel.match_labels.iter().next() {
                Some((k, v)) => candidates.extend(cache.pods_labelled(ns, *k, *v)),
                None => candidates.extend(cache.list_prefixed::<Pod>(&all_of_ns)),
            }
        }
        if sources > 1 {
            candidates.sort_unstable_by_key(|p| std::ptr::from_ref(*p));
            candidates.dedup_by_key(|p| std::ptr::from_ref(*p));
        }
        let own = pod.metadata.key();
        for p in candidates {
            if p.metadata.namespace != ns
                || p.metadata.deletion_timestamp.is_some()
                || p.metadata.key() == own
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
            let mut selected: SmallVec<[bool; 4]> = SmallVec::new();
            for (i, c) in constraints.iter().enumerate() {
                let yes = match same_as[i] {
                    j if j < i => selected[j],
                    _ => c.selects(p),
                };
                selected.push(yes);
                if yes {
                    *per_node[i].entry(node).or_default() += 1;
                }
            }
        }
        let mut domains = vec![FxHashMap::<Name, i64>::default(); constraints.len()];
        let eligible = |n: &Node| {
            filters::node_affinity_matches(pod, n)
                && constraints
                    .iter()
                    .all(|c| n.metadata.labels.get_name(c.key).is_some())
        };
        // Adds a count to the domain of eligible node `n` (which carries
        // every constraint's key).
        let add = |domain: &mut FxHashMap<Name, i64>, n: &Node, key: Name, count: i64| {
            let value = n.metadata.labels.get_name(key).copied();
            *domain.entry(value.expect("eligible")).or_default() += count;
        };
        // Filtering takes the minimum over every domain, empty ones
        // included: a hard constraint's domains come from every eligible
        // node.
        if constraints.iter().any(|c| c.hard) {
            for (key, n) in cache.list_keyed::<Node>().filter(|(_, n)| eligible(n)) {
                for (i, c) in constraints.iter().enumerate().filter(|(_, c)| c.hard) {
                    let count = per_node[i].get(&key.name).copied().unwrap_or(0);
                    add(&mut domains[i], n, c.key, count);
                }
            }
        }
        // Scoring reads a soft constraint's count in one domain (absent is
        // 0), and a soft hostname constraint's counts per node: only nodes
        // with matching pods add to them.
        for (i, c) in constraints.iter().enumerate() {
            if c.hard || c.key == super::snapshot::hostname() {
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
                    add(&mut domains[i], n, c.key, *count);
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
            let Some(value) = node.label(c.key) else {
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
            .map(|(i, c)| (i, c.key == super::snapshot::hostname()))
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
                let key = self.constraints[i].key;
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
                round_score(score)
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

/// `score.round() as i64` for a score of [`Spread::scores`] (finite, not
/// negative: counts times positive weights plus `maxSkew − 1`). Without
/// SSE4.1, which the default x86-64 target does not assume, `f64::round`
/// is a call into the C library for every feasible node of every cycle;
/// truncation is one instruction, and a non-negative number minus its
/// integer part is exact, so comparing that fraction with one half rounds
/// halves away from zero exactly as `round` does.
fn round_score(score: f64) -> i64 {
    debug_assert!(score.is_finite() && score >= 0.0, "score {score}");
    let whole = score as i64;
    if score - whole as f64 >= 0.5 {
        whole + 1
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AnyObject;
    use crate::engine::SimTime;
    use proptest::prelude::*;
    use serde_json::json;

    const ZONES: [&str; 2] = ["a", "b"];

    fn node(i: usize) -> AnyObject {
        let name = format!("node-{i}");
        let node: Node = serde_json::from_value(json!({
            "metadata": { "name": name, "labels": {
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/zone": ZONES[i % 2],
            } },
            "spec": {},
            "status": {},
        }))
        .expect("a node");
        AnyObject::from(node)
    }

    /// A pod of namespace `ns` with labels `app` and `tier` from small
    /// sets, on node `node` (or none).
    fn pod(ns: &str, name: &str, app: usize, tier: usize, node: Option<usize>) -> Pod {
        serde_json::from_value(json!({
            "metadata": { "namespace": ns, "name": name, "labels": {
                "app": format!("app-{app}"),
                "tier": format!("tier-{tier}"),
            } },
            "spec": { "nodeName": node.map(|n| format!("node-{n}")).unwrap_or_default() },
            "status": {},
        }))
        .expect("a pod")
    }

    /// A soft constraint on `key` selecting `label` = `value`.
    fn constraint(key: &str, label: &str, value: String) -> serde_json::Value {
        json!({
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": { "matchLabels": { label: value } },
        })
    }

    proptest! {
        /// The score's rounding is `f64::round`'s, halves and values near
        /// them included.
        #[test]
        fn scores_round_as_f64_round_does(
            score in prop_oneof![
                0.0..1e6f64,
                (0u32..1_000_000).prop_map(|n| f64::from(n) + 0.5),
                (0u32..1_000_000).prop_map(|n| f64::from(n) + 0.5).prop_map(|x| f64::from_bits(x.to_bits() - 1)),
                (0u64..(1u64 << 52)).prop_map(|b| f64::from_bits(b | (1075u64 << 52))),
            ],
        ) {
            prop_assert_eq!(round_score(score), score.round() as i64);
        }
    }

    proptest! {
        /// Whatever pods share the constraints' labels (a pod selected by
        /// both constraints is found through both), each constraint counts
        /// each matching pod once, on its node or the node it is assumed
        /// on: the counts of a plain walk of every pod.
        #[test]
        fn counts_are_those_of_a_walk_of_every_pod(
            pods in proptest::collection::vec(
                (0usize..2, 0usize..2, proptest::option::of(0usize..4), any::<bool>(), any::<bool>(), any::<bool>()),
                0..24,
            ),
            (app, tier, same, defaults) in (0usize..2, 0usize..2, any::<bool>(), any::<bool>()),
        ) {
            let mut cache = ObjectSet::indexed();
            for i in 0..4 {
                cache.put(node(i));
            }
            let mut assumed = crate::controllers::scheduler::Assumed::default();
            for (i, (a, t, on, assume, terminating, other_ns)) in pods.iter().enumerate() {
                let ns = if *other_ns { "other" } else { "db" };
                let mut p = pod(ns, &format!("p-{i}"), *a, *t, on.filter(|_| !assume));
                if *terminating {
                    p.metadata.deletion_timestamp = Some(SimTime(1));
                }
                if let (Some(n), true) = (on, assume) {
                    assumed.insert(p.metadata.key(), Name::new(&format!("node-{n}")));
                }
                cache.put(AnyObject::from(p));
            }
            // The pod being scheduled: by hostname on `app`, by zone on
            // `app` again or on `tier`; or, without constraints of its own,
            // the system defaults (both on `app`, the selector of the
            // StatefulSet that selects it).
            let zone_on = if same || defaults {
                ("app", format!("app-{app}"))
            } else {
                ("tier", format!("tier-{tier}"))
            };
            let mut me = pod("db", "me", app, tier, None);
            if defaults {
                let set: crate::api::StatefulSet = serde_json::from_value(json!({
                    "metadata": { "namespace": "db", "name": "web" },
                    "spec": {
                        "selector": { "matchLabels": { "app": format!("app-{app}") } },
                        "template": { "metadata": {}, "spec": {} },
                    },
                    "status": {},
                }))
                .expect("a set");
                cache.put(AnyObject::from(set));
            } else {
                me.spec = std::sync::Arc::new(serde_json::from_value(json!({
                    "topologySpreadConstraints": [
                        constraint(crate::api::node::LABEL_HOSTNAME, "app", format!("app-{app}")),
                        constraint(LABEL_ZONE, zone_on.0, zone_on.1.clone()),
                    ],
                })).expect("a spec"));
            }
            let spread = Spread::prepare(&me, &cache, &assumed).expect("constrained");
            let wanted = [("app", format!("app-{app}")), zone_on];
            for (i, (label, value)) in wanted.iter().enumerate() {
                let mut per_node = FxHashMap::<Name, i64>::default();
                for p in cache.list::<Pod>() {
                    let node = match assumed.get(&p.metadata.key()) {
                        Some(n) => *n,
                        None => p.spec.node_name,
                    };
                    if p.metadata.namespace == "db"
                        && p.metadata.deletion_timestamp.is_none()
                        && p.metadata.labels.get_str(label) == Some(value.as_str())
                        && !node.is_empty()
                    {
                        *per_node.entry(node).or_default() += 1;
                    }
                }
                prop_assert_eq!(&spread.per_node[i], &per_node);
                if i == 1 {
                    let mut zones = FxHashMap::<Name, i64>::default();
                    for (n, count) in &per_node {
                        let at: usize = n.as_str()["node-".len()..].parse().expect("a node");
                        *zones.entry(Name::new(ZONES[at % 2])).or_default() += count;
                    }
                    prop_assert_eq!(&spread.domains[1], &zones);
                }
            }
        }
    }
}
