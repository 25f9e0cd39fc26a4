//! kube-scheduler's `numFeasibleNodesToFind` and `nextStartNodeIndex`: on
//! 100 nodes or more a cycle stops filtering once it has found enough
//! feasible nodes, and the next cycle starts where it stopped, walking the
//! nodes zone by zone. A node outside the sample is not chosen however free
//! it is; every node gets its turn.

mod common;
use common::*;
use storsim::api::{ObjectKey, Pod};

/// 200 four-CPU nodes in two zones and one 64-CPU node, `zz-big`, that
/// comes last in its zone: the tree's position 200 of 201. Three pods of
/// 1 CPU are created a second apart.
fn cluster(pods: usize) -> String {
    let mut body = String::from(
        r#"[cluster]
zones = ["us-east-1a", "us-east-1b"]
[[cluster.node_group]]
per_zone = 100
cpu = "4"
memory = "16Gi"
[[cluster.node]]
name = "zz-big"
zone = "us-east-1a"
cpu = "64"
memory = "256Gi"
"#,
    );
    for i in 0..pods {
        body.push_str(&format!(
            r#"[[action]]
at = "{i}s"
create = {{ kind = "Pod", name = "app-{i}", spec = {{ containers = [{{ name = "app", image = "app:1", resources = {{ requests = {{ cpu = "1", memory = "1Gi" }} }} }}] }} }}
"#
        ));
    }
    scenario("30s", &body)
}

fn node_of(r: &storsim::simulation::RunResult, pod: &str) -> String {
    r.store
        .get::<Pod>(&ObjectKey::new("default", pod))
        .map(|p| p.spec.node_name.to_string())
        .unwrap_or_default()
}

#[test]
fn a_cycle_filters_a_sample_and_the_next_one_starts_where_it_stopped() {
    // 201 nodes: max(100, 201 × 49 %) = 100 feasible nodes are enough.
    // app-0 sees positions 0–99 and app-1 positions 100–199: the big node,
    // the best by LeastAllocated, is in neither. app-2 starts at 200.
    for seed in 1..=4 {
        let opts = storsim::simulation::RunOptions {
            seed: Some(seed),
            ..Default::default()
        };
        let (_, r, _) = run_with(&cluster(3), &opts);
        let placed: Vec<String> = (0..3).map(|i| node_of(&r, &format!("app-{i}"))).collect();
        assert!(
            placed.iter().all(|n| !n.is_empty()),
            "seed {seed}: every pod is scheduled: {placed:?}"
        );
        assert_ne!(placed[0], "zz-big", "seed {seed}: app-0 samples 0–99");
        assert_ne!(placed[1], "zz-big", "seed {seed}: app-1 samples 100–199");
        assert_eq!(
            placed[2], "zz-big",
            "seed {seed}: app-2's sample starts at it"
        );
    }
}

#[test]
fn below_100_nodes_every_node_is_filtered() {
    // Drop one zone's worth to 49 + 49 + the big node = 99 nodes: the
    // first pod already finds the big node.
    let text = cluster(1).replace("per_zone = 100", "per_zone = 49");
    let (_, r, _) = run_with(&text, &Default::default());
    assert_eq!(node_of(&r, "app-0"), "zz-big");
}

#[test]
fn percentage_of_nodes_to_score_100_filters_every_node() {
    let text = cluster(1).replace(
        "[cluster]",
        "[components.scheduler]\npercentage_of_nodes_to_score = 100\n[cluster]",
    );
    let (_, r, _) = run_with(&text, &Default::default());
    assert_eq!(node_of(&r, "app-0"), "zz-big");
}
