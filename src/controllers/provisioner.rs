//! The CSI external-provisioner sidecar (kubernetes-csi/external-provisioner
//! with sig-storage-lib-external-provisioner): provisions claims the PV
//! controller handed to its driver, creates their PVs, and deletes released
//! volumes it provisioned.

use super::in_flight::InFlight;
use super::workqueue::{RateLimiter, WorkQueue};
use super::{Api, Controller, Ctx};
use crate::api::node::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};
use crate::api::persistent_volume::{
    ANN_DYNAMICALLY_PROVISIONED, ClaimRef, CsiVolumeSource, PersistentVolumeSpec,
    PersistentVolumeStatus, VolumeNodeAffinity,
};
use crate::api::persistent_volume_claim::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
};
use crate::api::{
    Kind, Node, ObjectKey, ObjectMeta, ObjectRef, PersistentVolume, PersistentVolumeClaim,
    Quantity, ReclaimPolicy, StorageClass, VolumeBindingMode, VolumePhase,
};
use crate::backend::{GrpcCode, Reply, Request, Response, RpcError};
use crate::cluster::{EventType, Store, WatchEvent};
use crate::engine::SimTime;

/// Event source of the provisioner's events: the driver name plus the
/// sidecar's identity, as `kubectl describe` shows it.
pub const SOURCE: &str = "external-provisioner";

/// Finalizer the provisioner puts on the PVs it creates (HonorPVReclaimPolicy).
pub const FINALIZER: &str = "external-provisioner.volume.kubernetes.io/finalizer";

/// What a work item is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Item {
    Claim(ObjectKey),
    Volume(String),
}

impl super::workqueue::QueueKey for Item {
    fn queue_hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Item::Claim(k) => {
                state.write_u8(0);
                k.queue_hash(state);
            }
            Item::Volume(name) => {
                state.write_u8(1);
                name.queue_hash(state);
            }
        }
    }
}

/// The controller.
#[derive(Default)]
pub struct Provisioner {
    queue: WorkQueue<Item>,
    /// CreateVolume / DeleteVolume calls in flight, per item.
    in_flight: InFlight<Item>,
    /// The per-item exponential rate limiter of retries.
    retries: RateLimiter<Item>,
}

/// 32-bit FNV-1 (multiply, then xor), as Go's `hash/fnv.New32`.
pub fn fnv1_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, b| {
        h.wrapping_mul(16_777_619) ^ u32::from(*b)
    })
}

/// `getPVCNameHashAndIndexOffset`: for `<claim>-<set>-<n>` only the set's
/// last dash-separated word is hashed and `n` is the offset, so a
/// StatefulSet's replicas spread over zones and one replica's claims share a
/// zone.
pub fn pvc_name_hash_and_index(name: &str) -> (u32, u32) {
    let mut hash_string = name;
    let mut index = 0u32;
    if let Some(dash) = name.rfind('-')
        && let Ok(n) = name[dash + 1..].parse::<u32>()
    {
        index = n;
        hash_string = &name[..dash];
        if let Some(d2) = hash_string.rfind('-') {
            hash_string = &hash_string[d2 + 1..];
        }
    }
    (fnv1_32(hash_string.as_bytes()), index)
}

/// The zone the driver picks for an Immediate claim: the sorted requisite
/// zones rotated by the name hash (`GenerateAccessibilityRequirements`), of
/// which the EBS driver takes the first.
pub fn immediate_zone(claim_name: &str, zones: &[String]) -> Option<String> {
    if zones.is_empty() {
        return None;
    }
    let (hash, index) = pvc_name_hash_and_index(claim_name);
    let i = hash.wrapping_add(index) % zones.len() as u32;
    Some(zones[i as usize].clone())
}

impl Provisioner {
    fn driver_name(cx: &Ctx<'_>) -> String {
        cx.profile.driver.name.clone()
    }

    /// `shouldProvision`: an unbound claim annotated for this driver, whose
    /// class this driver serves; WaitForFirstConsumer needs a selected node.
    fn should_provision(cx: &Ctx<'_>, claim: &PersistentVolumeClaim) -> Option<StorageClass> {
        let driver = Self::driver_name(cx);
        let annotated = claim
            .metadata
            .annotation(ANN_STORAGE_PROVISIONER)
            .or(claim.metadata.annotation(ANN_BETA_STORAGE_PROVISIONER));
        if !claim.spec.volume_name.is_empty() || annotated != Some(driver.as_str()) {
            return None;
        }
        let sc = cx
            .store
            .get::<StorageClass>(&ObjectKey::cluster(claim.class()))?
            .clone();
        if sc.provisioner != driver {
            return None;
        }
        if sc.volume_binding_mode == VolumeBindingMode::WaitForFirstConsumer
            && claim
                .metadata
                .annotation(ANN_SELECTED_NODE)
                .is_none_or(str::is_empty)
        {
            return None;
        }
        Some(sc)
    }

