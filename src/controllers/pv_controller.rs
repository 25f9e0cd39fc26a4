//! The PV controller (kube-controller-manager,
//! pkg/controller/volume/persistentvolume/pv_controller.go): binds claims to
//! volumes, keeps both phases right, hands dynamic provisioning to the
//! external provisioner and reclaims released volumes.
//!
//! Where the real controller's choice depends on map iteration (ties between
//! access-mode groups of equal size, or between equally small volumes) the
//! model breaks the tie by name, so runs are reproducible.

use super::settings::PvControllerSettings;
use super::workqueue::WorkQueue;
use super::{Api, Controller, Ctx};
use crate::api::persistent_volume::{
    ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_DYNAMICALLY_PROVISIONED, ClaimRef,
    access_modes_string,
};
use crate::api::persistent_volume_claim::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
};
use crate::api::{
    AnyObject, ClaimPhase, Kind, ObjectKey, ObjectRef, PersistentVolume, PersistentVolumeClaim,
    Pod, ReclaimPolicy, StorageClass, VolumeBindingMode, VolumePhase,
};
use crate::cluster::{ChangeOp, EventType, Store, WatchEvent};
use crate::engine::SimTime;
use std::collections::{BTreeMap, BTreeSet};

/// Event source of everything this controller records.
pub const SOURCE: &str = "persistentvolume-controller";

/// What the two work queues hold (the real controller has one per kind).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum SyncKey {
    Volume(ObjectKey),
    Claim(ObjectKey),
}

impl super::workqueue::QueueKey for SyncKey {
    fn queue_hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (tag, key) = match self {
            SyncKey::Volume(k) => (0, k),
            SyncKey::Claim(k) => (1, k),
        };
        state.write_u8(tag);
        key.queue_hash(state);
    }
}

/// The controller.
pub struct PvController {
    settings: PvControllerSettings,
    queue: WorkQueue<SyncKey>,
    /// Claims whose last sync left them unbound: the periodic resync is
    /// modelled by its effect on these, so an idle cluster sets no timer.
    unbound: BTreeSet<ObjectKey>,
    resync_at: Option<SimTime>,
}

impl PvController {
    /// A controller with `settings`.
    pub fn new(settings: PvControllerSettings) -> Self {
        PvController {
            settings,
            queue: WorkQueue::default(),
            unbound: BTreeSet::new(),
            resync_at: None,
        }
    }

    fn claim_event(
        store: &mut Api<'_>,
        claim: &PersistentVolumeClaim,
        kind: EventType,
        reason: &str,
        msg: String,
    ) {
        let r = ObjectRef::new(Kind::PersistentVolumeClaim, claim.metadata.key());
        store.record_event(r, kind, reason, msg, SOURCE);
    }

    fn volume_event(
        store: &mut Api<'_>,
        pv: &PersistentVolume,
        kind: EventType,
        reason: &str,
        msg: String,
    ) {
        let r = ObjectRef::new(Kind::PersistentVolume, pv.metadata.key());
        store.record_event(r, kind, reason, msg, SOURCE);
    }

    // ---- claims -----------------------------------------------------------

    /// `syncClaim`.
    fn sync_claim(&mut self, store: &mut Api<'_>, key: &ObjectKey, now: SimTime) {
        let Some(claim) = store.get_shared::<PersistentVolumeClaim>(key) else {
            self.unbound.remove(key);
            return;
        };
        if claim.metadata.has_annotation(ANN_BIND_COMPLETED) {
            self.sync_bound_claim(store, &claim, now);
        } else {
            self.sync_unbound_claim(store, &claim, now);
        }
        match store.get::<PersistentVolumeClaim>(key) {
            Some(c) if c.status.phase == ClaimPhase::Pending => self.unbound.insert(key.clone()),
            _ => self.unbound.remove(key),
        };
    }

