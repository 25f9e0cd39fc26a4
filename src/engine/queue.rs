//! The event queue: ordered by `(time, seq)` where `seq` is a global insertion
//! counter, so simultaneous events run in the order they were scheduled, on
//! every machine. Both parts only grow, which is what a radix heap needs: it
//! pops in amortised O(1) on the packed key `time << 64 | seq`.

use super::time::SimTime;
use radix_heap::RadixHeapMap;
use rustc_hash::FxHashSet;
use std::cmp::Reverse;

/// Identifies one scheduled event; used to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub u64);

/// A min-queue of events of type `E` with lazy cancellation.
pub struct EventQueue<E> {
    heap: RadixHeapMap<Reverse<u128>, E>,
    next_seq: u64,
    now: SimTime,
    // Only membership is asked of this set, never its order.
    cancelled: FxHashSet<u64>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        EventQueue {
            heap: RadixHeapMap::new(),
            next_seq: 0,
            now: SimTime::ZERO,
            cancelled: FxHashSet::default(),
        }
    }

    /// The time of the last popped event (the simulation clock).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`. An instant in the past is moved to now: the
    /// clock never runs backwards.
    pub fn schedule(&mut self, at: SimTime, event: E) -> EventId {
        let at = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = ((at.0 as u128) << 64) | seq as u128;
        self.heap.push(Reverse(key), event);
        EventId(seq)
    }

    /// Cancels a scheduled event; it will be skipped when its turn comes.
    pub fn cancel(&mut self, id: EventId) {
        if id.0 < self.next_seq {
            self.cancelled.insert(id.0);
        }
    }

    /// Pops the next live event, advancing the clock to its time.
    pub fn pop(&mut self) -> Option<(SimTime, u64, E)> {
        while let Some((Reverse(key), event)) = self.heap.pop() {
            let seq = key as u64;
            if !self.cancelled.is_empty() && self.cancelled.remove(&seq) {
                continue;
            }
            let at = SimTime((key >> 64) as u64);
            self.now = at;
            return Some((at, seq, event));
        }
        None
    }

    /// Entries still queued, cancelled ones included until they are skipped.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), "b");
        q.schedule(SimTime(5), "a");
        q.schedule(SimTime(10), "c");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, vec!["a", "b", "c"]);
    }

    #[test]
    fn cancelled_events_are_skipped() {
        let mut q = EventQueue::new();
        let a = q.schedule(SimTime(1), 1);
        q.schedule(SimTime(2), 2);
        q.cancel(a);
        assert_eq!(q.pop().map(|(t, _, e)| (t, e)), Some((SimTime(2), 2)));
        assert!(q.pop().is_none());
    }

    #[test]
    fn past_instants_are_clamped_to_now() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(100), 1);
        q.pop();
        q.schedule(SimTime(50), 2);
        assert_eq!(q.pop().map(|(t, _, _)| t), Some(SimTime(100)));
    }
}