    /// Zones of the nodes that carry the driver's topology key, sorted.
    fn cluster_zones(cx: &Ctx<'_>) -> Vec<String> {
        let Some(key) = cx.profile.driver.topology_keys.first() else {
            return Vec::new();
        };
        let mut zones: Vec<String> = cx
            .store
            .list::<Node>()
            .filter_map(|n| n.metadata.labels.get(key).map(crate::api::Name::to_string))
            .collect();
        zones.sort();
        zones.dedup();
        zones
    }

    fn claim_event(
        store: &mut Api<'_>,
        claim: &ObjectKey,
        kind: EventType,
        reason: &str,
        msg: String,
    ) {
        store.record_event(
            ObjectRef::new(Kind::PersistentVolumeClaim, claim.clone()),
            kind,
            reason,
            msg,
            SOURCE,
        );
    }

    /// `provisionClaimOperation`.
    fn sync_claim(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        let item = Item::Claim(key.clone());
        if self.in_flight.contains(&item) {
            return;
        }
        let Some(claim) = cx.store.get_shared::<PersistentVolumeClaim>(key) else {
            self.forget(&item);
            return;
        };
        let Some(sc) = Self::should_provision(cx, &claim) else {
            return;
        };
        let pv_name = format!("pvc-{}", claim.metadata.uid);
        if cx
            .store
            .get::<PersistentVolume>(&ObjectKey::cluster(&pv_name))
            .is_some()
        {
            return; // already provisioned; the PV controller binds it
        }
        if let Some(t) = self.retries.backing_off(&item, cx.now) {
            self.queue.add(item, t);
            return;
        }
        // A driver without topology (a regional file system) places
        // volumes nowhere in particular.
        let zone = match claim.metadata.annotation(ANN_SELECTED_NODE) {
            _ if cx.profile.driver.topology_keys.is_empty() => String::new(),
            Some(node_name) => {
                let topo_key = cx
                    .profile
                    .driver
                    .topology_keys
                    .first()
                    .cloned()
                    .unwrap_or_default();
                let node = cx.store.get::<Node>(&ObjectKey::cluster(node_name));
                match node.and_then(|n| {
                    n.metadata
                        .labels
                        .get(&topo_key)
                        .map(crate::api::Name::to_string)
                }) {
                    Some(z) => z,
                    None => {
                        // The selected node is gone or has no topology: reschedule.
                        let msg =
                            format!("failed to get target node: node {node_name:?} not found");
                        Self::claim_event(
                            &mut cx.store,
                            key,
                            EventType::Warning,
                            "ProvisioningFailed",
                            msg,
                        );
                        remove_selected_node(&mut cx.store, key);
                        return;
                    }
                }
            }
            None => {
                let zones = allowed_zones(
                    &sc,
                    &Self::cluster_zones(cx),
                    &cx.profile.driver.topology_keys,
                );
                match immediate_zone(&claim.metadata.name, &zones) {
                    Some(z) => z,
                    None => {
                        let msg = format!(
                            "failed to provision volume with StorageClass {:?}: error generating accessibility requirements: no available topology found",
                            sc.metadata.name
                        );
                        Self::claim_event(
                            &mut cx.store,
                            key,
                            EventType::Warning,
                            "ProvisioningFailed",
                            msg,
                        );
                        return;
                    }
                }
            }
        };
        let msg = format!(
            "External provisioner is provisioning volume for claim \"{}/{}\"",
            key.namespace, key.name
        );
        Self::claim_event(&mut cx.store, key, EventType::Normal, "Provisioning", msg);
        let request = claim.request().map(|q| q.value()).unwrap_or(0);
        let snapshot = match snapshot_source(&claim, request, cx) {
            Ok(s) => s,
            Err(why) => {
                let ds = claim.spec.data_source.as_ref();
                let msg = format!(
                    "failed to provision volume with StorageClass {:?}: error getting handle for DataSource Type {} by Name {}: {why}",
                    sc.metadata.name,
                    ds.map_or("", |d| d.kind.as_str()),
                    ds.map_or("", |d| d.name.as_str()),
                );
                Self::claim_event(
                    &mut cx.store,
                    key,
                    EventType::Warning,
                    "ProvisioningFailed",
                    msg,
                );
                self.retry_later(item, cx);
                return;
            }
        };
        let granularity = cx.profile.driver.size_granularity.max(1);
        let size_bytes = (request + granularity - 1) / granularity * granularity;
        let timeout = cx.profile.sidecars.provisioner.timeout;
        let id = cx.call(
            Request::CreateVolume {
                name: pv_name,
                size_bytes,
                zone,
                multi_node: claim.spec.access_modes.iter().any(|m| m.is_multi_node()),
                snapshot,
            },
            Some(timeout),
        );
        self.in_flight.insert(item, id);
    }