    /// `syncUnboundClaim`.
    fn sync_unbound_claim(
        &mut self,
        store: &mut Api<'_>,
        claim: &PersistentVolumeClaim,
        _now: SimTime,
    ) {
        if claim.spec.volume_name.is_empty() {
            let delay = is_delay_binding(store, claim);
            if let Some(pv) = find_best_match(store, claim, delay) {
                bind(store, &pv, claim);
                return;
            }
            if assign_default_storage_class(store, claim) {
                return;
            }
            let class = claim.class().to_string();
            if delay && !claim.metadata.has_annotation(ANN_SELECTED_NODE) {
                emit_unbound_delay_binding_event(store, claim);
            } else if !class.is_empty() {
                provision_claim(store, claim, &class);
                return;
            } else {
                Self::claim_event(
                    store,
                    claim,
                    EventType::Normal,
                    "FailedBinding",
                    "no persistent volumes available for this claim and no storage class is set"
                        .into(),
                );
            }
            update_claim_status(store, &claim.metadata.key(), ClaimPhase::Pending, None);
            return;
        }
        // The user asked for a specific PV.
        let pv_key = ObjectKey::cluster_named(claim.spec.volume_name);
        let Some(pv) = store.get_shared::<PersistentVolume>(&pv_key) else {
            update_claim_status(store, &claim.metadata.key(), ClaimPhase::Pending, None);
            return;
        };
        match &pv.spec.claim_ref {
            None => {
                if let Err(why) = check_volume_satisfy_claim(&pv, claim) {
                    let msg = format!(
                        "Cannot bind to requested volume {:?}: {why}",
                        pv.metadata.name
                    );
                    Self::claim_event(store, claim, EventType::Warning, "VolumeMismatch", msg);
                    update_claim_status(store, &claim.metadata.key(), ClaimPhase::Pending, None);
                } else {
                    bind(store, &pv, claim);
                }
            }
            Some(_) if is_volume_bound_to_claim(&pv, claim) => bind(store, &pv, claim),
            Some(_) => {
                let msg = format!(
                    "volume {:?} already bound to a different claim.",
                    pv.metadata.name
                );
                Self::claim_event(store, claim, EventType::Warning, "FailedBinding", msg);
                if !claim.metadata.has_annotation(ANN_BOUND_BY_CONTROLLER) {
                    update_claim_status(store, &claim.metadata.key(), ClaimPhase::Pending, None);
                }
                // Else: "THIS SHOULD NEVER HAPPEN"; the real controller returns
                // an error and changes nothing.
            }
        }
    }

    /// `syncBoundClaim`.
    fn sync_bound_claim(
        &mut self,
        store: &mut Api<'_>,
        claim: &PersistentVolumeClaim,
        _now: SimTime,
    ) {
        let key = claim.metadata.key();
        if claim.spec.volume_name.is_empty() {
            update_claim_status_with_event(
                store,
                &key,
                ClaimPhase::Lost,
                "ClaimLost",
                "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
            );
            return;
        }
        let pv_key = ObjectKey::cluster_named(claim.spec.volume_name);
        let Some(pv) = store.get_shared::<PersistentVolume>(&pv_key) else {
            update_claim_status_with_event(
                store,
                &key,
                ClaimPhase::Lost,
                "ClaimLost",
                "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
            );
            return;
        };
        match &pv.spec.claim_ref {
            None => bind(store, &pv, claim),
            Some(r) if r.uid == claim.metadata.uid => bind(store, &pv, claim),
            Some(_) => update_claim_status_with_event(
                store,
                &key,
                ClaimPhase::Lost,
                "ClaimMisbound",
                "Two claims are bound to the same volume, this one is bound incorrectly",
            ),
        }
    }

    // ---- volumes ----------------------------------------------------------

