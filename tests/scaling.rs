//! "Not quadratic anywhere": no controller may list every object of a kind
//! for each event it handles. Timings cannot show that in a test (they
//! depend on the machine; the benches measure them), but a count can:
//! [`storsim::cluster::objects::listed_objects`] counts every object any
//! listing of the store or of an informer cache hands out. Two fleets on the
//! same 102 nodes, one with three times the pods of the other, must list
//! about as many objects per event handled. A listing of every pod per
//! event would list three times as many per event in the larger one.
//!
//! Both fleets have at least 100 nodes, so the scheduler walks its node
//! tree by the adaptive percentage rather than listing every node (as
//! kube-scheduler does; that walk is over nodes, which do not grow here).
//! Lookups through indexes and controllers' own maps are not counted; the
//! benches' 10 k / 100 k ratio covers them.

use storsim::scenario::generate::Fleet;
use storsim::scenario::{Outcome, load_str};
use storsim::simulation::RunOptions;

/// Objects listed per event handled, for a fleet of `statefulsets` × 5
/// replicas on 34 nodes per zone in 3 zones.
fn listed_per_event(statefulsets: u32) -> f64 {
    let fleet = Fleet {
        statefulsets,
        replicas: 5,
        zones: 3,
        nodes_per_zone: Some(34),
        seed: 1,
    };
    let s = load_str("fleet.toml", &fleet.scenario()).expect("the generated fleet loads");
    let before = storsim::cluster::objects::listed_objects();
    let (run, results) = storsim::execute(&s, &RunOptions::default());
    let listed = storsim::cluster::objects::listed_objects() - before;
    assert!(results.iter().all(|r| r.outcome == Outcome::Pass));
    assert!(run.events_handled > 0);
    listed as f64 / run.events_handled as f64
}

#[test]
fn listings_per_event_do_not_grow_with_the_fleet() {
    let small = listed_per_event(10);
    let large = listed_per_event(30);
    eprintln!("objects listed per event: 50 pods {small:.4}, 150 pods {large:.4}");
    // Listings at start-up and in the end-of-run bill are a few per object,
    // so the per-event figure stays small and nearly flat; a scan of every
    // pod per event would triple it.
    assert!(
        large <= small * 1.5 + 0.01,
        "objects listed per event grew from {small:.4} (50 pods) to {large:.4} (150 pods)"
    );
}
