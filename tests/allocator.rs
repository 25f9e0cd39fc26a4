//! A run tells mimalloc to keep the pages it frees (see
//! `storsim::allocator`). Alone in its test binary: the first run of the
//! process is what sets it, and the default must be seen before that.

use storsim::allocator::purge_delay_ms;
use storsim::simulation::RunOptions;

#[test]
fn a_run_keeps_freed_memory_unless_the_environment_sets_the_delay() {
    let from_env: Option<std::ffi::c_long> = std::env::var("MIMALLOC_PURGE_DELAY")
        .ok()
        .map(|v| v.trim().parse().expect("MIMALLOC_PURGE_DELAY is a number"));
    // mimalloc v3's documented default delay is 1000 ms: reading that
    // value shows the option number is the purge delay's.
    assert_eq!(purge_delay_ms(), from_env.unwrap_or(1000));
    let text = std::fs::read_to_string("scenarios/static-provisioning.toml").expect("scenario");
    let scenario = storsim::scenario::load_str("static-provisioning.toml", &text).expect("loads");
    let (run, _) = storsim::execute(&scenario, &RunOptions::default());
    assert!(run.events_handled > 0);
    assert_eq!(purge_delay_ms(), from_env.unwrap_or(-1));
}
