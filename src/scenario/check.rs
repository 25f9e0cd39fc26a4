//! Checking expectations against what a run recorded.

use super::model::{Check, Expectation, ObjectMoment, Occurrence, Timing, Tracker, column_matches};
use crate::cluster::{Log, Record, Store};
use crate::engine::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// How an expectation came out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Met.
    Pass,
    /// Not met.
    Fail,
    /// It happened, but its timing was not checked: the run used another
    /// profile or seed than the scenario's own.
    TimingSkipped,
}

impl Outcome {
    /// `PASS`, `FAIL`, `SKIP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::TimingSkipped => "SKIP",
        }
    }
}

/// The result of one expectation.
#[derive(Clone, Debug)]
pub struct ExpectationResult {
    /// The expectation's title.
    pub title: String,
    /// Outcome.
    pub outcome: Outcome,
    /// What was observed.
    pub detail: String,
    /// When the checked occurrence happened, if it did.
    pub at: Option<SimTime>,
}

/// What a run leaves for checking.
pub struct RunView<'a> {
    /// Every record.
    pub log: &'a Log,
    /// The final state.
    pub store: &'a Store,
    /// When each labelled action ran.
    pub labels: &'a BTreeMap<String, SimTime>,
    /// False when the command line changed the profile or seed.
    pub check_timing: bool,
    /// The month's bill for the disks left at the end.
    pub bill: &'a crate::backend::bill::Bill,
}

/// First (n-th) time `occ` happens in `log`: (time, seq).
pub fn first_time(occ: &Occurrence, log: &Log) -> Option<(SimTime, u64)> {
    first_time_from(occ, log, SimTime::ZERO)
}

/// First (n-th) time `occ` happens at or after `from`.
pub fn first_time_from(occ: &Occurrence, log: &Log, from: SimTime) -> Option<(SimTime, u64)> {
    let mut t = Tracker::starting_at(occ.clone(), from);
    log.iter().find(|r| t.observe(r)).map(|r| (r.t(), r.seq()))
}

/// Checks every expectation.
pub fn check_all(expectations: &[Expectation], run: &RunView<'_>) -> Vec<ExpectationResult> {
    expectations.iter().map(|e| check_one(e, run)).collect()
}

fn result(title: &str, outcome: Outcome, detail: String, at: Option<SimTime>) -> ExpectationResult {
    ExpectationResult {
        title: title.to_string(),
        outcome,
        detail,
        at,
    }
}

fn check_one(e: &Expectation, run: &RunView<'_>) -> ExpectationResult {
    let title = e.title.as_str();
    match &e.check {
        Check::Happens(occ, timing) => {
            let origin = match &timing.from {
                None => SimTime::ZERO,
                Some(label) => match run.labels.get(label) {
                    Some(o) => *o,
                    None => {
                        let detail = format!("label `{label}` never ran");
                        return result(title, Outcome::Fail, detail, None);
                    }
                },
            };
            match first_time_from(occ, run.log, origin) {
                // A timed expectation belongs to the scenario's own seed and
                // profile: under others it is skipped whole, whether or not
                // its occurrence happened.
                None if timing.is_timed() && !run.check_timing => result(
                    title,
                    Outcome::TimingSkipped,
                    format!(
                        "{} (timing not checked with this seed/profile)",
                        never_detail(occ, run)
                    ),
                    None,
                ),
                None => result(title, Outcome::Fail, never_detail(occ, run), None),
                Some((t, _)) => check_timing(title, t, origin, timing, run),
            }
        }
        Check::Never(occ) => match first_time(occ, run.log) {
            None => result(title, Outcome::Pass, "did not happen".into(), None),
            Some((t, _)) => result(title, Outcome::Fail, format!("happened at {t}"), Some(t)),
        },
        Check::Before(a, b) => match (first_time(a, run.log), first_time(b, run.log)) {
            (Some(ta), Some(tb)) if ta < tb => result(
                title,
                Outcome::Pass,
                format!("{} then {}", ta.0, tb.0),
                Some(ta.0),
            ),
            (Some(ta), Some(tb)) => result(
                title,
                Outcome::Fail,
                format!("the second happened first: {} vs {}", tb.0, ta.0),
                Some(ta.0),
            ),
            (None, _) => result(title, Outcome::Fail, format!("never happened: {a}"), None),
            (_, None) => result(title, Outcome::Fail, format!("never happened: {b}"), None),
        },
        Check::AtEnd(occ) => {
            let (ok, detail) = holds_at_end(occ, run);
            result(
                title,
                if ok { Outcome::Pass } else { Outcome::Fail },
                detail,
                None,
            )
        }
        Check::Cost {
            total_month,
            orphaned_month,
            orphaned_claims,
        } => {
            // To the cent: prices are per month, sizes whole GiB.
            let cents = |a: f64, b: f64| (a - b).abs() < 0.005;
            let bill = run.bill;
            let ok = total_month.is_none_or(|t| cents(t, bill.total()))
                && orphaned_month.is_none_or(|o| cents(o, bill.orphaned()))
                && orphaned_claims.is_none_or(|n| n == bill.orphaned_claims());
            let detail = format!(
                "at end: ${:.2}/month in all, ${:.2}/month for {} orphaned claim(s)",
                bill.total(),
                bill.orphaned(),
                bill.orphaned_claims()
            );
            result(
                title,
                if ok { Outcome::Pass } else { Outcome::Fail },
                detail,
                None,
            )
        }
    }
}

