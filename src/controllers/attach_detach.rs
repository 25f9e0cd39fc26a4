//! The attach/detach controller (kube-controller-manager,
//! pkg/controller/volume/attachdetach) with the in-tree CSI attacher: it
//! wants every CSI volume of every scheduled pod attached to the pod's node,
//! asks for it with a VolumeAttachment, refuses a second node for a
//! ReadWriteOnce volume (Multi-Attach), and detaches once no pod on a node
//! needs a volume and the node no longer reports it in use.

use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::volume_attachment::{
    VolumeAttachmentSpec, VolumeAttachmentStatus, attachment_name,
};
use crate::api::{
    AccessMode, AnyObject, Kind, Name, Node, ObjectKey, ObjectMeta, ObjectRef, PersistentVolume,
    PersistentVolumeClaim, Pod, VolumeAttachment,
};
use crate::cluster::{AddrMap, EventType, ObjectSet, Store, WatchEvent};
use crate::engine::SimTime;
use std::collections::{BTreeMap, BTreeSet};

/// Event source.
pub const SOURCE: &str = "attachdetach-controller";

/// `DefaultTimerConfig.ReconcilerLoopPeriod`.
const RECONCILER_LOOP_PERIOD_MS: u64 = 100;
/// `ReconcilerMaxWaitForUnmountDuration`: a volume still "in use" on a node
/// that is not Ready is force-detached this long after detach was wanted.
const MAX_WAIT_FOR_UNMOUNT: crate::engine::SimDuration =
    crate::engine::SimDuration::from_secs(6 * 60);
/// The non-graceful shutdown taint: detach at once, no safety wait.
pub const TAINT_OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

/// The name kubelet and the controller use for a CSI volume in node status.
pub fn unique_volume_name(driver: &str, handle: &str) -> String {
    format!("kubernetes.io/csi/{driver}^{handle}")
}

/// A CSI volume a pod uses.
#[derive(Clone, Debug)]
pub struct CsiVolume {
    /// PV name.
    pub pv: Name,
    /// Driver.
    pub driver: Name,
    /// Volume handle.
    pub handle: Name,
    /// May be attached to several nodes (RWX or ROX).
    pub multi: bool,
}

/// What the controller wants attached where: (PV, node) → the volume and the
/// pods that need it there.
type Desired = BTreeMap<(Name, Name), (CsiVolume, Vec<ObjectKey>)>;

/// The CSI volumes a pod uses (bound claims only).
pub fn pod_csi_volumes(pod: &Pod, cache: &ObjectSet) -> Vec<CsiVolume> {
    let mut out = Vec::new();
    for key in pod.claim_keys() {
        let Some(claim) = cache.get::<PersistentVolumeClaim>(&key) else {
            continue;
        };
        if claim.spec.volume_name.is_empty() {
            continue;
        }
        let Some(pv) =
            cache.get::<PersistentVolume>(&ObjectKey::cluster_named(claim.spec.volume_name))
        else {
            continue;
        };
        let Some(csi) = &pv.spec.csi else { continue };
        let multi = pv
            .spec
            .access_modes
            .iter()
            .any(|m| matches!(m, AccessMode::ReadWriteMany | AccessMode::ReadOnlyMany));
        out.push(CsiVolume {
            pv: pv.metadata.name,
            driver: csi.driver,
            handle: csi.volume_handle,
            multi,
        });
    }
    out
}

/// The controller.
#[derive(Default)]
pub struct AttachDetachController {
    queue: WorkQueue<()>,
    /// Volumes something changed for since the last reconcile: only these
    /// are reconciled (every other one is as the last reconcile left it),
    /// so a reconcile costs what changed, not the cluster's size.
    dirty: BTreeSet<Name>,
    /// Indexes of the informer cache, from watch events and own writes.
    /// Supersets: each use checks the cache.
    ///
    /// This map and the bookkeeping below are hashed by the names'
    /// addresses ([`AddrMap`]): they are looked up, never walked in an
    /// order that reaches output (the deadlines are walked only to collect
    /// due volumes into the ordered `dirty` set, and for their minimum).
    /// A hash of the strings read each name's hash from the interner.
    index: Index,
    /// (PV, node) pairs whose Multi-Attach error was reported (once each).
    multi_attach_reported: AddrMap<(Name, Name), ()>,
    /// (PV, node) pairs whose success was reported.
    attached_reported: AddrMap<(Name, Name), ()>,
    /// Last attach error reported per VolumeAttachment.
    errors_reported: AddrMap<Name, String>,
    /// VolumeAttachment names by (handle, node): a SHA-256 each, so kept.
    names: AddrMap<(Name, Name), Name>,
    /// When detaching each (PV, node) was first wanted (`SetDetachRequestTime`).
    detach_requested: AddrMap<(Name, Name), SimTime>,
    /// Unique volume names by (driver, handle), interned once: node status
    /// lists are compared with them by address, not string by string.
    uniques: AddrMap<(Name, Name), Name>,
}

