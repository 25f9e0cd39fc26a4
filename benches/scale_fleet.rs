//! The full model at scale: `storsim gen fleet` with N StatefulSets × 10
//! replicas (WaitForFirstConsumer gp3 volumes, 3 zones, aws-ebs), created,
//! provisioned, attached, Ready, then rolled to a new image — at 1 k, 10 k
//! and 100 k pods. Criterion reports wall time and events per second; the
//! peak memory of one run is printed before each size is timed (Linux:
//! `VmHWM` after resetting it through `/proc/self/clear_refs`).
//!
//! Criterion times the sizes up to 1 k pods (ten runs or more each); a
//! larger fleet is timed by its one printed run — ten runs of the 10 k
//! fleet would take most of an hour on a 2-core machine.
//!
//! Run: `cargo bench --bench scale_fleet` (all sizes), or only some:
//! `STORSIM_FLEET_PODS=1000,10000 cargo bench --bench scale_fleet`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use storsim::scenario::generate::Fleet;
use storsim::scenario::load_str;
use storsim::simulation::RunOptions;

/// Larger fleets are timed by their one printed run only.
const CRITERION_MAX_PODS: u32 = 1_000;

fn sizes() -> Vec<u32> {
    std::env::var("STORSIM_FLEET_PODS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000])
}

/// Peak resident memory since the last reset, in MiB (Linux only).
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn fleet(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale_fleet");
    group.sample_size(10);
    for pods in sizes() {
        let text = Fleet {
            statefulsets: pods / 10,
            replicas: 10,
            zones: 3,
            nodes_per_zone: None,
            seed: 1,
        }
        .scenario();
        let scenario = load_str("fleet.toml", &text).expect("the generated fleet loads");
        reset_peak();
        let start = std::time::Instant::now();
        let (run, results) = storsim::execute(&scenario, &RunOptions::default());
        let wall = start.elapsed().as_secs_f64();
        assert!(
            results
                .iter()
                .all(|r| r.outcome == storsim::scenario::Outcome::Pass),
            "the fleet of {pods} pods is whole and updated at the end"
        );
        let events = run.events_handled;
        println!(
            "scale_fleet/{pods}_pods: {events} events, one run {wall:.2} s ({:.0} events/s), peak memory {} MiB",
            events as f64 / wall,
            peak_mib().map_or("?".into(), |m| format!("{m:.0}"))
        );
        drop(run);
        if pods > CRITERION_MAX_PODS {
            continue;
        }
        group.throughput(Throughput::Elements(events));
        group.bench_function(format!("{pods}_pods"), |b| {
            b.iter(|| storsim::execute(black_box(&scenario), &RunOptions::default()))
        });
    }
    group.finish();
}

criterion_group!(benches, fleet);
criterion_main!(benches);
