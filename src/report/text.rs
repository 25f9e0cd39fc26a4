//! The human report.

use super::sink::Sink;
use super::{Report, STORSIM_VERSION};
use crate::api::{Kind, ObjectRef};
use crate::cluster::{Log, Record};
use crate::simulation::EndReason;
use std::fmt::Write;
use timeline::padded;

mod timeline;

/// Renders the whole human report.
pub fn render(r: &Report<'_>) -> String {
    let mut out = Out::new(Vec::new());
    write_report(r, &mut out);
    out.into_string()
}

/// The whole human report, written to `w` as it is made.
pub fn write(r: &Report<'_>, w: &mut (impl std::io::Write + ?Sized)) -> std::io::Result<()> {
    let mut out = Out::new(w);
    write_report(r, &mut out);
    out.finish().map(|_| ())
}

fn write_report<W: std::io::Write>(r: &Report<'_>, o: &mut Out<W>) {
    let out = &mut o.buf;
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
    let events = timeline::write(r.run.store.log(), |_| true, o);
    o.buf.push_str("\nEVENTS\n");
    write_events_table(events, o);
    let out = &mut o.buf;
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
}

/// A report being written: made in a buffer that goes to the writer
/// whenever it holds [`FLUSH_AT`] bytes, so a long report is never held
/// whole.
struct Out<W: std::io::Write> {
    buf: String,
    w: Sink<W>,
}

/// How much [`Out`] gathers before it writes.
const FLUSH_AT: usize = 1 << 16;

impl<W: std::io::Write> Out<W> {
    fn new(w: W) -> Self {
        Out {
            buf: String::with_capacity(FLUSH_AT + 4096),
            w: Sink::new(w),
        }
    }

    /// After each line: writes what was gathered once it is enough.
    fn line_done(&mut self) {
        if self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Lines made elsewhere (a piece of the timeline): written as they
    /// are, after what was gathered, not copied into the buffer first.
    fn push_whole(&mut self, text: &str) {
        self.flush();
        self.w.write(text.as_bytes());
    }

    fn flush(&mut self) {
        self.w.write(self.buf.as_bytes());
        self.buf.clear();
    }

    /// Everything written, or the first error.
    fn finish(mut self) -> std::io::Result<W> {
        self.flush();
        self.w.finish()
    }
}

impl Out<Vec<u8>> {
    fn into_string(self) -> String {
        let bytes = self.finish().expect("writing to memory cannot fail");
        String::from_utf8(bytes).expect("the lines were made as strings")
    }
}

/// `kubectl get events`-style table: one row per Event with its count, first
/// and last time, ordered by last time.
fn write_events_table<W: std::io::Write>(last: timeline::LastEvents, out: &mut Out<W>) {
    let mut rows = last.into_rows();
    if rows.is_empty() {
        out.buf.push_str("(no events)\n");
        return;
    }
    rows.sort_by_key(|e| (e.t, e.seq));
    let _ = writeln!(
        out.buf,
        "{:<11} {:<11} {:<6} {:<8} {:<22} {:<40} {:<28} MESSAGE",
        "FIRST SEEN", "LAST SEEN", "COUNT", "TYPE", "REASON", "OBJECT", "SOURCE"
    );
    for e in rows {
        let buf = &mut out.buf;
        padded(buf, 11, e.first_seen);
        padded(buf, 11, e.t);
        let _ = write!(buf, "{:<6} {:<8} ", e.count, e.kind.as_str());
        padded(buf, 22, e.reason);
        padded(buf, 40, &e.object);
        let _ = writeln!(buf, "{:<28} {}", e.source, e.message);
        out.line_done();
    }
}

/// `kubectl get -w` for one kind, or one object: only the lines of its
/// writes, as the timeline prints them, written to `w` as they are made.
pub fn write_watch(
    log: &Log,
    kind: Kind,
    object: Option<&ObjectRef>,
    w: &mut (impl std::io::Write + ?Sized),
) -> std::io::Result<()> {
    let mut out = Out::new(w);
    let watched = |r: &Record| match r {
        Record::Change(c) => c.object.kind == kind && object.is_none_or(|o| *o == c.object),
        _ => false,
    };
    timeline::write(log, watched, &mut out);
    out.finish().map(|_| ())
}
