//! The VolumeBinding plugin (pkg/scheduler/framework/plugins/volumebinding):
//! PreFilter on the pod's claims, Filter per node (bound volumes' node
//! affinity; WaitForFirstConsumer claims matched to a static volume on the
//! node or provisionable there), and the Reserve decisions PreBind writes.

use super::node_facts::{InternedSelector, NodeFacts};
use crate::api::meta::Name;
use crate::api::persistent_volume::ANN_BIND_COMPLETED;
use crate::api::persistent_volume_claim::ANN_SELECTED_NODE;
use crate::api::{
    ClaimPhase, Node, ObjectKey, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass,
    VolumeBindingMode, VolumePhase,
};
use crate::cluster::ObjectSet;
use crate::controllers::pv_controller::is_volume_bound_to_claim;
use smallvec::SmallVec;
use std::collections::BTreeSet;

/// `ErrReasonNodeConflict` (1.33 wording, PR #129887).
pub const NODE_CONFLICT: &str = "node(s) didn't match PersistentVolume's node affinity";
/// `ErrReasonBindConflict`.
pub const BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
/// `ErrReasonPVNotExist`.
pub const PV_NOT_EXIST: &str =
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";

/// A claim is fully bound: it names a volume and binding completed.
pub fn is_fully_bound(c: &PersistentVolumeClaim) -> bool {
    !c.spec.volume_name.is_empty() && c.metadata.has_annotation(ANN_BIND_COMPLETED)
}

fn is_delay(cache: &ObjectSet, c: &PersistentVolumeClaim) -> bool {
    cache
        .get::<StorageClass>(&ObjectKey::cluster(c.class()))
        .is_some_and(|sc| sc.volume_binding_mode == VolumeBindingMode::WaitForFirstConsumer)
}

/// The pod's claims, in volume order.
fn claims<'a>(
    pod: &'a Pod,
    cache: &'a ObjectSet,
) -> impl Iterator<Item = (&'a str, Option<&'a PersistentVolumeClaim>)> {
    // The claims' keys are copies of interned names (no interning).
    pod.claim_keys()
        .map(move |key| (key.name.as_str(), cache.get::<PersistentVolumeClaim>(&key)))
}

/// PreFilter: every claim exists, none is being deleted or Lost, and none
/// is an unbound Immediate claim (`GetPodVolumeClaims`). The error is the
/// status message (UnschedulableAndUnresolvable).
pub fn prefilter(pod: &Pod, cache: &ObjectSet) -> Result<(), String> {
    let mut unbound_immediate = false;
    for (name, claim) in claims(pod, cache) {
        let Some(c) = claim else {
            return Err(format!("persistentvolumeclaim {name:?} not found"));
        };
        if c.metadata.deletion_timestamp.is_some() {
            return Err(format!("persistentvolumeclaim {name:?} is being deleted"));
        }
        if c.status.phase == ClaimPhase::Lost {
            return Err(format!(
                "persistentvolumeclaim {name:?} bound to non-existent persistentvolume {:?}",
                c.spec.volume_name
            ));
        }
        let unbound_delayed = is_delay(cache, c) && c.spec.volume_name.is_empty();
        if !(is_fully_bound(c) || unbound_delayed) {
            unbound_immediate = true;
        }
    }
    if unbound_immediate {
        return Err("pod has unbound immediate PersistentVolumeClaims".into());
    }
    Ok(())
}

/// What Reserve decided for one unbound claim on the chosen node.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Bind to this existing volume (PreBind writes its claimRef).
    Static(String),
    /// Provision on this node (PreBind writes the selected-node annotation).
    Provision,
}

/// PreFilter's state (`podVolumeClaims`): the pod's claims looked up once
/// per cycle — the volumes of the bound ones (`None`: missing), and the
/// unbound ones, smallest request first, each with what Filter needs of it
/// on every node — not once per node.
pub struct PodClaims<'a> {
    /// The bound claims' volumes, each with its required node affinity
    /// interned (`None`: the volume is missing).
    bound: Vec<Option<Option<InternedSelector>>>,
    unbound: Vec<Unbound<'a>>,
}

/// An unbound claim and what does not depend on the node: the node it was
/// promised to, its class (for provisioning) and the volumes that could be
/// bound to it anywhere (`unboundVolumesDelayBinding`).
struct Unbound<'a> {
    claim: &'a PersistentVolumeClaim,
    key: ObjectKey,
    selected_node: Option<&'a str>,
    class: Option<&'a StorageClass>,
    candidates: Vec<&'a PersistentVolume>,
}

