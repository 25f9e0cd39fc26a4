//! The human timeline: one line per observable change, Event, call and
//! action, in order. A fleet's timeline is close to a million lines, so it
//! is made in pieces ([`crate::report::pieces`]), on two cores, and each
//! line is written into its piece's one string, with no string of its own.
//!
//! A write that changes nothing visible (node volumesInUse, a finalizer)
//! is not printed; the JSON Lines output keeps every write. Whether an
//! object's first modification in a piece shows anything new depends on
//! what the pieces before it showed last, so a piece marks those lines
//! and the pieces are joined, in order, against what was shown.

use super::Out;
use crate::api::{Kind, ObjectRef};
use crate::cluster::{CallPhase, ChangeOp, EventRecord, Log, Record};
use crate::engine::SimTime;
use crate::report::pieces;
use rustc_hash::FxHashMap;
use std::fmt::Write;
use std::hash::BuildHasher;
use std::ops::Range;

/// The widths of a timeline line's first columns: time, object, status.
const TIME: usize = 10;
const OBJECT: usize = 44;
const STATUS: usize = 11;

/// Each Event's last emission, by object, type, reason and message: the
/// rows of the Events table. The rows are indexed where they lie, so an
/// Event's fields are kept once, not again as its key.
#[derive(Default)]
pub struct LastEvents {
    rows: Vec<EventRecord>,
    /// Row numbers, by the hash of the row's Event.
    index: hashbrown::HashTable<usize>,
}

impl LastEvents {
    /// `e` replaces the last emission of the same Event, or is a new row.
    fn insert(&mut self, e: EventRecord) {
        let hash = |e: &EventRecord| {
            rustc_hash::FxBuildHasher.hash_one((&e.object, e.kind, e.reason, &e.message))
        };
        let same = |a: &EventRecord, b: &EventRecord| {
            a.object == b.object
                && a.kind == b.kind
                && a.reason == b.reason
                && a.message == b.message
        };
        let rows = &mut self.rows;
        match self
            .index
            .entry(hash(&e), |&i| same(&rows[i], &e), |&i| hash(&rows[i]))
        {
            hashbrown::hash_table::Entry::Occupied(o) => rows[*o.get()] = e,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(rows.len());
                rows.push(e);
            }
        }
    }

    /// The rows, in the order their Events were first seen.
    pub fn into_rows(self) -> Vec<EventRecord> {
        self.rows
    }
}

/// Writes the timeline of the log's records that `keep` lets through to
/// `out`; returns the Events seen.
pub fn write<W: std::io::Write>(
    log: &Log,
    keep: impl Fn(&Record) -> bool + Sync,
    out: &mut Out<W>,
) -> LastEvents {
    write_in(log, keep, out, |make, take| {
        pieces::in_order(log, pieces::PIECE, make, take)
    })
}

/// [`write`], with the pieces cut and ordered by `split`.
fn write_in<W: std::io::Write>(
    log: &Log,
    keep: impl Fn(&Record) -> bool + Sync,
    out: &mut Out<W>,
    split: impl FnOnce(&(dyn Fn(Range<usize>) -> Piece + Sync), &mut dyn FnMut(Piece) -> bool),
) -> LastEvents {
    let make = |r: Range<usize>| Piece::of(log.since(r.start).take(r.len()).filter(&keep));
    let mut joined = Joined::default();
    split(&make, &mut |p| {
        joined.take(p, out);
        out.w.ok()
    });
    joined.events
}

/// A piece of the timeline, made without knowing what came before it.
#[derive(Default)]
pub struct Piece {
    /// Its lines.
    text: String,
    /// The lines of objects' first modifications in the piece, with what
    /// each shows: dropped at the join if that is what was shown last.
    unsure: Vec<(Range<usize>, ObjectRef, String)>,
    /// What each object's last write in the piece shows.
    shown: FxHashMap<ObjectRef, String>,
    /// The piece's Events, in order.
    events: Vec<EventRecord>,
}

