//! kubelet on every node: the volume manager (wait for the attach, NodeStage
//! once per node — with the format on first use — and NodePublish per pod),
//! the containers (image pull, create, start, readiness probes with the
//! API's defaults) and graceful termination (SIGTERM, SIGKILL at the grace
//! period, NodeUnpublish, NodeUnstage for the last user, then the pod object
//! is removed).

mod crash_loop;
mod node_expand;

use super::attach_detach::unique_volume_name;
use super::scheduler::set_condition;
use super::workqueue::WorkQueue;
use super::{Controller, Ctx};
use crate::api::volume_attachment::attachment_name;
use crate::api::{
    Kind, Name, Node, ObjectKey, ObjectRef, PersistentVolume, PersistentVolumeClaim, Pod, PodPhase,
    VolumeAttachment,
};
use crate::backend::{CallId, Reply, Request};
use crate::cluster::{AddrMap, EventType, Store, WatchEvent};
use crate::engine::{SimDuration, SimTime, StreamKey, Ticks};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::{BTreeMap, BTreeSet};

/// Event source.
pub const SOURCE: &str = "kubelet";

/// How an image behaves, from the scenario's `[images]` table. Defaults: the
/// image is already on every node, starts at once, exits at once on SIGTERM
/// and is ready as soon as it runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageBehaviour {
    /// Time to pull it (0: already present on every node).
    #[serde(default)]
    pub pull: SimDuration,
    /// Its size, for the Pulled event.
    #[serde(default)]
    pub size: Option<crate::api::Quantity>,
    /// From create to running.
    #[serde(default)]
    pub start: SimDuration,
    /// From running until a readiness probe would succeed.
    #[serde(default)]
    pub ready_after: SimDuration,
    /// How long the process takes to exit on SIGTERM.
    #[serde(default)]
    pub stop: SimDuration,
    /// The process ignores SIGTERM: it is killed at the grace period.
    #[serde(default)]
    pub ignore_sigterm: bool,
    /// The readiness probe never succeeds (a broken release).
    #[serde(default)]
    pub never_ready: bool,
    /// The process exits with an error this long after it starts: kubelet
    /// restarts it with its back-off (CrashLoopBackOff).
    #[serde(default)]
    pub crash_after: Option<SimDuration>,
    /// How many runs exit that way before one stays up (default: all).
    #[serde(default)]
    pub crashes: Option<u32>,
}

/// Where a volume is on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Staging,
    /// Staged; NodeExpandVolume growing the filesystem before publishing.
    Expanding,
    Staged,
    Unstaging,
}

/// Where a pod is in its life on its node.
#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Waiting for volumes to be attached, staged and published.
    Volumes,
    /// Containers being pulled and started: the steps and when each is due.
    Starting(Vec<(SimTime, Step)>),
    /// Running; readiness probes on their schedule.
    Running {
        next_probe: Option<SimTime>,
        successes: u32,
    },
    /// A container exited with an error; the pod worker syncs it next at
    /// `next_sync` (restart or back-off).
    Exited {
        finished: SimTime,
        next_sync: SimTime,
    },
    /// `restartPolicy: Never` and a container failed: the pod is Failed.
    Failed,
    /// Containers stopping; done at this time.
    Stopping(SimTime),
    /// Volumes being unpublished and unstaged.
    Unmounting,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Pulling(usize),
    Pulled(usize),
    Present(usize),
    CreatedStarted(usize),
}

#[derive(Clone, Debug)]
struct Mount {
    /// The claim's name (in the pod's namespace).
    claim: Name,
    pv: Name,
    handle: Name,
    /// `kubernetes.io/csi/<driver>^<handle>`, as node status names it
    /// (made once: status updates and attach checks compare it often).
    unique: Name,
    published: bool,
    /// VerifyControllerAttachedVolume's retries, while it fails: when the
    /// next attempt is allowed, and the backoff after it. Kept with the
    /// mount (the pod's state is at hand when it is read), not in a map of
    /// its own.
    verify: Option<(SimTime, SimDuration)>,
}

#[derive(Clone, Debug)]
struct PodState {
    /// The pod's UID: a pod recreated under the same name is another pod.
    uid: Name,
    /// A node status update has reported its volumes in use since it came.
    reported: bool,
    node: Name,
    phase: Phase,
    mounts: Vec<Mount>,
    started_at: Option<SimTime>,
    /// When the crashing container exits on this run, if it does.
    crash_at: Option<SimTime>,
    /// Container restarts so far (`restartCount`).
    restarts: u32,
    /// The last sync found the pod Running with nothing due (no probe, no
    /// crash) and nothing it reads has changed since: a sync now would do
    /// nothing. Cleared by a watch event of the pod, by machines going or
    /// coming, and by every sync that does its work. About half of the
    /// syncs in a fleet are such (a volume staged on a node wakes its every
    /// pod).
    settled: bool,
}

/// What an in-flight call was for.
#[derive(Clone, Debug)]
enum Purpose {
    Stage(Name, Name),
    Unstage(Name, Name),
    Publish(ObjectKey, usize),
    Unpublish(ObjectKey, usize),
    /// NodeExpandVolume of (PV, node) for a claim, seen through a pod;
    /// `online` while mounted, else right after NodeStage.
    Expand {
        pv: Name,
        node: Name,
        claim: ObjectKey,
        pod: ObjectKey,
        online: bool,
    },
}

/// The CSI calls in flight, by ID; with the (pod, mount) pairs that have a
/// NodePublish or NodeUnpublish in flight, so that asking whether one does
/// is a lookup, not a walk of every call of every node (thousands while a
/// fleet starts).
#[derive(Default)]
struct Calls {
    by_id: BTreeMap<CallId, Purpose>,
    /// (pod, mount index, true for publish / false for unpublish): how
    /// many such calls are in flight.
    mounts: FxHashMap<(ObjectKey, usize, bool), u32>,
}

