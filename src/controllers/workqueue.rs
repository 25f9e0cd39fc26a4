//! A keyed, de-duplicating, delaying work queue, like client-go's workqueue
//! with `AddAfter`: one entry per key, the earliest requested time wins, and
//! equal times run in the order they were added.

use crate::api::{Kind, Name, ObjectKey};
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

impl QueueKey for Name {
    fn queue_hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.addr());
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

/// An entry's place: when, then the order of adding.
type Place = (SimTime, u64);

/// The queue. Its index is hashed with Fx (the default SipHash cost more
/// than the queue's work).
///
/// Besides its entries it keeps idle ones ([`WorkQueue::add_idle`]): the
/// place of a key woken only to hold it, whose run would find nothing to
/// do unless the key is added again or [promoted](WorkQueue::promote_idle)
/// first. An idle entry is never taken out ([`WorkQueue::pop_due`] passes
/// it by), but it counts in [`WorkQueue::next_due`], and a key added while
/// its idle entry is still ahead keeps that entry's place: every key runs
/// when, and in the order, it would have run had the idle entry been a
/// plain one. kubelet wakes every pod of a node when a volume there
/// changes; most are settled and would only be taken out and put back.
pub struct WorkQueue<K: QueueKey> {
    queue: PriorityQueue<Keyed<K>, Reverse<Place>, rustc_hash::FxBuildHasher>,
    seq: u64,
    /// The places of the idle entries still ahead.
    idle: std::collections::BTreeSet<Place>,
    /// Each key's idle entry, ahead or passed (a passed one is dropped when
    /// its key is next looked up, or in a sweep).
    idle_of: std::collections::HashMap<Keyed<K>, Place, rustc_hash::FxBuildHasher>,
    /// The place of the last entry taken or passed: every place up to it
    /// is behind.
    passed: Place,
}

impl<K: QueueKey> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            queue: PriorityQueue::with_default_hasher(),
            seq: 0,
            idle: std::collections::BTreeSet::new(),
            idle_of: std::collections::HashMap::default(),
            passed: (SimTime(0), 0),
        }
    }
}

impl<K: QueueKey> WorkQueue<K> {
    /// Queues `key` to run at `at`; a key already queued keeps the earlier time.
    pub fn add(&mut self, key: K, at: SimTime) {
        self.seq += 1;
        let key = Keyed(key);
        let place = match self.take_idle(&key) {
            Some(held) => held.min((at, self.seq)),
            None => (at, self.seq),
        };
        self.queue.push_increase(key, Reverse(place));
    }

    /// Queues `key` at `at` as [`WorkQueue::add`] would, for a run that
    /// will find nothing to do unless `key` is added again or promoted
    /// before it comes due: the entry only holds the key's place. A key
    /// already queued is added as usual.
    pub fn add_idle(&mut self, key: K, at: SimTime) {
        self.seq += 1;
        let key = Keyed(key);
        let place = (at, self.seq);
        if self.queue.get_priority(&key).is_some() {
            self.queue.push_increase(key, Reverse(place));
            return;
        }
        let place = match self.take_idle(&key) {
            Some(held) => held.min(place),
            None => place,
        };
        self.idle.insert(place);
        self.idle_of.insert(key, place);
    }

    /// Makes every idle entry still ahead a plain one, in its place: the
    /// keys' runs may now have work to do.
    pub fn promote_idle(&mut self) {
        let passed = self.passed;
        for (key, place) in self.idle_of.drain() {
            if place > passed {
                self.queue.push_increase(key, Reverse(place));
            }
        }
        self.idle.clear();
    }

    /// The idle entry of `key` if it is still ahead, taken out.
    fn take_idle(&mut self, key: &Keyed<K>) -> Option<Place> {
        if self.idle_of.is_empty() {
            return None;
        }
        let place = self.idle_of.remove(key)?;
        (place > self.passed && self.idle.remove(&place)).then_some(place)
    }

    /// When the earliest entry is due, idle ones included.
    pub fn next_due(&self) -> Option<SimTime> {
        let plain = self.queue.peek().map(|(_, Reverse((t, _)))| *t);
        plain
            .into_iter()
            .chain(self.idle.first().map(|(t, _)| *t))
            .min()
    }