impl Piece {
    fn of(records: impl Iterator<Item = Record>) -> Piece {
        let mut p = Piece::default();
        let mut visible = String::new();
        for rec in records {
            let buf = &mut p.text;
            let line = buf.len();
            match rec {
                Record::Change(c) => {
                    if c.t == SimTime::ZERO
                        && c.op == ChangeOp::Added
                        && matches!(c.object.kind, Kind::Node | Kind::StorageClass)
                    {
                        continue;
                    }
                    let status = match (c.op, &c.phase) {
                        (ChangeOp::Deleted, _) => "(deleted)",
                        (_, Some(p)) => p.as_str(),
                        (op, None) => op.as_str(),
                    };
                    visible.clear();
                    visible.push_str(status);
                    visible.push(' ');
                    crate::api::write_columns(&mut visible, &c.columns);
                    let unsure = match p.shown.get_mut(&c.object) {
                        Some(last) => {
                            if c.op == ChangeOp::Modified && *last == visible {
                                continue;
                            }
                            last.clone_from(&visible);
                            false
                        }
                        None => {
                            p.shown.insert(c.object.clone(), visible.clone());
                            c.op == ChangeOp::Modified
                        }
                    };
                    time(buf, c.t);
                    padded(buf, OBJECT, &c.object);
                    padded(buf, STATUS, status);
                    buf.push_str(&visible[status.len() + 1..]);
                    trim_line(buf, line);
                    if unsure {
                        p.unsure.push((line..buf.len(), c.object, visible.clone()));
                    }
                }
                Record::Event(e) => {
                    time(buf, e.t);
                    padded(buf, OBJECT, &e.object);
                    padded(buf, STATUS, e.kind.as_str());
                    let _ = write!(buf, "{}: {}", e.reason, e.message);
                    if e.count > 1 {
                        let _ = write!(buf, " (x{})", e.count);
                    }
                    buf.push('\n');
                    p.events.push(e);
                }
                Record::Dns(d) => {
                    time(buf, d.t);
                    padded(buf, OBJECT, format_args!("dns {}", d.name));
                    buf.push_str(if d.resolves { "resolves" } else { "gone" });
                    buf.push('\n');
                }
                Record::Operation(o) => {
                    time(buf, o.t);
                    padded(
                        buf,
                        OBJECT,
                        format_args!("{} {}", o.op.csi_name(), o.target),
                    );
                    let status = match (&o.phase, &o.result) {
                        (CallPhase::Start, _) => "started",
                        (CallPhase::Timeout, _) => "timed out",
                        (CallPhase::End, Some(Ok(_))) => "ok",
                        (CallPhase::End, Some(Err(_))) => "failed",
                        (CallPhase::End, None) => "ended",
                    };
                    padded(buf, STATUS, status);
                    let _ = match (&o.phase, &o.result) {
                        (CallPhase::Start, _) => {
                            write!(buf, "attempt {} by {}", o.attempt, o.caller)
                        }
                        (CallPhase::Timeout, _) => {
                            write!(buf, "the caller stopped waiting; the call goes on")
                        }
                        (CallPhase::End, Some(Ok(r) | Err(r))) => write!(buf, "{r}"),
                        (CallPhase::End, None) => Ok(()),
                    };
                    trim_line(buf, line);
                }
                Record::Action(a) => {
                    time(buf, a.t);
                    padded(buf, OBJECT, "action");
                    buf.push_str(&a.description);
                    if let Some(l) = &a.label {
                        let _ = write!(buf, "  [{l}]");
                    }
                    buf.push('\n');
                }
            }
        }
        p
    }
}

/// The pieces joined so far: what each object's last write showed, and
/// the Events.
#[derive(Default)]
struct Joined {
    shown: FxHashMap<ObjectRef, String>,
    events: LastEvents,
}

impl Joined {
    /// Writes the next piece's lines, but for the modifications that show
    /// what the pieces before it showed last.
    fn take<W: std::io::Write>(&mut self, p: Piece, out: &mut Out<W>) {
        let mut from = 0;
        for (line, object, visible) in &p.unsure {
            if self.shown.get(object) == Some(visible) {
                out.push_whole(&p.text[from..line.start]);
                from = line.end;
            }
        }
        out.push_whole(&p.text[from..]);
        self.shown.extend(p.shown);
        for e in p.events {
            self.events.insert(e);
        }
    }
}

/// A line's time column and the two spaces after it.
fn time(buf: &mut String, t: SimTime) {
    padded(buf, TIME, t);
    buf.push(' ');
}

/// `fill`, then spaces up to `width` characters (as `{:<width}` pads),
/// then the one space between columns.
pub(super) fn padded(buf: &mut String, width: usize, fill: impl std::fmt::Display) {
    let start = buf.len();
    let _ = write!(buf, "{fill}");
    let written = &buf[start..];
    let n = if written.is_ascii() {
        written.len()
    } else {
        written.chars().count()
    };
    buf.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    buf.push(' ');
}

/// Ends the line that begins at `start` without its trailing blanks (an
/// empty last column leaves its padding behind).
fn trim_line(buf: &mut String, start: usize) {
    let kept = buf[start..].trim_end().len();
    buf.truncate(start + kept);
    buf.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::generate::Fleet;
    use crate::simulation::RunOptions;

    /// The timeline made in pieces on two threads is the one made in one
    /// piece, whatever the pieces' size (one record each: every object's
    /// first modification in a piece is decided at the join), with the
    /// same Events; and writes that show nothing new are left out.
    #[test]
    fn a_timeline_made_in_pieces_is_the_one_made_whole() {
        let text = Fleet {
            statefulsets: 2,
            replicas: 3,
            zones: 3,
            nodes_per_zone: None,
            seed: 1,
        }
        .scenario();
        let scenario = crate::scenario::load_str("fleet.toml", &text).expect("a fleet loads");
        let (run, _) = crate::execute(&scenario, &RunOptions::default());
        let log = run.store.log();
        let n = log.len();
        let made = |piece: usize, two: bool| {
            let mut out = Out::new(Vec::new());
            let events = write_in(
                log,
                |_| true,
                &mut out,
                |make, take| pieces::run(n, piece, two, make, take),
            );
            let events: Vec<(u64, u32)> = events
                .into_rows()
                .iter()
                .map(|e| (e.seq, e.count))
                .collect();
            (out.into_string(), events)
        };
        let (whole, events) = made(n, false);
        // Pod writes against pod lines that are not Events.
        let changes = log
            .iter()
            .filter(|r| matches!(r, Record::Change(c) if c.object.kind == Kind::Pod))
            .count();
        let change_lines = whole
            .lines()
            .filter(|l| l[12..].starts_with("Pod/"))
            .filter(|l| !l[57..].starts_with("Normal ") && !l[57..].starts_with("Warning "))
            .count();
        assert!(
            change_lines > 0 && change_lines < changes,
            "some writes show nothing new: {change_lines} lines, {changes} changes"
        );
        assert!(!events.is_empty());
        for piece in [1, 2, 7, 100, n / 2, n - 1, n + 5] {
            let (pieces, e) = made(piece, true);
            assert!(pieces == whole, "pieces of {piece} records");
            assert_eq!(e, events, "pieces of {piece} records");
        }
    }
}
