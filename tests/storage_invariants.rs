//! Storage safety invariants, checked on the API server's state after every
//! step of every shipped scenario, with the scenario's seed and two more:
//! a single-node volume is never attached to two nodes at once, no
//! Retain volume is ever deleted by the system, and no volume is bound to
//! two claims.

use std::collections::{BTreeMap, BTreeSet};
use storsim::api::persistent_volume_claim::ClaimPhase;
use storsim::api::storage_class::ReclaimPolicy;
use storsim::api::{AccessMode, PersistentVolume, PersistentVolumeClaim, VolumeAttachment};
use storsim::cluster::Store;
use storsim::scenario::{ActionKind, Scenario, load_file};
use storsim::simulation::{RunOptions, run_observed};

#[derive(Default)]
struct Safety {
    /// Retain PVs seen, and whether the scenario deletes them by hand.
    retained: BTreeSet<String>,
    deleted_by_hand: BTreeSet<String>,
    checked_attachments: u64,
    violations: Vec<String>,
}

impl Safety {
    fn new(s: &Scenario) -> Self {
        let deleted_by_hand = s
            .actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::Delete(r, _) => Some(r.key.name.clone()),
                _ => None,
            })
            .collect();
        Safety {
            deleted_by_hand,
            ..Default::default()
        }
    }

    fn observe(&mut self, store: &Store) {
        let now = store.now();
        // Single-node volumes: attached on one node at most.
        let mut attached: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for va in store.list::<VolumeAttachment>() {
            if va.status.attached {
                attached
                    .entry(va.spec.persistent_volume_name.as_str())
                    .or_default()
                    .insert(va.spec.node_name.as_str());
            }
        }
        for (pv, nodes) in &attached {
            self.checked_attachments += 1;
            let multi = store
                .get::<PersistentVolume>(&storsim::api::ObjectKey::cluster(pv))
                .is_some_and(|v| {
                    v.spec
                        .access_modes
                        .iter()
                        .any(|m| matches!(m, AccessMode::ReadWriteMany | AccessMode::ReadOnlyMany))
                });
            if !multi && nodes.len() > 1 {
                self.violations
                    .push(format!("{now}: {pv} attached to {nodes:?}"));
            }
        }
        // Retain volumes are never deleted by the system.
        let present: BTreeSet<String> = store
            .list::<PersistentVolume>()
            .map(|v| v.metadata.name.clone())
            .collect();
        for name in &self.retained {
            if !present.contains(name) && !self.deleted_by_hand.contains(name) {
                self.violations
                    .push(format!("{now}: Retain volume {name} was deleted"));
            }
        }
        self.retained.retain(|n| present.contains(n));
        for v in store.list::<PersistentVolume>() {
            if v.spec.persistent_volume_reclaim_policy == ReclaimPolicy::Retain {
                self.retained.insert(v.metadata.name.clone());
            }
        }
        // One claim per volume.
        let mut bound: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in store.list::<PersistentVolumeClaim>() {
            if c.status.phase == ClaimPhase::Bound && !c.spec.volume_name.is_empty() {
                bound
                    .entry(c.spec.volume_name.as_str())
                    .or_default()
                    .push(c.metadata.name.clone());
            }
        }
        for (pv, claims) in bound {
            if claims.len() > 1 {
                self.violations
                    .push(format!("{now}: {pv} bound to claims {claims:?}"));
            }
        }
    }
}

#[test]
fn no_scenario_ever_double_attaches_deletes_a_retained_volume_or_double_binds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut attachments = 0;
    for path in paths {
        let s = load_file(path.to_str().unwrap()).unwrap();
        for seed in [None, Some(11), Some(12)] {
            let mut safety = Safety::new(&s);
            let opts = RunOptions {
                seed,
                ..Default::default()
            };
            run_observed(&s, &opts, &mut |store| safety.observe(store));
            assert!(
                safety.violations.is_empty(),
                "{} (seed {seed:?}):\n{}",
                s.name,
                safety.violations.join("\n")
            );
            attachments += safety.checked_attachments;
        }
    }
    assert!(
        attachments > 1000,
        "the attachment check ran ({attachments})"
    );
}
