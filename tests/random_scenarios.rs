//! Random valid scenarios (proptest): clusters, classes, workloads, action
//! timelines and backend faults. Every run keeps every invariant, is
//! deterministic (two runs, same bytes) and ends within its bounds.
//!
//! CI runs a few dozen cases; for many more:
//! `PROPTEST_CASES=2000 cargo test --release --test random_scenarios`

use proptest::prelude::*;
use storsim::invariants::Checker;
use storsim::scenario::load_str;
use storsim::simulation::{EndReason, RunOptions, run_observed};

#[derive(Clone, Debug)]
struct Gen {
    zones: usize,
    per_zone: usize,
    profile: &'static str,
    wffc: bool,
    retain: bool,
    claims: Vec<(u32, bool)>,
    sets: Vec<(u32, bool, bool)>,
    actions: Vec<(u32, u8, u32)>,
    attach_failure: u8,
    /// The update image `app:2` crashes on its first runs (a crash loop
    /// that recovers).
    crashy: bool,
}

fn scenario(g: &Gen) -> String {
    let zones: Vec<String> = (0..g.zones).map(|i| format!("\"z{i}\"")).collect();
    let mut s = format!(
        "format = 1\n[scenario]\nname = \"random\"\nseed = 7\nend = \"20m\"\nmax_events = 400000\n[cluster]\nzones = [{}]\n[[cluster.node_group]]\nper_zone = {}\n[backend]\nprofile = \"{}\"\n",
        zones.join(", "),
        g.per_zone,
        g.profile
    );
    if g.attach_failure > 0 {
        s.push_str(&format!(
            "[backend.operations.attach]\nfailure_rate = {:.2}\nerror = \"Unavailable\"\n",
            f64::from(g.attach_failure) / 10.0
        ));
    }
    let driver = if g.profile == "aws-efs" {
        "efs.csi.aws.com"
    } else {
        "ebs.csi.aws.com"
    };
    s.push_str(&format!(
        "[[storage_class]]\nname = \"sc\"\nprovisioner = \"{driver}\"\nvolumeBindingMode = \"{}\"\nreclaimPolicy = \"{}\"\nallowVolumeExpansion = true\ndefault = true\n",
        if g.wffc { "WaitForFirstConsumer" } else { "Immediate" },
        if g.retain { "Retain" } else { "Delete" }
    ));
    s.push_str("[images.\"app:1\"]\nstart = \"1s\"\nready_after = \"2s\"\nstop = \"2s\"\n[images.\"app:2\"]\nstart = \"1s\"\nready_after = \"2s\"\nstop = \"2s\"\n");
    if g.crashy {
        s.push_str("crash_after = \"5s\"\ncrashes = 3\n");
    }
    for (i, (gi, rwop)) in g.claims.iter().enumerate() {
        let mode = if *rwop {
            "ReadWriteOncePod"
        } else {
            "ReadWriteOnce"
        };
        s.push_str(&format!(
            "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c{i}\"\nspec = {{ accessModes = [\"{mode}\"], resources = {{ requests = {{ storage = \"{gi}Gi\" }} }} }}\n[[object]]\nkind = \"Pod\"\nname = \"p{i}\"\nspec = {{ containers = [{{ name = \"c\", image = \"app:1\" }}], volumes = [{{ name = \"d\", persistentVolumeClaim = {{ claimName = \"c{i}\" }} }}] }}\n"
        ));
    }
    for (i, (replicas, parallel, spread)) in g.sets.iter().enumerate() {
        let spread = if *spread {
            format!(
                ", topologySpreadConstraints = [{{ maxSkew = 1, topologyKey = \"topology.kubernetes.io/zone\", whenUnsatisfiable = \"ScheduleAnyway\", labelSelector = {{ matchLabels = {{ app = \"s{i}\" }} }} }}]"
            )
        } else {
            String::new()
        };
        s.push_str(&format!(
            "[[object]]\nkind = \"StatefulSet\"\nname = \"s{i}\"\n[object.spec]\nserviceName = \"s{i}\"\nreplicas = {replicas}\npodManagementPolicy = \"{}\"\nselector = {{ matchLabels = {{ app = \"s{i}\" }} }}\ntemplate.metadata.labels = {{ app = \"s{i}\" }}\ntemplate.spec = {{ containers = [{{ name = \"app\", image = \"app:1\", readinessProbe = {{ exec = {{ command = [\"ok\"] }}, periodSeconds = 2 }} }}]{spread} }}\nvolumeClaimTemplates = [{{ metadata = {{ name = \"data\" }}, spec = {{ accessModes = [\"ReadWriteOnce\"], resources = {{ requests = {{ storage = \"1Gi\" }} }} }} }}]\n",
            if *parallel { "Parallel" } else { "OrderedReady" }
        ));
    }
    let nodes: Vec<String> = (0..g.zones)
        .flat_map(|z| (0..g.per_zone).map(move |n| format!("node-z{z}-{n}")))
        .collect();
    for (at, what, arg) in &g.actions {
        let t = format!("{}s", 30 + at);
        let a = match what % 7 {
            0 if !g.sets.is_empty() => format!(
                "scale = {{ statefulset = \"s{}\", replicas = {} }}",
                *arg as usize % g.sets.len(),
                arg % 5
            ),
            1 if !g.sets.is_empty() => format!(
                "set_image = {{ statefulset = \"s{}\", image = \"app:2\" }}",
                *arg as usize % g.sets.len()
            ),
            2 if !g.claims.is_empty() => {
                format!("delete = \"Pod/p{}\"", *arg as usize % g.claims.len())
            }
            3 => format!("fail_node = \"{}\"", nodes[*arg as usize % nodes.len()]),
            4 => format!("recover_node = \"{}\"", nodes[*arg as usize % nodes.len()]),
            5 if !g.claims.is_empty() => format!(
                "resize = {{ claim = \"c{}\", size = \"{}Gi\" }}",
                *arg as usize % g.claims.len(),
                20 + arg % 10
            ),
            _ if !g.claims.is_empty() => format!(
                "delete = \"PersistentVolumeClaim/c{}\"",
                *arg as usize % g.claims.len()
            ),
            _ => continue,
        };
        s.push_str(&format!("[[action]]\nat = \"{t}\"\n{a}\n"));
    }
    s
}

