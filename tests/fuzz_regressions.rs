//! Inputs the fuzzers (fuzz/) found crashing storsim, kept as tests: each
//! must now load to objects or located errors without a panic.

use std::collections::BTreeSet;
use storsim::scenario::manifest::{Loaded, load_text};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/fuzz/{name}", env!("CARGO_MANIFEST_DIR"));
    String::from_utf8(std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_block_scalar_before_multibyte_text_gives_a_located_error_not_a_panic() {
    // yaml-rust2 advances its offsets in bytes inside block scalars and in
    // characters elsewhere: an error after `|` text and `→` used to cut a
    // character in two when the message was rendered.
    let text = data("manifest-block-scalar-multibyte.yaml");
    let mut out = Loaded::default();
    let mut errors = Vec::new();
    load_text(
        "crash.yaml",
        &text,
        &mut out,
        &mut errors,
        &mut BTreeSet::new(),
    );
    assert!(!errors.is_empty());
    for e in &errors {
        let (line, col) = e.line_col();
        assert!(line >= 1 && col >= 1);
        assert!(e.render().starts_with("crash.yaml:"));
    }
}
