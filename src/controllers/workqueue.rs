//! A keyed, de-duplicating, delaying work queue, like client-go's workqueue
//! with `AddAfter`: one entry per key, the earliest requested time wins, and
//! equal times run in the order they were added.

use crate::engine::SimTime;
use priority_queue::PriorityQueue;
use std::cmp::Reverse;
use std::hash::Hash;

/// The queue.
pub struct WorkQueue<K: Hash + Eq> {
    queue: PriorityQueue<K, Reverse<(SimTime, u64)>>,
    seq: u64,
}

impl<K: Hash + Eq> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            queue: PriorityQueue::new(),
            seq: 0,
        }
    }
}

impl<K: Hash + Eq> WorkQueue<K> {
    /// Queues `key` to run at `at`; a key already queued keeps the earlier time.
    pub fn add(&mut self, key: K, at: SimTime) {
        self.seq += 1;
        self.queue.push_increase(key, Reverse((at, self.seq)));
    }

    /// When the earliest entry is due.
    pub fn next_due(&self) -> Option<SimTime> {
        self.queue.peek().map(|(_, Reverse((t, _)))| *t)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<K> {
        match self.queue.peek() {
            Some((_, Reverse((t, _)))) if *t <= now => self.queue.pop().map(|(k, _)| k),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedups_keeps_earliest_and_orders_ties_fifo() {
        let mut q = WorkQueue::default();
        q.add("b", SimTime(5));
        q.add("a", SimTime(5));
        q.add("b", SimTime(9)); // later request: keeps 5
        q.add("c", SimTime(1));
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop_due(SimTime(0)), None);
        assert_eq!(q.pop_due(SimTime(10)), Some("c"));
        assert_eq!(q.pop_due(SimTime(10)), Some("b"));
        assert_eq!(q.pop_due(SimTime(10)), Some("a"));
        assert!(q.is_empty());
    }
}
