//! Properties that must hold for any input, checked with proptest.

use proptest::prelude::*;
use storsim::api::Quantity;
use storsim::engine::{EventQueue, SimDuration, SimTime};
use storsim::scenario::load_str;

proptest! {
    #[test]
    fn durations_print_and_parse_back(ms in 0u64..10_000_000_000) {
        let d = SimDuration(ms);
        prop_assert_eq!(SimDuration::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn binary_quantities_keep_their_value(bytes in 1i128..(1i128 << 62)) {
        let q = Quantity::from_bytes(bytes);
        prop_assert_eq!(q.value(), bytes);
        prop_assert_eq!(Quantity::parse(q.as_str()).unwrap(), q);
    }

    #[test]
    fn the_queue_pops_in_time_then_insertion_order_and_skips_cancelled(
        ops in proptest::collection::vec((0u64..1000, any::<bool>()), 1..300)
    ) {
        let mut q = EventQueue::new();
        let mut live = std::collections::BTreeSet::new();
        for (i, (t, cancel)) in ops.iter().enumerate() {
            let id = q.schedule(SimTime(*t), i);
            if *cancel { q.cancel(id); } else { live.insert(i); }
        }
        let mut last = (SimTime(0), 0u64);
        let mut seen = std::collections::BTreeSet::new();
        while let Some((t, seq, e)) = q.pop() {
            prop_assert!((t, seq) > last || seen.is_empty());
            prop_assert_eq!(t, SimTime(ops[e].0));
            last = (t, seq);
            prop_assert!(seen.insert(e));
        }
        prop_assert_eq!(seen, live);
    }

    /// Any edit of a valid file loads or is refused with a located error;
    /// nothing panics.
    #[test]
    fn the_loader_never_panics_on_edited_files(pos in 0usize..4000, cut in 0usize..40, insert in "[ -~]{0,12}") {
        let text = include_str!("../scenarios/claims-that-cannot-bind.toml");
        let mut pos = pos.min(text.len());
        while !text.is_char_boundary(pos) { pos -= 1; }
        let mut end = (pos + cut).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        let edited = format!("{}{}{}", &text[..pos], insert, &text[end..]);
        if let Err(storsim::scenario::LoadError::Input(errors)) = load_str("edited.toml", &edited) {
            prop_assert!(!errors.is_empty());
            for e in errors {
                let (line, col) = e.line_col();
                prop_assert!(line >= 1 && col >= 1);
                let head = format!("edited.toml:{line}:{col}: error: ");
                prop_assert!(e.render().starts_with(&head));
            }
        }
    }
}
