//! The scheduler cache's snapshot (`Snapshot.nodeInfoList`, refreshed at
//! the start of every cycle by `UpdateSnapshot`): the numbers a cycle's
//! filters and scores read of each node, packed one cache line per node in
//! the node tree's order.
//!
//! A cycle looks at hundreds of nodes (500 of 5,000 at 100 k pods). Read
//! from each node's facts and usage entry, that was six cache lines per
//! node, missed on nearly every node since the rest of a large run evicts
//! them between cycles: most of a cycle's time. Here a node is one line,
//! and the nodes lie in the order the cycle walks them.
//!
//! Labels are not copied per node: nodes whose labels are alike but for
//! their hostname share a *class*, and a cycle decides what depends on
//! labels alone (node affinity, volume topology, spread domains) once per
//! class. The facts and usage stay the truth: a row is made again from
//! them whenever either changes, and debug builds check every row against
//! them at every cycle.

use super::filters::{NodeEntry, NodeUsage};
use super::node_facts::{NodeFacts, NodeFactsCache};
use crate::api::meta::Name;
use crate::api::node::LABEL_HOSTNAME;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

/// A node's labels but its hostname: what its class is made of.
type ClassLabels = SmallVec<[(Name, Name); 6]>;

/// `kubernetes.io/hostname`, interned once (interning takes a lock).
pub(super) fn hostname() -> Name {
    static HOSTNAME: std::sync::OnceLock<Name> = std::sync::OnceLock::new();
    *HOSTNAME.get_or_init(|| Name::new(LABEL_HOSTNAME))
}

/// The filters must run in full on this node: it is unschedulable, has
/// NoSchedule/NoExecute taints, or its class could not be numbered.
pub const SLOW: u8 = 1;
/// Some number needs 128 bits: scoring reads the facts and usage instead.
pub const WIDE: u8 = 2;
/// Allocatable CPU is reported.
pub const HAS_CPU: u8 = 4;
/// Allocatable memory is reported.
pub const HAS_MEMORY: u8 = 8;
/// Allocatable pods are reported.
pub const HAS_PODS: u8 = 16;

/// One node's numbers (as [`NodeFacts`] and its [`NodeEntry`] hold them),
/// in one cache line.
#[repr(align(64))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// Allocatable CPU (milli) and memory (bytes).
    pub alloc: (i64, i64),
    /// Requested CPU and memory of the node's pods.
    pub used: (i64, i64),
    /// The same as scoring counts them (`NonZeroRequested`).
    pub non_zero: (i64, i64),
    /// Allocatable pods.
    pub alloc_pods: u32,
    /// Pods on the node.
    pub pods: u32,
    /// Distinct CSI volumes of the driver on the node.
    pub csi_volumes: u32,
    /// The node's class (labels but its hostname).
    pub class: u16,
    /// [`SLOW`], [`WIDE`], [`HAS_CPU`], [`HAS_MEMORY`], [`HAS_PODS`].
    pub flags: u8,
}

impl Row {
    /// Scoring cannot read this node from its row and class alone.
    fn inexact(&self) -> bool {
        self.flags & WIDE != 0 || self.class == u16::MAX
    }
}

/// The snapshot: rows and what identifies them, in walk order.
#[derive(Default)]
pub struct Snapshot {
    rows: Vec<Row>,
    /// Each position's slot in the facts.
    slots: Vec<usize>,
    /// Each position's rank in node-name order.
    ranks: Vec<u32>,
    /// Each position's node name.
    names: Vec<Name>,
    /// Each position's hostname label.
    hosts: Vec<Option<Name>>,
    /// Position by node name (looked up, never walked).
    position: FxHashMap<Name, usize>,
    /// Class by labels, and each class's labels; classes are never
    /// renumbered, so a cycle's per-class answers stay valid all cycle.
    classes: FxHashMap<ClassLabels, u16>,
    class_labels: Vec<ClassLabels>,
    /// Positions whose facts or usage changed since the last refresh, each
    /// once (`marked` says which): at most one per node however many
    /// events come between cycles.
    dirty: Vec<usize>,
    marked: Vec<bool>,
    /// How many rows scoring cannot read alone: [`WIDE`], or of no class.
    inexact: usize,
}

