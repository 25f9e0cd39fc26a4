//! The bare engine on the classic hold model: 100,000 pending events; each
//! handled event schedules one more 1–2000 ms later. Reports events/second.
//!
//! Run: `cargo bench --bench engine`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt as _;
use std::hint::black_box;
use storsim::engine::{EventQueue, SimTime, StreamKey};

const PENDING: usize = 100_000;
const HANDLED: u64 = 1_000_000;

fn hold_model(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(HANDLED));
    group.sample_size(20);
    group.bench_function("hold_100k_pending", |b| {
        b.iter_batched(
            || {
                let mut rng = StreamKey {
                    component: "bench",
                    object: "hold",
                    operation: "",
                    attempt: 0,
                }
                .stream(1);
                let mut q = EventQueue::new();
                for i in 0..PENDING {
                    q.schedule(SimTime(rng.random_range(1..=2000)), i as u32);
                }
                (q, rng)
            },
            |(mut q, mut rng)| {
                for _ in 0..HANDLED {
                    let (t, _, e) = q.pop().expect("never empty in the hold model");
                    q.schedule(
                        SimTime(t.as_millis() + rng.random_range(1..=2000)),
                        black_box(e),
                    );
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