/// [`unique_volume_name`] of `driver` and `handle`, interned, kept in `uniques`.
fn unique_name(uniques: &mut AddrMap<(Name, Name), Name>, driver: Name, handle: Name) -> Name {
    *uniques.get_or_insert_with((driver, handle), || {
        Name::new(&unique_volume_name(&driver, &handle))
    })
}

/// A node's volumes in use, readiness and taints.
type NodeSeen = (Vec<Name>, bool, Vec<crate::api::node::Taint>);

/// Who refers to whom, to find what a change touches.
#[derive(Default)]
struct Index {
    /// Claims by volume (pods by claim are the informer's).
    claims: super::claim_volumes::ClaimVolumes,
    /// Volume → its VolumeAttachments' names.
    volume_attachments: AddrMap<Name, crate::cluster::SmallSet<Name>>,
    /// Node → volumes with a VolumeAttachment there.
    node_volumes: AddrMap<Name, BTreeSet<Name>>,
    /// What detach decisions read of each node, as last seen.
    nodes_seen: AddrMap<Name, NodeSeen>,
    /// Volumes waiting for the force-detach deadline on a node that is not
    /// Ready: reconciled again once it has passed.
    deadlines: AddrMap<(Name, Name), SimTime>,
    /// What the desired state reads of each pod, as last seen: its node and
    /// whether it has finished (a status change that alters neither, such
    /// as readiness, concerns no volume).
    pods_seen: AddrMap<ObjectKey, (Name, bool)>,
}

impl Index {
    fn attachment(&mut self, va: &VolumeAttachment) {
        let pv = &va.spec.persistent_volume_name;
        self.volume_attachments
            .get_or_insert_with(*pv, Default::default)
            .insert(va.metadata.name);
        self.node_volumes
            .get_or_insert_with(va.spec.node_name, Default::default)
            .insert(*pv);
    }

