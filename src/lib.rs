//! storsim: a deterministic discrete-event simulator of Kubernetes storage
//! orchestration.
#![warn(missing_docs)]

pub mod api;
pub mod backend;
pub mod cluster;
pub mod controllers;
pub mod engine;
pub mod invariants;
pub mod report;
pub mod scenario;
pub mod simulation;
pub mod timings;

/// mimalloc instead of the system allocator, for every binary that links
/// the library (the CLI, tests, benches): a run allocates and frees many
/// small objects (object versions, watch events, records), and glibc's
/// malloc spent about an eighth of a large fleet's run consolidating and
/// unlinking chunks. The allocator changes no output.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use scenario::{ExpectationResult, RunView, Scenario};
use simulation::{RunOptions, RunResult};

/// Runs `scenario` and checks its expectations.
pub fn execute(scenario: &Scenario, opts: &RunOptions) -> (RunResult, Vec<ExpectationResult>) {
    let run = simulation::run(scenario, opts);
    let bill = backend::bill::Bill::of(&run.store, &run.pricing, &run.driver);
    let view = RunView {
        log: run.store.log(),
        store: &run.store,
        labels: &run.labels,
        check_timing: run.own_profile_and_seed,
        bill: &bill,
    };
    let results = scenario::check_all(&scenario.expectations, &view);
    (run, results)
}