fn check_timing(
    title: &str,
    t: SimTime,
    origin: SimTime,
    timing: &Timing,
    run: &RunView<'_>,
) -> ExpectationResult {
    let from = timing
        .from
        .as_ref()
        .map(|l| format!(" ({} after {l})", rel_label(t, origin)))
        .unwrap_or_default();
    let seen = format!("happened at {t}{from}");
    if !timing.is_timed() {
        return result(title, Outcome::Pass, seen, Some(t));
    }
    if !run.check_timing {
        return result(
            title,
            Outcome::TimingSkipped,
            format!("{seen}; timing not checked (profile or seed overridden)"),
            Some(t),
        );
    }
    let rel = t.as_millis() as i128 - origin.as_millis() as i128;
    let ms = |d: SimDuration| d.as_millis() as i128;
    if let Some((at, tol)) = timing.at
        && (rel - ms(at)).abs() > ms(tol)
    {
        return result(
            title,
            Outcome::Fail,
            format!("{seen}, expected at {at} ±{tol}"),
            Some(t),
        );
    }
    if let Some(by) = timing.by
        && rel > ms(by)
    {
        return result(
            title,
            Outcome::Fail,
            format!("{seen}, expected by {by}"),
            Some(t),
        );
    }
    if let Some(after) = timing.after
        && rel < ms(after)
    {
        return result(
            title,
            Outcome::Fail,
            format!("{seen}, expected no earlier than {after}"),
            Some(t),
        );
    }
    result(title, Outcome::Pass, seen, Some(t))
}

fn rel_label(t: SimTime, origin: SimTime) -> String {
    if t >= origin {
        format!("+{}", t.since(origin))
    } else {
        format!("-{}", origin.since(t))
    }
}

fn never_detail(occ: &Occurrence, run: &RunView<'_>) -> String {
    if let Occurrence::Object { object, .. } = occ {
        let last = run.log.iter().rev().find_map(|r| match r {
            Record::Change(c) if &c.object == object => Some(c),
            _ => None,
        });
        if let Some(c) = last {
            return format!(
                "never happened; {object} last changed at {} ({})",
                c.t,
                if c.op == crate::cluster::ChangeOp::Deleted {
                    "deleted".to_string()
                } else {
                    c.phase.map(|p| p.to_string()).unwrap_or_default()
                }
            );
        }
        return format!("never happened; {object} never existed");
    }
    "never happened".into()
}

fn holds_at_end(occ: &Occurrence, run: &RunView<'_>) -> (bool, String) {
    match occ {
        Occurrence::Object {
            object,
            moment,
            shows,
            ..
        } => {
            let obj = run.store.get_any(object);
            let columns = obj.as_ref().map(|o| o.columns()).unwrap_or_default();
            let showing = shows.iter().all(|(k, v)| column_matches(&columns, k, v));
            let state = obj
                .as_ref()
                .map(|o| {
                    let cols = crate::api::columns_text(&o.columns());
                    let phase = o.phase().unwrap_or_else(|| "present".into());
                    format!("{object} is {phase} {cols}").trim_end().to_string()
                })
                .unwrap_or_else(|| format!("{object} does not exist"));
            let ok = match (moment, &obj) {
                (ObjectMoment::Deleted, o) => o.is_none(),
                (_, None) => false,
                (_, Some(_)) if !showing => false,
                (ObjectMoment::Created | ObjectMoment::Shows, Some(_)) => true,
                (ObjectMoment::Phase(p), Some(o)) => o.phase().as_deref() == Some(p.as_str()),
                (ObjectMoment::Condition(c), Some(o)) => o.true_conditions().contains(c),
                (ObjectMoment::Annotation(a), Some(o)) => o.meta().has_annotation(a),
            };
            (ok, format!("at end: {state}"))
        }
        Occurrence::Event { .. } | Occurrence::Operation { .. } | Occurrence::Dns { .. } => {
            match first_time(occ, run.log) {
                Some((t, _)) => (true, format!("happened at {t}")),
                None => (false, "never happened".into()),
            }
        }
    }
}
