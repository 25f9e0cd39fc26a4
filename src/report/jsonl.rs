//! JSON Lines: a header, one record per timeline record, one per
//! expectation, and a summary. Documented in the README; `schema_version`
//! changes on any incompatible change.

use super::sink::Sink;
use super::{Report, SCHEMA_VERSION, STORSIM_VERSION};
use crate::api::Name;
use crate::cluster::Record;
use crate::simulation::EndReason;
use serde_json::{Value, json};

/// Lines written as they are made, straight to the output: a run's
/// records are never all held as JSON at once (a 10 k-pod fleet has about
/// a million).
struct Lines<W: std::io::Write> {
    out: Sink<W>,
    /// Lines not yet passed to `out`: serialising into memory and writing
    /// in large pieces keeps the writer's dynamic calls out of the
    /// per-token work (a fleet writes hundreds of megabytes).
    buf: Vec<u8>,
}

/// How much [`Lines`] gathers before it writes.
const FLUSH_AT: usize = 1 << 16;

impl<W: std::io::Write> Lines<W> {
    fn new(out: W) -> Self {
        Lines {
            out: Sink::new(out),
            buf: Vec::with_capacity(FLUSH_AT + 4096),
        }
    }

    fn push(&mut self, line: impl serde::Serialize) {
        if !self.out.ok() {
            return;
        }
        if let Err(e) = serde_json::to_writer(&mut self.buf, &line) {
            self.out.fail(e.into());
            return;
        }
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Writes what was gathered.
    fn flush(&mut self) {
        self.out.write(&self.buf);
        self.buf.clear();
    }

    /// Everything written, or the first error.
    fn finish(mut self) -> std::io::Result<W> {
        self.flush();
        self.out.finish()
    }

    /// The line of one timeline record.
    fn push_record(&mut self, rec: &Record) {
        match rec {
            Record::Change(c) => self.push(ChangeLine::of(c)),
            Record::Event(e) => self.push(EventLine::of(e)),
            Record::Operation(o) => self.push(OperationLine::of(o)),
            _ => self.push(record(rec)),
        }
    }

    /// Lines made elsewhere, whole (a piece of the timeline): written as
    /// they are, after the lines gathered here (a piece is larger than a
    /// gathering, so it is not copied into one).
    fn push_bytes(&mut self, bytes: &[u8]) {
        self.flush();
        self.out.write(bytes);
    }
}

/// The timeline's lines, in order, made in pieces ([`super::pieces`]):
/// on two cores when the log is long.
fn write_records<W: std::io::Write>(lines: &mut Lines<W>, log: &crate::cluster::Log) {
    write_records_in(lines, log, |make, take| {
        super::pieces::in_order(log, super::pieces::PIECE, make, take)
    });
}

/// The lines of the log's records in pieces, as `split` cuts and orders
/// them; a piece whose lines cannot be made stops the output with an
/// error.
fn write_records_in<W: std::io::Write>(
    lines: &mut Lines<W>,
    log: &crate::cluster::Log,
    split: impl FnOnce(
        &(dyn Fn(std::ops::Range<usize>) -> Option<Vec<u8>> + Sync),
        &mut dyn FnMut(Option<Vec<u8>>) -> bool,
    ),
) {
    let make = |r: std::ops::Range<usize>| {
        let mut made = Lines::new(Vec::new());
        for rec in log.since(r.start).take(r.len()) {
            made.push_record(&rec);
        }
        // Writing to memory fails only if a line cannot be made.
        made.finish().ok()
    };
    split(&make, &mut |piece| {
        match piece {
            Some(bytes) => lines.push_bytes(&bytes),
            None => lines
                .out
                .fail(std::io::Error::other("a timeline line could not be made")),
        }
        lines.out.ok()
    });
}

/// The whole JSON Lines output.
pub fn render(r: &Report<'_>) -> String {
    let mut out = Vec::new();
    write(r, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// The whole JSON Lines output, written to `out` in pieces of about 64 KiB.
pub fn write(r: &Report<'_>, out: &mut (impl std::io::Write + ?Sized)) -> std::io::Result<()> {
    let mut lines = Lines::new(out);
    lines.push(json!({
        "type": "header",
        "schema_version": SCHEMA_VERSION,
        "storsim_version": STORSIM_VERSION,
        "scenario": r.scenario.name,
        "scenario_sha256": r.scenario.source_sha256,
        "seed": r.run.seed,
        "profile": r.run.profile,
    }));
    write_records(&mut lines, r.run.store.log());
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
    lines.finish().map(|_| ())
}

// The three records that make up nearly all of a run's lines, written
// without building a JSON tree for each. Their fields are declared in the
// order `json!` maps print them (sorted by name), so the bytes are those a
// tree of the same fields gives, like every other line; a test compares
// them with such trees, written out, for every kind of record.

#[derive(serde::Serialize)]
struct ChangeLine<'a> {
    changed: &'a [Name],
    columns: std::collections::BTreeMap<&'static str, &'a str>,
    conditions: &'a [Name],
    kind: &'static str,
    name: &'a str,
    namespace: &'a str,
    op: &'static str,
    phase: Option<Name>,
    resource_version: u64,
    seq: u64,
    t_ms: u64,
    #[serde(rename = "type")]
    kind_of_line: &'static str,
}

impl<'a> ChangeLine<'a> {
    fn of(c: &'a crate::cluster::ChangeRecord) -> Self {
        ChangeLine {
            changed: &c.changed,
            columns: c.columns.iter().map(|(k, v)| (*k, v.as_str())).collect(),
            conditions: &c.conditions,
            kind: c.object.kind.as_str(),
            name: c.object.key.name.as_str(),
            namespace: c.object.key.namespace.as_str(),
            op: c.op.as_str(),
            phase: c.phase,
            resource_version: c.resource_version,
            seq: c.seq,
            t_ms: c.t.as_millis(),
            kind_of_line: "change",
        }
    }
}

#[derive(serde::Serialize)]
struct EventLine<'a> {
    count: u32,
    event_type: &'static str,
    first_seen_ms: u64,
    kind: &'static str,
    message: &'a str,
    name: &'a str,
    namespace: &'a str,
    reason: &'a str,
    seq: u64,
    source: &'static str,
    t_ms: u64,
    #[serde(rename = "type")]
    kind_of_line: &'static str,
}

impl<'a> EventLine<'a> {
    fn of(e: &'a crate::cluster::EventRecord) -> Self {
        EventLine {
            count: e.count,
            event_type: e.kind.as_str(),
            first_seen_ms: e.first_seen.as_millis(),
            kind: e.object.kind.as_str(),
            message: &e.message,
            name: e.object.key.name.as_str(),
            namespace: e.object.key.namespace.as_str(),
            reason: &e.reason,
            seq: e.seq,
            source: e.source,
            t_ms: e.t.as_millis(),
            kind_of_line: "event",
        }
    }
}

#[derive(serde::Serialize)]
struct OperationLine<'a> {
    attempt: u32,
    call: u64,
    caller: &'static str,
    detail: Option<&'a str>,
    operation: &'static str,
    phase: &'static str,
    result: Option<&'static str>,
    seq: u64,
    t_ms: u64,
    target: &'a str,
    #[serde(rename = "type")]
    kind_of_line: &'static str,
}

