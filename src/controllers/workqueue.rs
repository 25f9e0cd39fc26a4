//! A keyed, de-duplicating, delaying work queue, like client-go's workqueue
//! with `AddAfter`: one entry per key, the earliest requested time wins, and
//! equal times run in the order they were added.

use crate::api::{Kind, ObjectKey};
use crate::engine::SimTime;
use priority_queue::PriorityQueue;
use std::cmp::Reverse;
use std::hash::{Hash, Hasher};

/// How a queue's index hashes its keys. Keys made of interned names hash
/// the names' addresses: a name's own `Hash` loads the hash kept beside
/// its string in the interner, and kubelet's queue, which holds every pod,
/// is added to on every watch event of a pod, rarely with that string in
/// cache. The order of a queue comes from its priorities alone, so no hash
/// reaches output.
pub trait QueueKey: Eq {
    /// Feeds the key to `state`.
    fn queue_hash<H: Hasher>(&self, state: &mut H);
}

impl QueueKey for ObjectKey {
    fn queue_hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.namespace.addr());
        state.write_usize(self.name.addr());
    }
}

impl QueueKey for (Kind, ObjectKey) {
    fn queue_hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.queue_hash(state);
    }
}

impl QueueKey for () {
    fn queue_hash<H: Hasher>(&self, _: &mut H) {}
}

impl QueueKey for String {
    fn queue_hash<H: Hasher>(&self, state: &mut H) {
        self.hash(state);
    }
}

impl QueueKey for &str {
    fn queue_hash<H: Hasher>(&self, state: &mut H) {
        self.hash(state);
    }
}

/// A key as the queue's index holds it: hashed by [`QueueKey`].
#[derive(PartialEq, Eq)]
struct Keyed<K>(K);

impl<K: QueueKey> Hash for Keyed<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.queue_hash(state);
    }
}

/// The queue. Its index is hashed with Fx (the default SipHash cost more
/// than the queue's work).
pub struct WorkQueue<K: QueueKey> {
    queue: PriorityQueue<Keyed<K>, Reverse<(SimTime, u64)>, rustc_hash::FxBuildHasher>,
    seq: u64,
}

impl<K: QueueKey> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            queue: PriorityQueue::with_default_hasher(),
            seq: 0,
        }
    }
}

impl<K: QueueKey> WorkQueue<K> {
    /// Queues `key` to run at `at`; a key already queued keeps the earlier time.
    pub fn add(&mut self, key: K, at: SimTime) {
        self.seq += 1;
        self.queue
            .push_increase(Keyed(key), Reverse((at, self.seq)));
    }

    /// When the earliest entry is due.
    pub fn next_due(&self) -> Option<SimTime> {
        self.queue.peek().map(|(_, Reverse((t, _)))| *t)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<K> {
        match self.queue.peek() {
            Some((_, Reverse((t, _)))) if *t <= now => self.queue.pop().map(|(k, _)| k.0),
            _ => None,
        }
    }

    /// Number of queued keys.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// client-go's `ItemExponentialFailureRateLimiter`: per item, the delay
/// before the next try doubles with each consecutive failure (start ×
/// 2^(n−1), capped); a success forgets the item.
pub struct RateLimiter<K: Ord> {
    failures: std::collections::BTreeMap<K, (u32, SimTime)>,
}

impl<K: Ord> Default for RateLimiter<K> {
    fn default() -> Self {
        RateLimiter {
            failures: std::collections::BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> RateLimiter<K> {
    /// Records a failure at `now`; returns when the item may be tried again.
    pub fn failed(
        &mut self,
        key: &K,
        now: SimTime,
        timers: &crate::backend::profile::SidecarTimers,
    ) -> SimTime {
        let n = self.failures.get(key).map(|(n, _)| n + 1).unwrap_or(1);
        let at = now.plus(timers.backoff(n));
        self.failures.insert(key.clone(), (n, at));
        at
    }

    /// When the item may be tried again, if it is still backing off at `now`.
    pub fn backing_off(&self, key: &K, now: SimTime) -> Option<SimTime> {
        self.failures
            .get(key)
            .map(|(_, at)| *at)
            .filter(|at| *at > now)
    }

    /// Forgets the item (it succeeded, or is gone).
    pub fn forget(&mut self, key: &K) {
        self.failures.remove(key);
    }

    /// Items with failures, and how many.
    pub fn failing(&self) -> impl Iterator<Item = (&K, u32)> {
        self.failures.iter().map(|(k, (n, _))| (k, *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedups_keeps_earliest_and_orders_ties_fifo() {
        let mut q = WorkQueue::default();
        q.add("b", SimTime(5));
        q.add("a", SimTime(5));
        q.add("b", SimTime(9)); // later request: keeps 5
        q.add("b", SimTime(5)); // same time: keeps its place, before "a"
        q.add("c", SimTime(1));
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop_due(SimTime(0)), None);
        assert_eq!(q.pop_due(SimTime(10)), Some("c"));
        assert_eq!(q.pop_due(SimTime(10)), Some("b"));
        assert_eq!(q.pop_due(SimTime(10)), Some("a"));
        assert!(q.is_empty());
    }

    #[test]
    fn a_key_queued_earlier_runs_once_at_the_earlier_time() {
        let mut q = WorkQueue::default();
        q.add("a", SimTime(9));
        q.add("b", SimTime(5));
        q.add("a", SimTime(3));
        assert_eq!(q.len(), 2);
        assert_eq!(q.next_due(), Some(SimTime(3)));
        assert_eq!(q.pop_due(SimTime(20)), Some("a"));
        q.add("a", SimTime(9)); // queued again after it ran
        assert_eq!(q.pop_due(SimTime(20)), Some("b"));
        assert_eq!(q.next_due(), Some(SimTime(9)));
        assert_eq!(q.pop_due(SimTime(20)), Some("a"));
        assert_eq!(
            q.pop_due(SimTime(20)),
            None,
            "each key runs once per queuing"
        );
        assert!(q.is_empty());
        assert_eq!(q.next_due(), None);
    }

    #[test]
    fn rate_limiter_doubles_per_failure_and_forgets_on_success() {
        let timers = crate::backend::profile::SidecarTimers {
            timeout: crate::engine::SimDuration::from_secs(10),
            retry_start: crate::engine::SimDuration::from_secs(1),
            retry_max: crate::engine::SimDuration::from_secs(3),
        };
        let mut r = RateLimiter::default();
        assert_eq!(r.failed(&"x", SimTime(0), &timers), SimTime(1_000));
        assert_eq!(r.failed(&"x", SimTime(1_000), &timers), SimTime(3_000));
        assert_eq!(
            r.failed(&"x", SimTime(3_000), &timers),
            SimTime(6_000),
            "capped at 3 s"
        );
        assert_eq!(r.backing_off(&"x", SimTime(5_000)), Some(SimTime(6_000)));
        r.forget(&"x");
        assert_eq!(r.backing_off(&"x", SimTime(5_000)), None);
        assert_eq!(
            r.failed(&"x", SimTime(7_000), &timers),
            SimTime(8_000),
            "starts over"
        );
    }
}
