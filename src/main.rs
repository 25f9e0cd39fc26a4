//! The storsim command line: parse arguments, call the library, print, and
//! map outcomes to exit codes (0 ok, 1 expectation failed, 2 bad input,
//! 3 safety bound hit).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use storsim::api::{Kind, ObjectRef};
use storsim::backend::Profile;
use storsim::backend::profile::BUILT_IN;
use storsim::engine::{SimDuration, SimTime};
use storsim::report::{self, Report};
use storsim::scenario::{LoadError, load_file};
use storsim::simulation::RunOptions;

#[derive(Parser)]
#[command(
    name = "storsim",
    version,
    about = "Deterministic simulator of Kubernetes storage orchestration"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and check its expectations.
    Run {
        /// The scenario file (or none, with --manifests).
        #[arg(required_unless_present = "manifests")]
        file: Option<String>,
        /// Run these Kubernetes manifests (files or directories) on a default
        /// cluster (three zones of one node each, aws-ebs profile, 10 minutes)
        /// instead of a scenario file.
        #[arg(long, num_args = 1.., conflicts_with = "file")]
        manifests: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        output: Format,
        /// Write the output to this file (whole or not at all) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use this seed instead of the scenario's (timing expectations are then skipped).
        #[arg(long)]
        seed: Option<u64>,
        /// Use this built-in backend profile instead of the scenario's.
        #[arg(long)]
        profile: Option<String>,
        /// Stop after this many events (exit 3).
        #[arg(long)]
        max_events: Option<u64>,
        /// Stop at this simulated time, e.g. "2h" (exit 3 if still running).
        #[arg(long, value_parser = parse_duration)]
        max_time: Option<SimDuration>,
        /// Print only the timeline lines of this kind (`pvc`) or object
        /// (`pod/web-0`), as `kubectl get -w` would.
        #[arg(long)]
        watch: Option<String>,
        /// Check Kubernetes' guarantees after every event (a violation stops
        /// the run, exit 4).
        #[arg(long)]
        check_invariants: bool,
        /// Draw the run's Gantt chart (one lane per pod, claim, volume,
        /// attachment) to this .svg or .png file.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Print to standard error where the run's wall-clock time went, per
        /// kind of event and component (never part of the output).
        #[arg(long)]
        timings: bool,
    },
    /// What `kubectl describe` would have shown for an object at a simulated
    /// instant: status, related objects, Events so far.
    Describe {
        /// The scenario file.
        file: String,
        /// The object: `Kind/name` or `Kind/namespace/name` (kubectl short
        /// names work: `pod/web-0`, `pvc/data`).
        object: String,
        /// The instant, e.g. "90s" or "T+2m".
        #[arg(long, value_parser = parse_instant)]
        at: SimDuration,
        /// Use this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Use this built-in backend profile instead of the scenario's.
        #[arg(long)]
        profile: Option<String>,
    },
    /// Run every scenario and compare its JSON Lines with the golden result
    /// in `results/`; exit 1 on any difference.
    Check {
        /// Where the scenarios are.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Where the golden results are.
        #[arg(long, default_value = "results")]
        results: PathBuf,
        /// Rewrite the golden results instead.
        #[arg(long)]
        bless: bool,
    },
    /// Compare two runs (JSON Lines files, or scenario files run with their
    /// own seed, or `FILE.toml@SEED`); exit 0 when equivalent, 1 when not.
    Diff {
        /// Run A.
        a: String,
        /// Run B.
        b: String,
        /// How far an Event may move and still count as the same, e.g. "2s".
        #[arg(long, value_parser = parse_duration, default_value = "0s")]
        tolerance: SimDuration,
    },
    /// Run every scenario × seed in parallel and summarise: expectations met
    /// across seeds, p50/p90/p99/max of the key durations, the slowest seed.
    /// Writes DIR/runs.jsonl, DIR/summary.csv and DIR/summary.json.
    Batch {
        /// Scenario files or directories of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Seeds: `1..100` (inclusive), `7`, or `1,5,9`.
        #[arg(long, default_value = "1..10")]
        seeds: String,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Run only slice I of N of the scenario × seed list (`--shard 2/4`).
        #[arg(long)]
        shard: Option<String>,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
        /// Draw the distributions of the key durations to this .svg or
        /// .png file.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Combine the runs of sharded batches into one summary (the same bytes
    /// one unsharded batch writes).
    Merge {
        /// The shards' output directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// The objects of a run at a simulated instant as YAML (what `kubectl
    /// get -o yaml` would show), loadable again as manifests.
    Export {
        /// The scenario file.
        file: String,
        /// The instant, e.g. "90s" (default: the end of the run).
        #[arg(long, value_parser = parse_instant)]
        at: Option<SimDuration>,
        /// Write to this file (whole or not at all) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Teaching labs: list them, show a brief, check a student's copy.
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// Generate a large scenario (to stdout, or --out): `gen fleet`.
    Gen {
        #[command(subcommand)]
        command: GenCommand,
    },
    /// Check a scenario file without running it.
    Validate {
        /// The scenario file.
        file: String,
    },
}

#[derive(Subcommand)]
enum GenCommand {
    /// StatefulSets × replicas with WaitForFirstConsumer volumes over zones,
    /// created, Ready, then rolled to a new image.
    Fleet {
        /// How many StatefulSets.
        #[arg(long, default_value_t = 100)]
        statefulsets: u32,
        /// Replicas of each.
        #[arg(long, default_value_t = 10)]
        replicas: u32,
        /// Zones (1 to 26).
        #[arg(long, default_value_t = 3)]
        zones: u32,
        /// Nodes per zone (default: enough for 20 volumes a node).
        #[arg(long)]
        nodes_per_zone: Option<u32>,
        /// The scenario's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the scenario here (whole or not at all) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum LabCommand {
    /// The labs in a directory, with their titles.
    List {
        /// Where the labs are.
        #[arg(long, default_value = "scenarios/labs")]
        dir: PathBuf,
    },
    /// A lab's brief: goal, background, questions, what success means.
    Show {
        /// The lab's name (its file name without .toml) or path.
        name: String,
        /// Where the labs are.
        #[arg(long, default_value = "scenarios/labs")]
        dir: PathBuf,
    },
    /// Run a (student's copy of a) lab and say which goals are met, with
    /// hints for the others; exit 0 when all are.
    Check {
        /// The lab file.
        file: String,
    },
}

#[derive(Copy, Clone, ValueEnum)]
enum Format {
    /// The human timeline, Events and expectation results.
    Text,
    /// JSON Lines.
    Jsonl,
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    SimDuration::parse(s)
}

/// An instant as the timeline prints it (`T+90.500s`) or as a duration.
fn parse_instant(s: &str) -> Result<SimDuration, String> {
    SimDuration::parse(s.strip_prefix("T+").unwrap_or(s))
}

/// A built-in profile by name, or the error that lists them.
fn profile_arg(p: Option<String>) -> Result<Option<Profile>, ExitCode> {
    match p {
        None => Ok(None),
        Some(p) => match Profile::built_in(&p) {
            Some(p) => Ok(Some(p)),
            None => {
                eprintln!(
                    "error: unknown profile `{p}`; built-in profiles: {}",
                    BUILT_IN.join(", ")
                );
                Err(ExitCode::from(2))
            }
        },
    }
}

/// One side of `storsim diff`: JSON Lines as they are, a scenario run.
fn diff_side(arg: &str) -> Result<String, ExitCode> {
    let (file, seed) = match arg.rsplit_once('@') {
        Some((f, s)) if f.ends_with(".toml") => match s.parse::<u64>() {
            Ok(n) => (f, Some(n)),
            Err(_) => {
                eprintln!("error: `{s}` is not a seed in `{arg}`");
                return Err(ExitCode::from(2));
            }
        },
        _ => (arg, None),
    };
    if !file.ends_with(".toml") {
        return std::fs::read_to_string(file).map_err(|e| {
            eprintln!("error: cannot read {file}: {e}");
            ExitCode::from(2)
        });
    }
    let scenario = load(file)?;
    let opts = RunOptions {
        seed,
        ..Default::default()
    };
    let (run, results) = storsim::execute(&scenario, &opts);
    Ok(report::jsonl::render(&Report {
        scenario: &scenario,
        run: &run,
        results: &results,
    }))
}

/// `--watch pvc` / `--watch pod/web-0`: the kind, and the object if named.
fn watch_arg(w: &str) -> Result<(Kind, Option<ObjectRef>), String> {
    match w.split_once('/') {
        None => Kind::parse(w)
            .map(|k| (k, None))
            .ok_or_else(|| format!("unknown kind `{w}`")),
        Some(_) => ObjectRef::parse(w).map(|r| (r.kind, Some(r))),
    }
}

fn load(file: &str) -> Result<storsim::scenario::Scenario, ExitCode> {
    report_load(load_file(file))
}

/// Prints a load's warnings, or its errors (exit 2).
fn report_load(
    loaded: Result<storsim::scenario::Scenario, LoadError>,
) -> Result<storsim::scenario::Scenario, ExitCode> {
    if let Ok(s) = &loaded {
        for w in &s.warnings {
            eprintln!("{w}");
        }
    }
    loaded.map_err(|e| {
        match &e {
            LoadError::Io { .. } => eprintln!("error: {e}"),
            LoadError::Input(errors) => {
                for err in errors {
                    eprintln!("{}", err.render());
                }
                eprintln!("{} error(s); nothing was run", errors.len());
            }
        }
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file } => match load(&file) {
            Ok(s) => {
                println!(
                    "{file}: ok — scenario {}, {} node(s), {} storage class(es), {} object(s), {} action(s), {} expectation(s)",
                    s.name,
                    s.nodes.len(),
                    s.classes.len(),
                    s.objects.len(),
                    s.actions.len(),
                    s.expectations.len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Batch {
            paths,
            seeds,
            jobs,
            out,
            shard,
            quiet,
            plot,
        } => batch(
            &paths,
            &seeds,
            jobs,
            &out,
            shard.as_deref(),
            quiet,
            plot.as_deref(),
        ),
        Command::Merge { dirs, out } => merge(&dirs, &out),
        Command::Lab { command } => lab(command),
        Command::Gen {
            command:
                GenCommand::Fleet {
                    statefulsets,
                    replicas,
                    zones,
                    nodes_per_zone,
                    seed,
                    out,
                },
        } => {
            let fleet = storsim::scenario::generate::Fleet {
                statefulsets,
                replicas,
                zones,
                nodes_per_zone,
                seed,
            };
            if let Err(e) = fleet.validate() {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            let text = fleet.scenario();
            match out {
                None => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Some(path) => match report::write_atomic(&path, text.as_bytes()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: cannot write {}: {e}", path.display());
                        ExitCode::from(2)
                    }
                },
            }
        }
        Command::Export { file, at, out } => {
            let scenario = match load(&file) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let opts = RunOptions {
                max_time: at.map(|d| SimTime(d.as_millis())),
                ..Default::default()
            };
            let run = storsim::simulation::run(&scenario, &opts);
            let text = report::export::export(&run.store);
            match out {
                Some(path) => match report::write_atomic(&path, text.as_bytes()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: cannot write {}: {e}", path.display());
                        ExitCode::from(2)
                    }
                },
                None => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Check {
            scenarios,
            results,
            bless,
        } => {
            use report::golden::Verdict;
            let verdicts = match report::golden::check(&scenarios, &results, bless) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("error: {}: {e}", scenarios.display());
                    return ExitCode::from(2);
                }
            };
            let mut bad = 0;
            for (file, v) in &verdicts {
                let name = file.display();
                match v {
                    Verdict::Same => println!("ok        {name}"),
                    Verdict::Blessed => println!("blessed   {name}"),
                    Verdict::Missing => {
                        bad += 1;
                        println!(
                            "missing   {name}: no golden result (run `storsim check --bless`)"
                        );
                    }
                    Verdict::Broken(e) => {
                        bad += 1;
                        println!("broken    {name}: {e}");
                    }
                    Verdict::Differs(c) => {
                        bad += 1;
                        println!("differs   {name}");
                        for line in c.to_string().lines() {
                            println!("          {line}");
                        }
                    }
                }
            }
            println!(
                "{} scenario(s), {} differ{}",
                verdicts.len(),
                bad,
                if bless { " (blessed)" } else { "" }
            );
            ExitCode::from(u8::from(bad > 0))
        }
        Command::Diff { a, b, tolerance } => {
            let (ta, tb) = match (diff_side(&a), diff_side(&b)) {
                (Ok(x), Ok(y)) => (x, y),
                (Err(c), _) | (_, Err(c)) => return c,
            };
            match report::diff::compare(&ta, &tb, tolerance.as_millis()) {
                Ok(c) => {
                    print!("{c}");
                    ExitCode::from(u8::from(!c.equivalent()))
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Describe {
            file,
            object,
            at,
            seed,
            profile,
        } => {
            let target = match ObjectRef::parse(&object) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let scenario = match load(&file) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let profile = match profile_arg(profile) {
                Ok(p) => p,
                Err(code) => return code,
            };
            // The run stopped at that instant is the state the full run
            // passed through then.
            let opts = RunOptions {
                seed,
                profile,
                max_events: None,
                max_time: Some(SimTime(at.as_millis())),
                ..Default::default()
            };
            let run = storsim::simulation::run(&scenario, &opts);
            match report::describe::describe(&run.store, &target, SimTime(at.as_millis())) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Run {
            file,
            manifests,
            output,
            out,
            seed,
            profile,
            max_events,
            max_time,
            watch,
            plot,
            check_invariants,
            timings,
        } => {
            let watch = match watch.as_deref().map(watch_arg).transpose() {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("error: --watch: {e}");
                    return ExitCode::from(2);
                }
            };
            let loaded = match &file {
                Some(f) => load(f),
                None => report_load(storsim::scenario::load_str(
                    "<--manifests>",
                    &default_manifest_scenario(&manifests),
                )),
            };
            let scenario = match loaded {
                Ok(s) => s,
                Err(code) => return code,
            };
            let profile = match profile_arg(profile) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let opts = RunOptions {
                seed,
                profile,
                max_events,
                max_time: max_time.map(|d| SimTime(d.as_millis())),
                check_invariants,
                timings,
                ..Default::default()
            };
            let (run, results) = storsim::execute(&scenario, &opts);
            if let Some(t) = &run.timings {
                eprint!("{}", t.render());
            }
            let report = Report {
                scenario: &scenario,
                run: &run,
                results: &results,
            };
            if let Some(p) = &plot {
                let title = format!("{} · seed {} · {}", scenario.name, run.seed, run.profile);
                if let Err(e) =
                    report::plot::gantt(p, &title, run.store.log(), run.end_time.as_millis())
                {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
            // Both formats go out as they are made, never held whole.
            let emit = |w: &mut dyn std::io::Write| -> std::io::Result<()> {
                match (output, &watch) {
                    (Format::Text, Some((kind, object))) => {
                        report::text::write_watch(run.store.log(), *kind, object.as_ref(), w)
                    }
                    (Format::Text, None) => report::text::write(&report, w),
                    (Format::Jsonl, _) => report::jsonl::write(&report, w),
                }
            };
            match out {
                Some(path) => {
                    if let Err(e) = report::write_atomic_with(&path, emit) {
                        eprintln!("error: cannot write {}: {e}", path.display());
                        return ExitCode::from(2);
                    }
                    let (p, f, s) = report.tally();
                    eprintln!(
                        "wrote {}: {p} passed, {f} failed, {s} skipped",
                        path.display()
                    );
                }
                None => {
                    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
                    if let Err(e) = emit(&mut stdout).and_then(|()| {
                        use std::io::Write;
                        stdout.flush()
                    }) && e.kind() != std::io::ErrorKind::BrokenPipe
                    {
                        eprintln!("error: cannot write the output: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            ExitCode::from(report.exit_code() as u8)
        }
    }
}

/// The scenario files `paths` name (directories: their `*.toml`, sorted).
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ExitCode> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            match report::golden::scenario_files(p) {
                Ok(f) => files.extend(f),
                Err(e) => {
                    eprintln!("error: {}: {e}", p.display());
                    return Err(ExitCode::from(2));
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Writes a batch's three files, whole or not at all.
fn write_batch(out: &std::path::Path, lines: &[report::batch::RunLine]) -> Result<(), ExitCode> {
    use report::batch::*;
    let summary = summarize(lines);
    let fail = |e: std::io::Error| {
        eprintln!("error: cannot write to {}: {e}", out.display());
        ExitCode::from(2)
    };
    std::fs::create_dir_all(out).map_err(fail)?;
    report::write_atomic(&out.join("runs.jsonl"), runs_jsonl(lines).as_bytes()).map_err(fail)?;
    report::write_atomic(&out.join("summary.csv"), summary_csv(&summary).as_bytes())
        .map_err(fail)?;
    report::write_atomic(&out.join("summary.json"), summary_json(&summary).as_bytes())
        .map_err(fail)?;
    print!("{}", summary_table(&summary));
    Ok(())
}

fn batch(
    paths: &[PathBuf],
    seeds: &str,
    jobs: Option<usize>,
    out: &std::path::Path,
    shard: Option<&str>,
    quiet: bool,
    plot: Option<&std::path::Path>,
) -> ExitCode {
    use report::batch::*;
    use std::io::IsTerminal;
    let seeds = match parse_seeds(seeds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --seeds: {e}");
            return ExitCode::from(2);
        }
    };
    let shard = match shard.map(parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --shard: {e}");
            return ExitCode::from(2);
        }
    };
    let files = match scenario_files(paths) {
        Ok(f) => f,
        Err(c) => return c,
    };
    let mut scenarios = Vec::new();
    for f in &files {
        match load(&f.to_string_lossy()) {
            Ok(s) => scenarios.push(s),
            Err(c) => return c,
        }
    }
    // The full scenario × seed list; a shard takes every N-th item.
    let items: Vec<(usize, &storsim::scenario::Scenario, u64)> = scenarios
        .iter()
        .flat_map(|s| seeds.iter().map(move |seed| (s, *seed)))
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|(k, n)| i % n == k - 1))
        .map(|(i, (s, seed))| (i, s, seed))
        .collect();
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let total = items.len();
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(total as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {elapsed_precise} (eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    // Without a terminal: a line at every tenth of the way.
    let done = |n: usize| match &bar {
        Some(b) => b.set_position(n as u64),
        None if !quiet && (n * 10 / total.max(1) != (n - 1) * 10 / total.max(1)) => {
            eprintln!("batch: {n}/{total} runs done");
        }
        None => {}
    };
    let lines = run_all(&items, jobs, &done);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(p) = plot {
        let mut pooled: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        for l in &lines {
            for (m, v) in &l.metrics {
                pooled.entry(m.clone()).or_default().extend(v);
            }
        }
        let title = format!("{} run(s): key durations", lines.len());
        if let Err(e) = report::plot::distributions(p, &title, &pooled) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    match write_batch(out, &lines) {
        Ok(()) => ExitCode::from(u8::from(lines.iter().any(|l| l.exit_code != 0))),
        Err(c) => c,
    }
}

fn merge(dirs: &[PathBuf], out: &std::path::Path) -> ExitCode {
    let mut lines = Vec::new();
    for d in dirs {
        let path = d.join("runs.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        match report::batch::read_runs(&text) {
            Ok(l) => lines.extend(l),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    lines.sort_by_key(|l| l.index);
    let before = lines.len();
    lines.dedup_by_key(|l| l.index);
    if lines.len() != before {
        eprintln!(
            "error: the shards overlap: {} run(s) appear twice",
            before - lines.len()
        );
        return ExitCode::from(2);
    }
    match write_batch(out, &lines) {
        Ok(()) => ExitCode::from(u8::from(lines.iter().any(|l| l.exit_code != 0))),
        Err(c) => c,
    }
}

fn lab(command: LabCommand) -> ExitCode {
    match command {
        LabCommand::List { dir } => {
            let files = match report::golden::scenario_files(&dir) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {}: {e}", dir.display());
                    return ExitCode::from(2);
                }
            };
            for f in files {
                let Ok(s) = load(&f.to_string_lossy()) else {
                    return ExitCode::from(2);
                };
                if let Some(l) = &s.lab {
                    let stem = f.file_stem().unwrap_or_default().to_string_lossy();
                    println!("{stem:<28} {}", l.title);
                }
            }
            ExitCode::SUCCESS
        }
        LabCommand::Show { name, dir } => {
            let path = if name.ends_with(".toml") {
                PathBuf::from(&name)
            } else {
                dir.join(format!("{name}.toml"))
            };
            let s = match load(&path.to_string_lossy()) {
                Ok(s) => s,
                Err(c) => return c,
            };
            match report::lab::brief(&s) {
                Some(b) => {
                    print!("{b}");
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("error: {} has no [lab] section", path.display());
                    ExitCode::from(2)
                }
            }
        }
        LabCommand::Check { file } => {
            let s = match load(&file) {
                Ok(s) => s,
                Err(c) => return c,
            };
            let (_, results) = storsim::execute(&s, &RunOptions::default());
            let (text, all) = report::lab::check(&s, &results);
            print!("{text}");
            ExitCode::from(u8::from(!all))
        }
    }
}

/// The scenario `run --manifests` runs: the manifests on three zones of one
/// node each, the aws-ebs profile, ten simulated minutes.
fn default_manifest_scenario(paths: &[PathBuf]) -> String {
    let list: Vec<String> = paths
        .iter()
        .map(|p| {
            let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            format!("{:?}", abs.to_string_lossy())
        })
        .collect();
    format!(
        "format = 1\nmanifests = [{}]\n[scenario]\nname = \"manifests\"\nseed = 1\nend = \"10m\"\n[cluster]\nzones = [\"us-east-1a\", \"us-east-1b\", \"us-east-1c\"]\n[[cluster.node_group]]\nper_zone = 1\n[backend]\nprofile = \"aws-ebs\"\n",
        list.join(", ")
    )
}
