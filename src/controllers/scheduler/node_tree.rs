//! The scheduler cache's `nodeTree` and `numFeasibleNodesToFind`
//! (pkg/scheduler/backend/cache/node_tree.go, schedule_one.go): the order a
//! scheduling cycle looks at nodes in — one node from each zone in turn,
//! zones and their nodes in the order they were added — and how many
//! feasible nodes it looks for before it stops filtering.

use crate::api::{Node, ObjectKey};
use std::collections::BTreeMap;

/// `minFeasibleNodesToFind`: below this many nodes every node is filtered.
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// `minFeasibleNodesPercentageToFind`.
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

/// Nodes grouped by zone, in the order they were added.
#[derive(Default)]
pub struct NodeTree {
    /// Zone key (`region:\0:zone`, as `utilnode.GetZoneKey`) and its nodes.
    zones: Vec<(String, Vec<String>)>,
    /// Each node's zone key: membership without a walk of its zone.
    zone_of: BTreeMap<String, String>,
    /// The interleaved list, as of the last [`NodeTree::rebuild`], as
    /// store keys (a cycle looks each node up without making a key).
    list: Vec<ObjectKey>,
    /// The zones changed since the list was built.
    stale: bool,
}

impl NodeTree {
    /// `addNode`: a node joins the end of its zone (a new zone joins the
    /// end of the zones); a node already present is left where it is.
    pub fn add(&mut self, node: &Node) {
        let name = &node.metadata.name;
        if self.zone_of.contains_key(name.as_str()) {
            return;
        }
        let zone = zone_key(node);
        self.zone_of.insert(name.to_string(), zone.clone());
        match self.zones.iter_mut().find(|(z, _)| *z == zone) {
            Some((_, names)) => names.push(name.to_string()),
            None => self.zones.push((zone, vec![name.to_string()])),
        }
        self.stale = true;
    }

    /// `removeNode`: an emptied zone goes too.
    pub fn remove(&mut self, name: &str) {
        let Some(zone) = self.zone_of.remove(name) else {
            return;
        };
        if let Some((_, names)) = self.zones.iter_mut().find(|(z, _)| *z == zone)
            && let Some(i) = names.iter().position(|n| n == name)
        {
            names.remove(i);
            self.stale = true;
        }
        self.zones.retain(|(_, names)| !names.is_empty());
    }

    /// `updateNode`: a node whose zone changed moves to the end of its new
    /// zone.
    pub fn update(&mut self, node: &Node) {
        let in_place = self
            .zone_of
            .get(node.metadata.name.as_str())
            .is_some_and(|z| *z == zone_key(node));
        if !in_place {
            self.remove(&node.metadata.name);
            self.add(node);
        }
    }

    /// How many nodes the tree holds.
    pub fn len(&self) -> usize {
        self.zone_of.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.zone_of.is_empty()
    }

    /// Brings [`NodeTree::list`] up to date (once per batch of changes,
    /// not once per node added); true if the list was made again.
    pub fn rebuild(&mut self) -> bool {
        if !self.stale {
            return false;
        }
        self.stale = false;
        self.list.clear();
        let deepest = self.zones.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
        for i in 0..deepest {
            let row = self
                .zones
                .iter()
                .filter_map(|(_, n)| n.get(i).map(ObjectKey::cluster));
            self.list.extend(row);
        }
        true
    }

    /// `list()`: the first node of every zone, then the second of every
    /// zone that has one, and so on — as of the last rebuild.
    pub fn list(&self) -> &[ObjectKey] {
        debug_assert!(!self.stale, "NodeTree::rebuild before NodeTree::list");
        &self.list
    }
}

/// `utilnode.GetZoneKey`: region and zone labels joined, or empty when the
/// node has neither.
fn zone_key(node: &Node) -> String {
    let labels = &node.metadata.labels;
    let region = labels
        .get_str("topology.kubernetes.io/region")
        .unwrap_or("");
    let zone = node.zone().unwrap_or("");
    if region.is_empty() && zone.is_empty() {
        return String::new();
    }
    format!("{region}:\x00:{zone}")
}

/// `numFeasibleNodesToFind`: every node below 100; otherwise
/// `percentage` of them (0: adaptive, 50 % less one point per 125 nodes,
/// at least 5 %), and never fewer than 100 nodes.
pub fn num_feasible_nodes_to_find(all: usize, percentage: u32) -> usize {
    if all < MIN_FEASIBLE_NODES_TO_FIND {
        return all;
    }
    let percentage = match percentage {
        0 => 50usize
            .saturating_sub(all / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND),
        p => p.min(100) as usize,
    };
    (all * percentage / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::node::LABEL_ZONE;

    fn node(name: &str, zone: &str) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": { LABEL_ZONE: zone } },
            "spec": {},
            "status": {},
        }))
        .expect("a node")
    }

    /// The formula at its edges: all below 100, the adaptive percentage,
    /// its 5 % floor and the 100-node floor.
    #[test]
    fn feasible_nodes_to_find_follows_the_adaptive_percentage() {
        let adaptive = |n| num_feasible_nodes_to_find(n, 0);
        assert_eq!(adaptive(10), 10);
        assert_eq!(adaptive(99), 99);
        assert_eq!(adaptive(100), 100);
        assert_eq!(adaptive(150), 100);
        // 50 - 1000/125 = 42 %.
        assert_eq!(adaptive(1000), 420);
        // 50 - 5000/125 = 10 %.
        assert_eq!(adaptive(5000), 500);
        // 50 - 6000/125 = 2 %, raised to 5 %.
        assert_eq!(adaptive(6000), 300);
        // Configured: that share, still at least 100 nodes.
        assert_eq!(num_feasible_nodes_to_find(1000, 100), 1000);
        assert_eq!(num_feasible_nodes_to_find(1000, 20), 200);
        assert_eq!(num_feasible_nodes_to_find(1000, 5), 100);
    }

    fn names(tree: &NodeTree) -> Vec<&str> {
        tree.list().iter().map(|k| k.name.as_str()).collect()
    }

    #[test]
    fn the_list_takes_one_node_from_each_zone_in_turn() {
        let mut tree = NodeTree::default();
        for n in [
            node("a1", "a"),
            node("a2", "a"),
            node("a3", "a"),
            node("b1", "b"),
            node("c1", "c"),
            node("c2", "c"),
        ] {
            tree.add(&n);
        }
        tree.rebuild();
        assert_eq!(names(&tree), ["a1", "b1", "c1", "a2", "c2", "a3"]);
        tree.remove("b1");
        tree.rebuild();
        assert_eq!(names(&tree), ["a1", "c1", "a2", "c2", "a3"]);
        // A node moving zone goes to the end of its new zone.
        tree.update(&node("a1", "c"));
        tree.rebuild();
        assert_eq!(names(&tree), ["a2", "c1", "a3", "c2", "a1"]);
        assert_eq!(tree.len(), 5);
    }
}
