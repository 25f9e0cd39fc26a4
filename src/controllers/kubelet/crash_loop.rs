//! Containers that exit on their own, and kubelet's restart back-off
//! (`kuberuntime_manager.go doBackOff`, 1.33).
//!
//! A container whose image has `crash_after` exits with an error that long
//! after it starts. kubelet's PLEG relists every second; the sync that
//! follows asks the back-off (`flowcontrol.Backoff`, 10 s doubling to 5 min,
//! no jitter) whether the container may start again:
//!
//! - no entry, or the last restart was more than 10 min (2 × the cap)
//!   before the exit: a new entry of 10 s and the container restarts at
//!   once — so the first crash restarts immediately and back-off only
//!   applies from the second (kubernetes#133472);
//! - within the entry's delay of the exit: Warning `BackOff` "Back-off
//!   restarting failed container …", STATUS `CrashLoopBackOff`, and the pod
//!   worker retries after `wait.Jitter(10 s, 0.5)` (the sync ended in an
//!   error; requeueing at the back-off's own expiry only came in 1.35,
//!   kubernetes#133066);
//! - past it: the delay doubles (capped at 5 min) and the container restarts.
//!
//! `restartPolicy: Never` ends the pod instead: phase Failed, STATUS Error.

use super::{Kubelet, Phase, Step};
use crate::api::{ObjectKey, Pod, PodPhase};
use crate::cluster::EventType;
use crate::controllers::Ctx;
use crate::engine::{SimDuration, SimTime, StreamKey};
use rand::RngExt as _;

/// `backOffPeriod`: the first restart delay, and the pod worker's retry
/// period after a sync that failed.
const BACKOFF_START: SimDuration = SimDuration::from_secs(10);
/// `MaxContainerBackOff`.
const BACKOFF_MAX: SimDuration = SimDuration::from_secs(300);
/// PLEG's relist period: a container's exit is seen at the next relist.
const RELIST_PERIOD: u64 = 1_000;

/// One container's restart back-off (`flowcontrol.Backoff` entry).
#[derive(Clone, Copy, Debug)]
pub(super) struct Backoff {
    delay: SimDuration,
    last_update: SimTime,
}

impl Kubelet {
    /// Every container runs (again): when the crashing one will exit, if
    /// its image crashes on this run.
    pub(super) fn schedule_crash(&mut self, pod: &Pod, now: SimTime) {
        let key = pod.metadata.key();
        let crash = self.crashing_container(pod).and_then(|(_, after, times)| {
            let runs = self.pods.get(&key).map_or(0, |s| s.restarts);
            times.is_none_or(|n| runs < n).then(|| now.plus(after))
        });
        if let Some(st) = self.pods.get_mut(&key) {
            st.crash_at = crash;
        }
        if let Some(t) = crash {
            self.wake_at(&key, t);
        }
    }

    /// The first container whose image exits on its own: (index, after how
    /// long, how many runs do).
    fn crashing_container(&self, pod: &Pod) -> Option<(usize, SimDuration, Option<u32>)> {
        pod.spec.containers.iter().enumerate().find_map(|(i, c)| {
            let img = self.image(&c.image);
            img.crash_after.map(|after| (i, after, img.crashes))
        })
    }

    /// A running pod's sync: true if its container exited (now or before).
    pub(super) fn crash_if_due(&mut self, pod: &Pod, cx: &mut Ctx<'_>) -> bool {
        let key = pod.metadata.key();
        let Some(at) = self.pods.get(&key).and_then(|s| s.crash_at) else {
            return false;
        };
        if at > cx.now {
            self.wake_at(&key, at);
            return false;
        }
        let now = cx.now;
        let never = pod.spec.restart_policy.as_deref() == Some("Never");
        let _ = cx.store.modify::<Pod>(&key, |p| {
            super::set_unready(p, now);
            // kubectl shows the terminated container's reason.
            p.status.reason = "Error".into();
            if never {
                p.status.phase = PodPhase::Failed;
            }
        });
        let relist = SimTime(now.as_millis().div_ceil(RELIST_PERIOD) * RELIST_PERIOD);
        if let Some(st) = self.pods.get_mut(&key) {
            st.crash_at = None;
            st.phase = if never {
                Phase::Failed
            } else {
                Phase::Exited {
                    finished: now,
                    next_sync: relist,
                }
            };
        }
        if !never {
            self.wake_at(&key, relist);
        }
        true
    }

