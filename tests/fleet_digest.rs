//! The performance work must not change what a run shows: the JSON Lines
//! of generated fleets, digested, are pinned to the values the model gave
//! before the optimisations (see the README's Performance section).
//!
//! Two model changes moved them, each for fidelity, each re-pinned before
//! any optimisation that followed it: the scheduler's sample of nodes
//! (below), and shared watches — kube-controller-manager's controllers
//! receive each change in one delivery, as they share one informer
//! factory, where each had drawn its own delay. The digests from before
//! shared watches (commit c55b2da, kept through 5a6bdde by every
//! optimisation) were 198402f0… (300 pods), 2da3e635… (1 k), 96ce5011…
//! (10 k, every node filtered) and 593fa74d… (10 k, sampled).

use sha2::{Digest, Sha256};
use storsim::report::{Report, jsonl};
use storsim::scenario::generate::Fleet;
use storsim::scenario::{Outcome, load_str};
use storsim::simulation::RunOptions;

fn digest(statefulsets: u32) -> String {
    digest_with(statefulsets, 0)
}

/// The digest of a fleet whose scheduler has `percentage_of_nodes_to_score`
/// set (on the loaded scenario: the file, whose digest the output names,
/// stays the generator's).
fn digest_with(statefulsets: u32, percentage_of_nodes_to_score: u32) -> String {
    let fleet = Fleet {
        statefulsets,
        replicas: 10,
        zones: 3,
        nodes_per_zone: None,
        seed: 1,
    };
    let mut s = load_str("fleet.toml", &fleet.scenario()).expect("the generated fleet loads");
    s.settings.scheduler.percentage_of_nodes_to_score = percentage_of_nodes_to_score;
    let (run, results) = storsim::execute(&s, &RunOptions::default());
    assert!(results.iter().all(|r| r.outcome == Outcome::Pass));
    let report = Report {
        scenario: &s,
        run: &run,
        results: &results,
    };
    let text = jsonl::render(&report);
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 30 StatefulSets × 10 replicas on 15 nodes: every controller's indexed
/// path (attach/detach, scheduler cache, volume search, spread, kubelet,
/// garbage collector); pinned when watches came to be shared.
#[test]
fn the_300_pod_fleet_shows_what_it_showed_before_the_optimisations() {
    assert_eq!(
        digest(30),
        "3c4b658844c26f5404c80fd75493c75a0ac8a3a469e50717a69dd4890fde5f7a"
    );
}

/// 100 StatefulSets × 10 replicas. Slow in a debug build: run with
/// `cargo test --release --test fleet_digest -- --ignored`.
#[test]
#[ignore]
fn the_1k_fleet_shows_what_it_showed_before_the_optimisations() {
    assert_eq!(
        digest(100),
        "43ad2919681e5441699c93ef27745f7cb300da70451ed51e84f59e8bd08fcaf1"
    );
}

/// 1,000 StatefulSets × 10 replicas on 501 nodes (minutes in release mode):
/// `cargo test --release --test fleet_digest -- --ignored`. First pinned
/// after the first round of optimisations (attach/detach, scheduler cache,
/// volume and spread indexes, kubelet and garbage-collector indexes) — the
/// 10 k fleet could not be run before them — and unchanged by every later
/// one; pinned again when watches came to be shared. The scheduler then
/// filtered every node, as it still does when told to with
/// `percentage_of_nodes_to_score = 100`.
#[test]
#[ignore]
fn the_10k_fleet_shows_what_it_showed_after_the_first_round() {
    assert_eq!(
        digest_with(1000, 100),
        "597e183fb4511bd4ab1ac3d3989284a4d6b8bd6add624194a2d2cb8fa197d181"
    );
}

/// The same fleet with the scheduler's default, adaptive sample of the 501
/// nodes (46 %): pinned when the sample came in, before the optimisations
/// that followed it, and again when watches came to be shared.
#[test]
#[ignore]
fn the_10k_fleet_with_sampled_nodes_shows_what_it_showed_when_sampling_came_in() {
    assert_eq!(
        digest(1000),
        "bb5e3acc532235c075d2867f91078b9ae27ff67b5dd0b8d96d291ab222c6a020"
    );
}
