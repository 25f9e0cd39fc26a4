//! The command line: exit codes 0/1/2/3, errors that name file, line,
//! column and a hint for every kind of bad input, and output files written
//! whole or not at all.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn storsim() -> Command {
    Command::cargo_bin("storsim").expect("binary builds")
}

fn scenario_path(name: &str) -> String {
    format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

const HEADER: &str = "format = 1\n[scenario]\nname = \"t\"\n";

/// A claim that nothing can bind: no volume exists and it has no class.
const LONELY_CLAIM: &str = "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } } }\n";

/// Writes `body` (after the standard header) to a temporary file.
fn file_with(dir: &tempfile::TempDir, name: &str, body: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
    path
}

#[test]
fn a_passing_run_exits_0_and_prints_the_timeline() {
    storsim()
        .args(["run", &scenario_path("static-provisioning")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "T+1.010s    PersistentVolumeClaim/pvc-manual             Bound       volume=pv-manual",
        ))
        .stdout(predicate::str::contains(
            "expectations: 7 passed, 0 failed · exit code 0",
        ));
}

#[test]
fn a_failed_expectation_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(
        &dir,
        "fail.toml",
        &format!(
            "end = \"5s\"\n{LONELY_CLAIM}[[expect]]\nobject = \"PersistentVolumeClaim/c\"\nphase = \"Bound\"\n"
        ),
    );
    storsim()
        .args(["run", f.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL  PersistentVolumeClaim/c is Bound",
        ));
}

#[test]
fn a_run_that_never_settles_hits_the_time_bound_and_exits_3_with_what_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    // No `end`, and a claim that can never bind: the 15 s resync goes on forever.
    let f = file_with(&dir, "forever.toml", LONELY_CLAIM);
    storsim()
        .args(["run", f.to_str().unwrap(), "--max-time", "1m"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "was STOPPED at T+60.000s: simulated time reached the bound of T+60.000s",
        ))
        .stdout(predicate::str::contains(
            "- PersistentVolumeClaim/c is Pending",
        ));
}

#[test]
fn the_event_bound_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(
        &dir,
        "events.toml",
        &format!("max_events = 5\n{LONELY_CLAIM}"),
    );
    storsim()
        .args(["run", f.to_str().unwrap()])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "5 events were handled (the event bound)",
        ));
}