    /// `syncVolume`.
    fn sync_volume(&mut self, store: &mut Api<'_>, key: &ObjectKey, now: SimTime) {
        let Some(pv) = store.get_shared::<PersistentVolume>(key) else {
            return;
        };
        let Some(cref) = pv.spec.claim_ref.clone() else {
            update_volume_phase(store, key, VolumePhase::Available, "");
            return;
        };
        if cref.uid.is_empty() {
            // Reserved for a claim by name; the claim's sync binds it.
            update_volume_phase(store, key, VolumePhase::Available, "");
            return;
        }
        let claim_key = ObjectKey::new(cref.namespace, cref.name);
        // Only the claim's volume name is read: no copy of the claim.
        let claim_volume = store
            .get::<PersistentVolumeClaim>(&claim_key)
            .filter(|c| c.metadata.uid == cref.uid)
            .map(|c| c.spec.volume_name);
        let Some(claim_volume) = claim_volume else {
            // The claim is gone (or replaced by a namesake): release and reclaim.
            if !matches!(pv.status.phase, VolumePhase::Released | VolumePhase::Failed) {
                update_volume_phase(store, key, VolumePhase::Released, "");
            }
            reclaim_volume(store, key);
            return;
        };
        if claim_volume.is_empty() {
            // Bound on the PV side only: the claim's sync completes it.
            self.queue.add(SyncKey::Claim(claim_key), now);
        } else if claim_volume == pv.metadata.name {
            update_volume_phase(store, key, VolumePhase::Bound, "");
        } else if pv.metadata.has_annotation(ANN_DYNAMICALLY_PROVISIONED)
            && pv.spec.persistent_volume_reclaim_policy == ReclaimPolicy::Delete
        {
            if !matches!(pv.status.phase, VolumePhase::Released | VolumePhase::Failed) {
                update_volume_phase(store, key, VolumePhase::Released, "");
            }
            reclaim_volume(store, key);
        } else {
            unbind_volume(store, key);
        }
    }

    fn schedule_resync(&mut self, now: SimTime) {
        self.resync_at = if self.unbound.is_empty() {
            None
        } else {
            // The real loop runs every period from controller start (t = 0).
            let p = self.settings.sync_period.as_millis().max(1);
            Some(SimTime((now.as_millis() / p + 1) * p))
        };
    }
}

impl Controller for PvController {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn uses_indexes(&self) -> bool {
        true
    }

