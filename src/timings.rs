//! Where a run's wall-clock time went, per kind of queue event and per
//! component: `storsim run --timings`. Wall time is not simulated time and
//! differs from run to run, so the table goes to standard error only; it is
//! never part of a result, and a run's outputs are the same with it or
//! without it. The counts in it are deterministic; the times are not.
//!
//! Why it exists: the cost of a large scenario is spread over every
//! controller (no function takes more than a few per cent of a fleet's
//! time), and which component grows faster than the cluster shows only
//! when the same table is taken at two sizes.

use crate::api::Kind;
use std::collections::BTreeMap;

/// What one queue event was, as the table groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// A scenario action.
    Action,
    /// A watch event of `kind` reaching process `process`.
    Deliver {
        /// The process (index in the run's process list).
        process: usize,
        /// The object's kind.
        kind: Kind,
    },
    /// Controller `.0` woke up (its queue or timer was due).
    Wake(usize),
    /// A backend call of controller `.0` completed.
    Reply(usize),
    /// A call of controller `.0` timed out.
    Timeout(usize),
}

/// The events of one [`Slot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// How many were handled.
    pub events: u64,
    /// Wall time in them, in nanoseconds: the handlers, the watch fan-out
    /// of what they wrote and the rescheduling of wake-ups.
    pub nanos: u64,
    /// How many of them wrote nothing to the API server, recorded nothing
    /// (no Event, no call) and started no backend call.
    pub idle: u64,
    /// Of `nanos`, the time in the idle ones.
    pub idle_nanos: u64,
}

/// The rows of a run while it goes on.
#[derive(Default)]
pub struct Recorder {
    rows: BTreeMap<Slot, Row>,
}

impl Recorder {
    /// Counts one event of `slot` that took `nanos` and had an effect or not.
    pub fn add(&mut self, slot: Slot, nanos: u64, had_effect: bool) {
        let row = self.rows.entry(slot).or_default();
        row.events += 1;
        row.nanos += nanos;
        if !had_effect {
            row.idle += 1;
            row.idle_nanos += nanos;
        }
    }

    /// The finished table, each slot named by `name`.
    pub fn finish(self, name: impl Fn(Slot) -> String) -> Timings {
        Timings {
            rows: self.rows.into_iter().map(|(s, r)| (name(s), r)).collect(),
        }
    }
}

/// A run's table: one named row per kind of event and component.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    /// (what, row), in slot order.
    pub rows: Vec<(String, Row)>,
}

impl Timings {
    /// Every row added up.
    pub fn total(&self) -> Row {
        self.rows.iter().fold(Row::default(), |a, (_, r)| Row {
            events: a.events + r.events,
            nanos: a.nanos + r.nanos,
            idle: a.idle + r.idle,
            idle_nanos: a.idle_nanos + r.idle_nanos,
        })
    }

    /// The table as text, most time first (ties by name, so that the
    /// order of equal rows does not move).
    pub fn render(&self) -> String {
        let total = self.total();
        let mut rows: Vec<&(String, Row)> = self.rows.iter().collect();
        rows.sort_by(|a, b| b.1.nanos.cmp(&a.1.nanos).then_with(|| a.0.cmp(&b.0)));
        let share = |n: u64| 100.0 * n as f64 / total.nanos.max(1) as f64;
        let mut out = String::from(
            "timings (wall clock, not simulated time; in no result):\n  \
             share     events   µs/event  idle  idle time  what\n",
        );
        let mut line = |what: &str, r: &Row| {
            out.push_str(&format!(
                "{:>6.1} % {:>10} {:>10.2} {:>4.0} % {:>8.0} %  {what}\n",
                share(r.nanos),
                r.events,
                r.nanos as f64 / 1e3 / r.events.max(1) as f64,
                100.0 * r.idle as f64 / r.events.max(1) as f64,
                100.0 * r.idle_nanos as f64 / r.nanos.max(1) as f64,
            ));
        };
        for (what, r) in rows {
            line(what, r);
        }
        line("all handled events", &total);
        out.push_str(
            "  idle: wrote nothing, recorded nothing, started no backend call \
             (a reply always records its call's end); idle time: the row's \
             time spent in those\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_add_up_and_the_costliest_comes_first() {
        let mut r = Recorder::default();
        r.add(Slot::Wake(1), 3_000, true);
        r.add(Slot::Wake(1), 1_000, false);
        r.add(
            Slot::Deliver {
                process: 0,
                kind: Kind::Pod,
            },
            6_000,
            false,
        );
        let t = r.finish(|s| format!("{s:?}"));
        assert_eq!(
            t.total(),
            Row {
                events: 3,
                nanos: 10_000,
                idle: 2,
                idle_nanos: 7_000,
            }
        );
        let text = t.render();
        let deliver = text.find("Deliver").expect("a delivery row");
        let wake = text.find("Wake(1)").expect("a wake row");
        assert!(deliver < wake, "the row with most time first:\n{text}");
        assert!(
            text.contains("  60.0 %          1       6.00  100 %      100 %  Deliver"),
            "{text}"
        );
        assert!(
            text.contains("  40.0 %          2       2.00   50 %       25 %  Wake(1)"),
            "{text}"
        );
        assert!(
            text.contains(" 100.0 %          3       3.33   67 %       70 %  all handled events"),
            "{text}"
        );
    }
}