impl Calls {
    fn mount_key(p: &Purpose) -> Option<(ObjectKey, usize, bool)> {
        match p {
            Purpose::Publish(k, i) => Some((k.clone(), *i, true)),
            Purpose::Unpublish(k, i) => Some((k.clone(), *i, false)),
            _ => None,
        }
    }

    fn insert(&mut self, id: CallId, p: Purpose) {
        if let Some(m) = Self::mount_key(&p) {
            *self.mounts.entry(m).or_insert(0) += 1;
        }
        self.by_id.insert(id, p);
    }

    fn remove(&mut self, id: &CallId) -> Option<Purpose> {
        let p = self.by_id.remove(id)?;
        if let Some(m) = Self::mount_key(&p)
            && let Some(n) = self.mounts.get_mut(&m)
        {
            *n -= 1;
            if *n == 0 {
                self.mounts.remove(&m);
            }
        }
        Some(p)
    }

    /// Whether a NodePublish (`publish`) or NodeUnpublish of mount `i` of
    /// pod `key` is in flight.
    fn mounting(&self, key: &ObjectKey, i: usize, publish: bool) -> bool {
        self.mounts.contains_key(&(key.clone(), i, publish))
    }
}

/// All kubelets.
pub struct Kubelet {
    images: BTreeMap<String, ImageBehaviour>,
    queue: WorkQueue<ObjectKey>,
    /// The pods it runs, by key: looked up for every sync.
    pods: AddrMap<ObjectKey, PodState>,
    /// Per (volume, node): how far staging went. This map, `pods`,
    /// `present`, `status_due`, `by_node` and `mounting` are only looked
    /// up, never walked in an order that reaches output: hashed (those
    /// keyed by names alone by the names' addresses, see [`AddrMap`]).
    stages: AddrMap<(Name, Name), Stage>,
    calls: Calls,
    /// Images already on each node.
    present: FxHashSet<(Name, String)>,
    /// Pods on a node whose claims are not all bound yet.
    blocked: BTreeSet<ObjectKey>,
    /// Nodes whose `volumesInUse` must change, and the status update that
    /// will write it.
    status_due: FxHashMap<Name, SimTime>,
    /// `status_due` by time, to find what is due without a scan.
    status_by_time: BTreeSet<(SimTime, Name)>,
    /// Nodes whose status update fell while their machine was down.
    stalled: BTreeSet<Name>,
    /// Online expansions waiting for the pod's next sync: (PV, node) →
    /// when, and through which pod.
    resize_due: BTreeMap<(Name, Name), (SimTime, ObjectKey)>,
    /// Restart back-off per (pod UID, container).
    backoff: BTreeMap<(Name, String), crash_loop::Backoff>,
    /// The pods of each node (keys of `pods`): a node's pods without a scan.
    by_node: AddrMap<Name, BTreeSet<ObjectKey>>,
    /// Of `by_node`, the pods that may still wait for their volumes: every
    /// pod in phase Volumes is here (a pod enters that phase only when it
    /// is first seen); one that moved on is dropped when next looked at. A
    /// node's volume change then reads its few waiting pods, not all.
    mounting: AddrMap<Name, BTreeSet<ObjectKey>>,
    /// VolumeAttachment names by (volume handle, node): each is a SHA-256
    /// made into a name, and a pod waiting for its volume asks at every
    /// check, so each is made once (the driver is the run's one driver).
    attachment_names: AddrMap<(Name, Name), Name>,
    /// Unique volume names (`kubernetes.io/csi/<driver>^<handle>`) by
    /// handle, made and interned once each (the same one driver).
    unique_names: AddrMap<Name, Name>,
    /// Each node's `volumesInUse` as its last status update wrote it
    /// (sorted by name). A pod's volumes are fixed when kubelet takes it
    /// on, so the list changes only when a pod joins or leaves the node
    /// (`by_node` changes), which drops it to be made again.
    in_use: AddrMap<Name, Vec<Name>>,
    seed: u64,
}

/// `nodeStatusUpdateFrequency`: kubelet writes `volumesInUse` with the
/// rest of the node status on this period. A new pod's volume is mounted
/// only once a status update has reported it in use
/// (`VerifyControllerAttachedVolume`: "it may take as much as 10 seconds"),
/// and a volume torn down stays "in use" (and attached) until the next
/// update, which keeps the attach/detach controller from detaching a disk
/// whose next pod is already on its way to the same node.
const NODE_STATUS_UPDATE_FREQUENCY: SimDuration = SimDuration::from_secs(10);

/// `nestedpendingoperations`' exponential backoff of a failed volume
/// operation: 500 ms, doubling, at most 2 min 2 s.
const OPERATION_BACKOFF_START: SimDuration = SimDuration::from_millis(500);
/// See [`OPERATION_BACKOFF_START`].
const OPERATION_BACKOFF_MAX: SimDuration = SimDuration::from_millis(122_000);

impl Kubelet {
    /// Kubelets with the scenario's image behaviours.
    pub fn new(images: BTreeMap<String, ImageBehaviour>, seed: u64) -> Self {
        Kubelet {
            status_due: FxHashMap::default(),
            status_by_time: BTreeSet::new(),
            stalled: BTreeSet::new(),
            resize_due: BTreeMap::new(),
            backoff: BTreeMap::new(),
            by_node: AddrMap::default(),
            mounting: AddrMap::default(),
            attachment_names: AddrMap::default(),
            unique_names: AddrMap::default(),
            in_use: AddrMap::default(),
            seed,
            images,
            queue: WorkQueue::default(),
            pods: AddrMap::default(),
            stages: AddrMap::default(),
            calls: Calls::default(),
            present: FxHashSet::default(),
            blocked: BTreeSet::new(),
        }
    }