    fn watches(&self) -> &'static [Kind] {
        // Claims and volumes have handlers; classes and pods are listers only.
        &[
            Kind::PersistentVolume,
            Kind::PersistentVolumeClaim,
            Kind::StorageClass,
            Kind::Pod,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let now = cx.now;
        match (ev.kind, ev.op) {
            (Kind::PersistentVolumeClaim, ChangeOp::Deleted) => {
                self.unbound.remove(&ev.key);
                // deleteClaim: sync the volume the claim was bound to.
                if let AnyObject::PersistentVolumeClaim(c) = &ev.object
                    && !c.spec.volume_name.is_empty()
                {
                    self.queue.add(
                        SyncKey::Volume(ObjectKey::cluster_named(c.spec.volume_name)),
                        now,
                    );
                }
            }
            (Kind::PersistentVolumeClaim, _) => self.queue.add(SyncKey::Claim(ev.key.clone()), now),
            (Kind::PersistentVolume, ChangeOp::Deleted) => {
                // deleteVolume: sync the claim so it notices its volume is gone.
                if let AnyObject::PersistentVolume(pv) = &ev.object
                    && let Some(r) = &pv.spec.claim_ref
                {
                    self.queue
                        .add(SyncKey::Claim(ObjectKey::new(r.namespace, r.name)), now);
                }
            }
            (Kind::PersistentVolume, _) => self.queue.add(SyncKey::Volume(ev.key.clone()), now),
            _ => {}
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        let (store, now) = (&mut cx.store, cx.now);
        if self.resync_at.is_some_and(|t| t <= now) {
            for key in self.unbound.clone() {
                self.queue.add(SyncKey::Claim(key), now);
            }
        }
        while let Some(key) = self.queue.pop_due(now) {
            match key {
                SyncKey::Claim(k) => self.sync_claim(store, &k, now),
                SyncKey::Volume(k) => self.sync_volume(store, &k, now),
            }
        }
        self.schedule_resync(now);
    }

    fn next_wake(&self) -> Option<SimTime> {
        match (self.queue.next_due(), self.resync_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        self.unbound
            .iter()
            .filter_map(|k| store.get::<PersistentVolumeClaim>(k))
            .map(|c| format!("PersistentVolumeClaim/{} is Pending", c.metadata.name))
            .collect()
    }
}

// ---- matching (index.go findByClaim + component-helpers FindMatchingVolume)

/// `IsVolumeBoundToClaim`: claimRef names the claim and, if it carries a
/// UID, the UID is the claim's.
pub fn is_volume_bound_to_claim(pv: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    pv.spec.claim_ref.as_ref().is_some_and(|r| {
        r.name == claim.metadata.name
            && r.namespace == claim.metadata.namespace
            && (r.uid.is_empty() || r.uid == claim.metadata.uid)
    })
}

/// `IsDelayBindingMode`: the claim's class exists and is WaitForFirstConsumer.
pub fn is_delay_binding(store: &Api<'_>, claim: &PersistentVolumeClaim) -> bool {
    let class = claim.class();
    !class.is_empty()
        && store
            .get::<StorageClass>(&ObjectKey::cluster(class))
            .is_some_and(|sc| sc.volume_binding_mode == VolumeBindingMode::WaitForFirstConsumer)
}

/// `findBestMatchForClaim` on the PV controller's path (no node): search the
/// access-mode groups that contain every requested mode, fewest modes first;
/// the first group that yields a volume wins.
pub fn find_best_match<'s>(
    store: &'s Api<'_>,
    claim: &PersistentVolumeClaim,
    delay_binding: bool,
) -> Option<crate::cluster::Shared<PersistentVolume>> {
    // Only volumes the claim could bind to can come out of a group, so the
    // groups are made of those (a group without any yields nothing).
    let mut groups: BTreeMap<String, Vec<&'s PersistentVolume>> = BTreeMap::new();
    for pv in store.pv_candidates(claim) {
        groups
            .entry(access_modes_string(&pv.spec.access_modes))
            .or_default()
            .push(pv);
    }
    let mut candidates: Vec<(usize, &String, &Vec<&PersistentVolume>)> = groups
        .iter()
        .filter(|(_, vols)| {
            let modes = &vols[0].spec.access_modes;
            claim.spec.access_modes.iter().all(|m| modes.contains(m))
        })
        .map(|(k, v)| (distinct_modes(&v[0].spec.access_modes), k, v))
        .collect();
    // Fewest modes first; ties (map order in Kubernetes) broken by the key.
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    candidates
        .into_iter()
        .find_map(|(_, _, vols)| find_matching_volume(claim, vols, delay_binding))
        .and_then(|pv| store.get_shared::<PersistentVolume>(&pv.metadata.key()))
}

fn distinct_modes(modes: &[crate::api::AccessMode]) -> usize {
    modes.iter().collect::<BTreeSet<_>>().len()
}

/// `FindMatchingVolume` without a node (§1.2 steps a–m): the smallest
/// Available volume that fits, or a volume pre-bound to this claim at once.
pub fn find_matching_volume<'a>(
    claim: &PersistentVolumeClaim,
    volumes: &[&'a PersistentVolume],
    delay_binding: bool,
) -> Option<&'a PersistentVolume> {
    let request = claim.request()?;
    let mut best: Option<&PersistentVolume> = None;
    for &pv in volumes {
        if pv.spec.claim_ref.is_some() && !is_volume_bound_to_claim(pv, claim) {
            continue;
        }
        let Some(cap) = pv.capacity() else { continue };
        if cap < request {
            continue;
        }
        if pv.spec.volume_mode != claim.spec.volume_mode {
            continue;
        }
        if pv.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if is_volume_bound_to_claim(pv, claim) {
            return Some(pv);
        }
        if delay_binding {
            // The PV controller never binds unbound volumes to a
            // WaitForFirstConsumer claim: the scheduler chooses.
            continue;
        }
        if pv.status.phase != VolumePhase::Available {
            continue;
        }
        if let Some(sel) = &claim.spec.selector
            && !sel.matches(&pv.metadata.labels)
        {
            continue;
        }
        if pv.class() != claim.class() {
            continue;
        }
        // Strictly smaller wins: the first of equal sizes (by name) is kept.
        if best.is_none_or(|b| b.capacity().is_some_and(|bc| bc > cap)) {
            best = Some(pv);
        }
    }
    best
}

/// `checkVolumeSatisfyClaim`, for a claim that names its volume: the checks
/// and texts in their real order. Selector and node affinity are not checked.
pub fn check_volume_satisfy_claim(
    pv: &PersistentVolume,
    claim: &PersistentVolumeClaim,
) -> Result<(), String> {
    if pv.metadata.deletion_timestamp.is_some() {
        return Err(format!(
            "the volume is marked for deletion {:?}",
            pv.metadata.name
        ));
    }
    let too_small = match (pv.capacity(), claim.request()) {
        (Some(cap), Some(req)) => cap < req,
        _ => true,
    };
    if too_small {
        return Err("requested PV is too small".into());
    }
    if pv.class() != claim.class() {
        return Err("storageClassName does not match".into());
    }
    if pv.spec.volume_mode != claim.spec.volume_mode {
        return Err("incompatible volumeMode".into());
    }
    if !claim
        .spec
        .access_modes
        .iter()
        .all(|m| pv.spec.access_modes.contains(m))
    {
        return Err("incompatible accessMode".into());
    }
    Ok(())
}

