//! Helpers shared by the integration tests: build a scenario from TOML
//! snippets, run it, and look at what it recorded.
#![allow(dead_code)]

use storsim::api::{Kind, ObjectKey, ObjectRef, PersistentVolume, PersistentVolumeClaim};
use storsim::cluster::{ChangeOp, ChangeRecord, EventRecord, Record};
use storsim::scenario::{ExpectationResult, Outcome, Scenario, load_str};
use storsim::simulation::{RunOptions, RunResult};

/// A scenario header with `end`, for snippets of objects and actions.
pub fn scenario(end: &str, body: &str) -> String {
    format!("format = 1\n[scenario]\nname = \"test\"\nseed = 1\nend = \"{end}\"\n{body}\n")
}

/// A class named `name` with no provisioner.
pub fn static_class(name: &str, mode: &str) -> String {
    format!(
        "[[storage_class]]\nname = \"{name}\"\nprovisioner = \"kubernetes.io/no-provisioner\"\nvolumeBindingMode = \"{mode}\"\n"
    )
}

/// A hostPath PV object with `extra` spec fields (TOML inline-table items).
pub fn pv(name: &str, size: &str, modes: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { ", " };
    format!(
        "[[object]]\nkind = \"PersistentVolume\"\nname = \"{name}\"\nspec = {{ capacity = {{ storage = \"{size}\" }}, accessModes = [{modes}], hostPath = {{ path = \"/mnt/{name}\" }}{sep}{extra} }}\n"
    )
}

/// A PVC object with `extra` spec fields.
pub fn pvc(name: &str, size: &str, modes: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { ", " };
    format!(
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"{name}\"\nspec = {{ accessModes = [{modes}], resources = {{ requests = {{ storage = \"{size}\" }} }}{sep}{extra} }}\n"
    )
}

pub const RWO: &str = "\"ReadWriteOnce\"";
pub const ROX: &str = "\"ReadOnlyMany\"";
pub const RWX: &str = "\"ReadWriteMany\"";

/// Loads and runs `text` with default options.
pub fn run(text: &str) -> (Scenario, RunResult, Vec<ExpectationResult>) {
    run_with(text, &RunOptions::default())
}

/// Loads and runs `text`.
pub fn run_with(text: &str, opts: &RunOptions) -> (Scenario, RunResult, Vec<ExpectationResult>) {
    let s = load_str("test.toml", text).unwrap_or_else(|e| panic!("scenario must load: {e}"));
    let (r, x) = storsim::execute(&s, opts);
    (s, r, x)
}

/// The volume a claim ended up with ("" if none).
pub fn volume_of(r: &RunResult, claim: &str) -> String {
    r.store
        .get::<PersistentVolumeClaim>(&ObjectKey::new("default", claim))
        .map(|c| c.spec.volume_name.to_string())
        .unwrap_or_default()
}

/// A claim's final phase as `kubectl get` shows it.
pub fn claim_phase(r: &RunResult, claim: &str) -> String {
    r.store
        .get::<PersistentVolumeClaim>(&ObjectKey::new("default", claim))
        .map(|c| c.status.phase.to_string())
        .unwrap_or_else(|| "<gone>".into())
}

/// A PV's final object.
pub fn volume(r: &RunResult, name: &str) -> Option<PersistentVolume> {
    r.store
        .get::<PersistentVolume>(&ObjectKey::cluster(name))
        .cloned()
}

/// A claim's final object.
pub fn claim(r: &RunResult, name: &str) -> Option<PersistentVolumeClaim> {
    r.store
        .get::<PersistentVolumeClaim>(&ObjectKey::new("default", name))
        .cloned()
}

/// `kind/name` in the default namespace (or cluster-scoped).
fn target(kind: Kind, name: &str) -> ObjectRef {
    let ns = if kind.namespaced() { "default" } else { "" };
    ObjectRef::new(kind, ObjectKey::new(ns, name))
}

/// Every Event recorded on `kind/name`.
pub fn events_on(r: &RunResult, kind: Kind, name: &str) -> Vec<EventRecord> {
    let target = target(kind, name);
    r.store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Event(e) if e.object == target => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Every change of `kind/name` after creation.
pub fn changes_of(r: &RunResult, kind: Kind, name: &str) -> Vec<ChangeRecord> {
    let target = target(kind, name);
    r.store
        .log()
        .iter()
        .filter_map(|rec| match rec {
            Record::Change(c) if c.object == target && c.op != ChangeOp::Added => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// Asserts every expectation passed, showing the failures if not.
pub fn assert_all_pass(results: &[ExpectationResult]) {
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| format!("{} — {}", r.title, r.detail))
        .collect();
    assert!(
        failed.is_empty(),
        "failed expectations:\n{}",
        failed.join("\n")
    );
}

/// (start ms, end ms, result) of every call of `op`, in order of their
/// ends; a timeout's result is `Err("timeout")`.
pub fn calls_of(
    r: &RunResult,
    op: storsim::backend::Operation,
) -> Vec<(u64, u64, Result<String, String>)> {
    let mut started = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for rec in r.store.log() {
        if let Record::Operation(o) = rec
            && o.op == op
        {
            if o.phase == storsim::cluster::CallPhase::Start {
                started.insert(o.call, o.t.as_millis());
            } else {
                out.push((
                    started[&o.call],
                    o.t.as_millis(),
                    match &o.result {
                        Some(Ok(r)) => Ok(r.to_string()),
                        Some(Err(e)) => Err(e.to_string()),
                        None => Err("timeout".into()),
                    },
                ));
            }
        }
    }
    out
}