    fn image(&self, name: &str) -> ImageBehaviour {
        self.images.get(name).cloned().unwrap_or_default()
    }

    fn event(cx: &mut Ctx<'_>, pod: &ObjectKey, kind: EventType, reason: &str, msg: String) {
        cx.store.record_event(
            ObjectRef::new(Kind::Pod, pod.clone()),
            kind,
            reason,
            msg,
            SOURCE,
        );
    }

    /// The pods kubelet runs on `node`, by key.
    fn pods_on(&self, node: Name) -> impl Iterator<Item = (&ObjectKey, &PodState)> {
        self.by_node
            .get(&node)
            .into_iter()
            .flatten()
            .filter_map(|k| self.pods.get(k).map(|s| (k, s)))
    }

    /// The verification retries of mount `i` of pod `key`, a pod kubelet
    /// has taken on.
    fn verify(&mut self, key: &ObjectKey, i: usize) -> &mut Option<(SimTime, SimDuration)> {
        let pod = self.pods.get_mut(key).expect("a pod mounting is known");
        &mut pod.mounts[i].verify
    }

    /// The pods of `node` waiting for their volumes that `wanted` picks,
    /// in key order (as [`Kubelet::pods_on`] gives them).
    fn waiting_on(&mut self, node: Name, wanted: impl Fn(&PodState) -> bool) -> Vec<ObjectKey> {
        let Some(set) = self.mounting.get_mut(&node) else {
            return Vec::new();
        };
        let pods = &self.pods;
        let mut out = Vec::new();
        set.retain(|k| match pods.get(k) {
            Some(st) if st.phase == Phase::Volumes && st.node == node => {
                if wanted(st) {
                    out.push(k.clone());
                }
                true
            }
            _ => false,
        });
        out
    }

    fn wake_at(&mut self, key: &ObjectKey, at: SimTime) {
        self.queue.add(key.clone(), at);
    }

    /// The key of the VolumeAttachment of volume `handle` on `node`.
    fn attachment_of(&mut self, handle: Name, node: Name, driver: &str) -> ObjectKey {
        let name = *self
            .attachment_names
            .get_or_insert_with((handle, node), || {
                attachment_name(&handle, driver, &node).into()
            });
        ObjectKey::cluster_named(name)
    }

    /// Wakes every pod of `node` at `at` (a volume there changed state).
    ///
    /// Settled pods too, though their sync returns at once: the queue
    /// entry holds the pod's place among the syncs due that millisecond
    /// (a later add keeps the earlier place), so a pod unsettled in the
    /// same millisecond syncs where it did. Leaving them out reordered
    /// such syncs and changed the 100 k fleet's output. Their entries are
    /// idle ones ([`WorkQueue::add_idle`]), which hold the place without
    /// being taken out: only a watch event of the pod (which adds it) or a
    /// machine coming back (which promotes every idle entry) unsettles a
    /// pod, and a sync is only of a pod taken out.
    fn wake_node(&mut self, node: Name, at: SimTime) {
        let users: Vec<(ObjectKey, bool)> = self
            .pods_on(node)
            .map(|(k, s)| (k.clone(), s.settled))
            .collect();
        for (k, settled) in users {
            if settled {
                self.queue.add_idle(k, at);
            } else {
                self.wake_at(&k, at);
            }
        }
    }

    /// The pod's CSI volumes: (PV name, handle), if every claim is bound.
    fn mounts_of(&mut self, pod: &Pod, cx: &Ctx<'_>) -> Option<Vec<Mount>> {
        let mut out = Vec::new();
        // The claims' keys are copies of interned names (no interning).
        for key in pod.claim_keys() {
            let claim = cx.store.get::<PersistentVolumeClaim>(&key)?;
            if claim.spec.volume_name.is_empty() {
                return None;
            }
            let pv = cx
                .store
                .get::<PersistentVolume>(&ObjectKey::cluster_named(claim.spec.volume_name))?;
            if let Some(csi) = &pv.spec.csi {
                out.push(Mount {
                    claim: key.name,
                    pv: pv.metadata.name,
                    handle: csi.volume_handle,
                    unique: *self.unique_names.get_or_insert_with(csi.volume_handle, || {
                        Name::new(&unique_volume_name(
                            &cx.profile.driver.name,
                            &csi.volume_handle,
                        ))
                    }),
                    published: false,
                    verify: None,
                });
            }
        }
        Some(out)
    }

