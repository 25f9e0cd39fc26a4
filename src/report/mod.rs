//! What a run shows: the human timeline (`kubectl get -w` and Events as they
//! happen), the Events table (`kubectl get events`), the expectation results,
//! and JSON Lines for machines. Output files are written whole or not at all.

pub mod jsonl;
pub mod text;

use crate::scenario::{ExpectationResult, Outcome, Scenario};
use crate::simulation::{EndReason, RunResult};

/// The version printed in headers.
pub const STORSIM_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Version of the JSON Lines schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a report is made from.
pub struct Report<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The run.
    pub run: &'a RunResult,
    /// The expectation results.
    pub results: &'a [ExpectationResult],
}

impl Report<'_> {
    /// Process exit code: 3 if a safety bound stopped the run, else 1 if an
    /// expectation failed, else 0.
    pub fn exit_code(&self) -> i32 {
        if matches!(self.run.end, EndReason::Bound { .. }) {
            3
        } else if self.results.iter().any(|r| r.outcome == Outcome::Fail) {
            1
        } else {
            0
        }
    }

    /// (passed, failed, skipped).
    pub fn tally(&self) -> (usize, usize, usize) {
        let n = |o| self.results.iter().filter(|r| r.outcome == o).count();
        (
            n(Outcome::Pass),
            n(Outcome::Fail),
            n(Outcome::TimingSkipped),
        )
    }
}

/// Writes `content` to `path` whole or not at all: a temporary file in the
/// same directory, then an atomic rename.
pub fn write_atomic(path: &std::path::Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(content)?;
    tmp.flush()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