// ---- writes -----------------------------------------------------------------

/// `bind`: four separate writes, volume first, each only if something
/// changes: PV claimRef (+ bound-by-controller unless pre-bound), PV phase,
/// PVC volumeName (+ bound-by-controller if the controller chose the PV,
/// + bind-completed), PVC status.
fn bind(store: &mut Api<'_>, pv: &PersistentVolume, claim: &PersistentVolumeClaim) {
    let pv_key = pv.metadata.key();
    let claim_key = claim.metadata.key();
    let pre_bound = is_volume_bound_to_claim(pv, claim);
    let want = ClaimRef {
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid: claim.metadata.uid,
    };
    // Each write only if needed (`bindVolumeToClaim` returns the volume
    // as it is when it is already bound): a sync of a bound pair writes
    // nothing.
    let _ = store.modify_if::<PersistentVolume>(
        &pv_key,
        |v| {
            v.spec.claim_ref.as_ref() != Some(&want)
                || (!pre_bound && !v.metadata.annotations.contains_key(ANN_BOUND_BY_CONTROLLER))
        },
        |v| {
            if v.spec.claim_ref.as_ref() != Some(&want) {
                v.spec.claim_ref = Some(want.clone());
            }
            if !pre_bound {
                v.metadata
                    .annotations
                    .insert_if_absent(ANN_BOUND_BY_CONTROLLER, "yes");
            }
        },
    );
    update_volume_phase(store, &pv_key, VolumePhase::Bound, "");
    let chosen_by_controller = claim.spec.volume_name != pv.metadata.name;
    let _ = store.modify_if::<PersistentVolumeClaim>(
        &claim_key,
        |c| {
            let has = |a| c.metadata.annotations.contains_key(a);
            c.spec.volume_name != pv.metadata.name
                || (chosen_by_controller && !has(ANN_BOUND_BY_CONTROLLER))
                || !has(ANN_BIND_COMPLETED)
        },
        |c| {
            c.spec.volume_name = pv.metadata.name;
            if chosen_by_controller {
                c.metadata
                    .annotations
                    .insert_if_absent(ANN_BOUND_BY_CONTROLLER, "yes");
            }
            c.metadata
                .annotations
                .insert_if_absent(ANN_BIND_COMPLETED, "yes");
        },
    );
    let pv_now = store.get_shared::<PersistentVolume>(&pv_key);
    update_claim_status(store, &claim_key, ClaimPhase::Bound, pv_now.as_deref());
}

/// `updateClaimStatus`: phase, and access modes and (when the claim becomes
/// Bound) capacity copied from the volume; cleared when there is none.
fn update_claim_status(
    store: &mut Api<'_>,
    key: &ObjectKey,
    phase: ClaimPhase,
    pv: Option<&PersistentVolume>,
) {
    // Written only if it changes (a Bound claim's every sync asks again).
    let needed = |c: &PersistentVolumeClaim| {
        c.status.phase != phase
            || match pv {
                None => {
                    !c.status.access_modes.is_empty() || c.status.capacity != Default::default()
                }
                Some(pv) => c.status.access_modes != pv.spec.access_modes,
            }
    };
    let _ = store.modify_if::<PersistentVolumeClaim>(key, needed, |c| {
        let becoming = c.status.phase != phase;
        c.status.phase = phase;
        match pv {
            None => {
                c.status.access_modes.clear();
                c.status.capacity = Default::default();
            }
            Some(pv) => {
                c.status.access_modes = pv.spec.access_modes.clone();
                // Only when the claim becomes Bound: a grown volume whose
                // filesystem is not grown yet is a discrepancy on purpose.
                if becoming && let Some(cap) = pv.capacity() {
                    c.status.capacity.insert("storage", *cap);
                }
            }
        }
    });
}

