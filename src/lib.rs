//! storsim: a deterministic discrete-event simulator of Kubernetes storage
//! orchestration.
#![warn(missing_docs)]

pub mod allocator;
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
