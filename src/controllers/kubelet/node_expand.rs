//! kubelet's side of a volume expansion (`node_expander.go`): once the
//! external-resizer has grown the disk and left the claim NodeResizePending,
//! NodeExpandVolume grows the filesystem — right after NodeStage when the
//! volume is next mounted (the pod restart an offline driver needs), or, for
//! a driver that expands online, while it is mounted, at the pod's next
//! periodic sync (kubelet re-reads the claim then). Success sets the claim's
//! capacity and clears `FileSystemResizePending`, with a
//! `FileSystemResizeSuccessful` event on the pod and on the claim.

use super::{Kubelet, Purpose, Stage};
use crate::api::persistent_volume_claim::CONDITION_FS_RESIZE_PENDING;
use crate::api::{
    Kind, Name, ObjectKey, ObjectRef, PersistentVolume, PersistentVolumeClaim, Quantity,
};
use crate::backend::profile::Expansion;
use crate::backend::{Reply, Request, Response};
use crate::cluster::EventType;
use crate::controllers::Ctx;
use crate::controllers::external_resizer::{NODE_RESIZE_IN_PROGRESS, NODE_RESIZE_PENDING};
use crate::engine::{SimDuration, StreamKey, Ticks};

/// `--sync-frequency`: kubelet syncs every pod this often, and notices a
/// claim waiting for an online filesystem resize then.
const POD_SYNC_FREQUENCY: SimDuration = SimDuration::from_secs(60);

impl Kubelet {
    /// The size the filesystem must grow to, if `claim` waits for kubelet.
    fn node_resize_target(claim: &PersistentVolumeClaim, cx: &Ctx<'_>) -> Option<i128> {
        if !cx.profile.driver.node_expansion {
            return None;
        }
        let status = claim.status.allocated_resource_statuses.get("storage")?;
        if status != NODE_RESIZE_PENDING && status != NODE_RESIZE_IN_PROGRESS {
            return None;
        }
        let pv = cx
            .store
            .get::<PersistentVolume>(&ObjectKey::cluster_named(claim.spec.volume_name))?;
        let size = pv.capacity().map_or(0, Quantity::value);
        (size > claim.capacity_bytes()).then_some(size)
    }

    /// A pod of this node using `pv`, and its claim.
    fn user_of(&self, pv: Name, node: Name) -> Option<(ObjectKey, ObjectKey)> {
        self.pods_on(node).find_map(|(k, s)| {
            let m = s.mounts.iter().find(|m| m.pv == pv)?;
            Some((
                k.clone(),
                ObjectKey {
                    namespace: k.namespace,
                    name: m.claim,
                },
            ))
        })
    }

    /// Calls NodeExpandVolume, marking the claim NodeResizeInProgress.
    #[allow(clippy::too_many_arguments)]
    fn call_expand(
        &mut self,
        pv: Name,
        node: Name,
        claim: ObjectKey,
        pod: ObjectKey,
        size_bytes: i128,
        online: bool,
        cx: &mut Ctx<'_>,
    ) {
        let Some(handle) = cx
            .store
            .get::<PersistentVolume>(&ObjectKey::cluster_named(pv))
            .and_then(|v| v.spec.csi.as_ref())
            .map(|c| c.volume_handle)
        else {
            return;
        };
        let _ = cx.store.modify::<PersistentVolumeClaim>(&claim, |c| {
            c.status
                .allocated_resource_statuses
                .insert("storage", NODE_RESIZE_IN_PROGRESS.to_string());
        });
        let id = cx.call(
            Request::NodeExpand {
                volume_id: handle.to_string(),
                node: node.to_string(),
                size_bytes,
            },
            None,
        );
        self.calls.insert(
            id,
            Purpose::Expand {
                pv,
                node,
                claim,
                pod,
                online,
            },
        );
    }

    /// NodeStage of `pv` on `node` succeeded: grow the filesystem first if
    /// the claim waits for it. True if an expansion started.
    pub(super) fn expand_after_stage(&mut self, pv: Name, node: Name, cx: &mut Ctx<'_>) -> bool {
        let Some((pod, claim_key)) = self.user_of(pv, node) else {
            return false;
        };
        let Some(claim) = cx.store.get_shared::<PersistentVolumeClaim>(&claim_key) else {
            return false;
        };
        let Some(size) = Self::node_resize_target(&claim, cx) else {
            return false;
        };
        self.stages.insert((pv, node), Stage::Expanding);
        self.call_expand(pv, node, claim_key, pod, size, false, cx);
        true
    }