    /// The pod worker's sync of a pod whose container exited: `doBackOff`,
    /// then a restart or a Warning BackOff and a retry.
    pub(super) fn restart_or_back_off(
        &mut self,
        pod: &Pod,
        finished: SimTime,
        next_sync: SimTime,
        cx: &mut Ctx<'_>,
    ) {
        let key = pod.metadata.key();
        if cx.now < next_sync {
            // Woken by something else (a status write): the worker is not due.
            self.wake_at(&key, next_sync);
            return;
        }
        let Some((i, _, _)) = self.crashing_container(pod) else {
            return;
        };
        let container = pod.spec.containers[i].name.clone();
        let id = (pod.metadata.uid, container.clone());
        let entry = self
            .backoff
            .get(&id)
            .copied()
            // hasExpired: eventTime − lastUpdate > 2 × max.
            .filter(|e| finished.since(e.last_update).as_millis() <= 2 * BACKOFF_MAX.as_millis());
        if let Some(e) = entry
            && cx.now.since(finished) < e.delay
        {
            let msg = format!(
                "Back-off restarting failed container {container} in pod {}_{}({})",
                pod.metadata.name, pod.metadata.namespace, pod.metadata.uid
            );
            Self::event(cx, &key, EventType::Warning, "BackOff", msg);
            let _ = cx
                .store
                .modify::<Pod>(&key, |p| p.status.reason = "CrashLoopBackOff".into());
            let retry = self.worker_retry(&key, cx.now);
            if let Some(st) = self.pods.get_mut(&key) {
                st.phase = Phase::Exited {
                    finished,
                    next_sync: retry,
                };
            }
            self.wake_at(&key, retry);
            return;
        }
        let delay = match entry {
            None => BACKOFF_START,
            Some(e) => SimDuration::from_millis(2 * e.delay.as_millis()).min(BACKOFF_MAX),
        };
        self.backoff.insert(
            id,
            Backoff {
                delay,
                last_update: cx.now,
            },
        );
        let start = self.image(&pod.spec.containers[i].image).start;
        let steps = vec![
            (cx.now, Step::Present(i)),
            (cx.now.plus(start), Step::CreatedStarted(i)),
        ];
        // restartCount and STATUS change when the new container runs.
        match self.pods.get_mut(&key) {
            Some(st) => {
                st.restarts += 1;
                st.phase = Phase::Starting(steps.clone());
            }
            None => return,
        }
        self.start(pod, steps, cx);
    }

    /// `wait.Jitter(backOffPeriod, 0.5)` after a sync that failed.
    fn worker_retry(&self, key: &ObjectKey, now: SimTime) -> SimTime {
        let object = key.to_string();
        let mut rng = StreamKey {
            component: "kubelet",
            object: &object,
            operation: "pod-worker-retry",
            attempt: now.as_millis(),
        }
        .stream(self.seed);
        let jitter = rng.random_range(0..=BACKOFF_START.as_millis() / 2);
        now.plus(BACKOFF_START)
            .plus(SimDuration::from_millis(jitter))
    }

    /// What `storsim` says of a crash-looping pod still pending at a bound.
    pub(super) fn crash_loop_pending(&self, key: &ObjectKey, pod: &Pod) -> String {
        let restarts = self.pods.get(key).map_or(0, |s| s.restarts);
        let container = self
            .crashing_container(pod)
            .map(|(i, _, _)| pod.spec.containers[i].name.clone())
            .unwrap_or_default();
        let delay = self
            .backoff
            .get(&(pod.metadata.uid, container.clone()))
            .map(|e| format!("; back-off {}", e.delay))
            .unwrap_or_default();
        format!(
            "Pod/{} is CrashLoopBackOff on {}: container {container} keeps exiting with an error \
             (restarted {restarts} times{delay})",
            key.name, pod.spec.node_name
        )
    }
}