impl Snapshot {
    /// Makes every row again, for the walk `slots` (the node tree's order as
    /// facts slots): after the tree or the ranks changed.
    pub fn rebuild(&mut self, slots: &[usize], facts: &NodeFactsCache, usage: &NodeUsage) {
        self.dirty.clear();
        self.marked.clear();
        self.marked.resize(slots.len(), false);
        self.slots = slots.to_vec();
        self.position.clear();
        self.rows.clear();
        self.ranks.clear();
        self.names.clear();
        self.hosts.clear();
        self.inexact = 0;
        let hostname = hostname();
        for (pos, &slot) in slots.iter().enumerate() {
            let f = facts.at(slot);
            let row = self.row_of(f, f.usage(usage));
            self.inexact += usize::from(row.inexact());
            self.rows.push(row);
            self.ranks.push(f.rank);
            self.names.push(f.name);
            self.hosts.push(f.label(hostname));
            self.position.insert(f.name, pos);
        }
    }

    /// Node `name`'s facts or usage changed: its row is made again at the
    /// next refresh. (A node not in the snapshot yet gets its row when the
    /// snapshot is next rebuilt, as every new node makes it.)
    pub fn mark(&mut self, name: Name) {
        if let Some(&pos) = self.position.get(&name)
            && !std::mem::replace(&mut self.marked[pos], true)
        {
            self.dirty.push(pos);
        }
    }

    /// Makes the rows of the nodes marked since the last refresh again.
    pub fn refresh(&mut self, facts: &NodeFactsCache, usage: &NodeUsage) {
        let hostname = hostname();
        let mut dirty = std::mem::take(&mut self.dirty);
        for pos in dirty.drain(..) {
            self.marked[pos] = false;
            let f = facts.at(self.slots[pos]);
            let row = self.row_of(f, f.usage(usage));
            self.inexact -= usize::from(self.rows[pos].inexact());
            self.inexact += usize::from(row.inexact());
            self.rows[pos] = row;
            self.hosts[pos] = f.label(hostname);
        }
        self.dirty = dirty;
        #[cfg(debug_assertions)]
        crate::cluster::objects::uncounted(|| self.assert_current(facts, usage));
    }

    /// Debug builds: every row is what the facts and usage say now.
    #[cfg(debug_assertions)]
    fn assert_current(&mut self, facts: &NodeFactsCache, usage: &NodeUsage) {
        for pos in 0..self.rows.len() {
            let f = facts.at(self.slots[pos]);
            let fresh = self.row_of(f, f.usage(usage));
            assert_eq!(
                self.rows[pos], fresh,
                "node {}'s snapshot row drifted",
                f.name
            );
            assert_eq!(self.ranks[pos], f.rank, "node {}'s rank drifted", f.name);
            let host = f.label(hostname());
            assert_eq!(self.hosts[pos], host, "node {}'s hostname drifted", f.name);
        }
    }

