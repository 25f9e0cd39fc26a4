//! Batch runs: every scenario × seed, run in parallel, reduced to the key
//! durations users care about (time to Ready, claim binding, CreateVolume
//! and attach latency, rollout duration) and their percentiles.
//!
//! Each run becomes one line of `runs.jsonl`, in the order of the full
//! scenario × seed list whatever the number of workers or the shard; the
//! summary is computed from those lines only, so `storsim merge` of shards
//! gives the same bytes as one unsharded batch.

use crate::cluster::{CallPhase, ChangeOp, Log, Record};
use crate::scenario::{Outcome, Scenario};
use crate::simulation::RunOptions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The durations a batch reports, in milliseconds.
pub const METRICS: [&str; 5] = [
    "pod_ready",
    "claim_bound",
    "create_volume",
    "attach",
    "rollout",
];

/// One run's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLine {
    /// Position in the full scenario × seed list.
    pub index: usize,
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// The run's exit code (0: every expectation met).
    pub exit_code: i32,
    /// Expectations passed, failed, skipped.
    pub passed: usize,
    /// See `passed`.
    pub failed: usize,
    /// See `passed`.
    pub skipped: usize,
    /// When the run ended (ms).
    pub end_ms: u64,
    /// Samples of each metric (ms), in the order they happened.
    pub metrics: BTreeMap<String, Vec<u64>>,
}

/// Parses `--seeds`: `1..100` (inclusive), `7`, or `1,5,9`.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("`{s}` is not a seed list: write `1..100`, `7` or `1,5,9`");
    if let Some((a, b)) = s.split_once("..") {
        let (a, b): (u64, u64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if a > b {
            return Err(format!("`{s}`: the range is empty ({a} > {b})"));
        }
        return Ok((a..=b).collect());
    }
    s.split(',')
        .map(|x| x.trim().parse().map_err(|_| bad()))
        .collect()
}

/// Parses `--shard I/N` (1-based).
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not a shard: write `I/N` with 1 ≤ I ≤ N, e.g. `2/4`");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The key durations of one run, from its record log.
pub fn metrics(log: &Log) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = METRICS
        .iter()
        .map(|m| (m.to_string(), Vec::new()))
        .collect();
    let mut pod_start = BTreeMap::new();
    let mut claim_start = BTreeMap::new();
    let mut calls = BTreeMap::new();
    // Rollouts under way: the set, when `set image` ran, and whether the
    // set has shown the new revision rolling yet.
    let mut rollouts: Vec<(String, u64, bool)> = Vec::new();
    let mut push = |m: &str, v: u64| out.get_mut(m).map(|x| x.push(v));
    for rec in log {
        match rec {
            Record::Change(c) => {
                let t = c.t.as_millis();
                let name = c.object.to_string();
                match (c.object.kind, c.op) {
                    (_, ChangeOp::Deleted) => {
                        pod_start.remove(&name);
                        claim_start.remove(&name);
                    }
                    (crate::api::Kind::Pod, ChangeOp::Added) => {
                        pod_start.insert(name, t);
                    }
                    (crate::api::Kind::Pod, _) if c.conditions.iter().any(|x| x == "Ready") => {
                        if let Some(s) = pod_start.remove(&name) {
                            push("pod_ready", t - s);
                        }
                    }
                    (crate::api::Kind::PersistentVolumeClaim, ChangeOp::Added) => {
                        claim_start.insert(name, t);
                    }
                    (crate::api::Kind::PersistentVolumeClaim, _)
                        if c.phase.as_deref() == Some("Bound") =>
                    {
                        if let Some(s) = claim_start.remove(&name) {
                            push("claim_bound", t - s);
                        }
                    }
                    (crate::api::Kind::StatefulSet, _) => {
                        let col = |k: &str| {
                            c.columns
                                .iter()
                                .find(|(h, _)| *h == k)
                                .map(|(_, v)| v.as_str())
                        };
                        let done = |v: Option<&str>| {
                            v.and_then(|v| v.split_once('/'))
                                .is_some_and(|(a, b)| a == b)
                        };
                        let settled = done(col("READY"))
                            && done(col("UPDATED"))
                            && !col("REVISION").unwrap_or("").contains('→');
                        let target = c.object.to_string();
                        for r in rollouts.iter_mut().filter(|r| r.0 == target) {
                            r.2 |= !settled;
                        }
                        if settled {
                            rollouts.retain(|(set, start, rolling)| {
                                if *set == target && *rolling {
                                    push("rollout", t - start);
                                    false
                                } else {
                                    true
                                }
                            });
                        }
                    }
                    _ => {}
                }
            }
            Record::Operation(o) => {
                let metric = match o.op {
                    crate::backend::Operation::CreateVolume => "create_volume",
                    crate::backend::Operation::Attach => "attach",
                    _ => continue,
                };
                match (&o.phase, &o.result) {
                    (CallPhase::Start, _) => {
                        calls.insert(o.call, o.t.as_millis());
                    }
                    (CallPhase::End, Some(Ok(_))) => {
                        if let Some(s) = calls.remove(&o.call) {
                            push(metric, o.t.as_millis() - s);
                        }
                    }
                    _ => {}
                }
            }
            Record::Action(a) => {
                // `set image StatefulSet/web …`: a rollout starts.
                if let Some(rest) = a.description.strip_prefix("set image ")
                    && let Some(set) = rest.split_whitespace().next()
                {
                    rollouts.retain(|(s, _, _)| s != set);
                    rollouts.push((set.to_string(), a.t.as_millis(), false));
                }
            }
            _ => {}
        }
    }
    out
}