/// Bad input: (file body, expected "line:col: error: …" text, expected hint).
const BAD_INPUTS: &[(&str, &str, &str, &str)] = &[
    (
        "syntax",
        "end = \"10s\n",
        "4:11: error: invalid basic string",
        "",
    ),
    (
        "unknown-field",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } }, storageClasName = \"x\" }\n",
        "7:91: error: unknown field `storageClasName`",
        "did you mean `storageClassName`?",
    ),
    (
        "unknown-top-field",
        "sed = 4\n",
        "4:1: error: unknown field `sed`",
        "did you mean `seed`?",
    ),
    (
        "wrong-type",
        "seed = \"one\"\n",
        "4:8: error: invalid type: string \"one\", expected u64",
        "",
    ),
    (
        "unknown-class",
        "[[storage_class]]\nname = \"fast-ssd\"\nprovisioner = \"x\"\n[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } }, storageClassName = \"fast-sd\" }\n",
        "10:110: error: storageClassName refers to unknown StorageClass `fast-sd`",
        "did you mean `fast-ssd`?",
    ),
    (
        "unknown-claim",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"data\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } } }\n[[object]]\nkind = \"Pod\"\nname = \"p\"\nspec = { containers = [{ name = \"c\", image = \"i\" }], volumes = [{ name = \"v\", persistentVolumeClaim = { claimName = \"dta\" } }] }\n",
        "11:117: error: claimName refers to unknown PersistentVolumeClaim `dta`",
        "did you mean `data`?",
    ),
    (
        "negative-size",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"-5Gi\" } } }\n",
        "7:80: error: quantity `-5Gi` is negative",
        "",
    ),
    (
        "unparseable-size",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"10GB\" } } }\n",
        "7:80: error: `10GB` has unknown suffix `GB`",
        "",
    ),
    (
        "bad-duration",
        "end = \"10 seconds\"\n",
        "4:7: error: duration `10 seconds` has no unit after `10`",
        "",
    ),
    (
        "negative-duration",
        "end = \"-5s\"\n",
        "4:7: error: duration `-5s` is negative",
        "",
    ),
    (
        "absurd-duration",
        "end = \"100000000h\"\n",
        "4:7: error: `end` is more than ten years of simulated time",
        "`24h` is the default bound",
    ),
    (
        "percentage-over-100",
        "[components.scheduler]\npercentage_of_nodes_to_score = 150\n",
        "5:32: error: `percentage_of_nodes_to_score` must be between 0 and 100",
        "0 (the default) lets the scheduler choose",
    ),
    (
        "duplicate-names",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } } }\n[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"2Gi\" } } }\n",
        "10:8: error: duplicate PersistentVolumeClaim/c (first defined at line 6)",
        "names are unique per kind and namespace",
    ),
    (
        "duplicate-class",
        "[[storage_class]]\nname = \"a\"\nprovisioner = \"x\"\n[[storage_class]]\nname = \"a\"\nprovisioner = \"y\"\n",
        "8:8: error: duplicate StorageClass `a`",
        "",
    ),
    (
        "unknown-kind",
        "[[object]]\nkind = \"PersistentVolumeClam\"\nname = \"c\"\nspec = {}\n",
        "5:8: error: unknown kind `PersistentVolumeClam`",
        "did you mean `PersistentVolumeClaim`?",
    ),
    (
        "unknown-enum",
        "[[storage_class]]\nname = \"a\"\nprovisioner = \"x\"\nvolumeBindingMode = \"WaitForFirstConsumr\"\n",
        "7:21: error: unknown variant `WaitForFirstConsumr`",
        "did you mean `WaitForFirstConsumer`?",
    ),
    (
        "unknown-object-ref",
        "[[action]]\nat = \"1s\"\ndelete = \"PersistentVolumeClaim/nope\"\n",
        "6:10: error: unknown object `PersistentVolumeClaim/nope`",
        "",
    ),
    (
        "unknown-profile",
        "[backend]\nprofile = \"aws-eb\"\n",
        "5:11: error: unknown backend profile `aws-eb`",
        "did you mean `aws-ebs`?",
    ),
    (
        "action-without-time",
        "[[action]]\ndelete = \"Node/x\"\n",
        "4:1: error: this action has no time",
        "",
    ),
    (
        "bad-name",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"Data_1\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } } }\n",
        "6:8: error: `Data_1` is not a valid Kubernetes name",
        "",
    ),
    (
        "absurd-replicas",
        "[[object]]\nkind = \"StatefulSet\"\nname = \"w\"\n[object.spec]\nreplicas = 100000000\nserviceName = \"w\"\nselector = { matchLabels = { a = \"b\" } }\ntemplate.metadata.labels = { a = \"b\" }\ntemplate.spec.containers = [{ name = \"c\", image = \"i\" }]\n",
        "7:1: error: 100000000 replicas is too many to simulate (about 1526 GiB of objects)",
        "at most 1000000 per StatefulSet",
    ),
    (
        "absurd-node-count",
        "[cluster]\nzones = [\"a\", \"b\"]\n[[cluster.node_group]]\nper_zone = 100000000\n",
        "7:12: error: 200000000 nodes is too many to simulate (about 3051.8 GiB of nodes alone)",
        "at most 100000 generated nodes in all",
    ),
    (
        "absurd-size",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"99999Ei\" } } }\n",
        "7:8: error: size `99999Ei` is more than 8 EiB, the most a Kubernetes byte count holds",
        "sizes are written like `10Gi`",
    ),
    (
        "expectation-on-nothing",
        "[[expect]]\nobject = \"Pod/ghost\"\nphase = \"Running\"\n",
        "5:10: error: unknown object `Pod/ghost`",
        "",
    ),
    (
        "rwx-on-block-only-class",
        "[[storage_class]]\nname = \"gp3\"\nprovisioner = \"ebs.csi.aws.com\"\n[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"shared\"\nspec = { accessModes = [\"ReadWriteMany\"], storageClassName = \"gp3\", resources = { requests = { storage = \"1Gi\" } } }\n",
        "10:24: error: PersistentVolumeClaim/shared asks for ReadWriteMany, but class `gp3` provisions with ebs.csi.aws.com (profile `reference`), whose volumes attach to one node at a time",
        "or a shared-filesystem profile (`aws-efs`, `nfs`); to watch Kubernetes refuse it, set `allow_infeasible = true`",
    ),
    (
        "rox-template-on-default-block-class",
        "[[storage_class]]\nname = \"gp3\"\nprovisioner = \"ebs.csi.aws.com\"\ndefault = true\n[[object]]\nkind = \"StatefulSet\"\nname = \"w\"\n[object.spec]\nserviceName = \"w\"\nselector = { matchLabels = { a = \"b\" } }\ntemplate.metadata.labels = { a = \"b\" }\ntemplate.spec.containers = [{ name = \"c\", image = \"i\" }]\nvolumeClaimTemplates = [{ metadata = { name = \"d\" }, spec = { accessModes = [\"ReadOnlyMany\"], resources = { requests = { storage = \"1Gi\" } } } }]\n",
        "16:77: error: StatefulSet/w volumeClaimTemplate d asks for ReadOnlyMany, but class `gp3` provisions with ebs.csi.aws.com",
        "use ReadWriteOnce or ReadWriteOncePod",
    ),
    (
        "missing-storage-request",
        "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"c\"\nspec = { accessModes = [\"ReadWriteOnce\"], resources = {} }\n",
        "7:8: error: a claim must request storage",
        "",
    ),
];

