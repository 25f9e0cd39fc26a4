//! Comparing two runs' JSON Lines: the first record where they part, the
//! objects whose final state differs, the expectations whose result
//! changed, and the Events that moved by more than a tolerance. Two runs
//! are *equivalent* when the last three are empty: the same things happen,
//! end the same, and nothing moved beyond the tolerance.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// What differs between run A and run B.
#[derive(Debug, Default)]
pub struct Comparison {
    /// The first line that differs (1-based), with both sides; `None`
    /// when the outputs are identical but for the header.
    pub first_divergence: Option<(usize, String, String)>,
    /// Objects whose last state differs: (object, A's, B's).
    pub final_states: Vec<(String, String, String)>,
    /// Expectations whose result differs: (title, A's, B's).
    pub expectations: Vec<(String, String, String)>,
    /// Events and writes in both whose time moved by more than the
    /// tolerance: (what, A's ms, B's ms).
    pub moved: Vec<(String, u64, u64)>,
    /// Events and writes only one side has: (what, "A" or "B").
    pub only_in: Vec<(String, &'static str)>,
}

impl Comparison {
    /// Equivalent within the tolerance (the first divergence alone, a
    /// shift within tolerance, does not count).
    pub fn equivalent(&self) -> bool {
        self.final_states.is_empty()
            && self.expectations.is_empty()
            && self.moved.is_empty()
            && self.only_in.is_empty()
    }
}

fn records(text: &str) -> Result<Vec<Value>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("line {}: not JSON Lines: {e}", i + 1))
        })
        .collect()
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn object(v: &Value) -> String {
    let ns = s(v, "namespace");
    if ns.is_empty() {
        format!("{}/{}", s(v, "kind"), s(v, "name"))
    } else {
        format!("{}/{}/{}", s(v, "kind"), ns, s(v, "name"))
    }
}

/// The last state of every object: phase and columns, or "deleted".
fn final_states(recs: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in recs.iter().filter(|r| s(r, "type") == "change") {
        let state = if s(r, "op") == "deleted" {
            "(deleted)".to_string()
        } else {
            format!(
                "{} {}",
                s(r, "phase"),
                r.get("columns").cloned().unwrap_or_default()
            )
        };
        out.insert(object(r), state);
    }
    out
}

/// What happened, and when: Events keyed by object, reason and message,
/// writes by object and the state they left, each with its occurrence
/// number.
fn events(recs: &[Value]) -> BTreeMap<String, u64> {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for r in recs {
        let base = match s(r, "type").as_str() {
            "event" => format!("{} {}: {}", object(r), s(r, "reason"), s(r, "message")),
            "change" => format!(
                "{} {} {} {}",
                object(r),
                s(r, "op"),
                s(r, "phase"),
                r.get("columns").cloned().unwrap_or_default()
            ),
            _ => continue,
        };
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let key = if *n == 1 {
            base
        } else {
            format!("{base} (#{n})")
        };
        out.insert(key, r.get("t_ms").and_then(Value::as_u64).unwrap_or(0));
    }
    out
}

fn expectations(recs: &[Value]) -> BTreeMap<String, String> {
    recs.iter()
        .filter(|r| s(r, "type") == "expectation")
        .map(|r| (s(r, "title"), s(r, "result")))
        .collect()
}

/// Compares run A's JSON Lines with run B's; `tolerance_ms` is how far an
/// Event may move and still count as the same.
pub fn compare(a: &str, b: &str, tolerance_ms: u64) -> Result<Comparison, String> {
    let ra = records(a).map_err(|e| format!("A: {e}"))?;
    let rb = records(b).map_err(|e| format!("B: {e}"))?;
    let mut c = Comparison::default();
    // The header names the file and seed; the rest is the run.
    let body = |r: &[Value]| -> Vec<String> {
        r.iter()
            .filter(|v| s(v, "type") != "header")
            .map(|v| v.to_string())
            .collect()
    };
    let (la, lb) = (body(&ra), body(&rb));
    let n = la.len().max(lb.len());
    for i in 0..n {
        let (x, y) = (la.get(i), lb.get(i));
        if x != y {
            c.first_divergence = Some((
                i + 1,
                x.cloned().unwrap_or_else(|| "(end)".into()),
                y.cloned().unwrap_or_else(|| "(end)".into()),
            ));
            break;
        }
    }
    let (fa, fb) = (final_states(&ra), final_states(&rb));
    for k in fa
        .keys()
        .chain(fb.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (x, y) = (fa.get(k), fb.get(k));
        if x != y {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(never existed)".into());
            c.final_states.push((k.clone(), show(x), show(y)));
        }
    }
    let (ea, eb) = (expectations(&ra), expectations(&rb));
    for k in ea
        .keys()
        .chain(eb.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (x, y) = (ea.get(k), eb.get(k));
        if x != y {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
            c.expectations.push((k.clone(), show(x), show(y)));
        }
    }
    let (va, vb) = (events(&ra), events(&rb));
    for (k, ta) in &va {
        match vb.get(k) {
            Some(tb) if ta.abs_diff(*tb) > tolerance_ms => c.moved.push((k.clone(), *ta, *tb)),
            Some(_) => {}
            None => c.only_in.push((k.clone(), "A")),
        }
    }
    for k in vb.keys().filter(|k| !va.contains_key(*k)) {
        c.only_in.push((k.clone(), "B"));
    }
    Ok(c)
}