    /// The CreateVolume reply: create the PV, or record the failure and
    /// schedule the retry (or hand the pod back to the scheduler).
    fn created(&mut self, key: &ObjectKey, result: &Result<Response, RpcError>, cx: &mut Ctx<'_>) {
        let item = Item::Claim(key.clone());
        let Some(claim) = cx.store.get_shared::<PersistentVolumeClaim>(key) else {
            self.forget(&item);
            return;
        };
        let class = claim.class().to_string();
        match result {
            Ok(Response::Created {
                volume_id,
                zone,
                size_bytes,
            }) => {
                let Some(sc) = cx
                    .store
                    .get::<StorageClass>(&ObjectKey::cluster(&class))
                    .cloned()
                else {
                    return;
                };
                let pv = provisioned_volume(&claim, &sc, volume_id, zone, *size_bytes, cx);
                let name = pv.metadata.name;
                if cx.store.create(pv).is_ok() {
                    Self::claim_event(
                        &mut cx.store,
                        key,
                        EventType::Normal,
                        "ProvisioningSucceeded",
                        format!("Successfully provisioned volume {name}"),
                    );
                }
                self.forget(&item);
            }
            Ok(_) => self.forget(&item),
            Err(e) => {
                let infeasible = e.code == GrpcCode::InvalidArgument;
                let msg = if infeasible {
                    format!(
                        "Volume provisioning failed with infeasible error. Retries will be delayed. {e}"
                    )
                } else {
                    format!("failed to provision volume with StorageClass {class:?}: {e}")
                };
                Self::claim_event(
                    &mut cx.store,
                    key,
                    EventType::Warning,
                    "ProvisioningFailed",
                    msg,
                );
                // ResourceExhausted with a selected node: let the scheduler
                // choose again (`checkError` → ProvisioningReschedule).
                if e.code == GrpcCode::ResourceExhausted
                    && claim.metadata.annotation(ANN_SELECTED_NODE).is_some()
                {
                    remove_selected_node(&mut cx.store, key);
                }
                self.retry_later(item, cx);
            }
        }
    }

    /// `shouldDelete` + `deleteVolumeOperation`.
    fn sync_volume(&mut self, name: &str, cx: &mut Ctx<'_>) {
        let item = Item::Volume(name.to_string());
        if self.in_flight.contains(&item) {
            return;
        }
        let Some(pv) = cx
            .store
            .get::<PersistentVolume>(&ObjectKey::cluster(name))
            .cloned()
        else {
            self.forget(&item);
            return;
        };
        let driver = Self::driver_name(cx);
        let ours = pv.metadata.annotation(ANN_DYNAMICALLY_PROVISIONED) == Some(driver.as_str());
        if !ours
            || pv.status.phase != VolumePhase::Released
            || pv.spec.persistent_volume_reclaim_policy != ReclaimPolicy::Delete
        {
            return;
        }
        if let Some(t) = self.retries.backing_off(&item, cx.now) {
            self.queue.add(item, t);
            return;
        }
        let Some(csi) = &pv.spec.csi else { return };
        let timeout = cx.profile.sidecars.provisioner.timeout;
        let id = cx.call(
            Request::DeleteVolume {
                volume_id: csi.volume_handle.to_string(),
            },
            Some(timeout),
        );
        self.in_flight.insert(item, id);
    }

    fn deleted(&mut self, name: &str, result: &Result<Response, RpcError>, cx: &mut Ctx<'_>) {
        let item = Item::Volume(name.to_string());
        let key = ObjectKey::cluster(name);
        match result {
            Ok(_) => {
                self.forget(&item);
                let _ = cx.store.delete::<PersistentVolume>(&key);
                let _ = cx
                    .store
                    .remove_finalizer::<PersistentVolume>(&key, FINALIZER);
            }
            Err(e) => {
                let r = ObjectRef::new(Kind::PersistentVolume, key);
                cx.store.record_event(
                    r,
                    EventType::Warning,
                    "VolumeFailedDelete",
                    e.to_string(),
                    SOURCE,
                );
                self.retry_later(item, cx);
            }
        }
    }