    /// Records a change and returns the volumes it may concern.
    fn update(&mut self, ev: &WatchEvent) -> Vec<Name> {
        let gone = ev.op == crate::cluster::ChangeOp::Deleted;
        let before = self.claims.observe(ev);
        match &ev.object {
            AnyObject::Pod(p) => {
                let seen = (p.spec.node_name, p.is_terminal());
                let changed = if gone {
                    self.pods_seen.remove(&ev.key).is_some()
                } else {
                    self.pods_seen.get(&ev.key) != Some(&seen) && {
                        self.pods_seen.insert(ev.key.clone(), seen);
                        true
                    }
                };
                if !changed {
                    return Vec::new();
                }
                p.claim_keys()
                    .filter_map(|claim| self.claims.volume_of(&claim).cloned())
                    .collect()
            }
            AnyObject::PersistentVolumeClaim(c) => before
                .into_iter()
                .chain(Some(c.spec.volume_name))
                .filter(|v| !v.is_empty())
                .collect(),
            AnyObject::PersistentVolume(_) => vec![ev.key.name],
            AnyObject::VolumeAttachment(va) => {
                self.attachment(va);
                vec![va.spec.persistent_volume_name]
            }
            AnyObject::Node(n) => {
                // Only what detach decisions read: volumes in use, Ready,
                // taints (a heartbeat changes nothing here).
                let seen = (
                    n.status.volumes_in_use.clone(),
                    n.status.ready,
                    n.spec.taints.clone(),
                );
                let changed = gone || self.nodes_seen.get(&ev.key.name) != Some(&seen);
                if gone {
                    self.nodes_seen.remove(&ev.key.name);
                } else {
                    self.nodes_seen.insert(ev.key.name, seen);
                }
                if !changed {
                    return Vec::new();
                }
                self.node_volumes
                    .get(&ev.key.name)
                    .map(|v| v.iter().cloned().collect())
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

impl AttachDetachController {
    fn pod_event(cx: &mut Ctx<'_>, pod: &ObjectKey, kind: EventType, reason: &str, msg: String) {
        cx.store.record_event(
            ObjectRef::new(Kind::Pod, pod.clone()),
            kind,
            reason,
            msg,
            SOURCE,
        );
    }

    /// The desired state of the world for `volumes`: (PV, node) → pods that
    /// need it there (in pod key order, as a scan of every pod gives it).
    fn desired(&self, cache: &ObjectSet, volumes: &BTreeSet<Name>) -> Desired {
        // Sorted, not put in a B-tree: the same order, with fewer
        // comparisons of names' strings and no tree to allocate.
        let mut pods: Vec<&ObjectKey> = volumes
            .iter()
            .flat_map(|pv| self.index.claims.pods_of_volume(pv, cache))
            .collect();
        pods.sort_unstable();
        pods.dedup();
        let mut d = Desired::new();
        for key in pods {
            let Some(pod) = cache.get::<Pod>(key) else {
                continue;
            };
            if pod.spec.node_name.is_empty() || pod.is_terminal() {
                continue;
            }
            for v in pod_csi_volumes(pod, cache) {
                if !volumes.contains(&v.pv) {
                    continue;
                }
                let e = d
                    .entry((v.pv, pod.spec.node_name))
                    .or_insert((v, Vec::new()));
                e.1.push(pod.metadata.key());
            }
        }
        d
    }

    /// `reconcile`: detach first, then attach — of the volumes something
    /// changed for (every other one is as the last reconcile left it).
    fn reconcile(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now;
        let due: Vec<(Name, Name)> = self
            .index
            .deadlines
            .iter_unordered()
            .filter(|(_, t)| now > **t)
            .map(|(pair, _)| *pair)
            .collect();
        for pair in due {
            self.index.deadlines.remove(&pair);
            self.dirty.insert(pair.0);
        }
        let volumes = std::mem::take(&mut self.dirty);
        if volumes.is_empty() {
            return;
        }
        let desired = self.desired(cx.store.cache(), &volumes);
        // In name order (sorted as the pods above are).
        let mut names: Vec<&Name> = volumes
            .iter()
            .filter_map(|pv| self.index.volume_attachments.get(pv))
            .flatten()
            .collect();
        names.sort_unstable();
        names.dedup();
        // Shared with the cache, not copied: the loops below only read them.
        let attachments: Vec<crate::cluster::Shared<VolumeAttachment>> = names
            .iter()
            .filter_map(|n| {
                cx.store
                    .get_shared::<VolumeAttachment>(&ObjectKey::cluster(*n))
            })
            .filter(|va| volumes.contains(&va.spec.persistent_volume_name))
            .collect();
        // Looked up per desired pair below: by name, and by volume for the
        // Multi-Attach check (a scan of all of them per pair is quadratic in
        // how many volumes one tick reconciles).
        let mut by_name: AddrMap<Name, &VolumeAttachment> = AddrMap::default();
        let mut by_volume: AddrMap<Name, Vec<&VolumeAttachment>> = AddrMap::default();
        for va in &attachments {
            by_name.insert(va.metadata.name, va);
            by_volume
                .get_or_insert_with(va.spec.persistent_volume_name, Vec::new)
                .push(va);
        }
        // Detach what no pod on its node needs, once the node stopped using it.
        for va in &attachments {
            let pair = (va.spec.persistent_volume_name, va.spec.node_name);
            // Set again below while the wait for this pair goes on.
            self.index.deadlines.remove(&pair);
            if desired.contains_key(&pair) {
                self.detach_requested.remove(&pair);
                continue;
            }
            if va.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let requested = *self.detach_requested.get_or_insert_with(pair, || cx.now);
            let node = cx.store.get::<Node>(&ObjectKey::cluster(va.spec.node_name));
            let unique = cx
                .store
                .get::<PersistentVolume>(&ObjectKey::cluster(pair.0))
                .and_then(|pv| {
                    (pv.spec.csi.as_ref())
                        .map(|c| unique_name(&mut self.uniques, c.driver, c.volume_handle))
                });
            let in_use = match (node, &unique) {
                (Some(n), Some(u)) => n.status.volumes_in_use.iter().any(|v| v == u),
                _ => false,
            };
            // A node still using the volume blocks detach, unless it is not
            // Ready and the 6-minute wait is over (force detach), or it has
            // the out-of-service taint (non-graceful shutdown).
            let unhealthy = node.is_some_and(|n| !n.status.ready);
            let out_of_service =
                node.is_some_and(|n| n.spec.taints.iter().any(|t| t.key == TAINT_OUT_OF_SERVICE));
            let deadline = requested.plus(MAX_WAIT_FOR_UNMOUNT);
            if in_use && !out_of_service && !(unhealthy && cx.now > deadline) {
                if unhealthy {
                    self.index.deadlines.insert(pair, deadline);
                    // Look again when the wait is over.
                    self.queue.add(
                        (),
                        deadline.plus(crate::engine::SimDuration::from_millis(
                            RECONCILER_LOOP_PERIOD_MS,
                        )),
                    );
                }
                continue;
            }
            self.detach_requested.remove(&pair);
            if let Some(u) = &unique {
                let _ = cx
                    .store
                    .modify::<Node>(&ObjectKey::cluster(va.spec.node_name), |n| {
                        n.status.volumes_attached.retain(|v| v != u);
                    });
            }
            let _ = cx.store.delete::<VolumeAttachment>(&va.metadata.key());
            self.attached_reported.remove(&pair);
            self.multi_attach_reported.remove(&pair);
        }
        // Attach what pods need.
        for ((pv, node), (vol, pods)) in &desired {
            let (driver, handle, multi) = (&vol.driver, &vol.handle, vol.multi);
            let name = *self.names.get_or_insert_with((*handle, *node), || {
                attachment_name(handle, driver, node).into()
            });
            if let Some(va) = by_name.get(&name) {
                if va.metadata.deletion_timestamp.is_some() {
                    continue; // still detaching; attach again afterwards
                }
                let pair = (*pv, *node);
                if va.status.attached {
                    if self.attached_reported.insert(pair, ()).is_none() {
                        let unique = unique_name(&mut self.uniques, *driver, *handle);
                        let _ = cx.store.modify::<Node>(&ObjectKey::cluster(node), |n| {
                            if !n.status.volumes_attached.contains(&unique) {
                                n.status.volumes_attached.push(unique);
                            }
                        });
                        for p in pods {
                            let msg = format!("AttachVolume.Attach succeeded for volume {pv:?}");
                            Self::pod_event(
                                cx,
                                p,
                                EventType::Normal,
                                "SuccessfulAttachVolume",
                                msg,
                            );
                        }
                    }
                    self.errors_reported.remove(&name);
                } else if let Some(err) = &va.status.attach_error
                    && self.errors_reported.get(&name) != Some(err)
                {
                    self.errors_reported.insert(name, err.clone());
                    for p in pods {
                        let msg = format!("AttachVolume.Attach failed for volume {pv:?} : {err}");
                        Self::pod_event(cx, p, EventType::Warning, "FailedAttachVolume", msg);
                    }
                }
                continue;
            }
            // Multi-Attach: a single-node volume already attached elsewhere.
            let elsewhere = by_volume
                .get(pv)
                .is_some_and(|vas| vas.iter().any(|v| v.spec.node_name != *node));
            if !multi && elsewhere {
                if self
                    .multi_attach_reported
                    .insert((*pv, *node), ())
                    .is_none()
                {
                    let msg = multi_attach_message(*pv, *node, pods, &desired);
                    for p in pods {
                        Self::pod_event(
                            cx,
                            p,
                            EventType::Warning,
                            "FailedAttachVolume",
                            msg.clone(),
                        );
                    }
                }
                continue;
            }
            let va = VolumeAttachment {
                metadata: ObjectMeta {
                    name,
                    ..Default::default()
                },
                spec: VolumeAttachmentSpec {
                    attacher: *driver,
                    node_name: *node,
                    persistent_volume_name: *pv,
                },
                status: VolumeAttachmentStatus::default(),
            };
            self.index.attachment(&va);
            let _ = cx.store.create(va);
        }
    }
}

/// `reportMultiAttachError`'s texts: the pods (same namespace) that use the
/// volume on other nodes, or that it is exclusively attached elsewhere.
fn multi_attach_message(pv: Name, node: Name, pods: &[ObjectKey], desired: &Desired) -> String {
    let ns = pods.first().map(|p| p.namespace).unwrap_or_default();
    let mut same_ns = Vec::new();
    let mut other_ns = 0usize;
    // The map is ordered by (volume, node): this volume's pairs are one run.
    let pairs = desired
        .range((pv, Name::default())..)
        .take_while(|((v, _), _)| *v == pv);
    for ((_, n), (_, users)) in pairs {
        if *n == node {
            continue;
        }
        for u in users {
            if u.namespace == ns {
                same_ns.push(u.name.to_string());
            } else {
                other_ns += 1;
            }
        }
    }
    let head = format!("Multi-Attach error for volume {pv:?} ");
    match (same_ns.is_empty(), other_ns) {
        (true, 0) => format!(
            "{head}Volume is already exclusively attached to one node and can't be attached to another"
        ),
        (false, 0) => format!(
            "{head}Volume is already used by pod(s) {}",
            same_ns.join(", ")
        ),
        (true, n) => format!("{head}Volume is already used by {n} pod(s) in different namespaces"),
        (false, n) => format!(
            "{head}Volume is already used by pod(s) {} and {n} pod(s) in different namespaces",
            same_ns.join(", ")
        ),
    }
}

impl Controller for AttachDetachController {
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
        &[
            Kind::Pod,
            Kind::Node,
            Kind::PersistentVolume,
            Kind::PersistentVolumeClaim,
            Kind::VolumeAttachment,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let mut touched = self.index.update(ev);
        if let AnyObject::Node(_) = &ev.object {
            // What a node shows (volumes in use, Ready, taints) only decides
            // detaches: of its volumes, only those waiting to be detached
            // there can come out differently. (Every other one is wanted
            // there, or detached at its own change without waiting.)
            let node = ev.key.name;
            touched.retain(|pv| self.detach_requested.contains_key(&(*pv, node)));
        }
        self.dirty.extend(touched);
        // The informer handlers update the desired state at once; the
        // reconciler acts on its next 100 ms tick (ReconcilerLoopPeriod).
        // Modelled by its effect: one tick, only when something changed.
        let period = RECONCILER_LOOP_PERIOD_MS;
        let tick = SimTime(cx.now.as_millis().div_ceil(period) * period);
        self.queue.add((), tick);
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        // attachRequired: false — the driver's volumes are never attached
        // (the CSI plugin is not attachable; nothing to reconcile).
        if !cx.profile.driver.attach_required {
            while self.queue.pop_due(cx.now).is_some() {}
            self.dirty.clear();
            return;
        }
        if self.queue.pop_due(cx.now).is_some() {
            self.reconcile(cx);
        }
        // Look again at volumes waiting for a force-detach deadline once it
        // is over (the queue keeps only the earliest wake).
        let period = crate::engine::SimDuration::from_millis(RECONCILER_LOOP_PERIOD_MS);
        if let Some(t) = self.index.deadlines.iter_unordered().map(|(_, t)| t).min() {
            self.queue.add((), t.plus(period));
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        self.queue.next_due()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        store
            .list::<VolumeAttachment>()
            .filter(|v| !v.status.attached)
            .map(|v| {
                format!(
                    "VolumeAttachment for {} on {} is not attached",
                    v.spec.persistent_volume_name, v.spec.node_name
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Test_ReportMultiAttachError`'s four cases: who else uses the volume
    /// on other nodes decides the text.
    #[test]
    fn multi_attach_messages_name_the_other_users_as_the_real_reconciler_does() {
        let volume = || CsiVolume {
            pv: "pv-1".into(),
            driver: "d".into(),
            handle: "h".into(),
            multi: false,
        };
        let key = |ns: &str, n: &str| ObjectKey::new(ns, n);
        let wanted = [key("ns1", "pod1")];
        let cases: [(Vec<ObjectKey>, &str); 4] = [
            (
                vec![],
                "Volume is already exclusively attached to one node and can't be attached to another",
            ),
            (
                vec![key("ns1", "pod2")],
                "Volume is already used by pod(s) pod2",
            ),
            (
                vec![key("ns2", "pod3")],
                "Volume is already used by 1 pod(s) in different namespaces",
            ),
            (
                vec![key("ns1", "pod2"), key("ns2", "pod3")],
                "Volume is already used by pod(s) pod2 and 1 pod(s) in different namespaces",
            ),
        ];
        for (others, tail) in cases {
            let mut desired = Desired::new();
            desired.insert(("pv-1".into(), "node1".into()), (volume(), wanted.to_vec()));
            if !others.is_empty() {
                desired.insert(("pv-1".into(), "node2".into()), (volume(), others));
            }
            assert_eq!(
                multi_attach_message("pv-1".into(), "node1".into(), &wanted, &desired),
                format!("Multi-Attach error for volume \"pv-1\" {tail}")
            );
        }
    }
}