    /// Takes the earliest entry if it is due at `now`, passing by the idle
    /// entries before it.
    pub fn pop_due(&mut self, now: SimTime) -> Option<K> {
        loop {
            let plain = self.queue.peek().map(|(_, Reverse(p))| *p);
            match (plain, self.idle.first().copied()) {
                (plain, Some(idle)) if idle.0 <= now && plain.is_none_or(|p| idle < p) => {
                    self.idle.pop_first();
                    self.passed = idle;
                    self.sweep();
                }
                (Some(p), _) if p.0 <= now => {
                    self.passed = p;
                    return self.queue.pop().map(|(k, _)| k.0);
                }
                _ => return None,
            }
        }
    }

    /// Drops passed idle entries once they outnumber those ahead.
    fn sweep(&mut self) {
        if self.idle_of.len() > 64 && self.idle_of.len() > 2 * self.idle.len() {
            let passed = self.passed;
            self.idle_of.retain(|_, place| *place > passed);
        }
    }

    /// Number of queued keys, idle entries included.
    pub fn len(&self) -> usize {
        self.queue.len() + self.idle.len()
    }

    /// True when nothing is queued, idle entries included.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.idle.is_empty()
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

    /// The plain queue idle entries stand in for: every entry is taken
    /// out, and an idle one's run does nothing.
    #[derive(Default)]
    struct Reference {
        entries: Vec<(&'static str, (SimTime, u64), bool)>,
        seq: u64,
    }

    impl Reference {
        fn add(&mut self, key: &'static str, at: SimTime, idle: bool) {
            self.seq += 1;
            let place = (at, self.seq);
            match self.entries.iter_mut().find(|(k, _, _)| *k == key) {
                Some(e) => {
                    e.1 = e.1.min(place);
                    // A plain add makes the run one with work; an idle add
                    // leaves the entry as it was.
                    e.2 &= idle;
                }
                None => self.entries.push((key, place, idle)),
            }
        }

        /// The next key taken out whose run has work, passing idle ones.
        fn pop_due(&mut self, now: SimTime) -> Option<&'static str> {
            loop {
                let i = (0..self.entries.len())
                    .filter(|&i| self.entries[i].1.0 <= now)
                    .min_by_key(|&i| self.entries[i].1)?;
                let (key, _, idle) = self.entries.remove(i);
                if !idle {
                    return Some(key);
                }
            }
        }

        fn next_due(&self) -> Option<SimTime> {
            self.entries.iter().map(|e| e.1.0).min()
        }
    }

    proptest::proptest! {
        /// Idle entries change nothing a caller sees: the keys taken out,
        /// their order and the next due time are those of the plain queue
        /// with each idle entry's run doing nothing.
        #[test]
        fn idle_entries_hold_places_as_plain_ones_would(
            ops in proptest::collection::vec((0u8..5, 0usize..5, 0u64..4), 1..200)
        ) {
            let keys = ["a", "b", "c", "d", "e"];
            let mut q: WorkQueue<&'static str> = WorkQueue::default();
            let mut r = Reference::default();
            let mut now = SimTime(0);
            for (op, k, dt) in ops {
                let at = SimTime(now.0 + dt);
                match op {
                    0 => {
                        q.add(keys[k], at);
                        r.add(keys[k], at, false);
                    }
                    1 => {
                        q.add_idle(keys[k], at);
                        r.add(keys[k], at, true);
                    }
                    2 => {
                        q.promote_idle();
                        for e in &mut r.entries {
                            e.2 = false;
                        }
                    }
                    3 => {
                        proptest::prop_assert_eq!(q.pop_due(now), r.pop_due(now));
                    }
                    _ => now = SimTime(now.0 + dt),
                }
                proptest::prop_assert_eq!(q.next_due(), r.next_due());
            }
            let end = SimTime(now.0 + 10);
            loop {
                let (a, b) = (q.pop_due(end), r.pop_due(end));
                proptest::prop_assert_eq!(a, b);
                if a.is_none() {
                    break;
                }
            }
            proptest::prop_assert!(q.is_empty());
        }
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