impl<'a> OperationLine<'a> {
    fn of(o: &'a crate::cluster::OperationRecord) -> Self {
        OperationLine {
            attempt: o.attempt,
            call: o.call,
            caller: o.caller,
            detail: o.result.as_ref().map(|r| match r {
                Ok(s) | Err(s) => s.as_str(),
            }),
            operation: o.op.csi_name(),
            phase: o.phase.as_str(),
            result: o
                .result
                .as_ref()
                .map(|r| if r.is_ok() { "ok" } else { "error" }),
            seq: o.seq,
            t_ms: o.t.as_millis(),
            target: &o.target,
            kind_of_line: "operation",
        }
    }
}

/// One timeline record as JSON.
pub fn record(rec: &Record) -> Value {
    match rec {
        Record::Change(c) => to_tree(ChangeLine::of(c)),
        Record::Event(e) => to_tree(EventLine::of(e)),
        Record::Operation(o) => to_tree(OperationLine::of(o)),
        Record::Dns(d) => json!({
            "t_ms": d.t.as_millis(),
            "seq": d.seq,
            "type": "dns",
            "name": d.name,
            "resolves": d.resolves,
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

fn to_tree(line: impl serde::Serialize) -> Value {
    serde_json::to_value(line).expect("a line of strings and numbers")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulation::RunOptions;

    /// The bulk records as JSON trees, written the way the other lines
    /// are: the reference the typed lines must print alike.
    fn tree(rec: &Record) -> Value {
        match rec {
            Record::Change(c) => {
                let columns: serde_json::Map<String, Value> = c
                    .columns
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
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
                    "conditions": &*c.conditions,
                    "columns": columns,
                    "changed": &*c.changed,
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
            _ => record(rec),
        }
    }

    /// The timeline's lines made in pieces, on two threads, are the bytes
    /// one thread makes record by record, whatever the pieces' size
    /// against the log's length.
    #[test]
    fn lines_made_on_two_threads_are_those_of_one() {
        let path = format!("{}/scenarios/attach-stuck.toml", env!("CARGO_MANIFEST_DIR"));
        let scenario = crate::scenario::load_file(&path).expect("a shipped scenario loads");
        let (run, _) = crate::execute(&scenario, &RunOptions::default());
        let log = run.store.log();
        let mut one = Lines::new(Vec::new());
        for rec in log {
            one.push_record(&rec);
        }
        let one = one.finish().unwrap();
        let n = log.len();
        assert!(n > 40, "a log of some length: {n}");
        for piece in [1, 2, 7, n / 2, n - 1, n, n + 5] {
            let mut two = Lines::new(Vec::new());
            write_records_in(&mut two, log, |make, take| {
                crate::report::pieces::run(n, piece, true, make, take)
            });
            assert!(two.finish().unwrap() == one, "piece of {piece} records");
        }
    }

    /// The typed lines print exactly what the JSON trees of [`record`] do,
    /// for runs with failed and timed-out calls, warnings, snapshots and
    /// every kind of object.
    #[test]
    fn typed_lines_are_the_bytes_of_the_json_trees() {
        let mut seen = [0usize; 3];
        for file in [
            "scenarios/provisioning-capacity-exhausted.toml",
            "scenarios/provisioning-timeout.toml",
            "scenarios/attach-stuck.toml",
            "scenarios/snapshot-restore.toml",
        ] {
            let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
            let scenario = crate::scenario::load_file(&path).expect("a shipped scenario loads");
            let (run, _) = crate::execute(&scenario, &RunOptions::default());
            for rec in run.store.log() {
                let typed = match &rec {
                    Record::Change(c) => serde_json::to_string(&ChangeLine::of(c)),
                    Record::Event(e) => serde_json::to_string(&EventLine::of(e)),
                    Record::Operation(o) => serde_json::to_string(&OperationLine::of(o)),
                    _ => continue,
                }
                .expect("json");
                let i = match rec {
                    Record::Change(_) => 0,
                    Record::Event(_) => 1,
                    _ => 2,
                };
                seen[i] += 1;
                assert_eq!(typed, tree(&rec).to_string(), "{file}");
            }
        }
        assert!(
            seen.iter().all(|&n| n > 10),
            "every kind was compared: {seen:?}"
        );
    }
}