    fn sync(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        match self.pods.get_mut(key) {
            Some(st) if st.settled => return,
            Some(st) => st.settled = false,
            None => {}
        }
        let pod = cx.store.get_shared::<Pod>(key);
        // Gone from the API without kubelet's final delete (a forced
        // delete), perhaps already replaced by a pod of the same name: the
        // old containers are killed at once and its volumes still torn
        // down; the new pod starts once that is done.
        if let Some(st) = self.pods.get(key)
            && pod.as_ref().is_none_or(|p| p.metadata.uid != st.uid)
        {
            self.unmount(key, cx);
            return;
        }
        let Some(pod) = pod else {
            return;
        };
        // A machine that is down runs nothing, not even its kubelet.
        if cx.machines.is_down(&pod.spec.node_name) {
            return;
        }
        // No node, no kubelet: such a pod is never started nor finished.
        if pod.spec.node_name.is_empty()
            || cx
                .store
                .get::<Node>(&ObjectKey::cluster_named(pod.spec.node_name))
                .is_none()
        {
            return;
        }
        if !self.pods.contains_key(key) {
            if pod.metadata.deletion_timestamp.is_some() {
                // Deleted before this kubelet started it: nothing to undo.
                let _ = cx.store.remove::<Pod>(key);
                return;
            }
            let Some(mounts) = self.mounts_of(&pod, cx) else {
                // This kubelet does not see every claim bound yet: look
                // again when a claim or volume changes.
                self.blocked.insert(key.clone());
                return;
            };
            let _ = cx
                .store
                .modify::<Pod>(key, |p| p.status.reason = "ContainerCreating".into());
            let state = PodState {
                uid: pod.metadata.uid,
                reported: false,
                node: pod.spec.node_name,
                phase: Phase::Volumes,
                mounts,
                started_at: None,
                crash_at: None,
                restarts: 0,
                settled: false,
            };
            let node = state.node;
            let has_volumes = !state.mounts.is_empty();
            for index in [&mut self.by_node, &mut self.mounting] {
                index
                    .get_or_insert_with(node, BTreeSet::new)
                    .insert(key.clone());
            }
            self.in_use.remove(&node);
            self.pods.insert(key.clone(), state);
            if has_volumes {
                self.request_status_update(node, cx.now);
            }
        }
        if pod.metadata.deletion_timestamp.is_some() {
            self.terminate(&pod, cx);
            return;
        }
        let phase = self.pods[key].phase.clone();
        match phase {
            Phase::Volumes => self.mount(&pod, cx),
            Phase::Starting(steps) => self.start(&pod, steps, cx),
            Phase::Running {
                next_probe,
                successes,
            } => {
                if !self.crash_if_due(&pod, cx) {
                    self.probe(&pod, next_probe, successes, cx);
                }
                if let Some(st) = self.pods.get_mut(key)
                    && matches!(
                        st.phase,
                        Phase::Running {
                            next_probe: None,
                            ..
                        }
                    )
                    && st.crash_at.is_none()
                {
                    st.settled = true;
                }
            }
            Phase::Exited {
                finished,
                next_sync,
            } => self.restart_or_back_off(&pod, finished, next_sync, cx),
            Phase::Failed | Phase::Stopping(_) | Phase::Unmounting => {}
        }
    }

