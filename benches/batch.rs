//! `storsim batch` throughput: 100 seeds of a mid-size scenario
//! (`rolling-update`: a 3-replica StatefulSet created and rolled) with one
//! worker thread and with two. The targets ask `--jobs 2` for ≥ 1.8× the
//! runs per second of `--jobs 1` on a 2-core machine.
//!
//! Run: `cargo bench --bench batch`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use storsim::report::batch::run_all;
use storsim::scenario::load_file;

const SEEDS: u64 = 100;

fn batch(c: &mut Criterion) {
    let scenario = load_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/rolling-update.toml"
    ))
    .expect("the shipped scenario loads");
    let items: Vec<_> = (1..=SEEDS)
        .map(|seed| ((seed - 1) as usize, &scenario, seed))
        .collect();
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SEEDS));
    for jobs in [1, 2] {
        group.bench_function(format!("100_seeds_jobs_{jobs}"), |b| {
            b.iter(|| run_all(&items, jobs, &|_| {}))
        });
    }
    group.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
