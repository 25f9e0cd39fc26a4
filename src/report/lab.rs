//! Teaching labs: a scenario with a `[lab]` brief whose expectations are
//! the goals. `lab show` prints the brief; `lab check` runs a student's
//! copy and says which goals are met, with the hints for the others.

use crate::scenario::{ExpectationResult, Outcome, Scenario};
use std::fmt::Write as _;

/// The brief: title, goal, background, questions and the goals to meet.
pub fn brief(s: &Scenario) -> Option<String> {
    let lab = s.lab.as_ref()?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n{}\n",
        lab.title,
        "=".repeat(lab.title.chars().count())
    );
    let _ = writeln!(out, "Goal: {}\n", lab.goal.trim());
    if !lab.background.trim().is_empty() {
        let _ = writeln!(out, "{}\n", lab.background.trim());
    }
    if !lab.questions.is_empty() {
        let _ = writeln!(out, "Questions:");
        for (i, q) in lab.questions.iter().enumerate() {
            let _ = writeln!(out, "  {}. {q}", i + 1);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Success means:");
    for e in &s.expectations {
        let _ = writeln!(out, "  - {}", e.title);
    }
    let _ = writeln!(
        out,
        "\nEdit a copy of {} and run `storsim lab check <your copy>`.",
        s.file
    );
    Some(out)
}

/// Which goals a run met, with hints for the unmet ones; and whether all
/// were met.
pub fn check(s: &Scenario, results: &[ExpectationResult]) -> (String, bool) {
    let mut out = String::new();
    let title = s.lab.as_ref().map_or(s.name.as_str(), |l| l.title.as_str());
    let _ = writeln!(out, "Lab: {title}");
    let mut met = 0;
    let mut unmet = 0;
    for (e, r) in s.expectations.iter().zip(results) {
        // Timing is part of a lab's goal only with the file's own seed;
        // a skipped timing counts as not shown.
        if r.outcome == Outcome::Pass {
            met += 1;
            let _ = writeln!(out, "  met      {}", e.title);
        } else {
            unmet += 1;
            let _ = writeln!(out, "  not met  {}\n           {}", e.title, r.detail);
            if let Some(h) = &e.hint {
                let _ = writeln!(out, "           hint: {h}");
            }
        }
    }
    if unmet > 0
        && let Some(lab) = &s.lab
        && !lab.hints.is_empty()
    {
        let _ = writeln!(out, "Hints:");
        for h in &lab.hints {
            let _ = writeln!(out, "  - {h}");
        }
    }
    let _ = writeln!(out, "{met}/{} goals met", met + unmet);
    (out, unmet == 0)
}
