//! The bare engine on the classic hold model: 100,000 pending events; each
//! handled event schedules one more a uniform 1–2000 ms later. Reports
//! events per second for storsim's queue and, measured in the same run on
//! the same draws, for the alternatives the performance targets name: the
//! `priority-queue` crate used as a queue, std's `BinaryHeap`, and a bare
//! `radix-heap` on the packed `(time, seq)` key (the limit for the queue
//! alone).
//!
//! Run: `cargo bench --bench engine_hold`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt as _;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use storsim::engine::{EventQueue, Rng, SimTime, StreamKey};

const PENDING: usize = 100_000;
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

fn delay(rng: &mut Rng) -> u64 {
    rng.random_range(1..=2000)
}

/// `(time, seq)` packed into one integer, as storsim's queue orders events.
fn packed(t: u64, seq: u64) -> u128 {
    (u128::from(t) << 64) | u128::from(seq)
}

fn hold_model(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_hold");
    group.throughput(Throughput::Elements(HANDLED));
    group.sample_size(20);
    group.bench_function("storsim_queue", |b| {
        b.iter_batched(
            || {
                let mut rng = rng();
                let mut q = EventQueue::new();
                for i in 0..PENDING {
                    q.schedule(SimTime(delay(&mut rng)), i as u32);
                }
                (q, rng)
            },
            |(mut q, mut rng)| {
                for _ in 0..HANDLED {
                    let (t, _, e) = q.pop().expect("never empty in the hold model");
                    q.schedule(SimTime(t.as_millis() + delay(&mut rng)), black_box(e));
                }
                q
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("bare_radix_heap", |b| {
        b.iter_batched(
            || {
                let mut rng = rng();
                let mut q = radix_heap::RadixHeapMap::new();
                for i in 0..PENDING as u64 {
                    q.push(Reverse(packed(delay(&mut rng), i)), i as u32);
                }
                (q, rng, PENDING as u64)
            },
            |(mut q, mut rng, mut seq)| {
                for _ in 0..HANDLED {
                    let (Reverse(k), e) = q.pop().expect("never empty");
                    let t = (k >> 64) as u64;
                    q.push(Reverse(packed(t + delay(&mut rng), seq)), black_box(e));
                    seq += 1;
                }
                q
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("binary_heap", |b| {
        b.iter_batched(
            || {
                let mut rng = rng();
                let mut q = BinaryHeap::new();
                for i in 0..PENDING as u64 {
                    q.push(Reverse((packed(delay(&mut rng), i), i as u32)));
                }
                (q, rng, PENDING as u64)
            },
            |(mut q, mut rng, mut seq)| {
                for _ in 0..HANDLED {
                    let Reverse((k, e)) = q.pop().expect("never empty");
                    let t = (k >> 64) as u64;
                    q.push(Reverse((packed(t + delay(&mut rng), seq), black_box(e))));
                    seq += 1;
                }
                q
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("priority_queue_crate", |b| {
        b.iter_batched(
            || {
                let mut rng = rng();
                let mut q = priority_queue::PriorityQueue::new();
                for i in 0..PENDING as u64 {
                    q.push(i, Reverse(packed(delay(&mut rng), i)));
                }
                (q, rng, PENDING as u64)
            },
            |(mut q, mut rng, mut seq)| {
                for _ in 0..HANDLED {
                    let (id, Reverse(k)) = q.pop().expect("never empty");
                    let t = (k >> 64) as u64;
                    q.push(black_box(id), Reverse(packed(t + delay(&mut rng), seq)));
                    seq += 1;
                }
                q
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, hold_model);
criterion_main!(benches);
