//! The event queue: ordered by `(time, seq)` where `seq` is a global insertion
//! counter, so simultaneous events run in the order they were scheduled, on
//! every machine.
//!
//! Times are whole milliseconds and the clock never goes back, so the queue
//! is a timing wheel. Time is cut into blocks of [`WHEEL_MS`] milliseconds;
//! the events of the clock's block and the next sit in the wheel, one
//! first-in-first-out slot per millisecond, found through a bitmap.
//! Scheduling appends to a slot and popping takes a slot's first event, both
//! in constant time, and a slot's events leave in their insertion order,
//! which is their `seq` order. Events of later blocks wait in a list per
//! block, in insertion order, and move into the wheel, in that order, when
//! the clock reaches the block before theirs: before anything can be
//! scheduled into their slots, so every slot stays in `seq` order.

use super::time::SimTime;
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, VecDeque};

/// The length of a block in milliseconds (a power of two): the wheel holds
/// two blocks. Watch deliveries, wake-ups and most timers fall within it.
pub const WHEEL_MS: u64 = 4096;
const SLOTS: usize = 2 * WHEEL_MS as usize;
const WORDS: usize = SLOTS / 64;
/// The most events' room an emptied slot keeps.
const SLOT_KEEP: usize = 64;

/// Identifies one scheduled event; used to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub u64);

