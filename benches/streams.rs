//! The random draw behind every watch delivery: a stream derived with
//! SHA-256 from the seed and what the draw is for, then one log-normal
//! sample (the aws-ebs profile's watch delay, median 15 ms, p99 80 ms).
//! Every write is delivered to each process that watches its kind, each
//! with its own draw, so this is a fixed cost per delivery that no
//! optimisation may remove: the streams are pinned across releases (see
//! `engine::rng`), and the fleets' digests with them.
//!
//! Run: `cargo bench --bench streams`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use storsim::backend::latency::Latency;
use storsim::engine::{SimDuration, StreamPrefix};

/// Draws per measured iteration.
const DRAWS: u64 = 1_000;

fn streams(c: &mut Criterion) {
    let delay = Latency::Lognormal {
        median: SimDuration::from_millis(15),
        p99: SimDuration::from_millis(80),
    };
    let sampler = delay.sampler();
    let mut group = c.benchmark_group("streams");
    group.throughput(Throughput::Elements(DRAWS));
    // One watch event's shared part, hashed once and used by every
    // process it goes to.
    group.bench_function("prefix", |b| {
        b.iter(|| {
            for n in 0..DRAWS {
                black_box(StreamPrefix::new(
                    1,
                    "watch",
                    black_box(if n % 2 == 0 {
                        "Pod/default/fleet-4296-6"
                    } else {
                        "PersistentVolumeClaim/default/data-fleet-4296-6"
                    }),
                ));
            }
        })
    });
    // One process's delivery of it: the stream and its delay.
    let prefix = StreamPrefix::new(1, "watch", "Pod/default/fleet-4296-6");
    group.bench_function("delivery_delay", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for n in 0..DRAWS {
                let mut rng = prefix.stream(black_box("kube-controller-manager"), n);
                sum += sampler.sample(&mut rng).0;
            }
            black_box(sum)
        })
    });
    group.finish();
}

criterion_group!(benches, streams);
criterion_main!(benches);