fn ms(t: u64) -> String {
    crate::engine::SimTime(t).offset_label()
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        match &self.first_divergence {
            None => out.push_str("identical runs\n"),
            Some((line, a, b)) => {
                let _ = writeln!(
                    out,
                    "first divergence at record {line}:\n  A: {a}\n  B: {b}"
                );
            }
        }
        let section = |out: &mut String, title: &str, n: usize| {
            if n > 0 {
                let _ = writeln!(out, "{title} ({n}):");
            }
        };
        section(
            &mut out,
            "final states that differ",
            self.final_states.len(),
        );
        for (o, a, b) in &self.final_states {
            let _ = writeln!(out, "  {o}\n    A: {a}\n    B: {b}");
        }
        section(
            &mut out,
            "expectations that changed",
            self.expectations.len(),
        );
        for (t, a, b) in &self.expectations {
            let _ = writeln!(out, "  {t}: {a} → {b}");
        }
        section(
            &mut out,
            "events and writes that moved beyond the tolerance",
            self.moved.len(),
        );
        for (e, a, b) in &self.moved {
            let _ = writeln!(out, "  {} → {}  {e}", ms(*a), ms(*b));
        }
        section(
            &mut out,
            "events and writes only one run has",
            self.only_in.len(),
        );
        for (e, side) in &self.only_in {
            let _ = writeln!(out, "  only in {side}: {e}");
        }
        let _ = writeln!(
            out,
            "{}",
            if self.equivalent() {
                "equivalent"
            } else {
                "not equivalent"
            }
        );
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"{"type":"header","seed":1}
{"type":"change","kind":"Pod","namespace":"default","name":"p","op":"added","phase":"Pending","columns":{},"t_ms":0}
{"type":"event","kind":"Pod","namespace":"default","name":"p","reason":"Scheduled","message":"ok","t_ms":100}
{"type":"change","kind":"Pod","namespace":"default","name":"p","op":"modified","phase":"Running","columns":{},"t_ms":900}
{"type":"expectation","title":"p runs","result":"pass"}
"#;

    #[test]
    fn the_same_run_is_identical_and_equivalent() {
        let c = compare(A, A, 0).unwrap();
        assert!(c.first_divergence.is_none() && c.equivalent());
    }

    #[test]
    fn a_shift_within_tolerance_diverges_but_stays_equivalent() {
        let b = A.replace("\"t_ms\":100", "\"t_ms\":150");
        let c = compare(A, &b, 50).unwrap();
        assert_eq!(c.first_divergence.as_ref().unwrap().0, 2);
        assert!(c.equivalent());
        let c = compare(A, &b, 49).unwrap();
        assert_eq!(
            c.moved,
            vec![("Pod/default/p Scheduled: ok".into(), 100, 150)]
        );
        assert!(!c.equivalent());
    }

    #[test]
    fn a_different_ending_and_a_changed_expectation_are_reported() {
        let b = A
            .replace("\"phase\":\"Running\"", "\"phase\":\"Pending\"")
            .replace("\"result\":\"pass\"", "\"result\":\"fail\"");
        let c = compare(A, &b, 1000).unwrap();
        assert_eq!(c.final_states.len(), 1);
        assert_eq!(
            c.expectations,
            vec![("p runs".into(), "pass".into(), "fail".into())]
        );
        assert!(!c.equivalent());
        assert!(compare("{", A, 0).unwrap_err().starts_with("A: line 1"));
    }
}
