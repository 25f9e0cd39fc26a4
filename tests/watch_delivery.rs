//! Watch delivery: the controllers of one process share its informers, as
//! kube-controller-manager's controllers share one informer factory, so a
//! change reaches all of them at the same instant; each component of its
//! own (scheduler, kubelet, CSI sidecars) has its own streams and delays.

use storsim::cluster::Record;
use storsim::scenario::generate::Fleet;
use storsim::scenario::load_str;
use storsim::simulation::{RunOptions, run};

#[test]
fn controller_manager_controllers_see_a_change_at_the_same_instant() {
    // Under aws-ebs every delivery draws its own lognormal delay. A pod
    // turning Ready is seen by the endpoints controller (its DNS name
    // starts to resolve) and by the StatefulSet controller (its status
    // counts the pod) in the same delivery, so both write at one instant —
    // with a stream per controller, they wrote milliseconds apart.
    let fleet = Fleet {
        statefulsets: 3,
        replicas: 3,
        zones: 3,
        nodes_per_zone: None,
        seed: 1,
    };
    let s = load_str("fleet.toml", &fleet.scenario()).unwrap();
    assert_eq!(s.profile.name, "aws-ebs");
    let r = run(&s, &RunOptions::default());
    let log = r.store.log();
    let resolves: Vec<_> = log
        .iter()
        .filter_map(|rec| match rec {
            Record::Dns(d) if d.resolves => Some((d.t, d.name.clone())),
            _ => None,
        })
        .collect();
    // Each pod resolves once a pod start, and again after the rollout.
    assert_eq!(resolves.len(), 18, "{resolves:?}");
    for (t, name) in &resolves {
        let set_written_then = log.iter().any(|rec| {
            matches!(rec, Record::Change(c)
                if c.t == *t && c.object.kind == storsim::api::Kind::StatefulSet)
        });
        assert!(
            set_written_then,
            "{name} resolves at {t} but no StatefulSet status was written then"
        );
    }
}