    /// Retry after the rate limiter's delay.
    fn retry_later(&mut self, item: Item, cx: &mut Ctx<'_>) {
        let at = self
            .retries
            .failed(&item, cx.now, &cx.profile.sidecars.provisioner);
        self.queue.add(item, at);
    }

    fn forget(&mut self, item: &Item) {
        self.in_flight.forget(item);
        self.retries.forget(item);
    }
}

/// Removes the scheduler's selected-node annotation (`rescheduleProvisioning`).
fn remove_selected_node(store: &mut Api<'_>, key: &ObjectKey) {
    let _ = store.modify::<PersistentVolumeClaim>(key, |c| {
        c.metadata.annotations.remove(ANN_SELECTED_NODE);
    });
}

/// The requisite zones: the class's allowed topologies if it has any (for
/// the driver's keys), else every zone with nodes.
fn allowed_zones(sc: &StorageClass, cluster: &[String], keys: &[String]) -> Vec<String> {
    if sc.allowed_topologies.is_empty() {
        return cluster.to_vec();
    }
    let mut zones: Vec<String> = sc
        .allowed_topologies
        .iter()
        .flat_map(|t| t.match_label_expressions.iter())
        .filter(|r| keys.contains(&r.key) || r.key == crate::api::node::LABEL_ZONE)
        .flat_map(|r| r.values.iter().cloned())
        .collect();
    zones.sort();
    zones.dedup();
    zones
}

/// The PV the provisioner saves for a created disk.
fn provisioned_volume(
    claim: &PersistentVolumeClaim,
    sc: &StorageClass,
    volume_id: &str,
    zone: &str,
    size_bytes: i128,
    cx: &Ctx<'_>,
) -> PersistentVolume {
    let driver = cx.profile.driver.name.clone();
    let mut annotations = crate::api::Labels::new();
    annotations.insert(ANN_DYNAMICALLY_PROVISIONED, driver.as_str());
    let mut capacity = crate::api::labels::Resources::new();
    capacity.insert("storage", Quantity::from_bytes(size_bytes));
    let fs_type = sc
        .parameters
        .get("csi.storage.k8s.io/fstype")
        .cloned()
        .unwrap_or_else(|| "ext4".into());
    PersistentVolume {
        metadata: ObjectMeta {
            name: format!("pvc-{}", claim.metadata.uid).into(),
            annotations,
            finalizers: vec![FINALIZER.into()],
            ..Default::default()
        },
        spec: PersistentVolumeSpec {
            capacity,
            access_modes: claim.spec.access_modes.clone(),
            persistent_volume_reclaim_policy: sc.reclaim_policy,
            storage_class_name: sc.metadata.name.to_string(),
            volume_mode: claim.spec.volume_mode,
            claim_ref: Some(ClaimRef {
                namespace: claim.metadata.namespace,
                name: claim.metadata.name,
                uid: claim.metadata.uid,
            }),
            node_affinity: (!zone.is_empty()).then(|| VolumeNodeAffinity {
                required: NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: vec![NodeSelectorRequirement {
                            key: cx.profile.driver.pv_topology_key.clone(),
                            operator: crate::api::meta::SelectorOperator::In,
                            values: vec![zone.to_string()],
                        }],
                    }],
                },
            }),
            mount_options: sc.mount_options.clone(),
            csi: Some(CsiVolumeSource {
                driver: driver.into(),
                volume_handle: volume_id.into(),
                fs_type: Some(fs_type.into()),
                volume_attributes: Default::default(),
            }),
            ..Default::default()
        },
        status: PersistentVolumeStatus::default(),
    }
}

impl Controller for Provisioner {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn watches(&self) -> &'static [Kind] {
        &[
            Kind::PersistentVolumeClaim,
            Kind::PersistentVolume,
            Kind::StorageClass,
            Kind::VolumeSnapshot,
            Kind::VolumeSnapshotContent,
            Kind::Node,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let item = match ev.kind {
            Kind::PersistentVolumeClaim => Item::Claim(ev.key.clone()),
            Kind::PersistentVolume => Item::Volume(ev.key.name.to_string()),
            _ => return, // listers only
        };
        let at = self.retries.backing_off(&item, cx.now).unwrap_or(cx.now);
        self.queue.add(item, at);
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(item) = self.queue.pop_due(cx.now) {
            match item {
                Item::Claim(k) => self.sync_claim(&k, cx),
                Item::Volume(n) => self.sync_volume(&n, cx),
            }
        }
    }

