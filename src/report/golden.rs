//! Golden results: every scenario's JSON Lines, committed under `results/`
//! as `<scenario file stem>.jsonl`. `storsim check` runs each scenario and
//! compares; `--bless` rewrites them. A regression net: tests assert what
//! a run must show, the golden files only say that it changed.

use super::diff::{Comparison, compare};
use crate::scenario::load_file;
use crate::simulation::RunOptions;
use std::path::{Path, PathBuf};

/// How one scenario compares with its golden result.
#[derive(Debug)]
pub enum Verdict {
    /// Byte for byte the same.
    Same,
    /// Different: how.
    Differs(Box<Comparison>),
    /// No golden file yet.
    Missing,
    /// Written (`--bless`).
    Blessed,
    /// The scenario does not load.
    Broken(String),
}

/// The JSON Lines of `file` run with its own seed and profile.
pub fn render_run(file: &Path) -> Result<String, String> {
    let name = file.to_string_lossy().to_string();
    let scenario = load_file(&name).map_err(|e| e.to_string())?;
    let (run, results) = crate::execute(&scenario, &RunOptions::default());
    let report = super::Report {
        scenario: &scenario,
        run: &run,
        results: &results,
    };
    Ok(super::jsonl::render(&report))
}

/// The scenario files of `dir`, sorted.
pub fn scenario_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Where `scenario`'s golden result lives under `results`.
pub fn golden_path(results: &Path, scenario: &Path) -> PathBuf {
    let stem = scenario.file_stem().unwrap_or_default().to_string_lossy();
    results.join(format!("{stem}.jsonl"))
}

/// Checks (or, with `bless`, rewrites) the golden result of every scenario
/// in `scenarios`.
pub fn check(
    scenarios: &Path,
    results: &Path,
    bless: bool,
) -> std::io::Result<Vec<(PathBuf, Verdict)>> {
    let mut out = Vec::new();
    for file in scenario_files(scenarios)? {
        let golden = golden_path(results, &file);
        let verdict = match render_run(&file) {
            Err(e) => Verdict::Broken(e),
            Ok(now) if bless => {
                let same = std::fs::read_to_string(&golden).is_ok_and(|g| g == now);
                if !same {
                    super::write_atomic(&golden, now.as_bytes())?;
                }
                if same {
                    Verdict::Same
                } else {
                    Verdict::Blessed
                }
            }
            Ok(now) => match std::fs::read_to_string(&golden) {
                Err(_) => Verdict::Missing,
                Ok(g) if g == now => Verdict::Same,
                Ok(g) => match compare(&g, &now, 0) {
                    Ok(c) => Verdict::Differs(Box::new(c)),
                    Err(e) => Verdict::Broken(format!("{}: {e}", golden.display())),
                },
            },
        };
        out.push((file, verdict));
    }
    Ok(out)
}
