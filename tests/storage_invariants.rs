//! Kubernetes' guarantees (storsim::invariants), checked on the API
//! server's state after every step of every shipped scenario — the
//! scenarios, the labs and their solutions, the manifest scenarios — with
//! the scenario's seed and two more; and a deliberately broken controller
//! is caught.

use std::path::PathBuf;
use storsim::invariants::Checker;
use storsim::scenario::load_file;
use storsim::simulation::{RunOptions, run_observed};

fn scenario_files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out = Vec::new();
    for dir in [
        root.clone(),
        root.join("labs"),
        root.join("labs/solutions"),
        root.join("manifests"),
    ] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        v.sort();
        out.extend(v);
    }
    out
}

#[test]
fn every_shipped_scenario_keeps_every_invariant_at_every_step() {
    let files = scenario_files();
    assert!(files.len() > 40);
    for path in files {
        let s = load_file(path.to_str().unwrap()).unwrap();
        for seed in [None, Some(11), Some(12)] {
            let mut checker = Checker::new(&s);
            let mut first = None;
            let opts = RunOptions {
                seed,
                ..Default::default()
            };
            let run = run_observed(&s, &opts, &mut |store| {
                if first.is_none() {
                    first = checker.check(store);
                }
            });
            let end = checker.finish(&run.store);
            assert!(
                first.is_none() && end.is_none(),
                "{} (seed {seed:?}): {}",
                path.display(),
                first.or(end).unwrap()
            );
        }
    }
}

/// A broken attacher (tests only): once a volume is attached, it marks it
/// attached to a second node too.
struct DoubleAttacher {
    done: bool,
}

impl storsim::controllers::Controller for DoubleAttacher {
    fn name(&self) -> &'static str {
        "broken-attacher"
    }
    fn watches(&self) -> &'static [storsim::api::Kind] {
        &[
            storsim::api::Kind::VolumeAttachment,
            storsim::api::Kind::Node,
        ]
    }
    fn on_watch(
        &mut self,
        ev: &storsim::cluster::WatchEvent,
        cx: &mut storsim::controllers::Ctx<'_>,
    ) {
        use storsim::api::{AnyObject, Node, ObjectMeta, VolumeAttachment};
        if self.done {
            return;
        }
        let AnyObject::VolumeAttachment(va) = &ev.object else {
            return;
        };
        if !va.status.attached {
            return;
        }
        let other = cx
            .store
            .list::<Node>()
            .map(|n| n.metadata.name.to_string())
            .find(|n| *n != va.spec.node_name);
        let Some(node) = other else { return };
        let mut copy: VolumeAttachment = (**va).clone();
        copy.metadata = ObjectMeta {
            name: format!("{}-bogus", va.metadata.name).into(),
            ..Default::default()
        };
        copy.spec.node_name = node.into();
        self.done = cx.store.create(copy).is_ok();
    }
    fn on_wake(&mut self, _cx: &mut storsim::controllers::Ctx<'_>) {}
    fn next_wake(&self) -> Option<storsim::engine::SimTime> {
        None
    }
    fn pending(&self, _store: &storsim::cluster::Store) -> Vec<String> {
        Vec::new()
    }
}

fn broken() -> Box<dyn storsim::controllers::Controller> {
    Box::new(DoubleAttacher { done: false })
}

#[test]
fn a_broken_controller_is_caught_and_stops_the_run_naming_the_invariant() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/rwo-multi-attach.toml");
    let s = load_file(path.to_str().unwrap()).unwrap();
    let opts = RunOptions {
        check_invariants: true,
        extra_controllers: vec![broken],
        ..Default::default()
    };
    let (run, results) = storsim::execute(&s, &opts);
    let storsim::simulation::EndReason::Invariant(v) = &run.end else {
        panic!("not caught: {:?}", run.end);
    };
    assert_eq!(
        v.invariant,
        "a single-node volume is attached to one node at most"
    );
    assert!(v.objects[0].starts_with("PersistentVolume/pvc-"), "{v}");
    assert!(v.to_string().contains("violated at T+"), "{v}");
    // Stopped at once: long before the scenario's end.
    assert!(run.end_time.as_millis() < 20_000, "{}", run.end_time);
    let report = storsim::report::Report {
        scenario: &s,
        run: &run,
        results: &results,
    };
    assert_eq!(report.exit_code(), 4);
    // Without the broken controller the same run keeps every invariant.
    let opts = RunOptions {
        check_invariants: true,
        ..Default::default()
    };
    let (run, _) = storsim::execute(&s, &opts);
    assert!(!matches!(
        run.end,
        storsim::simulation::EndReason::Invariant(_)
    ));
}

/// A broken StatefulSet controller (tests only): on a scale-down it deletes
/// the condemned replica's claim, whatever the retention policy says.
struct ClaimReaper {
    done: bool,
}

impl storsim::controllers::Controller for ClaimReaper {
    fn name(&self) -> &'static str {
        "broken-reaper"
    }
    fn watches(&self) -> &'static [storsim::api::Kind] {
        &[
            storsim::api::Kind::StatefulSet,
            storsim::api::Kind::PersistentVolumeClaim,
        ]
    }
    fn on_watch(
        &mut self,
        ev: &storsim::cluster::WatchEvent,
        cx: &mut storsim::controllers::Ctx<'_>,
    ) {
        use storsim::api::{AnyObject, ObjectKey, PersistentVolumeClaim};
        if self.done {
            return;
        }
        if let AnyObject::StatefulSet(s) = &ev.object
            && s.spec.replicas == 1
        {
            let key = ObjectKey::new("default", "data-postgres-2");
            self.done = cx.store.delete::<PersistentVolumeClaim>(&key).is_ok();
        }
    }
    fn on_wake(&mut self, _cx: &mut storsim::controllers::Ctx<'_>) {}
    fn next_wake(&self) -> Option<storsim::engine::SimTime> {
        None
    }
    fn pending(&self, _store: &storsim::cluster::Store) -> Vec<String> {
        Vec::new()
    }
}

#[test]
fn a_claim_deleted_against_the_retention_policy_is_caught() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/statefulset-scale-down.toml");
    let s = load_file(path.to_str().unwrap()).unwrap();
    let opts = RunOptions {
        check_invariants: true,
        extra_controllers: vec![|| Box::new(ClaimReaper { done: false })],
        ..Default::default()
    };
    let (run, _) = storsim::execute(&s, &opts);
    let storsim::simulation::EndReason::Invariant(v) = &run.end else {
        panic!("not caught: {:?}", run.end);
    };
    assert_eq!(
        v.invariant,
        "a StatefulSet's claims go only as its retention policy says"
    );
    assert_eq!(v.objects[0], "PersistentVolumeClaim/data-postgres-2");
}