/// Runs one scenario with one seed.
pub fn run_one(index: usize, scenario: &Scenario, seed: u64) -> RunLine {
    // Runs side by side keep the cores busy: each writes its log in line.
    let opts = RunOptions {
        seed: Some(seed),
        inline_log: true,
        ..Default::default()
    };
    let (run, results) = crate::execute(scenario, &opts);
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    let report = super::Report {
        scenario,
        run: &run,
        results: &results,
    };
    RunLine {
        index,
        scenario: scenario.name.clone(),
        seed,
        exit_code: report.exit_code(),
        passed: count(Outcome::Pass),
        failed: count(Outcome::Fail),
        skipped: count(Outcome::TimingSkipped),
        end_ms: run.end_time.as_millis(),
        metrics: metrics(run.store.log()),
    }
}

/// Runs the items (index, scenario, seed) on `jobs` threads; `done` is
/// called after each run with how many have finished. The lines come back
/// in item order, whatever finished first.
pub fn run_all(
    items: &[(usize, &Scenario, u64)],
    jobs: usize,
    done: &(dyn Fn(usize) + Sync),
) -> Vec<RunLine> {
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<RunLine>>> = Mutex::new(vec![None; items.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((index, scenario, seed)) = items.get(i) else {
                        break;
                    };
                    let line = run_one(*index, scenario, *seed);
                    if let Ok(mut v) = slots.lock() {
                        v[i] = Some(line);
                    }
                    done(finished.fetch_add(1, Ordering::SeqCst) + 1);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// One scenario's summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioSummary {
    /// Scenario name.
    pub scenario: String,
    /// Runs.
    pub runs: usize,
    /// Runs whose every expectation was met.
    pub met: usize,
    /// The seeds whose runs did not meet them.
    pub failed_seeds: Vec<u64>,
    /// The seed whose slowest pod took longest to be Ready (or, without
    /// pods, whose run ended last).
    pub slowest_seed: u64,
    /// Per metric with samples: n, p50, p90, p99, max (ms).
    pub metrics: BTreeMap<String, [u64; 5]>,
}

/// Summaries of `lines`, by scenario in order of first appearance.
pub fn summarize(lines: &[RunLine]) -> Vec<ScenarioSummary> {
    let mut order: Vec<String> = Vec::new();
    let mut by: BTreeMap<String, Vec<&RunLine>> = BTreeMap::new();
    for l in lines {
        if !by.contains_key(&l.scenario) {
            order.push(l.scenario.clone());
        }
        by.entry(l.scenario.clone()).or_default().push(l);
    }
    order
        .into_iter()
        .map(|name| {
            let runs = &by[&name];
            let mut metrics = BTreeMap::new();
            for m in METRICS {
                let mut all: Vec<u64> = runs
                    .iter()
                    .flat_map(|r| r.metrics.get(m).into_iter().flatten().copied())
                    .collect();
                if all.is_empty() {
                    continue;
                }
                all.sort_unstable();
                let p = |q| percentile(&all, q);
                metrics.insert(
                    m.to_string(),
                    [
                        all.len() as u64,
                        p(0.5),
                        p(0.9),
                        p(0.99),
                        all[all.len() - 1],
                    ],
                );
            }
            let slowness = |r: &RunLine| {
                r.metrics
                    .get("pod_ready")
                    .and_then(|v| v.iter().max().copied())
                    .unwrap_or(r.end_ms)
            };
            let slowest = runs
                .iter()
                .max_by_key(|r| (slowness(r), std::cmp::Reverse(r.seed)))
                .map_or(0, |r| r.seed);
            ScenarioSummary {
                scenario: name.clone(),
                runs: runs.len(),
                met: runs.iter().filter(|r| r.exit_code == 0).count(),
                failed_seeds: runs
                    .iter()
                    .filter(|r| r.exit_code != 0)
                    .map(|r| r.seed)
                    .collect(),
                slowest_seed: slowest,
                metrics,
            }
        })
        .collect()
}

/// `runs.jsonl`: one line per run.
pub fn runs_jsonl(lines: &[RunLine]) -> String {
    lines
        .iter()
        .map(|l| serde_json::to_string(l).unwrap_or_default() + "\n")
        .collect()
}

/// Reads `runs.jsonl`.
pub fn read_runs(text: &str) -> Result<Vec<RunLine>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// `summary.csv`: one row per scenario and metric.
pub fn summary_csv(s: &[ScenarioSummary]) -> String {
    let mut out =
        String::from("scenario,runs,met,slowest_seed,metric,n,p50_ms,p90_ms,p99_ms,max_ms\n");
    for x in s {
        if x.metrics.is_empty() {
            let _ = writeln!(
                out,
                "{},{},{},{},,,,,,",
                x.scenario, x.runs, x.met, x.slowest_seed
            );
        }
        for (m, [n, p50, p90, p99, max]) in &x.metrics {
            let _ = writeln!(
                out,
                "{},{},{},{},{m},{n},{p50},{p90},{p99},{max}",
                x.scenario, x.runs, x.met, x.slowest_seed
            );
        }
    }
    out
}

/// `summary.json`.
pub fn summary_json(s: &[ScenarioSummary]) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default() + "\n"
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// The table printed at the end of a batch.
pub fn summary_table(s: &[ScenarioSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:>7} {:>7}  {:<14} {:>6} {:>8} {:>8} {:>8} {:>8}",
        "SCENARIO", "MET", "SLOWEST", "METRIC", "N", "P50", "P90", "P99", "MAX"
    );
    for x in s {
        let met = format!("{}/{}", x.met, x.runs);
        let slow = format!("seed {}", x.slowest_seed);
        if x.metrics.is_empty() {
            let _ = writeln!(out, "{:<34} {met:>7} {slow:>7}", x.scenario);
        }
        for (i, (m, [n, p50, p90, p99, max])) in x.metrics.iter().enumerate() {
            let (name, met, slow) = if i == 0 {
                (x.scenario.as_str(), met.as_str(), slow.as_str())
            } else {
                ("", "", "")
            };
            let _ = writeln!(
                out,
                "{name:<34} {met:>7} {slow:>7}  {m:<14} {n:>6} {:>8} {:>8} {:>8} {:>8}",
                secs(*p50),
                secs(*p90),
                secs(*p99),
                secs(*max)
            );
        }
        if !x.failed_seeds.is_empty() {
            let seeds: Vec<String> = x.failed_seeds.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "{:<34} expectations not met with seed(s) {}",
                "",
                seeds.join(", ")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_shards_parse_as_written() {
        assert_eq!(parse_seeds("1..4").unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(parse_seeds("7").unwrap(), vec![7]);
        assert_eq!(parse_seeds("1, 5,9").unwrap(), vec![1, 5, 9]);
        assert!(parse_seeds("5..1").unwrap_err().contains("empty"));
        assert!(parse_seeds("a").is_err());
        assert_eq!(parse_shard("2/4").unwrap(), (2, 4));
        assert!(parse_shard("0/4").is_err() && parse_shard("5/4").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.9), 90);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&[7], 0.99), 7);
    }
}
