//! Arbitrary bytes as a Kubernetes manifest: objects, warnings or located
//! errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use storsim::scenario::manifest::{Loaded, load_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut out = Loaded::default();
    let mut errors = Vec::new();
    load_text("fuzz.yaml", text, &mut out, &mut errors, &mut BTreeSet::new());
    for e in &errors {
        let _ = e.render();
    }
});