    /// The row of a node from its facts and usage.
    fn row_of(&mut self, f: &NodeFacts, entry: Option<&NodeEntry>) -> Row {
        let mut flags = 0;
        let mut narrow = |v: i128| {
            i64::try_from(v).unwrap_or_else(|_| {
                flags |= WIDE;
                0
            })
        };
        let mut row = Row {
            alloc: (
                narrow(f.cpu_milli.unwrap_or(0)),
                narrow(f.memory.unwrap_or(0)),
            ),
            ..Row::default()
        };
        if let Some(e) = entry {
            row.used = (narrow(e.requested.0), narrow(e.requested.1));
            row.non_zero = (narrow(e.non_zero.0), narrow(e.non_zero.1));
            row.pods = e.requested.2;
            row.csi_volumes = u32::try_from(e.csi_volumes.len()).unwrap_or_else(|_| {
                flags |= SLOW;
                u32::MAX
            });
        }
        if let Some(p) = f.pods {
            flags |= HAS_PODS;
            row.alloc_pods = u32::try_from(p).unwrap_or_else(|_| {
                flags |= SLOW | WIDE;
                0
            });
        }
        if f.cpu_milli.is_some() {
            flags |= HAS_CPU;
        }
        if f.memory.is_some() {
            flags |= HAS_MEMORY;
        }
        // Truncated numbers cannot say a node fits either.
        if f.unschedulable || !f.schedule_taints.is_empty() || flags & WIDE != 0 {
            flags |= SLOW;
        }
        let hostname = hostname();
        let labels: ClassLabels = f
            .labels()
            .iter()
            .filter(|(k, _)| *k != hostname)
            .copied()
            .collect();
        row.class = match self.classes.get(&labels) {
            Some(&c) => c,
            None if self.class_labels.len() < usize::from(u16::MAX) => {
                let c = self.class_labels.len() as u16;
                self.class_labels.push(labels.clone());
                self.classes.insert(labels, c);
                c
            }
            None => {
                flags |= SLOW;
                u16::MAX
            }
        };
        row.flags = flags;
        row
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many classes have been numbered (the bound of [`Row::class`]
    /// but for [`SLOW`] rows).
    pub fn classes(&self) -> usize {
        self.class_labels.len()
    }

    /// The row at `pos`.
    pub fn row(&self, pos: usize) -> &Row {
        &self.rows[pos]
    }

    /// The facts slot of the node at `pos`.
    pub fn slot(&self, pos: usize) -> usize {
        self.slots[pos]
    }

    /// The rank in name order of the node at `pos`.
    pub fn rank(&self, pos: usize) -> u32 {
        self.ranks[pos]
    }

    /// The position of node `name`.
    pub fn position(&self, name: Name) -> Option<usize> {
        self.position.get(&name).copied()
    }

    /// True when scoring can read every node from its row and class: no
    /// row is [`WIDE`] or without a class.
    pub fn scores_exactly(&self) -> bool {
        self.inexact == 0
    }

    /// The node at `pos`, as scoring reads it.
    pub fn at(&self, pos: usize) -> Place<'_> {
        Place { snap: self, pos }
    }
}

/// One node of the snapshot, for scores that read labels and names.
#[derive(Clone, Copy)]
pub struct Place<'a> {
    snap: &'a Snapshot,
    pos: usize,
}

impl Place<'_> {
    /// The node's name.
    pub fn name(&self) -> Name {
        self.snap.names[self.pos]
    }

    /// The value of label `key` (interned: found by pointer).
    pub fn label(&self, key: Name) -> Option<Name> {
        if key == hostname() {
            return self.snap.hosts[self.pos];
        }
        let class = self.snap.rows[self.pos].class;
        self.snap.class_labels[usize::from(class)]
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// The node's row.
    pub fn row(&self) -> &Row {
        &self.snap.rows[self.pos]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AnyObject;
    use crate::cluster::objects::Shared;
    use serde_json::json;

    /// Many changes of a node between cycles leave one mark, and the
    /// refresh makes its row from what the facts and usage say then.
    #[test]
    fn a_node_changed_many_times_is_refreshed_once_and_current() {
        let (mut facts, mut usage) = (NodeFactsCache::default(), NodeUsage::default());
        let node: crate::api::Node = serde_json::from_value(json!({
            "metadata": { "name": "n", "labels": { "kubernetes.io/hostname": "n" } },
            "spec": {},
            "status": { "allocatable": { "cpu": "4" } },
        }))
        .expect("a node");
        facts.put(Shared::new(AnyObject::from(node)).expect("a node"));
        facts.rank();
        let name = Name::new("n");
        let mut snapshot = Snapshot::default();
        snapshot.rebuild(&[facts.slot(name).expect("a slot")], &facts, &usage);
        for pods in 1..=1000 {
            usage.entry(name).requested = (100 * i128::from(pods), 0, pods);
            snapshot.mark(name);
        }
        assert_eq!(snapshot.dirty, [0]);
        snapshot.refresh(&facts, &usage);
        assert!(snapshot.dirty.is_empty());
        assert_eq!(snapshot.row(0).pods, 1000);
        assert_eq!(snapshot.row(0).used, (100_000, 0));
        assert_eq!(snapshot.row(0).alloc, (4000, 0));
    }
}
