//! A keyed, de-duplicating, delaying work queue, like client-go's workqueue
//! with `AddAfter`: one entry per key, the earliest requested time wins, and
//! equal times run in the order they were added.

use crate::engine::SimTime;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::hash::Hash;

/// The queue: a binary heap of `(time, seq)` entries and, per key, the
/// entry that stands. A key queued again for an earlier time gets a new
/// entry; the old one stays in the heap, stale, and is dropped when it
/// comes to the top. That costs one heap push per add, where a heap that
/// moves a key's entry in place (the `priority-queue` crate) keeps a
/// position index it must update on every swap — most of this queue's
/// time in a 100 k-pod fleet, whose kubelets queue every pod.
///
/// The keys are hashed with Fx: they are interned names, and the order
/// comes from the entries alone, so no hash reaches output.
pub struct WorkQueue<K: Hash + Eq> {
    heap: BinaryHeap<Reverse<Entry<K>>>,
    /// Each queued key's standing entry, `(time, seq)`.
    standing: rustc_hash::FxHashMap<K, (SimTime, u64)>,
    seq: u64,
}

/// A heap entry, ordered by time then by the order it was added (`seq`
/// is unique, so the key is never compared).
struct Entry<K> {
    at: SimTime,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<K> Eq for Entry<K> {}

impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Entry<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl<K: Hash + Eq> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            heap: BinaryHeap::new(),
            standing: rustc_hash::FxHashMap::default(),
            seq: 0,
        }
    }
}

impl<K: Hash + Eq + Clone> WorkQueue<K> {
    /// Queues `key` to run at `at`; a key already queued keeps the earlier time.
    pub fn add(&mut self, key: K, at: SimTime) {
        self.seq += 1;
        let seq = self.seq;
        match self.standing.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                // Equal or later: the standing entry stays (and its place
                // among equal times).
                if at >= e.get().0 {
                    return;
                }
                e.insert((at, seq));
                let key = e.key().clone();
                self.heap.push(Reverse(Entry { at, seq, key }));
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                let key = e.key().clone();
                e.insert((at, seq));
                self.heap.push(Reverse(Entry { at, seq, key }));
            }
        }
        // The top is never stale: an entry made stale here is later than
        // the new one, which is then above it.
    }

    /// When the earliest entry is due.
    pub fn next_due(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<K> {
        if self.next_due()? > now {
            return None;
        }
        let Reverse(top) = self.heap.pop()?;
        self.standing.remove(&top.key);
        self.drop_stale();
        Some(top.key)
    }

    /// Pops stale entries off the top, so that the top is a standing one.
    fn drop_stale(&mut self) {
        while let Some(Reverse(e)) = self.heap.peek() {
            if self.standing.get(&e.key) == Some(&(e.at, e.seq)) {
                return;
            }
            self.heap.pop();
        }
    }

    /// Number of queued keys.
    pub fn len(&self) -> usize {
        self.standing.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.standing.is_empty()
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
        q.add("a", SimTime(3)); // earlier: its entry at 9 is stale now
        assert_eq!(q.len(), 2);
        assert_eq!(q.next_due(), Some(SimTime(3)));
        assert_eq!(q.pop_due(SimTime(20)), Some("a"));
        q.add("a", SimTime(9)); // queued again, same time as the stale one
        assert_eq!(q.pop_due(SimTime(20)), Some("b"));
        assert_eq!(q.next_due(), Some(SimTime(9)));
        assert_eq!(q.pop_due(SimTime(20)), Some("a"));
        assert_eq!(q.pop_due(SimTime(20)), None, "the stale entry never runs");
        assert!(q.is_empty());
        assert_eq!(q.next_due(), None);
    }

    proptest::proptest! {
        /// The queue pops what client-go's (and this project's first
        /// queue, the `priority-queue` crate with `push_increase`) would:
        /// any mix of adds and pops, keys and times.
        #[test]
        fn pops_what_a_queue_that_moves_entries_in_place_pops(
            ops in proptest::collection::vec((0u8..6, 0u64..6, proptest::bool::ANY), 0..200)
        ) {
            let mut q = WorkQueue::default();
            let mut model = priority_queue::PriorityQueue::<u8, Reverse<(SimTime, u64)>>::new();
            let mut seq = 0;
            let mut now = SimTime(0);
            for (key, t, pop) in ops {
                if pop {
                    now = SimTime(now.0.max(t));
                    let expected = match model.peek() {
                        Some((_, Reverse((at, _)))) if *at <= now => model.pop().map(|(k, _)| k),
                        _ => None,
                    };
                    proptest::prop_assert_eq!(q.pop_due(now), expected);
                } else {
                    let at = SimTime(now.0 + t);
                    seq += 1;
                    model.push_increase(key, Reverse((at, seq)));
                    q.add(key, at);
                }
                proptest::prop_assert_eq!(q.len(), model.len());
                proptest::prop_assert_eq!(
                    q.next_due(),
                    model.peek().map(|(_, Reverse((t, _)))| *t)
                );
            }
        }
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
