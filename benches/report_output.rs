//! Writing a run's output: the human report and the JSON Lines of the
//! 1 k-pod fleet (the `scale_fleet` scenario), to a sink. What the CLI
//! adds to a run's time; both are made on two cores when the log is long.
//!
//! Run: `cargo bench --bench report_output`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use storsim::report::{Report, jsonl, text};
use storsim::scenario::generate::Fleet;
use storsim::scenario::load_str;
use storsim::simulation::RunOptions;

fn outputs(c: &mut Criterion) {
    let source = Fleet {
        statefulsets: 100,
        replicas: 10,
        zones: 3,
        nodes_per_zone: None,
        seed: 1,
    }
    .scenario();
    let scenario = load_str("fleet.toml", &source).expect("the generated fleet loads");
    let (run, results) = storsim::execute(&scenario, &RunOptions::default());
    let report = Report {
        scenario: &scenario,
        run: &run,
        results: &results,
    };
    let records = run.store.log().len() as u64;
    let mut group = c.benchmark_group("report_output");
    group.sample_size(20);
    group.throughput(Throughput::Elements(records));
    group.bench_function("text_1000_pods", |b| {
        b.iter(|| text::write(&report, &mut std::io::sink()).expect("a sink takes anything"))
    });
    group.bench_function("jsonl_1000_pods", |b| {
        b.iter(|| jsonl::write(&report, &mut std::io::sink()).expect("a sink takes anything"))
    });
    group.finish();
}

criterion_group!(benches, outputs);
criterion_main!(benches);
