//! The default filter plugins of kube-scheduler 1.33, in their order
//! (`getDefaultPlugins`), each with its real failure text and status code.
//! A node stops at its first failing filter (`RunFilterPlugins`).

use super::node_facts::NodeFacts;
use super::volume_binding;
use crate::api::meta::Name;
use crate::api::node::Taint;
use crate::api::{
    AccessMode, Node, ObjectKey, PersistentVolume, PersistentVolumeClaim, Pod, Quantity,
};
use crate::cluster::ObjectSet;
use rustc_hash::FxHashMap;
use smallvec::{SmallVec, smallvec};
use std::borrow::Cow;

/// A failed node's reasons: most are fixed texts and a node has one or
/// two, so a cycle that turns down a thousand nodes allocates nothing
/// for them.
pub type Reasons = SmallVec<[Cow<'static, str>; 2]>;

/// Why a node failed a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    /// Preemption could help (Unschedulable) or not (UnschedulableAndUnresolvable).
    pub resolvable: bool,
    /// The reasons, as the histogram counts them.
    pub reasons: Reasons,
}

impl NodeStatus {
    /// A status with one reason.
    pub fn one(resolvable: bool, reason: impl Into<Cow<'static, str>>) -> Self {
        NodeStatus {
            resolvable,
            reasons: smallvec![reason.into()],
        }
    }

    fn unresolvable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::one(false, reason)
    }
}

/// The nodes a cycle turned down, tallied as the FailedScheduling message
/// counts them: how many nodes per reason, and how many of them
/// preemption could help.
#[derive(Default, Debug)]
pub struct Refusals {
    /// Nodes turned down.
    pub nodes: usize,
    /// Of those, the ones preemption could help.
    pub resolvable: usize,
    /// Nodes per reason, in the order the reasons were first seen.
    pub by_reason: Vec<(Cow<'static, str>, usize)>,
}

impl Refusals {
    /// Counts one node turned down for `status`.
    pub fn add(&mut self, status: NodeStatus) {
        self.nodes += 1;
        self.resolvable += usize::from(status.resolvable);
        for r in status.reasons {
            match self.by_reason.iter_mut().find(|(seen, _)| *seen == r) {
                Some((_, n)) => *n += 1,
                None => self.by_reason.push((r, 1)),
            }
        }
    }
}

/// What the filters and scores need to know of the pods on each node, by
/// node name: one entry per node that has had pods. An entry, once made,
/// keeps its slot (emptied, not removed, when the pods leave), so a node's
/// facts remember where it is ([`NodeFacts::usage`]) and a cycle finds it
/// without a lookup by name. The index is never walked, so hashed.
#[derive(Default)]
pub struct NodeUsage {
    entries: Vec<NodeEntry>,
    index: FxHashMap<Name, usize>,
}

/// What the pods on one node use.
#[derive(Default, Debug, PartialEq)]
pub struct NodeEntry {
    /// CPU (milli) and memory (bytes) requested, and how many pods.
    pub requested: (i128, i128, u32),
    /// CPU and memory as scoring counts them ([`super::scoring::non_zero_requests`]).
    pub non_zero: (i128, i128),
    /// CSI volumes attached-or-wanted, for NodeVolumeLimits, with how many
    /// of the node's pods bring each (counted and looked up, never walked:
    /// hashed by the names' addresses).
    pub csi_volumes: FxHashMap<CsiVolumeId, u32>,
}

/// One CSI volume as NodeVolumeLimits counts it (`getCSIVolumes`): a bound
/// claim's volume by its handle, an unbound claim as a volume of its own
/// still to be made. Typed rather than formatted into a string: the usage
/// cache recomputes a pod's volumes at every change of its claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsiVolumeId {
    /// A provisioned volume, by its CSI volume handle.
    Handle(Name),
    /// An unbound claim, by its key.
    Unbound(ObjectKey),
}

impl std::hash::Hash for CsiVolumeId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // By the interned names' addresses, as equality compares them (a
        // name's own hash reads the interner's entry, rarely in cache).
        match self {
            CsiVolumeId::Handle(h) => state.write_usize(h.addr()),
            CsiVolumeId::Unbound(k) => {
                state.write_usize(k.namespace.addr());
                state.write_usize(k.name.addr());
            }
        }
    }
}