#[test]
fn every_kind_of_bad_input_is_located_hinted_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body, error, hint) in BAD_INPUTS {
        let f = file_with(&dir, &format!("{name}.toml"), body);
        let path = f.to_str().unwrap();
        for cmd in ["run", "validate"] {
            let out = storsim().args([cmd, path]).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} ({cmd}): {stderr}");
            assert!(
                out.stdout.is_empty(),
                "{name} ({cmd}): nothing is written on bad input"
            );
            assert!(
                stderr.contains(&format!("{path}:{error}")),
                "{name}: expected `{path}:{error}` in:\n{stderr}"
            );
            assert!(
                stderr.contains(hint),
                "{name}: expected hint `{hint}` in:\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        }
    }
}

/// Valid for Kubernetes but probably a mistake: run, with a located warning.
#[test]
fn a_partition_above_replicas_is_a_located_warning_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_with(
        &dir,
        "partition.toml",
        "end = \"30s\"\n[cluster]\nzones = [\"a\"]\n[[cluster.node_group]]\nper_zone = 1\n[[object]]\nkind = \"StatefulSet\"\nname = \"w\"\n[object.spec]\nreplicas = 2\nserviceName = \"w\"\nupdateStrategy = { rollingUpdate = { partition = 5 } }\nselector = { matchLabels = { a = \"b\" } }\ntemplate.metadata.labels = { a = \"b\" }\ntemplate.spec.containers = [{ name = \"c\", image = \"i\" }]\n[[expect]]\nobject = \"StatefulSet/w\"\nshows = { ready = \"2/2\" }\nat_end = true\n",
    );
    let path = f.to_str().unwrap();
    storsim()
        .args(["run", path])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "{path}:12:1: warning: partition 5 is above replicas 2: no pod will be updated until it is lowered"
        )));
}

