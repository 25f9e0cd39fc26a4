//! The bare engine on the classic hold model: 100,000 pending events; each
//! handled event schedules one more a uniform 1–2000 ms later. Reports
//! events per second for storsim's queue and, measured in the same run on
//! the same draws, for the alternatives the performance targets name: the
//! `priority-queue` crate used as a queue, std's `BinaryHeap`, and a bare
//! `radix-heap` on the packed `(time, seq)` key (the limit for the queue
//! alone).
//!
//! A second group, `engine_hold_20s`, draws delays up to 20 s, so that
//! most events fall beyond storsim's timing wheel (4,096 ms) and go
//! through its B-tree.
//!
//! Run: `cargo bench --bench engine_hold`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt as _;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use storsim::engine::{EventQueue, Rng, SimTime, StreamKey};

const PENDING: u64 = 100_000;
const HANDLED: u64 = 1_000_000;

fn rng() -> Rng {
    StreamKey {
        component: "bench",
        object: "hold",
        operation: "",
        attempt: 0,
    }
    .stream(1)
}

/// `(time, seq)` packed into one integer, as storsim's queue orders events.
fn packed(t: u64, seq: u64) -> u128 {
    (u128::from(t) << 64) | u128::from(seq)
}

/// A queue of `u32` events by integer time, as the hold model uses it.
/// The alternatives number their events themselves (`seq`), as storsim's
/// queue does inside.
trait HoldQueue: Default {
    fn push(&mut self, t: u64, seq: u64, e: u32);
    fn pop(&mut self) -> (u64, u32);
}

impl HoldQueue for EventQueue<u32> {
    fn push(&mut self, t: u64, _seq: u64, e: u32) {
        self.schedule(SimTime(t), e);
    }
    fn pop(&mut self) -> (u64, u32) {
        let (t, _, e) = EventQueue::pop(self).expect("never empty in the hold model");
        (t.as_millis(), e)
    }
}

#[derive(Default)]
struct Radix(radix_heap::RadixHeapMap<Reverse<u128>, u32>);

impl HoldQueue for Radix {
    fn push(&mut self, t: u64, seq: u64, e: u32) {
        self.0.push(Reverse(packed(t, seq)), e);
    }
    fn pop(&mut self) -> (u64, u32) {
        let (Reverse(k), e) = self.0.pop().expect("never empty");
        ((k >> 64) as u64, e)
    }
}

#[derive(Default)]
struct Binary(BinaryHeap<Reverse<(u128, u32)>>);

impl HoldQueue for Binary {
    fn push(&mut self, t: u64, seq: u64, e: u32) {
        self.0.push(Reverse((packed(t, seq), e)));
    }
    fn pop(&mut self) -> (u64, u32) {
        let Reverse((k, e)) = self.0.pop().expect("never empty");
        ((k >> 64) as u64, e)
    }
}

#[derive(Default)]
struct PriorityQueueCrate(priority_queue::PriorityQueue<u64, Reverse<u128>>);

impl HoldQueue for PriorityQueueCrate {
    fn push(&mut self, t: u64, seq: u64, _e: u32) {
        // Items must be unique: the sequence number is the item.
        self.0.push(seq, Reverse(packed(t, seq)));
    }
    fn pop(&mut self) -> (u64, u32) {
        let (id, Reverse(k)) = self.0.pop().expect("never empty");
        ((k >> 64) as u64, id as u32)
    }
}

/// Fills `Q` with the pending events, then handles `HANDLED` of them, each
/// rescheduled a uniform 1 to `MAX_DELAY` ms later.
fn bench_queue<Q: HoldQueue, const MAX_DELAY: u64>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
) {
    c.bench_function(name, |b| {
        b.iter_batched(
            || {
                let mut rng = rng();
                let mut q = Q::default();
                for i in 0..PENDING {
                    q.push(rng.random_range(1..=MAX_DELAY), i, i as u32);
                }
                (q, rng, PENDING)
            },
            |(mut q, mut rng, mut seq)| {
                for _ in 0..HANDLED {
                    let (t, e) = q.pop();
                    q.push(t + rng.random_range(1..=MAX_DELAY), seq, black_box(e));
                    seq += 1;
                }
                q
            },
            BatchSize::LargeInput,
        )
    });
}

fn hold_model(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_hold");
    group.throughput(Throughput::Elements(HANDLED));
    group.sample_size(20);
    bench_queue::<EventQueue<u32>, 2000>(&mut group, "storsim_queue");
    bench_queue::<Radix, 2000>(&mut group, "bare_radix_heap");
    bench_queue::<Binary, 2000>(&mut group, "binary_heap");
    bench_queue::<PriorityQueueCrate, 2000>(&mut group, "priority_queue_crate");
    group.finish();
    // storsim's queue holds the next 4,096 ms in a timing wheel and later
    // events in a B-tree: with delays up to 20 s, four in five events go
    // through the B-tree, the queue's slower path.
    let mut group = c.benchmark_group("engine_hold_20s");
    group.throughput(Throughput::Elements(HANDLED));
    group.sample_size(20);
    bench_queue::<EventQueue<u32>, 20_000>(&mut group, "storsim_queue");
    bench_queue::<Radix, 20_000>(&mut group, "bare_radix_heap");
    bench_queue::<Binary, 20_000>(&mut group, "binary_heap");
    group.finish();
}

criterion_group!(benches, hold_model);
criterion_main!(benches);
