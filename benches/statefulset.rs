//! A StatefulSet of 100 replicas on 30 nodes in three zones (aws-ebs
//! profile): ordered creation of every pod and claim, then a rolling
//! update of all 100, one pod at a time, to completion.
//!
//! Run: `cargo bench --bench statefulset` (with and without the invariant
//! checks).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use storsim::api::{ObjectKey, StatefulSet};
use storsim::scenario::load_str;
use storsim::simulation::RunOptions;

const SCENARIO: &str = r#"
format = 1
[scenario]
name = "sts-100"
seed = 1
end = "4h"
[cluster]
zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
[[cluster.node_group]]
per_zone = 10
[backend]
profile = "aws-ebs"
[[storage_class]]
name = "gp3"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
[images."app:1"]
pull = "2s"
start = "1s"
ready_after = "2s"
stop = "2s"
[images."app:2"]
pull = "2s"
start = "1s"
ready_after = "2s"
stop = "2s"
[[object]]
kind = "StatefulSet"
name = "web"
[object.spec]
serviceName = "web"
replicas = 100
selector = { matchLabels = { app = "web" } }
template.metadata.labels = { app = "web" }
template.spec.containers = [{ name = "app", image = "app:1", readinessProbe = { exec = { command = ["ok"] }, periodSeconds = 1 } }]
volumeClaimTemplates = [{ metadata = { name = "data" }, spec = { accessModes = ["ReadWriteOnce"], storageClassName = "gp3", resources = { requests = { storage = "1Gi" } } } }]
[[action]]
at = "1h"
set_image = { statefulset = "web", image = "app:2" }
"#;

fn rollout_100(c: &mut Criterion) {
    let scenario = load_str("sts-100.toml", SCENARIO).expect("the bench scenario loads");
    // Sanity: the rollout completes, so the bench measures the whole path.
    let (run, _) = storsim::execute(&scenario, &RunOptions::default());
    let set = run
        .store
        .get::<StatefulSet>(&ObjectKey::new("default", "web"))
        .expect("the set exists");
    assert_eq!(set.status.updated_replicas, 100, "every pod updated");
    assert_eq!(set.status.ready_replicas, 100, "and Ready");
    assert_eq!(set.status.current_revision, set.status.update_revision);
    let mut group = c.benchmark_group("statefulset");
    group.sample_size(10);
    group.bench_function("create_and_roll_100_replicas", |b| {
        b.iter(|| storsim::execute(black_box(&scenario), &RunOptions::default()))
    });
    // The same run with every invariant checked after every event
    // (`--check-invariants`): what the checks cost.
    let checked = RunOptions {
        check_invariants: true,
        ..Default::default()
    };
    group.bench_function("create_and_roll_100_replicas_checked", |b| {
        b.iter(|| storsim::execute(black_box(&scenario), &checked))
    });
    group.finish();
}

criterion_group!(benches, rollout_100);
criterion_main!(benches);