    /// The volume manager: attach seen → NodeStage (once per node) →
    /// NodePublish (per pod); when every volume is published, containers.
    fn mount(&mut self, pod: &Pod, cx: &mut Ctx<'_>) {
        let key = pod.metadata.key();
        let profile = cx.profile;
        let driver = profile.driver.name.as_str();
        let (node, reported) = {
            let st = &self.pods[&key];
            (st.node, st.reported)
        };
        // The volumes not published yet: (index, PV, handle). Most syncs of
        // a pod in this phase find its checks not due yet (another volume
        // of its node changed), so nothing is read before that is known.
        let waiting: SmallVec<[(usize, Name, Name, Name); 4]> = self.pods[&key]
            .mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.published)
            .map(|(i, m)| (i, m.pv, m.handle, m.unique))
            .collect();
        let all = waiting.is_empty();
        for (i, pv, handle, unique) in waiting {
            let pair = (pv, node);
            // VerifyControllerAttachedVolume (until the volume is staged on
            // the node): a node status update has reported it in use and the
            // attach/detach controller lists it in node.status.volumesAttached;
            // WaitForAttach then checks the VolumeAttachment. A failed check
            // is retried with the operation backoff, not on the next event.
            let attached = |attachment: ObjectKey| {
                let listed = cx
                    .store
                    .get::<Node>(&ObjectKey::cluster_named(node))
                    .is_some_and(|n| n.status.volumes_attached.contains(&unique));
                listed
                    && cx
                        .store
                        .get::<VolumeAttachment>(&attachment)
                        .is_some_and(|v| v.status.attached)
            };
            // Not attachable (attachRequired: false): assumed attached at
            // once, no wait for node status.
            let attachable = profile.driver.attach_required;
            if !attachable && !profile.driver.stage_unstage {
                self.stages.get_or_insert_with(pair, || Stage::Staged);
            }
            if attachable && !self.stages.contains_key(&pair) {
                let (next_try, backoff) = self
                    .verify(&key, i)
                    .unwrap_or((cx.now, OPERATION_BACKOFF_START));
                if cx.now < next_try {
                    self.wake_at(&key, next_try);
                    continue;
                }
                if !(reported && attached(self.attachment_of(handle, node, driver))) {
                    let next = cx.now.plus(backoff);
                    let doubled = SimDuration::from_millis(
                        (backoff.as_millis() * 2).min(OPERATION_BACKOFF_MAX.as_millis()),
                    );
                    *self.verify(&key, i) = Some((next, doubled));
                    self.wake_at(&key, next);
                    continue;
                }
                *self.verify(&key, i) = None;
            } else if attachable && !attached(self.attachment_of(handle, node, driver)) {
                continue;
            }
            match self.stages.get(&pair) {
                // No STAGE_UNSTAGE_VOLUME: nothing to stage.
                None if !cx.profile.driver.stage_unstage => {
                    self.stages.insert(pair, Stage::Staged);
                    self.wake_at(&key, cx.now);
                }
                None => {
                    self.stages.insert(pair, Stage::Staging);
                    let id = cx.call(
                        Request::NodeStage {
                            volume_id: handle.to_string(),
                            node: node.to_string(),
                        },
                        None,
                    );
                    self.calls.insert(id, Purpose::Stage(pair.0, pair.1));
                }
                Some(Stage::Staged) => {
                    if !self.calls.mounting(&key, i, true) {
                        let id = cx.call(
                            Request::NodePublish {
                                volume_id: handle.to_string(),
                                node: node.to_string(),
                                pod: key.to_string(),
                            },
                            None,
                        );
                        self.calls.insert(id, Purpose::Publish(key.clone(), i));
                    }
                }
                Some(_) => {}
            }
        }
        if all {
            self.begin_containers(pod, cx);
        }
    }

    /// Plans the containers' pull, create and start (images pulled one at a
    /// time, as with the default serialized pulls).
    fn begin_containers(&mut self, pod: &Pod, cx: &mut Ctx<'_>) {
        let key = pod.metadata.key();
        let node = self.pods[&key].node;
        let mut t = cx.now;
        let mut steps = Vec::new();
        for (i, c) in pod.spec.containers.iter().enumerate() {
            let img = self.image(&c.image);
            if img.pull.as_millis() > 0 && !self.present.contains(&(node, c.image.clone())) {
                steps.push((t, Step::Pulling(i)));
                t = t.plus(img.pull);
                steps.push((t, Step::Pulled(i)));
            } else {
                steps.push((t, Step::Present(i)));
            }
            t = t.plus(img.start);
            steps.push((t, Step::CreatedStarted(i)));
        }
        if let Some(st) = self.pods.get_mut(&key) {
            st.phase = Phase::Starting(steps.clone());
        }
        self.start(pod, steps, cx);
    }

    fn start(&mut self, pod: &Pod, mut steps: Vec<(SimTime, Step)>, cx: &mut Ctx<'_>) {
        let key = pod.metadata.key();
        let node = self.pods[&key].node;
        while let Some((at, step)) = steps.first().cloned() {
            if at > cx.now {
                break;
            }
            steps.remove(0);
            let c = |i: usize| &pod.spec.containers[i];
            match step {
                Step::Pulling(i) => {
                    Self::event(
                        cx,
                        &key,
                        EventType::Normal,
                        "Pulling",
                        format!("Pulling image {:?}", c(i).image),
                    );
                }
                Step::Pulled(i) => {
                    let img = self.image(&c(i).image);
                    self.present.insert((node, c(i).image.clone()));
                    let size = img.size.as_ref().map(|q| q.value()).unwrap_or(0);
                    let msg = format!(
                        "Successfully pulled image {:?} in {} ({} including waiting). Image size: {size} bytes.",
                        c(i).image,
                        img.pull,
                        img.pull
                    );
                    Self::event(cx, &key, EventType::Normal, "Pulled", msg);
                }
                Step::Present(i) => {
                    let msg = format!(
                        "Container image {:?} already present on machine",
                        c(i).image
                    );
                    Self::event(cx, &key, EventType::Normal, "Pulled", msg);
                }
                Step::CreatedStarted(i) => {
                    let name = c(i).name.clone();
                    Self::event(
                        cx,
                        &key,
                        EventType::Normal,
                        "Created",
                        format!("Created container: {name}"),
                    );
                    Self::event(
                        cx,
                        &key,
                        EventType::Normal,
                        "Started",
                        format!("Started container {name}"),
                    );
                }
            }
        }
        if let Some((at, _)) = steps.first() {
            let at = *at;
            if let Some(st) = self.pods.get_mut(&key) {
                st.phase = Phase::Starting(steps);
            }
            self.wake_at(&key, at);
            return;
        }
        // Every container runs.
        let now = cx.now;
        // The first probe's initial delay is all that is read here.
        let initial_delay = pod
            .spec
            .containers
            .iter()
            .find_map(|c| c.readiness_probe.as_ref())
            .map(|p| p.initial_delay_seconds);
        let restarts = self.pods[&key].restarts;
        let _ = cx.store.modify::<Pod>(&key, |p| {
            p.status.phase = PodPhase::Running;
            p.status.reason = Name::default();
            p.status.restart_count = restarts;
            set_condition(p, "Initialized", "True", "", "", now);
            if initial_delay.is_some() {
                set_unready(p, now);
            } else {
                set_condition(p, "ContainersReady", "True", "", "", now);
                set_condition(p, "Ready", "True", "", "", now);
            }
        });
        let next_probe = initial_delay.map(|d| now.plus(SimDuration::from_secs(d)));
        if let Some(st) = self.pods.get_mut(&key) {
            st.started_at = Some(now);
            st.phase = Phase::Running {
                next_probe,
                successes: 0,
            };
        }
        if let Some(t) = next_probe {
            self.wake_at(&key, t);
        }
        self.schedule_crash(pod, now);
    }

    /// A readiness probe is due: it succeeds once the image is ready.
    fn probe(&mut self, pod: &Pod, next: Option<SimTime>, successes: u32, cx: &mut Ctx<'_>) {
        let key = pod.metadata.key();
        let Some(at) = next else { return };
        if at > cx.now {
            self.wake_at(&key, at);
            return;
        }
        // Read from the pod, not copied: the probe holds JSON values.
        let Some((probe, image)) = pod
            .spec
            .containers
            .iter()
            .find_map(|c| Some((c.readiness_probe.as_ref()?, c.image.as_str())))
        else {
            return;
        };
        let started = self.pods[&key].started_at.unwrap_or(cx.now);
        let behaviour = self.image(image);
        let ready = !behaviour.never_ready && cx.now >= started.plus(behaviour.ready_after);
        let mut successes = successes;
        if ready {
            successes += 1;
            if successes >= probe.success_threshold {
                let now = cx.now;
                let _ = cx.store.modify::<Pod>(&key, |p| {
                    set_condition(p, "ContainersReady", "True", "", "", now);
                    set_condition(p, "Ready", "True", "", "", now);
                });
                if let Some(st) = self.pods.get_mut(&key) {
                    st.phase = Phase::Running {
                        next_probe: None,
                        successes,
                    };
                }
                return;
            }
        } else {
            successes = 0;
            let msg = format!("Readiness probe failed: {}", probe.failure_output());
            Self::event(cx, &key, EventType::Warning, "Unhealthy", msg);
        }
        let next = cx
            .now
            .plus(SimDuration::from_secs(probe.period_seconds.max(1)));
        if let Some(st) = self.pods.get_mut(&key) {
            st.phase = Phase::Running {
                next_probe: Some(next),
                successes,
            };
        }
        self.wake_at(&key, next);
    }

    /// Graceful termination: SIGTERM now, SIGKILL at the grace period; then
    /// the volumes are torn down and the pod object removed.
    fn terminate(&mut self, pod: &Pod, cx: &mut Ctx<'_>) {
        let key = pod.metadata.key();
        let phase = self.pods[&key].phase.clone();
        match phase {
            Phase::Stopping(done) if done > cx.now => self.wake_at(&key, done),
            Phase::Stopping(_) => {
                Self::containers_exited(pod, cx);
                self.unmount(&key, cx)
            }
            Phase::Unmounting => self.unmount(&key, cx),
            running => {
                let had_containers = matches!(running, Phase::Running { .. } | Phase::Starting(_));
                let grace = SimDuration::from_secs(pod.spec.termination_grace_period_seconds);
                let mut stop = SimDuration::ZERO;
                if had_containers {
                    for c in pod.spec.containers.iter() {
                        Self::event(
                            cx,
                            &key,
                            EventType::Normal,
                            "Killing",
                            format!("Stopping container {}", c.name),
                        );
                        let img = self.image(&c.image);
                        let t = if img.ignore_sigterm {
                            grace
                        } else {
                            img.stop.min(grace)
                        };
                        stop = stop.max(t);
                    }
                }
                let done = cx.now.plus(stop);
                if let Some(st) = self.pods.get_mut(&key) {
                    st.phase = Phase::Stopping(done);
                }
                if done > cx.now {
                    self.wake_at(&key, done);
                } else {
                    Self::containers_exited(pod, cx);
                    self.unmount(&key, cx);
                }
            }
        }
    }

    /// The containers have exited: the pod is no longer ready (`kubectl get`
    /// shows 0/1 Terminating while the volumes are torn down).
    fn containers_exited(pod: &Pod, cx: &mut Ctx<'_>) {
        if !pod.condition_true("ContainersReady") {
            return;
        }
        let now = cx.now;
        let _ = cx
            .store
            .modify::<Pod>(&pod.metadata.key(), |p| set_unready(p, now));
    }

    /// NodeUnpublish every published volume; NodeUnstage those no other pod
    /// on the node uses; then the pod object goes.
    fn unmount(&mut self, key: &ObjectKey, cx: &mut Ctx<'_>) {
        let Some(st) = self.pods.get_mut(key) else {
            return;
        };
        st.phase = Phase::Unmounting;
        let st = st.clone();
        let mut busy = false;
        for (i, m) in st.mounts.iter().enumerate() {
            if m.published {
                busy = true;
                if !self.calls.mounting(key, i, false) {
                    let id = cx.call(
                        Request::NodeUnpublish {
                            volume_id: m.handle.to_string(),
                            node: st.node.to_string(),
                            pod: key.to_string(),
                        },
                        None,
                    );
                    self.calls.insert(id, Purpose::Unpublish(key.clone(), i));
                }
            }
        }
        if busy {
            return;
        }
        for m in &st.mounts {
            let pair = (m.pv, st.node);
            let others = self
                .pods_on(st.node)
                .any(|(k, s)| k != key && s.mounts.iter().any(|o| o.pv == m.pv));
            match self.stages.get(&pair) {
                Some(Stage::Staged) if !others && !cx.profile.driver.stage_unstage => {
                    self.stages.remove(&pair);
                }
                Some(Stage::Staged) if !others => {
                    self.stages.insert(pair, Stage::Unstaging);
                    let id = cx.call(
                        Request::NodeUnstage {
                            volume_id: m.handle.to_string(),
                            node: st.node.to_string(),
                        },
                        None,
                    );
                    self.calls.insert(id, Purpose::Unstage(pair.0, pair.1));
                    busy = true;
                }
                Some(Stage::Staging | Stage::Expanding | Stage::Unstaging) => busy = true,
                _ => {}
            }
        }
        if busy {
            return;
        }
        // Volumes cleaned up: no longer in use on the node; the final DELETE.
        // Only asked whether it holds a volume: found by equality (the
        // names' addresses), not sorted by their strings.
        let still_used: Vec<Name> = self
            .pods_on(st.node)
            .filter(|(k, _)| *k != key)
            .flat_map(|(_, s)| s.mounts.iter().map(|m| m.pv))
            .collect();
        if st.mounts.iter().any(|m| !still_used.contains(&m.pv)) {
            self.request_status_update(st.node, cx.now);
        }
        let uid = st.uid;
        self.pods.remove(key);
        if let Some(set) = self.by_node.get_mut(&st.node) {
            set.remove(key);
        }
        self.in_use.remove(&st.node);
        // This pod's entries only: a range of the ordered map, not a scan.
        let backoffs: Vec<(Name, String)> = self
            .backoff
            .range((uid, String::new())..)
            .take_while(|((u, _), _)| *u == uid)
            .map(|(k, _)| k.clone())
            .collect();
        for k in backoffs {
            self.backoff.remove(&k);
        }
        // The final delete, of this pod only (not a successor of its name).
        if cx
            .store
            .get::<Pod>(key)
            .is_some_and(|p| p.metadata.uid == uid)
        {
            let _ = cx.store.remove::<Pod>(key);
        } else {
            self.wake_at(key, cx.now);
        }
    }
}

