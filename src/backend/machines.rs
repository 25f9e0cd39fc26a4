//! The machines under the nodes, as opposed to the API's view of them: which
//! ones are down (power lost, kernel panic, cut off from the control plane).
//! Controllers that run on a node (kubelet) stop there; the control plane
//! only learns of it through missed heartbeats.

use crate::engine::SimTime;
use std::collections::BTreeMap;

/// Which machines are down, and since when.
#[derive(Clone, Debug, Default)]
pub struct Machines {
    down: BTreeMap<String, SimTime>,
}

impl Machines {
    /// `node` goes down at `at` (no change if it already is).
    pub fn fail(&mut self, node: &str, at: SimTime) {
        self.down.entry(node.to_string()).or_insert(at);
    }

    /// `node` is back.
    pub fn recover(&mut self, node: &str) {
        self.down.remove(node);
    }

    /// Since when `node` has been down, if it is.
    pub fn down_since(&self, node: &str) -> Option<SimTime> {
        self.down.get(node).copied()
    }

    /// Whether `node` is down. Asked for every pod kubelet syncs: with no
    /// machine down (nearly always) the answer comes before the name's
    /// string is read, which for an interned name is a load from the
    /// interner, rarely in cache in a large fleet.
    pub fn is_down<S: AsRef<str> + ?Sized>(&self, node: &S) -> bool {
        !self.down.is_empty() && self.down.contains_key(node.as_ref())
    }
}
