//! The human report.

use super::{Report, STORSIM_VERSION};
use crate::api::Kind;
use crate::cluster::log::Text;
use crate::cluster::{CallPhase, ChangeOp, EventRecord, Log, Record};
use crate::engine::SimTime;
use crate::simulation::EndReason;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Renders the whole human report.
pub fn render(r: &Report<'_>) -> String {
    let mut out = String::new();
    let s = r.scenario;
    let _ = writeln!(
        out,
        "storsim {STORSIM_VERSION} · scenario {} · seed {} · profile {}",
        s.name, r.run.seed, r.run.profile
    );
    let zones: Vec<&str> = {
        let mut z: Vec<&str> = s.nodes.iter().filter_map(|n| n.zone()).collect();
        z.sort();
        z.dedup();
        z
    };
    let _ = writeln!(
        out,
        "cluster: {} node(s){}; storage classes: {}",
        s.nodes.len(),
        if zones.is_empty() {
            String::new()
        } else {
            format!(" in {}", zones.join(", "))
        },
        if s.classes.is_empty() {
            "none".to_string()
        } else {
            s.classes
                .iter()
                .map(|c| c.metadata.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    out.push_str("\nTIMELINE\n");
    out.push_str(&timeline(r.run.store.log()));
    out.push_str("\nEVENTS\n");
    out.push_str(&events_table(r.run.store.log()));
    let rows = r.reference_rows();
    if !rows.is_empty() {
        out.push_str("\nREFERENCE DOCUMENT vs THIS RUN\n");
        let _ = writeln!(
            out,
            "{:<8} {:<11} {:<9} {:<9} LINE",
            "DOC", "RUN", "DELTA", "VERDICT"
        );
        for row in rows {
            let doc = row
                .line
                .time
                .map(|t| format!("T+{t}"))
                .unwrap_or_else(|| "-".into());
            let run = row
                .run
                .map(|t| t.offset_label())
                .unwrap_or_else(|| "-".into());
            let delta = row
                .delta_ms
                .map(|d| format!("{:+.3}s", d as f64 / 1000.0))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{doc:<8} {run:<11} {delta:<9} {:<9} {}",
                row.verdict, row.line.doc
            );
            if let Some(why) = &row.line.diverges {
                let _ = writeln!(out, "{:<40}  why: {why}", "");
            }
        }
    }
    let bill = r.bill();
    if !bill.volumes.is_empty() {
        let _ = writeln!(out, "\nCOST PER MONTH ({})", bill.source);
        let _ = writeln!(
            out,
            "{:<44} {:<34} {:<6} {:>8} {:>10}  USE",
            "VOLUME", "CLAIM", "TYPE", "GiB", "$/MONTH"
        );
        for v in &bill.volumes {
            let price = v
                .monthly
                .map_or_else(|| "no price".to_string(), |m| format!("{m:.2}"));
            let _ = writeln!(
                out,
                "{:<44} {:<34} {:<6} {:>8} {:>10}  {}",
                v.pv,
                if v.claim.is_empty() { "-" } else { &v.claim },
                v.volume_type,
                format!("{:.0}", v.gib),
                price,
                v.usage.as_str()
            );
        }
        let _ = writeln!(
            out,
            "total ${:.2}/month; ${:.2}/month for {} orphaned claim(s) no pod uses",
            bill.total(),
            bill.orphaned(),
            bill.orphaned_claims()
        );
    }
    if !r.results.is_empty() {
        out.push_str("\nEXPECTATIONS\n");
        for e in r.results {
            let _ = writeln!(
                out,
                "{}  {}\n      {}",
                e.outcome.as_str(),
                e.title,
                e.detail
            );
        }
    }
    out.push('\n');
    let (pass, fail, skip) = r.tally();
    let end = match &r.run.end {
        EndReason::ReachedEnd => format!("reached its end at {}", r.run.end_time),
        EndReason::Settled => format!("settled at {} (nothing left to do)", r.run.end_time),
        EndReason::Invariant(v) => format!("was STOPPED: {v}"),
        EndReason::Bound { what, pending } => {
            let mut s = format!("was STOPPED at {}: {what}. Still pending:", r.run.end_time);
            for p in pending {
                s.push_str(&format!("\n  - {p}"));
            }
            s
        }
    };
    let _ = writeln!(out, "The run {end}");
    let _ = writeln!(
        out,
        "expectations: {pass} passed, {fail} failed{} · exit code {}",
        if skip > 0 {
            format!(", {skip} skipped")
        } else {
            String::new()
        },
        r.exit_code()
    );
    out
}

/// One line per observable change, Event and action, in order. The cluster
/// set-up at T+0 (nodes, storage classes) is summarised in the header.
pub fn timeline(log: impl IntoIterator<Item = Record>) -> String {
    let mut out = String::new();
    // What each object's last printed line showed: a write that changes
    // nothing visible (node volumesInUse, a finalizer) is not printed; the
    // JSON Lines output keeps every write.
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    for rec in log {
        match rec {
            Record::Change(c) => {
                if c.t == SimTime::ZERO
                    && c.op == ChangeOp::Added
                    && matches!(c.object.kind, Kind::Node | Kind::StorageClass)
                {
                    continue;
                }
                let status = match c.op {
                    ChangeOp::Deleted => "(deleted)".to_string(),
                    _ => c
                        .phase
                        .map_or_else(|| c.op.as_str().to_string(), |p| p.to_string()),
                };
                let cols = crate::api::columns_text(&c.columns);
                let visible = format!("{status} {cols}");
                if c.op == ChangeOp::Modified && shown.get(&c.object.to_string()) == Some(&visible)
                {
                    continue;
                }
                shown.insert(c.object.to_string(), visible);
                let line = format!(
                    "{:<10}  {:<44} {:<11} {}",
                    c.t.offset_label(),
                    c.object.to_string(),
                    status,
                    cols
                );
                let _ = writeln!(out, "{}", line.trim_end());
            }
            Record::Event(e) => {
                let count = if e.count > 1 {
                    format!(" (x{})", e.count)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{:<10}  {:<44} {:<11} {}: {}{count}",
                    e.t.offset_label(),
                    e.object.to_string(),
                    e.kind.as_str(),
                    e.reason,
                    e.message
                );
            }
            Record::Dns(d) => {
                let status = if d.resolves { "resolves" } else { "gone" };
                let _ = writeln!(
                    out,
                    "{:<10}  {:<44} {status}",
                    d.t.offset_label(),
                    format!("dns {}", d.name)
                );
            }
            Record::Operation(o) => {
                let (status, detail) = match (&o.phase, &o.result) {
                    (CallPhase::Start, _) => {
                        ("started", format!("attempt {} by {}", o.attempt, o.caller))
                    }
                    (CallPhase::Timeout, _) => (
                        "timed out",
                        "the caller stopped waiting; the call goes on".to_string(),
                    ),
                    (CallPhase::End, Some(Ok(r))) => ("ok", r.to_string()),
                    (CallPhase::End, Some(Err(e))) => ("failed", e.to_string()),
                    (CallPhase::End, None) => ("ended", String::new()),
                };
                let what = format!("{} {}", o.op.csi_name(), o.target);
                let line = format!(
                    "{:<10}  {:<44} {:<11} {detail}",
                    o.t.offset_label(),
                    what,
                    status
                );
                let _ = writeln!(out, "{}", line.trim_end());
            }
            Record::Action(a) => {
                let label = a
                    .label
                    .as_ref()
                    .map(|l| format!("  [{l}]"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{:<10}  {:<44} {}{label}",
                    a.t.offset_label(),
                    "action",
                    a.description
                );
            }
        }
    }
    out
}

/// `kubectl get events`-style table: one row per Event with its count, first
/// and last time, ordered by last time.
pub fn events_table(log: &Log) -> String {
    let mut last: BTreeMap<(String, &str, &str, Text), EventRecord> = BTreeMap::new();
    for rec in log {
        if let Record::Event(e) = rec {
            last.insert(
                (
                    e.object.to_string(),
                    e.kind.as_str(),
                    e.reason.as_str(),
                    e.message.clone(),
                ),
                e,
            );
        }
    }
    if last.is_empty() {
        return "(no events)\n".into();
    }
    let mut rows: Vec<EventRecord> = last.into_values().collect();
    rows.sort_by_key(|e| (e.t, e.seq));
    let mut out = format!(
        "{:<11} {:<11} {:<6} {:<8} {:<22} {:<40} {:<28} {}\n",
        "FIRST SEEN", "LAST SEEN", "COUNT", "TYPE", "REASON", "OBJECT", "SOURCE", "MESSAGE"
    );
    for e in rows {
        let _ = writeln!(
            out,
            "{:<11} {:<11} {:<6} {:<8} {:<22} {:<40} {:<28} {}",
            e.first_seen.offset_label(),
            e.t.offset_label(),
            e.count,
            e.kind.as_str(),
            e.reason,
            e.object.to_string(),
            e.source,
            e.message
        );
    }
    out
}

/// `kubectl get -w` for one kind, or one object: only the lines of its
/// writes, as the timeline prints them.
pub fn watch(log: &Log, kind: Kind, object: Option<&crate::api::ObjectRef>) -> String {
    timeline(log.iter().filter(|r| match r {
        Record::Change(c) => c.object.kind == kind && object.is_none_or(|o| *o == c.object),
        _ => false,
    }))
}