impl NodeUsage {
    /// The entry of node `name`, if a pod has been there.
    pub fn of(&self, name: Name) -> Option<&NodeEntry> {
        self.slot_of(name).map(|i| &self.entries[i])
    }

    /// The slot of node `name`'s entry; it never changes.
    pub fn slot_of(&self, name: Name) -> Option<usize> {
        self.index.get(&name).copied()
    }

    /// The entry in `slot`.
    pub fn at(&self, slot: usize) -> &NodeEntry {
        &self.entries[slot]
    }

    /// Node `name`'s entry, made empty if it has none.
    pub fn entry(&mut self, name: Name) -> &mut NodeEntry {
        let entries = &mut self.entries;
        let i = *self.index.entry(name).or_insert_with(|| {
            entries.push(NodeEntry::default());
            entries.len() - 1
        });
        &mut self.entries[i]
    }

    /// The names that have an entry (in no set order).
    pub fn names(&self) -> impl Iterator<Item = Name> + '_ {
        self.index.keys().copied()
    }
}

/// CPU (milli) and memory (bytes) a pod requests.
pub fn pod_requests(pod: &Pod) -> (i128, i128) {
    pod.spec.containers.iter().fold((0, 0), |(c, m), k| {
        let cpu = k
            .resources
            .requests
            .get("cpu")
            .map(Quantity::milli_value)
            .unwrap_or(0);
        let mem = k
            .resources
            .requests
            .get("memory")
            .map(Quantity::value)
            .unwrap_or(0);
        (c + cpu, m + mem)
    })
}

/// Whether `pod` has a nodeSelector or a required node affinity (if not,
/// every node matches it).
pub fn has_node_constraints(pod: &Pod) -> bool {
    !pod.spec.node_selector.is_empty() || required_node_affinity(pod).is_some()
}

/// The pod's `requiredDuringSchedulingIgnoredDuringExecution` node affinity.
fn required_node_affinity(pod: &Pod) -> Option<&crate::api::node::NodeSelector> {
    pod.spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
}

/// Whether `pod`'s nodeSelector or required node affinity reads label `key`.
pub fn node_constraints_read(pod: &Pod, key: &str) -> bool {
    let selector = pod
        .spec
        .node_selector
        .iter()
        .any(|(k, _)| k.as_str() == key);
    let affinity = required_node_affinity(pod).is_some_and(|sel| {
        sel.node_selector_terms
            .iter()
            .flat_map(|t| &t.match_expressions)
            .any(|r| r.key == key)
    });
    selector || affinity
}

/// Whether `pod` may land on `node` by nodeSelector and required node affinity.
pub fn node_affinity_matches(pod: &Pod, node: &Node) -> bool {
    let labels = &node.metadata.labels;
    let selector_ok = pod
        .spec
        .node_selector
        .iter()
        .all(|(k, v)| labels.get(k).is_some_and(|x| *x == *v));
    let affinity_ok = required_node_affinity(pod).is_none_or(|sel| sel.matches(labels));
    selector_ok && affinity_ok
}

/// What a scheduling cycle computed once for the pod (the framework's
/// CycleState): the PreFilter results the filters read.
pub struct Cycle<'a> {
    /// NodeResourcesFit: the pod's cpu and memory requests.
    pub requests: (i128, i128),
    /// NodeVolumeLimits: the pod's CSI volumes of the driver.
    pub csi_volumes: &'a [CsiVolumeId],
    /// VolumeBinding: the pod's claims.
    pub claims: &'a volume_binding::PodClaims<'a>,
    /// VolumeRestrictions: a ReadWriteOncePod claim is in use.
    pub rwop_conflict: bool,
    /// NodeVolumeLimits: the driver's attachments per node.
    pub max_volumes: u32,
    /// PodTopologySpread's counts, if the pod has constraints.
    pub spread: Option<&'a super::topology_spread::Spread>,
}

