//! Pods by the node they are bound to, as a controller's watch has shown
//! them: what a change of a node concerns, without a walk of every pod.

use crate::api::{AnyObject, Name, ObjectKey};
use crate::cluster::{AddrMap, ChangeOp, WatchEvent};
use std::collections::BTreeSet;

/// The index. Its maps are looked up, never walked, so hashed by the names'
/// addresses; each node's pods keep name order.
#[derive(Default)]
pub struct PodsByNode {
    by_node: AddrMap<Name, BTreeSet<ObjectKey>>,
    node_of: AddrMap<ObjectKey, Name>,
}

impl PodsByNode {
    /// Records a pod change (other kinds are ignored); says whether it
    /// moved the pod to, off or between nodes.
    pub fn observe(&mut self, ev: &WatchEvent) -> bool {
        let AnyObject::Pod(p) = &ev.object else {
            return false;
        };
        let node = (ev.op != ChangeOp::Deleted && !p.spec.node_name.is_empty())
            .then_some(p.spec.node_name);
        if self.node_of.get(&ev.key).copied() == node {
            return false;
        }
        if let Some(old) = self.node_of.remove(&ev.key)
            && let Some(set) = self.by_node.get_mut(&old)
        {
            set.remove(&ev.key);
            if set.is_empty() {
                self.by_node.remove(&old);
            }
        }
        if let Some(n) = node {
            self.node_of.insert(ev.key.clone(), n);
            self.by_node
                .get_or_insert_with(n, BTreeSet::new)
                .insert(ev.key.clone());
        }
        true
    }

    /// The pods bound to `node`, in name order.
    pub fn pods_on<'a>(&'a self, node: Name) -> impl Iterator<Item = &'a ObjectKey> + 'a {
        self.by_node.get(&node).into_iter().flatten()
    }
}