    /// A claim changed: if it waits for an online filesystem resize, each
    /// node that has it mounted does it at its pod's next sync.
    pub(super) fn claim_resized(&mut self, claim: &PersistentVolumeClaim, cx: &mut Ctx<'_>) {
        // Only a claim no kubelet is resizing yet.
        let pending = claim
            .status
            .allocated_resource_statuses
            .get("storage")
            .is_some_and(|s| s == NODE_RESIZE_PENDING);
        // (The grown PV may reach this kubelet's cache after the claim: the
        // size is read when the sync comes, as kubelet reads both then.)
        if cx.profile.driver.expansion != Expansion::Online
            || !pending
            || !cx.profile.driver.node_expansion
        {
            return;
        }
        let key = claim.metadata.key();
        let mut users: Vec<(ObjectKey, String, Name, Name)> = self
            .pods
            .iter_unordered()
            .filter(|(k, _)| k.namespace == key.namespace)
            .filter_map(|(k, s)| {
                let m = s
                    .mounts
                    .iter()
                    .find(|m| m.claim == key.name && m.published)?;
                Some((k.clone(), s.uid.to_string(), m.pv, s.node))
            })
            .collect();
        // By pod key: of two pods of one node that use the claim, the
        // first by name takes the expansion (the map's order is a hash's).
        users.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (pod, uid, pv, node) in users {
            if cx.machines.is_down(&node) || self.resize_due.contains_key(&(pv, node)) {
                continue;
            }
            let tick = StreamKey {
                component: "kubelet",
                object: &uid,
                operation: "pod-sync",
                attempt: 0,
            };
            let at = Ticks::seeded(POD_SYNC_FREQUENCY, &tick, self.seed).next_after(cx.now);
            self.resize_due.insert((pv, node), (at, pod));
        }
    }

    /// Online expansions whose pod sync has come.
    pub(super) fn online_expansions(&mut self, cx: &mut Ctx<'_>) {
        let due: Vec<(Name, Name)> = self
            .resize_due
            .iter()
            .filter(|(_, (t, _))| *t <= cx.now)
            .map(|(k, _)| *k)
            .collect();
        for (pv, node) in due {
            let Some((_, pod)) = self.resize_due.remove(&(pv, node)) else {
                continue;
            };
            if cx.machines.is_down(&node) || self.stages.get(&(pv, node)) != Some(&Stage::Staged) {
                continue;
            }
            let Some(claim_key) = self
                .pods
                .get(&pod)
                .and_then(|s| s.mounts.iter().find(|m| m.pv == pv))
                .map(|m| ObjectKey::new(pod.namespace, m.claim))
            else {
                continue;
            };
            let Some(claim) = cx.store.get_shared::<PersistentVolumeClaim>(&claim_key) else {
                continue;
            };
            if let Some(size) = Self::node_resize_target(&claim, cx) {
                self.call_expand(pv, node, claim_key, pod, size, true, cx);
            }
        }
    }

    /// NodeExpandVolume returned.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn expand_done(
        &mut self,
        reply: &Reply,
        pv: Name,
        node: Name,
        claim: &ObjectKey,
        pod: &ObjectKey,
        online: bool,
        cx: &mut Ctx<'_>,
    ) {
        match &reply.result {
            Ok(Response::Expanded { size_bytes }) => {
                let msg =
                    format!("MountVolume.NodeExpandVolume succeeded for volume {pv:?} {node}");
                for (kind, key) in [(Kind::Pod, pod), (Kind::PersistentVolumeClaim, claim)] {
                    cx.store.record_event(
                        ObjectRef::new(kind, key.clone()),
                        EventType::Normal,
                        "FileSystemResizeSuccessful",
                        msg.clone(),
                        super::SOURCE,
                    );
                }
                // MarkFSResizeFinished.
                let size = Quantity::from_bytes(*size_bytes);
                let _ = cx.store.modify::<PersistentVolumeClaim>(claim, |c| {
                    c.status.capacity.insert("storage", size);
                    c.status
                        .conditions
                        .retain(|x| x.kind != CONDITION_FS_RESIZE_PENDING);
                    c.status.allocated_resource_statuses.remove("storage");
                });
            }
            Ok(_) => {}
            Err(e) => {
                let msg = format!("MountVolume.NodeExpandVolume failed for volume {pv:?} : {e}");
                cx.store.record_event(
                    ObjectRef::new(Kind::Pod, pod.clone()),
                    EventType::Warning,
                    "FileSystemResizeFailed",
                    msg,
                    super::SOURCE,
                );
                let _ = cx.store.modify::<PersistentVolumeClaim>(claim, |c| {
                    c.status
                        .allocated_resource_statuses
                        .insert("storage", NODE_RESIZE_PENDING.to_string());
                });
                // Tried again at the next sync (online) or the next mount;
                // a failed resize does not keep the volume from mounting.
                if online && let Some(c) = cx.store.get_shared::<PersistentVolumeClaim>(claim) {
                    self.claim_resized(&c, cx);
                }
            }
        }
        if !online {
            self.stages.insert((pv, node), Stage::Staged);
            self.wake_node(node, cx.now);
        }
    }
}