/// Runs the filters in order on one node (by its facts, kept by the
/// scheduler cache); `None` means the node fits.
pub fn filter(
    pod: &Pod,
    facts: &NodeFacts,
    usage: &NodeUsage,
    cycle: &Cycle<'_>,
) -> Option<NodeStatus> {
    let Cycle {
        requests: (cpu, mem),
        csi_volumes,
        claims,
        rwop_conflict,
        max_volumes,
        spread,
    } = *cycle;
    // NodeUnschedulable.
    if facts.unschedulable {
        let unsched = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            value: String::new(),
            effect: "NoSchedule".into(),
        };
        if !pod.spec.tolerations.iter().any(|t| t.tolerates(&unsched)) {
            return Some(NodeStatus::unresolvable("node(s) were unschedulable"));
        }
    }
    // TaintToleration: the first untolerated NoSchedule/NoExecute taint.
    if let Some(t) = facts
        .schedule_taints
        .iter()
        .find(|t| !pod.spec.tolerations.iter().any(|tol| tol.tolerates(t)))
    {
        return Some(NodeStatus::unresolvable(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            t.key, t.value
        )));
    }
    // NodeAffinity (the node object is read only for a pod that has a
    // selector or an affinity).
    if has_node_constraints(pod) && !node_affinity_matches(pod, facts.node()) {
        return Some(NodeStatus::unresolvable(
            "node(s) didn't match Pod's node affinity/selector",
        ));
    }
    // NodeResourcesFit.
    let entry = facts.usage(usage);
    let (used_cpu, used_mem, used_pods) = entry.map_or((0, 0, 0), |e| e.requested);
    let mut insufficient = Reasons::new();
    if let Some(max_pods) = facts.pods
        && i128::from(used_pods) + 1 > max_pods
    {
        insufficient.push("Too many pods".into());
    }
    if let Some(a) = facts.cpu_milli
        && cpu > 0
        && used_cpu + cpu > a
    {
        insufficient.push("Insufficient cpu".into());
    }
    if let Some(a) = facts.memory
        && mem > 0
        && used_mem + mem > a
    {
        insufficient.push("Insufficient memory".into());
    }
    if !insufficient.is_empty() {
        return Some(NodeStatus {
            resolvable: true,
            reasons: insufficient,
        });
    }
    // VolumeRestrictions (ReadWriteOncePod).
    if rwop_conflict {
        return Some(NodeStatus::one(
            true,
            "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode",
        ));
    }
    // NodeVolumeLimits: unique CSI volumes of the driver on the node.
    let existing = entry.map(|e| &e.csi_volumes);
    let before = existing.map_or(0, FxHashMap::len);
    // The pod adds at most its own volumes: when even all of them fit, the
    // ones already on the node need not be told apart.
    let fits_anyway = before + csi_volumes.len() <= max_volumes as usize;
    let added = if fits_anyway {
        0
    } else {
        // Distinct ones only (a pod has a few: compared pairwise).
        let new: SmallVec<[&CsiVolumeId; 4]> = csi_volumes
            .iter()
            .filter(|v| existing.is_none_or(|e| !e.contains_key(*v)))
            .collect();
        (new.iter().enumerate())
            .filter(|(i, v)| !new[..*i].contains(v))
            .count()
    };
    let after = before + added;
    if after > before && after > max_volumes as usize {
        return Some(NodeStatus::one(true, "node(s) exceed max volume count"));
    }
    // VolumeBinding.
    let reasons = volume_binding::filter(claims, facts);
    if !reasons.is_empty() {
        return Some(NodeStatus {
            resolvable: false,
            reasons: reasons.into_iter().map(Cow::Borrowed).collect(),
        });
    }
    // PodTopologySpread.
    spread.and_then(|s| s.filter(facts))
}

/// The CSI volumes of `driver` a pod uses: bound volumes by handle, unbound
/// claims as one new volume each.
pub fn pod_csi_volumes(pod: &Pod, cache: &ObjectSet, driver: &str) -> Vec<CsiVolumeId> {
    let mut out = Vec::new();
    for key in pod.claim_keys() {
        let Some(claim) = cache.get::<PersistentVolumeClaim>(&key) else {
            continue;
        };
        if claim.spec.volume_name.is_empty() {
            out.push(CsiVolumeId::Unbound(key));
            continue;
        }
        if let Some(pv) =
            cache.get::<PersistentVolume>(&ObjectKey::cluster_named(claim.spec.volume_name))
            && let Some(csi) = &pv.spec.csi
            && csi.driver == driver
        {
            out.push(CsiVolumeId::Handle(csi.volume_handle));
        }
    }
    out
}