/// ContainersReady and Ready False, naming the containers, as kubelet's
/// status manager writes them.
fn set_unready(p: &mut Pod, now: SimTime) {
    let names: Vec<&str> = p.spec.containers.iter().map(|c| c.name.as_str()).collect();
    let msg = format!("containers with unready status: [{}]", names.join(" "));
    set_condition(
        p,
        "ContainersReady",
        "False",
        "ContainersNotReady",
        &msg,
        now,
    );
    set_condition(p, "Ready", "False", "ContainersNotReady", &msg, now);
}

impl Kubelet {
    /// The first node status update of `node` after `now`: every
    /// [`NODE_STATUS_UPDATE_FREQUENCY`], from a phase of its own.
    fn next_status_update(&self, node: &str, now: SimTime) -> SimTime {
        let key = StreamKey {
            component: "kubelet",
            object: node,
            operation: "node-status",
            attempt: 0,
        };
        Ticks::seeded(NODE_STATUS_UPDATE_FREQUENCY, &key, self.seed).next_after(now)
    }

    /// `volumesInUse` of `node` must change: at its next status update.
    fn request_status_update(&mut self, node: Name, now: SimTime) {
        let at = self.next_status_update(&node, now);
        if let std::collections::hash_map::Entry::Vacant(e) = self.status_due.entry(node) {
            e.insert(at);
            self.status_by_time.insert((at, node));
        }
    }