impl<'a> PodClaims<'a> {
    /// The claims of `pod` as `cache` has them.
    pub fn of(pod: &'a Pod, cache: &'a ObjectSet) -> Self {
        let mut bound = Vec::new();
        let mut unbound: Vec<&PersistentVolumeClaim> = Vec::new();
        for (_, claim) in claims(pod, cache) {
            let Some(c) = claim else { continue };
            if is_fully_bound(c) {
                let pv =
                    cache.get::<PersistentVolume>(&ObjectKey::cluster_named(c.spec.volume_name));
                bound.push(pv.map(|pv| {
                    pv.spec
                        .node_affinity
                        .as_ref()
                        .map(|a| InternedSelector::new(&a.required))
                }));
            } else {
                unbound.push(c);
            }
        }
        // Smallest request first; volumes chosen for earlier claims are excluded.
        unbound.sort_by(|a, b| {
            a.request()
                .cmp(&b.request())
                .then(a.metadata.name.cmp(&b.metadata.name))
        });
        let unbound = unbound
            .into_iter()
            .map(|claim| Unbound {
                claim,
                key: claim.metadata.key(),
                selected_node: claim.metadata.annotation(ANN_SELECTED_NODE),
                class: cache.get::<StorageClass>(&ObjectKey::cluster(claim.class())),
                candidates: volume_candidates(claim, cache),
            })
            .collect();
        PodClaims { bound, unbound }
    }

    /// Whether a bound volume requires nodes other than the one of `facts`
    /// (the NodeConflict check), read from the node's facts alone. Such a
    /// node is infeasible whichever filter turns it down first.
    pub fn node_conflict(&self, facts: &NodeFacts) -> bool {
        self.bound
            .iter()
            .any(|pv| matches!(pv, Some(Some(a)) if !a.matches(facts)))
    }

    /// Whether Filter reads more of a node than its labels but `key`: a
    /// claim promised to a node reads its name, static volumes their
    /// affinity and the node object; otherwise a volume's affinity or a
    /// class's allowed topologies may read label `key`.
    pub fn reads_beyond_labels_but(&self, key: Name) -> bool {
        let affinity = self
            .bound
            .iter()
            .any(|pv| matches!(pv, Some(Some(a)) if a.reads(key)));
        let unbound = self.unbound.iter().any(|u| {
            u.selected_node.is_some()
                || !u.candidates.is_empty()
                || u.class.is_some_and(|sc| {
                    sc.allowed_topologies
                        .iter()
                        .flat_map(|t| &t.match_label_expressions)
                        .any(|r| r.key == key.as_str())
                })
        });
        affinity || unbound
    }

    /// Whether any bound volume has a node affinity to check.
    pub fn any_affinity(&self) -> bool {
        self.bound.iter().any(|pv| matches!(pv, Some(Some(_))))
    }
}

/// Filter on one node: the reasons it fails, in the plugin's order
/// (NodeConflict, BindConflict, PVNotExist); empty if it fits.
pub fn filter(claims: &PodClaims<'_>, facts: &NodeFacts) -> SmallVec<[&'static str; 3]> {
    check_node(claims, facts, None)
}

/// `FindPodVolumes`: the decisions for the unbound claims on the node of
/// `facts`, or why the node does not fit. The node object itself is read
/// only for what its facts do not hold (volumes to match, allowed
/// topologies).
pub fn find_pod_volumes(
    claims: &PodClaims<'_>,
    facts: &NodeFacts,
) -> Result<Vec<(ObjectKey, Decision)>, Vec<&'static str>> {
    let mut decisions = Vec::new();
    let reasons = check_node(claims, facts, Some(&mut decisions));
    if reasons.is_empty() {
        Ok(decisions)
    } else {
        Err(reasons.into_vec())
    }
}

