//! A generated scenario: 1,000 pods, each with its own WaitForFirstConsumer
//! claim, on 102 nodes in three zones, under the aws-ebs profile, from
//! creation until every pod runs (30 simulated minutes).
//!
//! Run: `cargo bench --bench provisioning`

use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;
use storsim::scenario::load_str;
use storsim::simulation::RunOptions;

/// The scenario text with `pods` pods.
fn generated(pods: usize) -> String {
    let mut s = String::from(
        "format = 1\n[scenario]\nname = \"generated\"\nseed = 1\nend = \"30m\"\n\
         [cluster]\nzones = [\"us-east-1a\", \"us-east-1b\", \"us-east-1c\"]\n\
         [[cluster.node_group]]\nper_zone = 34\ncpu = \"16\"\nmemory = \"64Gi\"\n\
         [backend]\nprofile = \"aws-ebs\"\n\
         [[storage_class]]\nname = \"gp3\"\nprovisioner = \"ebs.csi.aws.com\"\nvolumeBindingMode = \"WaitForFirstConsumer\"\n",
    );
    for i in 0..pods {
        let _ = write!(
            s,
            "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"data-{i}\"\n\
             spec = {{ accessModes = [\"ReadWriteOnce\"], storageClassName = \"gp3\", resources = {{ requests = {{ storage = \"10Gi\" }} }} }}\n\
             [[object]]\nkind = \"Pod\"\nname = \"app-{i}\"\n\
             spec = {{ containers = [{{ name = \"app\", image = \"nginx\", resources = {{ requests = {{ cpu = \"100m\", memory = \"128Mi\" }} }} }}], \
             volumes = [{{ name = \"data\", persistentVolumeClaim = {{ claimName = \"data-{i}\" }} }}] }}\n"
        );
    }
    s
}

fn thousand_pods(c: &mut Criterion) {
    let scenario =
        load_str("generated.toml", &generated(1000)).expect("the generated scenario loads");
    // Sanity: every pod ends Running (so the bench measures the whole path).
    let (run, _) = storsim::execute(&scenario, &RunOptions::default());
    let running = run
        .store
        .list::<storsim::api::Pod>()
        .filter(|p| p.status.phase == storsim::api::PodPhase::Running)
        .count();
    assert_eq!(running, 1000, "every generated pod runs");
    let mut group = c.benchmark_group("provisioning");
    group.sample_size(10);
    group.bench_function("wffc_1000_pods", |b| {
        b.iter(|| storsim::execute(black_box(&scenario), &RunOptions::default()))
    });
    group.finish();
}

criterion_group!(benches, thousand_pods);
criterion_main!(benches);
