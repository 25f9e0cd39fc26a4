//! Arbitrary bytes as a scenario file: the loader must answer with a
//! scenario or located errors, never panic; a scenario that loads is run
//! under tight bounds (events, simulated time) with the invariant checker.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storsim::engine::SimTime;
use storsim::simulation::RunOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = storsim::scenario::load_str("fuzz.toml", text) else {
        return;
    };
    let opts = RunOptions {
        max_events: Some(20_000),
        max_time: Some(SimTime(3_600_000)),
        check_invariants: true,
        ..Default::default()
    };
    let (run, results) = storsim::execute(&scenario, &opts);
    let report = storsim::report::Report {
        scenario: &scenario,
        run: &run,
        results: &results,
    };
    let _ = storsim::report::text::render(&report);
    let _ = storsim::report::jsonl::render(&report);
});