    /// Node status updates that are due: `volumesInUse` becomes the
    /// volumes of the pods kubelet has on the node (those being torn down
    /// included), and those pods' volumes count as reported in use.
    fn update_node_status(&mut self, cx: &mut Ctx<'_>) {
        // Due nodes, handled in name order.
        let mut due: Vec<Name> = self
            .status_by_time
            .iter()
            .take_while(|(t, _)| *t <= cx.now)
            .map(|(_, n)| *n)
            .collect();
        due.sort();
        for node in due {
            if let Some(t) = self.status_due.remove(&node) {
                self.status_by_time.remove(&(t, node));
            }
            if cx.machines.is_down(&node) {
                // Written once the machine is back (on_machines).
                self.stalled.insert(node);
                continue;
            }
            // The pods of `pods_on(node)`, marked without a copy of their keys.
            for k in self.by_node.get(&node).into_iter().flatten() {
                if let Some(st) = self.pods.get_mut(k) {
                    st.reported = true;
                }
            }
            // Names order as their strings do: sorted by name, each once.
            let fresh = |kubelet: &Self| {
                let mut used: Vec<Name> = kubelet
                    .pods_on(node)
                    .flat_map(|(_, st)| st.mounts.iter().map(|m| m.unique))
                    .collect();
                used.sort_unstable();
                used.dedup();
                used
            };
            let used = match self.in_use.get(&node) {
                Some(used) => {
                    debug_assert_eq!(*used, fresh(self), "node {node}'s volumes in use");
                    used.clone()
                }
                None => {
                    let used = fresh(self);
                    self.in_use.insert(node, used.clone());
                    used
                }
            };
            // The status update also says the node is Ready again after an
            // outage.
            let _ = cx.store.modify::<Node>(&ObjectKey::cluster(node), |n| {
                n.status.volumes_in_use = used;
                n.status.ready = true;
            });
        }
    }
}

