//! The performance work must not change what a run shows: the JSON Lines
//! of generated fleets, digested, are pinned to the values the model gave
//! before the optimisations (see the README's Performance section).
//!
//! Three model changes moved them, each for fidelity, each re-pinned before
//! any optimisation that followed it: the scheduler's sample of nodes
//! (below), and shared informers — kube-controller-manager's controllers
//! share one informer factory, so each change reaches them in one
//! delivery and one cache, where each had drawn its own delay and kept its
//! own cache, and a controller's writes are its own news until the watch
//! delivers them (its cache no longer takes them, nor goes back to an
//! older version when the watch delivers one). The digests from before
//! (commit c55b2da, kept through 5a6bdde by every optimisation) were
//! 198402f0… (300 pods), 2da3e635… (1 k), 96ce5011… (10 k, every node
//! filtered) and 593fa74d… (10 k, sampled).
//!
//! The third, in the twenty-third session: the garbage collector looks at a
//! dependent when it is first seen, when it names a new owner and when an
//! owner goes, as the real graph builder does, no longer at every update. Fewer of its wakes
//! are handled, and that count, in each fleet's summary line, is all that
//! changed: every other line was checked the same before and after, from
//! 300 pods to 100 k. The digests before it (kept from the fifteenth
//! session through afb3f95) were 3c4b6588… (300 pods), f5b033f0… (1 k),
//! c15de835… (10 k, every node filtered), 48aa1912… (10 k, sampled) and
//! c02bb514… (100 k).

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
    // Hashed as written: the 100 k fleet's lines are 2.6 GB.
    let mut hashing = Hashing(Sha256::new());
    jsonl::write(&report, &mut hashing).expect("hashing does not fail");
    hashing
        .0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Feeds what is written to the hash.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// 30 StatefulSets × 10 replicas on 15 nodes: every controller's indexed
/// path (attach/detach, scheduler cache, volume search, spread, kubelet,
/// garbage collector); pinned when informers came to be shared, and again
/// when the garbage collector stopped looking at every update.
#[test]
fn the_300_pod_fleet_shows_what_it_showed_before_the_optimisations() {
    assert_eq!(
        digest(30),
        "e4f69beae6afa568ad643bf1d3a1120ab261f7a6f0956efbaae4ed6561af9eb9"
    );
}

/// 100 StatefulSets × 10 replicas. Slow in a debug build: run with
/// `cargo test --release --test fleet_digest -- --ignored`.
#[test]
#[ignore]
fn the_1k_fleet_shows_what_it_showed_before_the_optimisations() {
    assert_eq!(
        digest(100),
        "87a9214c28731f4674c9d59f20dbca05116cdd317bdb4fd0e0f5bd97bb78ae82"
    );
}

/// 1,000 StatefulSets × 10 replicas on 501 nodes (minutes in release mode):
/// `cargo test --release --test fleet_digest -- --ignored`. First pinned
/// after the first round of optimisations (attach/detach, scheduler cache,
/// volume and spread indexes, kubelet and garbage-collector indexes) — the
/// 10 k fleet could not be run before them — and unchanged by every later
/// one; pinned again when informers came to be shared. The scheduler then
/// filtered every node, as it still does when told to with
/// `percentage_of_nodes_to_score = 100`.
#[test]
#[ignore]
fn the_10k_fleet_shows_what_it_showed_after_the_first_round() {
    assert_eq!(
        digest_with(1000, 100),
        "b3bd3062f6e94dcd843d80457cc4a74d8a651639b4c3d3bcbd8022ff5b6632d2"
    );
}

/// The same fleet with the scheduler's default, adaptive sample of the 501
/// nodes (46 %): pinned when the sample came in, before the optimisations
/// that followed it, and again when informers came to be shared.
#[test]
#[ignore]
fn the_10k_fleet_with_sampled_nodes_shows_what_it_showed_when_sampling_came_in() {
    assert_eq!(
        digest(1000),
        "3c007d5d984973d0aab3d6bb410224724c163901e167b188f7d26857f5dd997d"
    );
}

/// 10,000 StatefulSets × 10 replicas on 5,001 nodes (about four minutes
/// in release mode, 2 GB of memory): `cargo test --release --test
/// fleet_digest -- --ignored`. Pinned in the fifteenth session at the
/// output of 9a979dd, and again in the twenty-third (the garbage
/// collector's queueing: the summary's count of handled events alone). Only this size caught a step of the fourteenth
/// session (kubelet no longer queueing settled pods when a volume of
/// their node changed): it reordered syncs due in the same millisecond,
/// which no smaller fleet (300 pods to 30 k) and no shipped scenario
/// happened to show. That step was reverted.
#[test]
#[ignore]
fn the_100k_fleet_shows_what_it_showed_before_the_fourteenth_session() {
    assert_eq!(
        digest(10_000),
        "eaa3c62776b07428f5fc3c249150fd53fd3f01fa5a261be0b466aa0d450b0407"
    );
}
