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
//!
//! The facts live in slots that stay put while their node exists, and each
//! holds its node: a cycle walks the nodes by slot, in the node tree's
//! order, without a lookup by name per node (at 5,000 nodes a cycle looks
//! at about 1,500, and two hash probes each were most of its time).

use super::filters::{NodeEntry, NodeUsage};
use crate::api::Node;
use crate::api::meta::{Name, SelectorOperator};
use crate::api::node::{NodeSelector, Taint};
use crate::cluster::objects::Shared;
use rustc_hash::FxHashMap;
use slab::Slab;
use std::cell::Cell;

/// One node's facts.
pub struct NodeFacts {
    /// The node object the facts were read from.
    node: Shared<Node>,
    /// The node's name.
    pub name: Name,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// The taints the filters look at (NoSchedule and NoExecute), in the
    /// node's order; usually none.
    pub schedule_taints: Vec<Taint>,
    /// Allocatable CPU in millicores (`None`: not reported).
    pub cpu_milli: Option<i128>,
    /// Allocatable memory in bytes.
    pub memory: Option<i128>,
    /// Allocatable pod count.
    pub pods: Option<i128>,
    /// Labels, interned, in key order: in the facts themselves for a node
    /// with up to six (the simulator gives each node five), since a cycle
    /// reads them on every node it looks at, where a separate allocation
    /// cost a second cache miss per node in a large cluster.
    labels: smallvec::SmallVec<[(Name, Name); 6]>,
    /// Position in the order of node names, for ties broken in name order.
    pub rank: u32,
    /// The slot of the node's usage entry, once it has one.
    usage_slot: Cell<Option<usize>>,
}

impl NodeFacts {
    fn of(shared: Shared<Node>) -> Self {
        let node: &Node = &shared;
        let alloc = &node.status.allocatable;
        NodeFacts {
            // Already interned: copied, not interned again (interning
            // hashes the string and takes a lock).
            name: node.metadata.name,
            unschedulable: node.spec.unschedulable,
            schedule_taints: node
                .spec
                .taints
                .iter()
                .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
                .cloned()
                .collect(),
            cpu_milli: alloc.get("cpu").map(|q| q.milli_value()),
            memory: alloc.get("memory").map(|q| q.value()),
            pods: alloc.get("pods").map(|q| q.value()),
            labels: node.metadata.labels.iter().map(|(k, v)| (*k, *v)).collect(),
            rank: 0,
            usage_slot: Cell::new(None),
            node: shared,
        }
    }

    /// What the pods on the node use (`usage` is the one usage cache the
    /// scheduler keeps): found by name until the node has an entry, then
    /// by its slot.
    pub fn usage<'u>(&self, usage: &'u NodeUsage) -> Option<&'u NodeEntry> {
        if let Some(slot) = self.usage_slot.get() {
            return Some(usage.at(slot));
        }
        let slot = usage.slot_of(self.name)?;
        self.usage_slot.set(Some(slot));
        Some(usage.at(slot))
    }

    /// The node these facts are of.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The value of label `key` (interned: found by pointer).
    pub fn label(&self, key: Name) -> Option<Name> {
        self.labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The labels, interned, in key order.
    pub fn labels(&self) -> &[(Name, Name)] {
        &self.labels
    }
}

/// Every node's facts, in slots, found by name.
#[derive(Default)]
pub struct NodeFactsCache {
    slots: Slab<NodeFacts>,
    by_name: FxHashMap<Name, usize>,
    /// A node came or went since the ranks were given.
    ranks_stale: bool,
}

impl NodeFactsCache {
    /// A node was added or changed.
    pub fn put(&mut self, node: Shared<Node>) {
        let mut facts = NodeFacts::of(node);
        match self.by_name.get(&facts.name) {
            Some(&slot) => {
                let old = &mut self.slots[slot];
                facts.rank = old.rank;
                facts.usage_slot = old.usage_slot.clone();
                *old = facts;
            }
            None => {
                let name = facts.name;
                self.by_name.insert(name, self.slots.insert(facts));
                self.ranks_stale = true;
            }
        }
    }

    /// A node was deleted.
    pub fn remove(&mut self, name: Name) {
        if let Some(slot) = self.by_name.remove(&name) {
            self.slots.remove(slot);
            self.ranks_stale = true;
        }
    }

    /// Gives each node its place in name order, if nodes came or went;
    /// true if it did.
    pub fn rank(&mut self) -> bool {
        if !self.ranks_stale {
            return false;
        }
        self.ranks_stale = false;
        let mut slots: Vec<usize> = self.slots.iter().map(|(i, _)| i).collect();
        slots.sort_by(|&a, &b| self.slots[a].name.as_str().cmp(self.slots[b].name.as_str()));
        for (rank, slot) in slots.into_iter().enumerate() {
            self.slots[slot].rank = rank as u32;
        }
        true
    }

    /// How many nodes there are facts of.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The facts of node `name`.
    pub fn get(&self, name: Name) -> Option<&NodeFacts> {
        self.by_name.get(&name).map(|&slot| &self.slots[slot])
    }

    /// The slot of node `name`'s facts; it stays the node's until the node
    /// is removed.
    pub fn slot(&self, name: Name) -> Option<usize> {
        self.by_name.get(&name).copied()
    }

    /// The facts in `slot`.
    pub fn at(&self, slot: usize) -> &NodeFacts {
        &self.slots[slot]
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

    /// Whether some requirement is on label `key`.
    pub fn reads(&self, key: Name) -> bool {
        self.terms.iter().flatten().any(|(k, _, _)| *k == key)
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

    fn stored(node: Node) -> Shared<Node> {
        Shared::new(crate::api::AnyObject::from(node)).expect("a node")
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
            let facts = NodeFacts::of(stored(node("n", &labels)));
            prop_assert_eq!(
                InternedSelector::new(&sel).matches(&facts),
                sel.matches(&labels.iter().collect())
            );
        }
    }

    /// A node's facts find its usage entry once it has one, keep finding
    /// it when the node is updated, and see the entry's later changes.
    #[test]
    fn facts_find_their_usage_entry_by_slot() {
        let mut cache = NodeFactsCache::default();
        let mut usage = NodeUsage::default();
        let (a, b) = (Name::new("node-a"), Name::new("node-b"));
        cache.put(stored(node("node-a", &BTreeMap::new())));
        cache.put(stored(node("node-b", &BTreeMap::new())));
        assert!(cache.get(a).unwrap().usage(&usage).is_none());
        usage.entry(b).requested.2 = 7;
        usage.entry(a).requested.2 = 1;
        assert_eq!(cache.get(a).unwrap().usage(&usage).unwrap().requested.2, 1);
        // The node changes: its new facts keep the slot.
        let mut labels = BTreeMap::new();
        labels.insert("k".to_string(), "v".to_string());
        cache.put(stored(node("node-a", &labels)));
        usage.entry(a).requested.2 = 3;
        assert_eq!(cache.get(a).unwrap().usage(&usage).unwrap().requested.2, 3);
        assert_eq!(cache.get(b).unwrap().usage(&usage).unwrap().requested.2, 7);
    }

    #[test]
    fn ranks_follow_names_as_nodes_come_and_go() {
        let mut cache = NodeFactsCache::default();
        for name in ["node-b", "node-a", "node-c"] {
            cache.put(stored(node(name, &BTreeMap::new())));
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