fn scenarios() -> impl Strategy<Value = Gen> {
    (
        1usize..=3,
        1usize..=3,
        prop_oneof![Just("aws-ebs"), Just("reference"), Just("aws-efs")],
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec((1u32..=20, any::<bool>()), 0..4),
        prop::collection::vec((0u32..=4, any::<bool>(), any::<bool>()), 0..3),
        prop::collection::vec((0u32..600, any::<u8>(), any::<u32>()), 0..6),
        0u8..=3,
        any::<bool>(),
    )
        .prop_map(
            |(
                zones,
                per_zone,
                profile,
                wffc,
                retain,
                claims,
                sets,
                actions,
                attach_failure,
                crashy,
            )| Gen {
                zones,
                per_zone,
                profile,
                wffc,
                retain,
                claims,
                sets,
                actions,
                attach_failure,
                crashy,
            },
        )
}

proptest! {
    // 24 cases in CI; PROPTEST_CASES asks for more.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_scenarios_keep_every_invariant_and_are_deterministic(g in scenarios()) {
        let text = scenario(&g);
        let s = load_str("random.toml", &text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let mut checker = Checker::new(&s);
        let mut first = None;
        let run = run_observed(&s, &RunOptions::default(), &mut |store| {
            if first.is_none() {
                first = checker.check(store);
            }
        });
        let end = checker.finish(&run.store);
        prop_assert!(first.is_none() && end.is_none(), "{}\n{text}", first.or(end).unwrap());
        prop_assert!(
            !matches!(run.end, EndReason::Bound { .. }),
            "the run did not end within its bounds: {:?}\n{text}", run.end
        );
        // Same scenario, same seed: same bytes.
        let render = || {
            let (run, results) = storsim::execute(&s, &RunOptions::default());
            storsim::report::jsonl::render(&storsim::report::Report { scenario: &s, run: &run, results: &results })
        };
        prop_assert_eq!(render(), render());
    }
}