    fn on_reply(&mut self, reply: &Reply, cx: &mut Ctx<'_>) {
        let Some(item) = self.in_flight.take(reply.id) else {
            return;
        };
        match item {
            Item::Claim(k) => self.created(&k, &reply.result, cx),
            Item::Volume(n) => self.deleted(&n, &reply.result, cx),
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for (item, n) in self.retries.failing() {
            if let Item::Claim(k) = item
                && store.get::<PersistentVolumeClaim>(k).is_some()
            {
                out.push(format!(
                    "PersistentVolumeClaim/{} provisioning failed {n} time(s), retrying",
                    k.name
                ));
            }
        }
        out
    }
}

/// `getSnapshotSource`: the backend snapshot a claim's `dataSource` names,
/// if it names one and it can be restored from; else why not, in the
/// external-provisioner's words.
fn snapshot_source(
    claim: &PersistentVolumeClaim,
    requested: i128,
    cx: &Ctx<'_>,
) -> Result<Option<String>, String> {
    use crate::api::volume_snapshot::SNAPSHOT_API_GROUP;
    use crate::api::{VolumeSnapshot, VolumeSnapshotContent};
    let Some(ds) = &claim.spec.data_source else {
        return Ok(None);
    };
    if ds.kind != "VolumeSnapshot" {
        return Ok(None);
    }
    let group = ds.api_group.as_deref().unwrap_or("");
    if group != SNAPSHOT_API_GROUP {
        return Err(format!(
            "the PVC source does not belong to the right APIGroup. Expected {SNAPSHOT_API_GROUP}, Got {group}"
        ));
    }
    let name = &ds.name;
    let Some(snap) = cx
        .store
        .get::<VolumeSnapshot>(&ObjectKey::new(claim.metadata.namespace, name))
    else {
        return Err(format!(
            "error getting snapshot {name} from api server: volumesnapshots.snapshot.storage.k8s.io {name:?} not found"
        ));
    };
    if snap.metadata.deletion_timestamp.is_some() {
        return Err(format!("snapshot {name} is currently being deleted"));
    }
    if !snap.ready() {
        return Err(format!("snapshot {name} is not Ready"));
    }
    let Some(content_name) = &snap.status.bound_volume_snapshot_content_name else {
        return Err(format!("snapshot {name} not bound"));
    };
    let content = cx
        .store
        .get::<VolumeSnapshotContent>(&ObjectKey::cluster(content_name))
        .ok_or_else(|| {
            format!(
                "error getting snapshotcontent {content_name} for snapshot {}/{name} from api server: volumesnapshotcontents.snapshot.storage.k8s.io {content_name:?} not found",
                claim.metadata.namespace
            )
        })?;
    let Some(handle) = &content.status.snapshot_handle else {
        return Err(format!("snapshot handle {content_name} is not available"));
    };
    let restore = content.status.restore_size.unwrap_or(0);
    if requested < restore {
        return Err(format!(
            "requested volume size {requested} is less than the size {restore} for the source snapshot {name}"
        ));
    }
    Ok(Some(handle.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1_matches_go() {
        assert_eq!(fnv1_32(b"a"), 0x050c_5d7e);
        assert_eq!(fnv1_32(b"web"), 0x4666_1985);
        assert_eq!(fnv1_32(b"db"), 0x6d77_28c3);
        assert_eq!(fnv1_32(b"mypvc"), 0xec5d_d4d0);
        assert_eq!(fnv1_32(b"pvc"), 0x3977_4ef2);
    }

    #[test]
    fn immediate_zone_follows_the_semantics_test_vectors() {
        let zones: Vec<String> = ["us-east-1a", "us-east-1b", "us-east-1c"]
            .map(String::from)
            .to_vec();
        for (name, zone) in [
            ("data-web-0", "us-east-1a"),
            ("data-web-1", "us-east-1b"),
            ("data-web-2", "us-east-1c"),
            ("data-web-3", "us-east-1a"),
            ("www-web-0", "us-east-1a"),
            ("data-db-0", "us-east-1b"),
            ("mypvc", "us-east-1c"),
            ("pvc-1", "us-east-1c"),
        ] {
            assert_eq!(
                immediate_zone(name, &zones).as_deref(),
                Some(zone),
                "{name}"
            );
        }
    }
}