/// The checks of `FindPodVolumes`; the decisions go to `decisions` when
/// the caller wants them (the filter of every node does not).
fn check_node(
    claims: &PodClaims<'_>,
    facts: &NodeFacts,
    mut decisions: Option<&mut Vec<(ObjectKey, Decision)>>,
) -> SmallVec<[&'static str; 3]> {
    let (mut node_conflict, mut bind_conflict, mut pv_missing) = (false, false, false);
    for pv in &claims.bound {
        match pv {
            None => pv_missing = true,
            Some(affinity) => {
                if affinity.as_ref().is_some_and(|a| !a.matches(facts)) {
                    node_conflict = true;
                }
            }
        }
    }
    let unbound = &claims.unbound;
    // Fast path: a claim already promised to another node.
    if unbound
        .iter()
        .any(|u| u.selected_node.is_some_and(|n| n != facts.name.as_str()))
    {
        bind_conflict = true;
    } else {
        let mut chosen: BTreeSet<String> = BTreeSet::new();
        for u in unbound {
            let matching = if u.candidates.is_empty() {
                None
            } else {
                find_matching_volume_on_node(u.claim, &u.candidates, facts.node(), &chosen)
            };
            if let Some(pv) = matching {
                chosen.insert(pv.clone());
                if let Some(d) = decisions.as_deref_mut() {
                    d.push((u.key.clone(), Decision::Static(pv)));
                }
            } else if u.class.is_some_and(|sc| can_provision_on(sc, facts)) {
                if let Some(d) = decisions.as_deref_mut() {
                    d.push((u.key.clone(), Decision::Provision));
                }
            } else {
                bind_conflict = true;
            }
        }
    }
    [
        (node_conflict, NODE_CONFLICT),
        (bind_conflict, BIND_CONFLICT),
        (pv_missing, PV_NOT_EXIST),
    ]
    .into_iter()
    .filter(|(hit, _)| *hit)
    .map(|(_, r)| r)
    .collect()
}

/// The provisioning check of `FindPodVolumes`: the class has a provisioner
/// and its allowed topologies admit the node.
fn can_provision_on(sc: &StorageClass, facts: &NodeFacts) -> bool {
    if sc.provisioner.is_empty() || sc.provisioner == "kubernetes.io/no-provisioner" {
        return false;
    }
    sc.allowed_topologies.is_empty() || {
        let labels = &facts.node().metadata.labels;
        sc.allowed_topologies.iter().any(|t| {
            t.match_label_expressions.iter().all(|r| {
                labels
                    .get(&r.key)
                    .is_some_and(|v| r.values.iter().any(|x| *v == *x))
            })
        })
    }
}

/// The volumes that could be bound to `claim` on some node, in the index's
/// order: of its class, free or claimed by it, big enough, of its volume
/// mode and not being deleted — the checks of `FindMatchingVolume` that do
/// not depend on the node, made once per cycle.
fn volume_candidates<'a>(
    claim: &PersistentVolumeClaim,
    cache: &'a ObjectSet,
) -> Vec<&'a PersistentVolume> {
    let Some(request) = claim.request() else {
        return Vec::new();
    };
    cache
        .pv_candidates(claim)
        .filter(|pv| {
            pv.class() == claim.class()
                && (pv.spec.claim_ref.is_none() || is_volume_bound_to_claim(pv, claim))
                && pv.capacity().is_some_and(|cap| cap >= request)
                && pv.spec.volume_mode == claim.spec.volume_mode
                && pv.metadata.deletion_timestamp.is_none()
        })
        .collect()
}

/// `FindMatchingVolume` on the scheduler's path (node given, delayed
/// binding): like the PV controller's, plus node affinity and access modes;
/// a volume pre-bound to the claim wins at once, or fails the node if its
/// affinity does not match.
///
/// `candidates` are [`volume_candidates`] of the claim: what is left to
/// check depends on the node or on the claims matched before this one.
fn find_matching_volume_on_node(
    claim: &PersistentVolumeClaim,
    candidates: &[&PersistentVolume],
    node: &Node,
    excluded: &BTreeSet<String>,
) -> Option<String> {
    let labels = &node.metadata.labels;
    let mut best: Option<&PersistentVolume> = None;
    for &pv in candidates {
        if excluded.contains(pv.metadata.name.as_str()) {
            continue;
        }
        let Some(cap) = pv.capacity() else { continue };
        let fits_node = pv
            .spec
            .node_affinity
            .as_ref()
            .is_none_or(|a| a.required.matches(labels));
        if is_volume_bound_to_claim(pv, claim) {
            return fits_node.then(|| pv.metadata.name.to_string());
        }
        if pv.status.phase != VolumePhase::Available {
            continue;
        }
        if let Some(sel) = &claim.spec.selector
            && !sel.matches(&pv.metadata.labels)
        {
            continue;
        }
        if !fits_node
            || !claim
                .spec
                .access_modes
                .iter()
                .all(|m| pv.spec.access_modes.contains(m))
        {
            continue;
        }
        if best.is_none_or(|b| b.capacity().is_some_and(|bc| bc > cap)) {
            best = Some(pv);
        }
    }
    best.map(|pv| pv.metadata.name.to_string())
}