#[test]
fn a_missing_file_or_unknown_profile_exits_2() {
    storsim()
        .args(["run", "no/such/file.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/file.toml: cannot read"));
    storsim()
        .args([
            "run",
            &scenario_path("static-provisioning"),
            "--profile",
            "gcp",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown profile `gcp`"));
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    storsim()
        .args(["validate", &scenario_path("claims-that-cannot-bind")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "ok — scenario claims-that-cannot-bind, 2 node(s), 2 storage class(es)",
        ));
}

#[test]
fn jsonl_output_goes_whole_to_the_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.jsonl");
    storsim()
        .args([
            "run",
            &scenario_path("static-provisioning"),
            "--output",
            "jsonl",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["schema_version"], 1);
    assert_eq!(lines[0]["scenario"], "static-provisioning");
    assert_eq!(lines[0]["seed"], 1);
    assert_eq!(lines[0]["profile"], "reference");
    assert_eq!(lines[0]["scenario_sha256"].as_str().unwrap().len(), 64);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["exit_code"], 0);
    let seqs: Vec<u64> = lines.iter().filter_map(|l| l["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "records are in order");
    let bound = lines
        .iter()
        .find(|l| l["type"] == "change" && l["name"] == "pvc-manual" && l["phase"] == "Bound")
        .expect("the claim's Bound change is there");
    assert_eq!(bound["t_ms"], 1010);
    assert_eq!(bound["columns"]["VOLUME"], "pv-manual");
    assert_eq!(
        bound["changed"],
        serde_json::json!(["status.accessModes", "status.capacity", "status.phase"])
    );
}

#[test]
fn an_unwritable_out_file_exits_2_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing-dir").join("run.jsonl");
    storsim()
        .args([
            "run",
            &scenario_path("static-provisioning"),
            "--output",
            "jsonl",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot write"));
    assert!(!out.exists());
}

/// A result from an earlier run is replaced whole or not at all: bad input
/// leaves it as it was, and a good run leaves no temporary file behind.
#[test]
fn an_earlier_result_is_replaced_whole_or_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.jsonl");
    std::fs::write(&out, "earlier result\n").unwrap();
    let bad = file_with(&dir, "bad.toml", "sed = 4\n");
    storsim()
        .args(["run", bad.to_str().unwrap(), "--output", "jsonl", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier result\n");
    storsim()
        .args([
            "run",
            &scenario_path("static-provisioning"),
            "--output",
            "jsonl",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[lines.len() - 1]["type"], "summary");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["bad.toml", "run.jsonl"],
        "no temporary file is left"
    );
}

#[test]
fn seed_override_reports_timing_as_skipped() {
    storsim()
        .args([
            "run",
            &scenario_path("static-provisioning"),
            "--seed",
            "42",
            "--profile",
            "aws-ebs",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "SKIP  PersistentVolume/pv-manual is Available at 10ms",
        ))
        .stdout(predicate::str::contains(
            "timing not checked (profile or seed overridden)",
        ));
}

#[test]
fn diff_exits_0_for_equivalent_runs_and_1_otherwise() {
    let s = scenario_path("static-provisioning");
    let golden = format!(
        "{}/results/static-provisioning.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    storsim()
        .args(["diff", &golden, &s])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("identical runs"))
        .stdout(predicate::str::contains("equivalent"));
    // Another seed draws other latencies and tie-breaks.
    let r = scenario_path("rwo-multi-attach");
    storsim()
        .args(["diff", &r, &format!("{r}@7")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("first divergence at record"))
        .stdout(predicate::str::contains("not equivalent"));
    storsim()
        .args(["diff", &golden, "/nonexistent.jsonl"])
        .assert()
        .code(2);
}

#[test]
fn diff_names_the_first_divergence_when_a_latency_changes() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(scenario_path("pod-deletion-teardown")).unwrap();
    let slower = original.replacen(
        "latency = { fixed = \"2s\" }",
        "latency = { fixed = \"3s\" }",
        1,
    );
    assert_ne!(original, slower);
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::fs::write(&a, &original).unwrap();
    std::fs::write(&b, &slower).unwrap();
    // CreateVolume takes 1 s longer: the first record that differs is its end.
    storsim()
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("first divergence at record"))
        .stdout(predicate::str::contains("\"operation\":\"CreateVolume\""))
        .stdout(predicate::str::contains("not equivalent"));
    // The second lost on CreateVolume shifts what follows by more (the
    // kubelet's checks and node status updates run on their own clocks),
    // but within 10 s the runs are equivalent: same things, same ending.
    storsim()
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .args(["--tolerance", "10s"])
        .assert()
        .code(0)
        .stdout(predicate::str::ends_with("equivalent\n"));
}

/// `gen fleet` writes a scenario that loads and runs: every set created,
/// Ready, then rolled to the new image.
#[test]
fn gen_fleet_writes_a_scenario_whose_fleet_ends_whole_and_updated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fleet.toml");
    storsim()
        .args([
            "gen",
            "fleet",
            "--statefulsets",
            "3",
            "--replicas",
            "2",
            "--zones",
            "2",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("kind = \"StatefulSet\"").count(), 3);
    assert!(text.contains("zones = [\"us-east-1a\", \"us-east-1b\"]"));
    storsim()
        .arg("run")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "PASS  fleet-0 is whole and updated",
        ))
        .stdout(predicate::str::contains(
            "PASS  fleet-2 is whole and updated",
        ));
    storsim()
        .args(["gen", "fleet", "--zones", "27"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--zones 27 must be 1 to 26"));
}

#[test]
fn timings_go_to_stderr_count_every_handled_event_and_change_no_output() {
    let path = scenario_path("rolling-update");
    let plain = storsim()
        .args(["run", "--output", "jsonl", &path])
        .output()
        .unwrap();
    let timed = storsim()
        .args(["run", "--output", "jsonl", "--timings", &path])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(timed.status.code(), Some(0));
    assert_eq!(plain.stdout, timed.stdout, "--timings changed the output");
    assert!(plain.stderr.is_empty(), "no table without the flag");

    let handled = String::from_utf8(plain.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every line is JSON"))
        .find_map(|v| v["events_handled"].as_u64())
        .expect("the summary line gives events_handled");
    let table = String::from_utf8(timed.stderr).unwrap();
    assert!(table.starts_with("timings (wall clock"), "{table}");
    // Columns: share, "%", events, µs/event, idle, "%", idle time, "%", what.
    let count = |line: &str| -> u64 { line.split_whitespace().nth(2).unwrap().parse().unwrap() };
    let lines: Vec<&str> = table.lines().filter(|l| l.contains(" % ")).collect();
    let (total, rows) = lines.split_last().expect("rows and a total");
    assert!(total.ends_with("all handled events"), "{table}");
    assert_eq!(count(total), handled, "{table}");
    assert_eq!(
        rows.iter().map(|l| count(l)).sum::<u64>(),
        handled,
        "{table}"
    );
    for what in [
        "wake statefulset-controller",
        "deliver Pod to",
        "wake default-scheduler",
        "scenario action",
    ] {
        assert!(table.contains(what), "no {what:?} row:\n{table}");
    }
}
