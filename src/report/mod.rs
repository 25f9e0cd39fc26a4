//! What a run shows: the human timeline (`kubectl get -w` and Events as they
//! happen), the Events table (`kubectl get events`), the expectation results,
//! and JSON Lines for machines. Output files are written whole or not at all.

pub mod batch;
pub mod describe;
pub mod diff;
pub mod export;
pub mod golden;
pub mod jsonl;
pub mod lab;
mod pieces;
pub mod plot;
mod sink;
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
        if matches!(self.run.end, EndReason::Invariant(_)) {
            4
        } else if matches!(self.run.end, EndReason::Bound { .. }) {
            3
        } else if self.results.iter().any(|r| r.outcome == Outcome::Fail) {
            1
        } else {
            0
        }
    }

    /// The month's bill for the disks left at the end.
    pub fn bill(&self) -> crate::backend::bill::Bill {
        crate::backend::bill::Bill::of(&self.run.store, &self.run.pricing, &self.run.driver)
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

/// One reference line compared with the run.
pub struct ReferenceRow<'a> {
    /// The line.
    pub line: &'a crate::scenario::model::ReferenceLine,
    /// When its occurrence happened in the run, relative to its origin.
    pub run: Option<crate::engine::SimTime>,
    /// Run time minus document time, in ms.
    pub delta_ms: Option<i128>,
    /// `match`, `diverges`, `off` (outside the tolerance) or `missing`.
    pub verdict: &'static str,
}

impl Report<'_> {
    /// The reference lines next to what the run did.
    pub fn reference_rows(&self) -> Vec<ReferenceRow<'_>> {
        use crate::engine::SimTime;
        self.scenario
            .reference
            .iter()
            .map(|line| {
                let origin = line
                    .from
                    .as_ref()
                    .and_then(|l| self.run.labels.get(l))
                    .copied()
                    .unwrap_or(SimTime::ZERO);
                let run = line
                    .occurrence
                    .as_ref()
                    .and_then(|o| {
                        crate::scenario::check::first_time_from(o, self.run.store.log(), origin)
                    })
                    .map(|(t, _)| SimTime(t.as_millis() - origin.as_millis()));
                let delta_ms = match (run, line.time) {
                    (Some(r), Some(d)) => Some(r.as_millis() as i128 - d.as_millis() as i128),
                    _ => None,
                };
                let verdict = match (&line.diverges, &line.occurrence, run, delta_ms) {
                    (Some(_), ..) => "diverges",
                    (None, Some(_), None, _) => "missing",
                    (None, _, _, Some(d))
                        if d.unsigned_abs() > line.tolerance.as_millis() as u128 =>
                    {
                        "off"
                    }
                    _ => "match",
                };
                ReferenceRow {
                    line,
                    run,
                    delta_ms,
                    verdict,
                }
            })
            .collect()
    }
}

/// Writes `content` to `path` whole or not at all: a temporary file in the
/// same directory, then an atomic rename. A path that names something other
/// than a regular file (`/dev/null`, a FIFO, a terminal) is written to
/// directly: renaming over it would replace the device itself. A symbolic
/// link is followed, so the file it points to is replaced, not the link.
pub fn write_atomic(path: &std::path::Path, content: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(content))
}

/// [`write_atomic`] of what `write` produces, written as it is produced
/// (through a buffer) rather than gathered first: an error on the way
/// leaves the file as it was.
pub fn write_atomic_with(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
            write(&mut out)?;
            return out.flush();
        }
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return write_atomic_with(&std::fs::canonicalize(path)?, write);
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = std::io::BufWriter::new(tmp);
    write(&mut out)?;
    let tmp = out.into_inner().map_err(|e| e.into_error())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::write_atomic;
    use std::os::unix::fs::FileTypeExt;

    /// `--out /dev/null` once replaced /dev/null with a regular file (the
    /// temporary file renamed over it): a device is written, not replaced.
    #[test]
    fn writing_to_a_device_leaves_the_device() {
        let null = std::path::Path::new("/dev/null");
        write_atomic(null, b"discarded\n").expect("/dev/null takes anything");
        let meta = std::fs::symlink_metadata(null).unwrap();
        assert!(
            meta.file_type().is_char_device(),
            "/dev/null is still a device"
        );
    }

    #[test]
    fn a_symlink_keeps_pointing_at_the_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.jsonl");
        let link = dir.path().join("link.jsonl");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }
}
