//! What a scheduling cycle reads of each node, kept in the form its
//! per-node checks want (the scheduler cache's `NodeInfo`): allocatable
//! numbers instead of a map of quantities, labels with interned keys and
//! values, and the node's place in name order. A cycle filters up to every
//! node and scores hundreds; each of those checks then costs integer and
//! pointer comparisons, where reading the node object cost string
//! comparisons of long, alike label keys and names.
//!
//! Kept current from the scheduler's Node watch events (the initial list
//! seeds it), so at every cycle it says what the informer cache's nodes say.

use crate::api::Node;
use crate::api::meta::{Name, SelectorOperator};
use crate::api::node::NodeSelector;
use rustc_hash::FxHashMap;

/// One node's facts.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeFacts {
    /// The node's name.
    pub name: Name,
    /// Allocatable CPU in millicores (`None`: not reported).
    pub cpu_milli: Option<i128>,
    /// Allocatable memory in bytes.
    pub memory: Option<i128>,
    /// Allocatable pod count.
    pub pods: Option<i128>,
    /// Labels, interned, in key order.
    labels: Vec<(Name, Name)>,
    /// Position in the order of node names, for ties broken in name order.
    pub rank: u32,
}

impl NodeFacts {
    fn of(node: &Node) -> Self {
        let alloc = &node.status.allocatable;
        NodeFacts {
            name: Name::new(&node.metadata.name),
            cpu_milli: alloc.get("cpu").map(|q| q.milli_value()),
            memory: alloc.get("memory").map(|q| q.value()),
            pods: alloc.get("pods").map(|q| q.value()),
            labels: node
                .metadata
                .labels
                .iter()
                .map(|(k, v)| (Name::new(k), Name::new(v)))
                .collect(),
            rank: 0,
        }
    }

    /// The value of label `key` (interned: found by pointer).
    pub fn label(&self, key: Name) -> Option<Name> {
        self.labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// Every node's facts, by name.
#[derive(Default)]
pub struct NodeFactsCache {
    nodes: FxHashMap<Name, NodeFacts>,
    /// A node came or went since the ranks were given.
    ranks_stale: bool,
}

impl NodeFactsCache {
    /// A node was added or changed.
    pub fn put(&mut self, node: &Node) {
        let mut facts = NodeFacts::of(node);
        let name = facts.name;
        match self.nodes.get_mut(&name) {
            Some(old) => {
                facts.rank = old.rank;
                *old = facts;
            }
            None => {
                self.nodes.insert(name, facts);
                self.ranks_stale = true;
            }
        }
    }

    /// A node was deleted.
    pub fn remove(&mut self, name: Name) {
        if self.nodes.remove(&name).is_some() {
            self.ranks_stale = true;
        }
    }

    /// Gives each node its place in name order, if nodes came or went.
    pub fn rank(&mut self) {
        if !self.ranks_stale {
            return;
        }
        self.ranks_stale = false;
        let mut names: Vec<Name> = self.nodes.keys().copied().collect();
        names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        for (i, n) in names.iter().enumerate() {
            if let Some(f) = self.nodes.get_mut(n) {
                f.rank = i as u32;
            }
        }
    }

    /// How many nodes there are facts of.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The facts of node `name`.
    pub fn get(&self, name: Name) -> Option<&NodeFacts> {
        self.nodes.get(&name)
    }
}

/// A node selector with its keys and values interned, matched against
/// [`NodeFacts`] as [`NodeSelector::matches`] matches a node's labels.
pub struct InternedSelector {
    /// Terms, ORed; each an AND of (key, operator, values).
    terms: Vec<Vec<(Name, SelectorOperator, Vec<Name>)>>,
}

impl InternedSelector {
    /// Interns `sel`'s keys and values (once per cycle, not per node).
    pub fn new(sel: &NodeSelector) -> Self {
        InternedSelector {
            terms: sel
                .node_selector_terms
                .iter()
                .map(|t| {
                    t.match_expressions
                        .iter()
                        .map(|r| {
                            let values = r.values.iter().map(|v| Name::new(v)).collect();
                            (Name::new(&r.key), r.operator, values)
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// True if any term matches the node (an empty term matches nothing).
    pub fn matches(&self, node: &NodeFacts) -> bool {
        self.terms.iter().any(|t| {
            !t.is_empty()
                && t.iter().all(|(key, op, values)| {
                    let v = node.label(*key);
                    match op {
                        SelectorOperator::In => v.is_some_and(|v| values.contains(&v)),
                        SelectorOperator::NotIn => v.is_none_or(|v| !values.contains(&v)),
                        SelectorOperator::Exists => v.is_some(),
                        SelectorOperator::DoesNotExist => v.is_none(),
                        SelectorOperator::Gt | SelectorOperator::Lt => match (v, values.first()) {
                            (Some(v), Some(bound)) => op.compares(&v, bound),
                            _ => false,
                        },
                    }
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::node::{NodeSelectorRequirement, NodeSelectorTerm};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn node(name: &str, labels: &BTreeMap<String, String>) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": labels },
            "spec": {},
            "status": {},
        }))
        .expect("a node")
    }

    fn op(i: u8) -> SelectorOperator {
        match i % 6 {
            0 => SelectorOperator::In,
            1 => SelectorOperator::NotIn,
            2 => SelectorOperator::Exists,
            3 => SelectorOperator::DoesNotExist,
            4 => SelectorOperator::Gt,
            _ => SelectorOperator::Lt,
        }
    }

    proptest! {
        /// The interned matcher answers as the label map's matcher, for
        /// any labels and any selector over a few keys and values.
        #[test]
        fn interned_selectors_match_as_label_maps_do(
            labels in proptest::collection::btree_map("[abc]", "[0-9xy]{1,2}", 0..4),
            terms in proptest::collection::vec(
                proptest::collection::vec(
                    ("[abcd]", 0u8..6, proptest::collection::vec("[0-9xy]{1,2}", 0..3)),
                    0..3,
                ),
                0..3,
            ),
        ) {
            let sel = NodeSelector {
                node_selector_terms: terms
                    .into_iter()
                    .map(|t| NodeSelectorTerm {
                        match_expressions: t
                            .into_iter()
                            .map(|(key, o, values)| NodeSelectorRequirement {
                                key,
                                operator: op(o),
                                values,
                            })
                            .collect(),
                    })
                    .collect(),
            };
            let facts = NodeFacts::of(&node("n", &labels));
            prop_assert_eq!(
                InternedSelector::new(&sel).matches(&facts),
                sel.matches(&labels)
            );
        }
    }

    #[test]
    fn ranks_follow_names_as_nodes_come_and_go() {
        let mut cache = NodeFactsCache::default();
        for name in ["node-b", "node-a", "node-c"] {
            cache.put(&node(name, &BTreeMap::new()));
        }
        cache.rank();
        let rank = |c: &NodeFactsCache, n: &str| c.get(Name::new(n)).map(|f| f.rank);
        assert_eq!(rank(&cache, "node-a"), Some(0));
        assert_eq!(rank(&cache, "node-c"), Some(2));
        cache.remove(Name::new("node-a"));
        cache.rank();
        assert_eq!(rank(&cache, "node-b"), Some(0));
        assert_eq!(rank(&cache, "node-c"), Some(1));
    }
}