/// A min-queue of events of type `E` with lazy cancellation.
pub struct EventQueue<E> {
    /// Slot `t % SLOTS` holds the events due at `t`, for every `t` from the
    /// cursor to the end of the block after the cursor's, as `(seq, event)`
    /// in `seq` order.
    slots: Box<[VecDeque<(u64, E)>]>,
    /// Bit `i` is set when slot `i` is not empty.
    occupied: [u64; WORDS],
    in_wheel: usize,
    /// Events of the blocks after those, by block, each block's events
    /// in `seq` order.
    later: BTreeMap<u64, Vec<(u64, u64, E)>>,
    in_later: usize,
    /// No event is due before it: the time of the last event taken out,
    /// live or cancelled, or the start of the block the wheel moved to.
    cursor: u64,
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
            slots: (0..SLOTS).map(|_| VecDeque::new()).collect(),
            occupied: [0; WORDS],
            in_wheel: 0,
            later: BTreeMap::new(),
            in_later: 0,
            cursor: 0,
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
        if self.is_empty() {
            // Cancelled events taken out after the last live one moved the
            // wheel past the clock; with nothing queued it starts again at
            // the clock.
            self.cursor = self.now.0;
        }
        let at = at.max(self.now).0;
        let seq = self.next_seq;
        self.next_seq += 1;
        if at / WHEEL_MS < self.cursor / WHEEL_MS + 2 {
            self.put(at, seq, event);
        } else {
            self.later
                .entry(at / WHEEL_MS)
                .or_default()
                .push((at, seq, event));
            self.in_later += 1;
        }
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
        loop {
            if self.in_wheel == 0 {
                let block = *self.later.keys().next()?;
                self.advance(block * WHEEL_MS);
            }
            let start = (self.cursor % SLOTS as u64) as usize;
            let i = self.next_occupied(start);
            let slot = &mut self.slots[i];
            let (seq, event) = slot.pop_front().expect("an occupied slot has an event");
            if slot.is_empty() {
                self.occupied[i / 64] &= !(1 << (i % 64));
                // A burst (a fleet's pods all created in one millisecond)
                // leaves no large buffer behind: over a run each slot sees
                // many milliseconds, and kept buffers would add up to every
                // slot's largest.
                if slot.capacity() > SLOT_KEEP {
                    *slot = VecDeque::new();
                }
            }
            self.in_wheel -= 1;
            let at = self.cursor + ((i + SLOTS - start) % SLOTS) as u64;
            self.advance(at);
            if !self.cancelled.is_empty() && self.cancelled.remove(&seq) {
                continue;
            }
            self.now = SimTime(at);
            return Some((self.now, seq, event));
        }
    }

    /// Entries still queued, cancelled ones included until they are skipped.
    pub fn len(&self) -> usize {
        self.in_wheel + self.in_later
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the cursor to `to` (no event is due before it) and the
    /// waiting blocks now within the wheel's two into it, in block order.
    /// Their slots are empty: nothing could be scheduled into them directly
    /// before.
    fn advance(&mut self, to: u64) {
        let (from_block, to_block) = (self.cursor / WHEEL_MS, to / WHEEL_MS);
        self.cursor = to;
        if to_block == from_block {
            return;
        }
        while let Some(entry) = self.later.first_entry() {
            if *entry.key() > to_block + 1 {
                break;
            }
            let events = entry.remove();
            self.in_later -= events.len();
            for (at, seq, event) in events {
                self.put(at, seq, event);
            }
        }
    }

    /// Files an event due within the wheel's two blocks.
    fn put(&mut self, at: u64, seq: u64, event: E) {
        let i = (at % SLOTS as u64) as usize;
        self.slots[i].push_back((seq, event));
        self.occupied[i / 64] |= 1 << (i % 64);
        self.in_wheel += 1;
    }

    /// The event [`EventQueue::pop`] will most likely return next (the
    /// first of the wheel, cancelled or not), without taking it: a hint for
    /// fetching its data ahead, never for deciding anything.
    pub fn peek(&self) -> Option<&E> {
        if self.in_wheel == 0 {
            return None;
        }
        let i = self.next_occupied((self.cursor % SLOTS as u64) as usize);
        self.slots[i].front().map(|(_, e)| e)
    }

    /// The first occupied slot at or after `start`, going round.
    fn next_occupied(&self, start: usize) -> usize {
        let (w0, b0) = (start / 64, start % 64);
        let here = self.occupied[w0] & (!0u64 << b0);
        if here != 0 {
            return w0 * 64 + here.trailing_zeros() as usize;
        }
        for k in 1..=WORDS {
            let w = (w0 + k) % WORDS;
            let bits = if k == WORDS {
                self.occupied[w] & !(!0u64 << b0)
            } else {
                self.occupied[w]
            };
            if bits != 0 {
                return w * 64 + bits.trailing_zeros() as usize;
            }
        }
        unreachable!("the wheel holds an event, so some slot is occupied")
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

    /// One step of a queue's life: schedule `delay` ms after the clock,
    /// cancel the `n`-th event scheduled so far, or pop.
    #[derive(Clone, Debug)]
    enum Op {
        Schedule(u64),
        Cancel(usize),
        Pop,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            // Same millisecond, within the wheel, its edge, beyond it.
            4 => prop_oneof![
                Just(0u64),
                0..WHEEL_MS,
                (WHEEL_MS - 2)..(WHEEL_MS + 2),
                WHEEL_MS..(20 * WHEEL_MS),
                (2 * WHEEL_MS - 2)..(3 * WHEEL_MS + 2),
            ]
            .prop_map(Op::Schedule),
            1 => any::<usize>().prop_map(Op::Cancel),
            4 => Just(Op::Pop),
        ]
    }

    proptest::proptest! {
        /// The wheel pops exactly what an ordered map by `(time, seq)` pops,
        /// cancellations and clock included; what it peeks at is the event
        /// it pops next, unless that one was cancelled.
        #[test]
        fn pops_in_time_then_insertion_order(ops in proptest::collection::vec(op(), 1..400)) {
            let mut q = EventQueue::new();
            let mut model: BTreeMap<(u64, u64), usize> = BTreeMap::new();
            let mut cancelled = FxHashSet::default();
            let mut cancelled_events = FxHashSet::default();
            let mut now = 0u64;
            let mut ids = Vec::new();
            for (n, op) in ops.into_iter().chain(std::iter::repeat_n(Op::Pop, 400)).enumerate() {
                match op {
                    Op::Schedule(delay) => {
                        let id = q.schedule(SimTime(now + delay), n);
                        model.insert((now + delay, id.0), n);
                        ids.push((id, n));
                    }
                    Op::Cancel(i) if !ids.is_empty() => {
                        let (id, event) = ids[i % ids.len()];
                        q.cancel(id);
                        cancelled.insert(id.0);
                        cancelled_events.insert(event);
                    }
                    Op::Cancel(_) => {}
                    Op::Pop => {
                        let want = loop {
                            match model.pop_first() {
                                Some(((_, seq), _)) if cancelled.contains(&seq) => continue,
                                other => break other,
                            }
                        };
                        if let Some(((t, _), _)) = want {
                            now = t;
                        }
                        let peeked = q.peek().copied();
                        let got = q.pop().map(|(t, seq, e)| ((t.0, seq), e));
                        if let (Some(p), Some((_, e))) = (peeked, got) {
                            proptest::prop_assert!(p == e || cancelled_events.contains(&p));
                        }
                        proptest::prop_assert_eq!(got, want);
                        proptest::prop_assert_eq!(q.now(), SimTime(now));
                    }
                }
                // Cancelled entries count until they are skipped, in both.
                proptest::prop_assert_eq!(q.len(), model.len());
            }
            proptest::prop_assert!(q.is_empty());
        }
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