impl Controller for Kubelet {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn watches(&self) -> &'static [Kind] {
        &[
            Kind::Pod,
            Kind::Node,
            Kind::VolumeAttachment,
            Kind::PersistentVolumeClaim,
            Kind::PersistentVolume,
        ]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        match ev.kind {
            Kind::Pod => {
                if let Some(st) = self.pods.get_mut(&ev.key) {
                    st.settled = false;
                }
                self.wake_at(&ev.key, cx.now)
            }
            // A node's volumesAttached changed: its waiting pods may go on.
            Kind::Node => {
                for k in self.waiting_on(ev.key.name, |_| true) {
                    self.wake_at(&k, cx.now);
                }
            }
            // An attach, or a claim or volume becoming bound, may unblock
            // pods waiting for their volumes: wake those it concerns.
            Kind::VolumeAttachment => {
                if let crate::api::AnyObject::VolumeAttachment(va) = &ev.object {
                    let (pv, node) = (&va.spec.persistent_volume_name, &va.spec.node_name);
                    for k in self.waiting_on(*node, |s| s.mounts.iter().any(|m| &m.pv == pv)) {
                        self.wake_at(&k, cx.now);
                    }
                }
            }
            _ => {
                for k in std::mem::take(&mut self.blocked) {
                    self.wake_at(&k, cx.now);
                }
                if let crate::api::AnyObject::PersistentVolumeClaim(c) = &ev.object {
                    self.claim_resized(c, cx);
                }
            }
        }
    }

    fn on_wake(&mut self, cx: &mut Ctx<'_>) {
        while let Some(key) = self.queue.pop_due(cx.now) {
            self.sync(&key, cx);
        }
        self.online_expansions(cx);
        self.update_node_status(cx);
    }

    fn on_machines(&mut self, cx: &mut Ctx<'_>) {
        for st in self.pods.values_mut_unordered() {
            st.settled = false;
        }
        // Unsettled pods' idle entries would now run a sync that acts.
        self.queue.promote_idle();
        // Machines that are back: their kubelet posts its status at its next
        // update and picks up every pod bound there.
        let nodes: BTreeSet<Name> = cx
            .store
            .list::<Node>()
            .map(|n| n.metadata.name)
            .filter(|n| !cx.machines.is_down(n))
            .collect();
        let stalled: Vec<Name> = self
            .stalled
            .iter()
            .filter(|n| nodes.contains(*n))
            .cloned()
            .collect();
        for n in stalled {
            self.stalled.remove(&n);
            self.request_status_update(n, cx.now);
        }
        let unready: Vec<Name> = cx
            .store
            .list::<Node>()
            .filter(|n| !n.status.ready && nodes.contains(&n.metadata.name))
            .map(|n| n.metadata.name)
            .collect();
        for n in unready {
            self.request_status_update(n, cx.now);
        }
        let pods: Vec<ObjectKey> = cx
            .store
            .list::<Pod>()
            .filter(|p| nodes.contains(&p.spec.node_name))
            .map(|p| p.metadata.key())
            .collect();
        let now = cx.now;
        for k in pods {
            // Its status manager posts the containers' readiness again (the
            // node controller marked them not ready while it was away).
            let ready = matches!(
                self.pods.get(&k).map(|s| &s.phase),
                Some(Phase::Running {
                    next_probe: None,
                    ..
                })
            );
            if ready {
                let _ = cx.store.modify::<Pod>(&k, |p| {
                    if p.metadata.deletion_timestamp.is_none() {
                        set_condition(p, "ContainersReady", "True", "", "", now);
                        set_condition(p, "Ready", "True", "", "", now);
                    }
                });
            }
            self.wake_at(&k, cx.now);
        }
    }

    fn on_reply(&mut self, reply: &Reply, cx: &mut Ctx<'_>) {
        let Some(purpose) = self.calls.remove(&reply.id) else {
            return;
        };
        let failed = reply.result.as_ref().err().map(|e| e.to_string());
        match purpose {
            Purpose::Stage(pv, node) => {
                if let Some(err) = &failed {
                    self.stages.remove(&(pv, node));
                    for (k, s) in self.pods_on(node) {
                        if s.mounts.iter().any(|m| m.pv == pv) {
                            let msg =
                                format!("MountVolume.MountDevice failed for volume {pv:?} : {err}");
                            Self::event(cx, k, EventType::Warning, "FailedMount", msg);
                        }
                    }
                } else if !self.expand_after_stage(pv, node, cx) {
                    self.stages.insert((pv, node), Stage::Staged);
                }
                // Retried by the volume manager (nestedpendingoperations backoff, first 500 ms).
                let at = if failed.is_some() {
                    cx.now.plus(SimDuration::from_millis(500))
                } else {
                    cx.now
                };
                self.wake_node(node, at);
            }
            Purpose::Unstage(pv, node) => {
                self.stages.remove(&(pv, node));
                self.wake_node(node, cx.now);
            }
            Purpose::Publish(key, i) => match &failed {
                None => {
                    if let Some(st) = self.pods.get_mut(&key) {
                        st.mounts[i].published = true;
                    }
                    self.wake_at(&key, cx.now);
                }
                Some(err) => {
                    let pv = self
                        .pods
                        .get(&key)
                        .map(|s| s.mounts[i].pv)
                        .unwrap_or_default();
                    let msg = format!("MountVolume.SetUp failed for volume {pv:?} : {err}");
                    Self::event(cx, &key, EventType::Warning, "FailedMount", msg);
                    self.wake_at(&key, cx.now.plus(SimDuration::from_millis(500)));
                }
            },
            Purpose::Unpublish(key, i) => {
                if let Some(st) = self.pods.get_mut(&key) {
                    st.mounts[i].published = false;
                }
                self.wake_at(&key, cx.now);
            }
            Purpose::Expand {
                pv,
                node,
                claim,
                pod,
                online,
            } => self.expand_done(reply, pv, node, &claim, &pod, online, cx),
        }
    }

    fn next_wake(&self) -> Option<SimTime> {
        let status = self.status_by_time.first().map(|(t, _)| *t);
        let resize = self.resize_due.values().map(|(t, _)| *t).min();
        self.queue
            .next_due()
            .into_iter()
            .chain(status)
            .chain(resize)
            .min()
    }

    fn pending(&self, store: &Store) -> Vec<String> {
        // By key: the map's own order is a hash's, not for output.
        let mut pods: Vec<(&ObjectKey, &PodState)> = self.pods.iter_unordered().collect();
        pods.sort_unstable_by(|a, b| a.0.cmp(b.0));
        pods.into_iter()
            .filter(|(k, _)| store.get::<Pod>(k).is_some())
            .filter_map(|(k, s)| match &s.phase {
                Phase::Volumes => Some(format!(
                    "Pod/{} is ContainerCreating on {}: waiting for its volumes",
                    k.name, s.node
                )),
                Phase::Stopping(_) | Phase::Unmounting => {
                    Some(format!("Pod/{} is Terminating on {}", k.name, s.node))
                }
                Phase::Exited { .. } => store.get::<Pod>(k).map(|p| self.crash_loop_pending(k, p)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mount counts as being published while any of its NodePublish
    /// calls is in flight, and only its own kind of call counts.
    #[test]
    fn calls_know_which_mounts_are_in_flight() {
        let mut calls = Calls::default();
        let (a, b) = (
            ObjectKey::new("default", "a"),
            ObjectKey::new("default", "b"),
        );
        calls.insert(1, Purpose::Publish(a.clone(), 0));
        calls.insert(2, Purpose::Publish(a.clone(), 0));
        calls.insert(3, Purpose::Unpublish(b.clone(), 1));
        calls.insert(4, Purpose::Stage("pv".into(), "node".into()));
        assert!(calls.mounting(&a, 0, true));
        assert!(!calls.mounting(&a, 0, false));
        assert!(!calls.mounting(&a, 1, true));
        assert!(calls.mounting(&b, 1, false));
        assert!(matches!(calls.remove(&1), Some(Purpose::Publish(..))));
        assert!(calls.mounting(&a, 0, true), "call 2 is still in flight");
        calls.remove(&2);
        assert!(!calls.mounting(&a, 0, true));
        calls.remove(&3);
        calls.remove(&4);
        assert!(calls.mounts.is_empty() && calls.by_id.is_empty());
        assert!(calls.remove(&4).is_none());
    }
}