/// Whether any of the pod's ReadWriteOncePod claims is used by another pod
/// already scheduled (or assumed) anywhere.
pub fn rwop_conflict(pod: &Pod, cache: &ObjectSet, assumed: &super::Assumed) -> bool {
    let key = pod.metadata.key();
    pod.claim_keys().any(|ck| {
        let rwop = cache.get::<PersistentVolumeClaim>(&ck).is_some_and(|pvc| {
            pvc.spec
                .access_modes
                .contains(&AccessMode::ReadWriteOncePod)
        });
        rwop && cache.list::<Pod>().any(|other| {
            let ok = other.metadata.key();
            ok != key
                && (!other.spec.node_name.is_empty() || assumed.contains_key(&ok))
                && !other.is_terminal()
                && other.metadata.namespace == pod.metadata.namespace
                && other.claim_keys().any(|n| n == ck)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AnyObject;
    use crate::cluster::objects::Shared;
    use crate::controllers::scheduler::node_facts::NodeFactsCache;
    use serde_json::json;

    fn handle(h: &str) -> CsiVolumeId {
        CsiVolumeId::Handle(Name::new(h))
    }

    /// NodeVolumeLimits on a node that already has `on_node`, with a limit
    /// of three: the verdict for a pod bringing `pod_volumes`.
    fn fits(on_node: &[CsiVolumeId], pod_volumes: &[CsiVolumeId]) -> bool {
        let node: Node = serde_json::from_value(json!({
            "metadata": { "name": "n1", "labels": { "kubernetes.io/hostname": "n1" } },
            "spec": {},
            "status": { "allocatable": { "cpu": "4", "pods": "110" } },
        }))
        .expect("a node");
        let mut facts = NodeFactsCache::default();
        facts.put(Shared::new(AnyObject::from(node)).expect("a node"));
        let mut usage = NodeUsage::default();
        let entry = usage.entry(Name::new("n1"));
        entry.requested = (0, 0, u32::try_from(on_node.len()).expect("few"));
        for v in on_node {
            *entry.csi_volumes.entry(v.clone()).or_insert(0) += 1;
        }
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": "p", "namespace": "default" },
            "spec": { "containers": [{ "name": "c", "image": "app:1" }] },
            "status": {},
        }))
        .expect("a pod");
        let cache = ObjectSet::default();
        let claims = volume_binding::PodClaims::of(&pod, &cache);
        let cycle = Cycle {
            requests: (0, 0),
            csi_volumes: pod_volumes,
            claims: &claims,
            rwop_conflict: false,
            max_volumes: 3,
            spread: None,
        };
        let slot = facts.slot(Name::new("n1")).expect("a slot");
        match filter(&pod, facts.at(slot), &usage, &cycle) {
            None => true,
            Some(s) if s.reasons[0] == "node(s) exceed max volume count" => false,
            Some(other) => panic!("refused for another reason: {other:?}"),
        }
    }

    /// A volume already on the node, or brought twice by the pod, counts
    /// once; an unbound claim counts as a volume of its own, apart from
    /// any handle.
    #[test]
    fn volume_limits_count_distinct_volumes() {
        let on_node = [handle("vol-a"), handle("vol-b")];
        assert!(fits(&on_node, &[handle("vol-c")]));
        assert!(!fits(&on_node, &[handle("vol-c"), handle("vol-d")]));
        assert!(fits(&on_node, &[handle("vol-a"), handle("vol-c")]));
        assert!(fits(&on_node, &[handle("vol-c"), handle("vol-c")]));
        let unbound = CsiVolumeId::Unbound(ObjectKey::new("default", "data-web-0"));
        assert!(fits(&on_node, std::slice::from_ref(&unbound)));
        assert!(!fits(&on_node, &[unbound, handle("vol-c")]));
        assert!(!fits(
            &[handle("a"), handle("b"), handle("c")],
            &[handle("d")]
        ));
    }
}