/// `updateClaimStatusWithEvent`: the event is recorded only when the phase
/// actually changes, not on every sync.
fn update_claim_status_with_event(
    store: &mut Api<'_>,
    key: &ObjectKey,
    phase: ClaimPhase,
    reason: &str,
    message: &str,
) {
    let Some(claim) = store.get_shared::<PersistentVolumeClaim>(key) else {
        return;
    };
    if claim.status.phase == phase {
        return;
    }
    update_claim_status(store, key, phase, None);
    PvController::claim_event(store, &claim, EventType::Warning, reason, message.into());
}

/// `updateVolumePhase`: only when the phase differs.
fn update_volume_phase(store: &mut Api<'_>, key: &ObjectKey, phase: VolumePhase, message: &str) {
    let Some(pv) = store.get::<PersistentVolume>(key) else {
        return;
    };
    if pv.status.phase == phase {
        return;
    }
    let _ = store.modify::<PersistentVolume>(key, |v| {
        v.status.phase = phase;
        v.status.message = message.to_string();
    });
}

/// `updateVolumePhaseWithEvent`.
fn update_volume_phase_with_event(
    store: &mut Api<'_>,
    key: &ObjectKey,
    phase: VolumePhase,
    kind: EventType,
    reason: &str,
    message: &str,
) {
    let Some(pv) = store.get_shared::<PersistentVolume>(key) else {
        return;
    };
    if pv.status.phase == phase {
        return;
    }
    update_volume_phase(store, key, phase, message);
    PvController::volume_event(store, &pv, kind, reason, message.into());
}

/// `unbindVolume`: undo a binding the claim did not take. A controller-made
/// binding is cleared; a user's pre-binding keeps its name, loses its UID.
fn unbind_volume(store: &mut Api<'_>, key: &ObjectKey) {
    let _ = store.modify::<PersistentVolume>(key, |v| {
        if v.metadata
            .annotations
            .remove(ANN_BOUND_BY_CONTROLLER)
            .is_some()
        {
            v.spec.claim_ref = None;
        } else if let Some(r) = v.spec.claim_ref.as_mut() {
            r.uid = Default::default();
        }
    });
    update_volume_phase(store, key, VolumePhase::Available, "");
}

/// `assignDefaultStorageClass` (retroactive default class): a claim with no
/// class at all gets the default class, if there is one now.
fn assign_default_storage_class(store: &mut Api<'_>, claim: &PersistentVolumeClaim) -> bool {
    if !claim.has_no_class_at_all() {
        return false;
    }
    let Some(default) = default_class(store.list::<StorageClass>()) else {
        return false;
    };
    store
        .modify::<PersistentVolumeClaim>(&claim.metadata.key(), |c| {
            c.spec.storage_class_name = Some(default)
        })
        .is_ok()
}

/// The default StorageClass: the newest of those marked default, as the
/// DefaultStorageClass admission plugin picks it.
pub fn default_class<'a>(classes: impl Iterator<Item = &'a StorageClass>) -> Option<String> {
    classes
        .filter(|sc| sc.is_default())
        .max_by_key(|sc| (sc.metadata.creation_timestamp, sc.metadata.name))
        .map(|sc| sc.metadata.name.to_string())
}

/// `emitEventForUnboundDelayBindingClaim`.
fn emit_unbound_delay_binding_event(store: &mut Api<'_>, claim: &PersistentVolumeClaim) {
    let key = claim.metadata.key();
    // The informer's pods by claim (`podIndexer`).
    let pods: Vec<String> = (store.cache().pods_using(&key))
        .filter_map(|k| store.get::<Pod>(k))
        .filter(|p| p.spec.node_name.is_empty() && !p.is_terminal())
        .map(|p| p.metadata.name.to_string())
        .collect();
    let (reason, message) = match pods.len() {
        0 => (
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding".to_string(),
        ),
        1 => (
            "WaitForPodScheduled",
            format!("waiting for pod {} to be scheduled", pods[0]),
        ),
        _ => (
            "WaitForPodScheduled",
            format!("waiting for pods {} to be scheduled", pods.join(",")),
        ),
    };
    PvController::claim_event(store, claim, EventType::Normal, reason, message);
}

