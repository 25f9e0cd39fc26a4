//! JSON Lines: a header, one record per timeline record, one per
//! expectation, and a summary. Documented in the README; `schema_version`
//! changes on any incompatible change.

use super::{Report, SCHEMA_VERSION, STORSIM_VERSION};
use crate::cluster::Record;
use crate::simulation::EndReason;
use serde_json::{Value, json};

/// Lines written as they are made: a run's records are not all held as
/// JSON trees at once (a 10 k-pod fleet has about a million).
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn push(&mut self, line: Value) {
        use std::fmt::Write as _;
        let _ = writeln!(self.0, "{line}");
    }
}

/// The whole JSON Lines output.
pub fn render(r: &Report<'_>) -> String {
    let mut lines = Lines::default();
    lines.push(json!({
        "type": "header",
        "schema_version": SCHEMA_VERSION,
        "storsim_version": STORSIM_VERSION,
        "scenario": r.scenario.name,
        "scenario_sha256": r.scenario.source_sha256,
        "seed": r.run.seed,
        "profile": r.run.profile,
    }));
    for rec in r.run.store.log() {
        lines.push(record(rec));
    }
    for row in r.reference_rows() {
        lines.push(json!({
            "type": "reference",
            "doc": row.line.doc,
            "doc_ms": row.line.time.map(|t| t.as_millis()),
            "run_ms": row.run.map(|t| t.as_millis()),
            "delta_ms": row.delta_ms.map(|d| d as i64),
            "verdict": row.verdict,
            "diverges": row.line.diverges,
        }));
    }
    let bill = r.bill();
    if !bill.volumes.is_empty() {
        let volumes: Vec<Value> = bill
            .volumes
            .iter()
            .map(|v| {
                json!({
                    "pv": v.pv,
                    "claim": v.claim,
                    "volume_type": v.volume_type,
                    "gib": v.gib,
                    "monthly_usd": v.monthly,
                    "use": v.usage.as_str(),
                })
            })
            .collect();
        lines.push(json!({
            "type": "cost",
            "source": bill.source,
            "volumes": volumes,
            "total_monthly_usd": bill.total(),
            "orphaned_monthly_usd": bill.orphaned(),
            "orphaned_claims": bill.orphaned_claims(),
        }));
    }
    for e in r.results {
        lines.push(json!({
            "type": "expectation",
            "title": e.title,
            "result": e.outcome.as_str().to_lowercase(),
            "detail": e.detail,
            "t_ms": e.at.map(|t| t.as_millis()),
        }));
    }
    let (pass, fail, skip) = r.tally();
    let (reason, pending) = match &r.run.end {
        EndReason::ReachedEnd => ("end", vec![]),
        EndReason::Settled => ("settled", vec![]),
        EndReason::Bound { pending, .. } => ("bound", pending.clone()),
        EndReason::Invariant(v) => ("invariant", vec![v.to_string()]),
    };
    lines.push(json!({
        "type": "summary",
        "t_ms": r.run.end_time.as_millis(),
        "end_reason": reason,
        "pending": pending,
        "events_handled": r.run.events_handled,
        "passed": pass,
        "failed": fail,
        "skipped": skip,
        "exit_code": r.exit_code(),
    }));
    lines.0
}

/// One timeline record as JSON.
pub fn record(rec: &Record) -> Value {
    match rec {
        Record::Change(c) => {
            let columns: serde_json::Map<String, Value> = c
                .columns
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                .collect();
            json!({
                "t_ms": c.t.as_millis(),
                "seq": c.seq,
                "type": "change",
                "op": c.op.as_str(),
                "kind": c.object.kind.as_str(),
                "namespace": c.object.key.namespace,
                "name": c.object.key.name,
                "resource_version": c.resource_version,
                "phase": c.phase,
                "conditions": c.conditions,
                "columns": columns,
                "changed": c.changed,
            })
        }
        Record::Event(e) => json!({
            "t_ms": e.t.as_millis(),
            "seq": e.seq,
            "type": "event",
            "event_type": e.kind.as_str(),
            "reason": e.reason,
            "kind": e.object.kind.as_str(),
            "namespace": e.object.key.namespace,
            "name": e.object.key.name,
            "message": e.message,
            "count": e.count,
            "first_seen_ms": e.first_seen.as_millis(),
            "source": e.source,
        }),
        Record::Dns(d) => json!({
            "t_ms": d.t.as_millis(),
            "seq": d.seq,
            "type": "dns",
            "name": d.name,
            "resolves": d.resolves,
        }),
        Record::Operation(o) => json!({
            "t_ms": o.t.as_millis(),
            "seq": o.seq,
            "type": "operation",
            "call": o.call,
            "operation": o.op.csi_name(),
            "target": o.target,
            "phase": o.phase.as_str(),
            "attempt": o.attempt,
            "result": o.result.as_ref().map(|r| if r.is_ok() { "ok" } else { "error" }),
            "detail": o.result.as_ref().map(|r| match r { Ok(s) | Err(s) => s.clone() }),
            "caller": o.caller,
        }),
        Record::Action(a) => json!({
            "t_ms": a.t.as_millis(),
            "seq": a.seq,
            "type": "action",
            "description": a.description,
            "label": a.label,
        }),
    }
}