/// `provisionClaim` → `provisionClaimOperationExternal`: annotate the claim
/// with its provisioner and say so. An in-tree name without an in-tree
/// plugin (`kubernetes.io/no-provisioner`) fails instead.
fn provision_claim(store: &mut Api<'_>, claim: &PersistentVolumeClaim, class: &str) {
    let Some(sc) = store.get_shared::<StorageClass>(&ObjectKey::cluster(class)) else {
        let msg = format!("storageclass.storage.k8s.io {class:?} not found");
        PvController::claim_event(store, claim, EventType::Warning, "ProvisioningFailed", msg);
        return;
    };
    // In-tree names have no in-tree plugin in this model (the cloud ones are
    // migrated to CSI); `kubernetes.io/no-provisioner` is the common case.
    if sc.provisioner.starts_with("kubernetes.io/") {
        let msg = format!("no volume plugin matched name: {}", sc.provisioner);
        PvController::claim_event(store, claim, EventType::Warning, "ProvisioningFailed", msg);
        return;
    }
    let p = sc.provisioner.clone();
    // `setClaimProvisioner`: no write when both annotations already say so.
    let _ = store.modify_if::<PersistentVolumeClaim>(
        &claim.metadata.key(),
        |c| {
            let says = |a| c.metadata.annotation(a) == Some(p.as_str());
            !says(ANN_BETA_STORAGE_PROVISIONER) || !says(ANN_STORAGE_PROVISIONER)
        },
        |c| {
            c.metadata
                .annotations
                .insert(ANN_BETA_STORAGE_PROVISIONER, p.as_str());
            c.metadata
                .annotations
                .insert(ANN_STORAGE_PROVISIONER, p.as_str());
        },
    );
    let msg = format!(
        "Waiting for a volume to be created either by the external provisioner '{p}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."
    );
    PvController::claim_event(store, claim, EventType::Normal, "ExternalProvisioning", msg);
}

/// `isVolumeReleased`.
fn is_volume_released(store: &Api<'_>, pv: &PersistentVolume) -> bool {
    let Some(r) = &pv.spec.claim_ref else {
        return false;
    };
    if r.uid.is_empty() {
        return false;
    }
    match store.get::<PersistentVolumeClaim>(&ObjectKey::new(r.namespace, r.name)) {
        Some(c) if c.metadata.uid == r.uid => {
            !c.spec.volume_name.is_empty() && c.spec.volume_name != pv.metadata.name
        }
        _ => true,
    }
}

/// `reclaimVolume` and, for Delete, `deleteVolumeOperation`. Retain keeps the
/// volume Released. CSI volumes made by a provisioner are deleted by the
/// external-provisioner, not here. Of the in-tree deleters only hostPath
/// exists, and it only deletes under `/tmp/`.
fn reclaim_volume(store: &mut Api<'_>, key: &ObjectKey) {
    let Some(pv) = store.get_shared::<PersistentVolume>(key) else {
        return;
    };
    match pv.spec.persistent_volume_reclaim_policy {
        ReclaimPolicy::Retain => {}
        // Refused at validation: Recycle is deprecated and not simulated.
        ReclaimPolicy::Recycle => {}
        ReclaimPolicy::Delete => {
            if !is_volume_released(store, &pv) {
                return;
            }
            if let Some(by) = pv.metadata.annotation(ANN_DYNAMICALLY_PROVISIONED)
                && !by.starts_with("kubernetes.io/")
            {
                return; // external deleter: the external-provisioner's job
            }
            let result = match (&pv.spec.host_path, pv.sources().first()) {
                (Some(hp), _) => {
                    // The deleter's unanchored regexp `/tmp/.+`.
                    if hp
                        .path
                        .match_indices("/tmp/")
                        .any(|(i, _)| hp.path.len() > i + 5)
                    {
                        Ok(())
                    } else {
                        Err(format!(
                            "host_path deleter only supports /tmp/.+ but received provided {}",
                            hp.path
                        ))
                    }
                }
                _ => Err(format!(
                    "error getting deleter volume plugin for volume {:?}: no volume plugin matched",
                    pv.metadata.name
                )),
            };
            match result {
                Ok(()) => {
                    let _ = store.delete::<PersistentVolume>(key);
                }
                Err(msg) => update_volume_phase_with_event(
                    store,
                    key,
                    VolumePhase::Failed,
                    EventType::Warning,
                    "VolumeFailedDelete",
                    &msg,
                ),
            }
        }
    }
}
