//! An attachment stuck `attaching`: the EBS driver detaches it after 90 s
//! and fails ControllerPublishVolume; the attacher's retry then attaches.

mod common;
use common::*;
use storsim::backend::Operation;

fn text(attacher_timeout: &str, stuck: u32) -> String {
    scenario(
        "5m",
        &format!(
            r#"[cluster]
zones = ["a"]
[[cluster.node_group]]
per_zone = 1
[[storage_class]]
name = "sc"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
[backend]
profile = "aws-ebs"
[backend.operations.attach]
stuck_first = {stuck}
[backend.sidecars.attacher]
timeout = "{attacher_timeout}"
[[object]]
kind = "PersistentVolumeClaim"
name = "data"
spec = {{ accessModes = ["ReadWriteOnce"], storageClassName = "sc", resources = {{ requests = {{ storage = "10Gi" }} }} }}
[[object]]
kind = "Pod"
name = "db"
spec = {{ containers = [{{ name = "c", image = "postgres" }}], volumes = [{{ name = "d", persistentVolumeClaim = {{ claimName = "data" }} }}] }}
"#
        ),
    )
}

#[test]
fn a_stuck_attachment_is_detached_after_90_s_and_the_retry_attaches() {
    let (_, r, _) = run(&text("60s", 1));
    let calls = calls_of(&r, Operation::Attach);
    let first = calls[0].0;
    // The sidecar stops waiting at its timeout …
    assert_eq!(calls[0].1, first + 60_000);
    assert_eq!(calls[0].2, Err("timeout".to_string()));
    // … its retry waits with the same attachment, and both end at 90 s.
    let stuck: Vec<_> = calls
        .iter()
        .filter(|c| {
            c.2.as_ref()
                .is_err_and(|e| e.contains("stuck in attaching state"))
        })
        .collect();
    assert_eq!(stuck.len(), 2, "{calls:?}");
    assert!(stuck.iter().all(|c| c.1 == first + 90_000));
    // Then a clean attempt.
    let ok = calls.iter().find(|c| c.2.is_ok()).expect("attached");
    assert!(ok.0 > first + 90_000 && ok.1 - ok.0 <= 4_000);
    assert_eq!(claim_phase(&r, "data"), "Bound");
}

#[test]
fn with_a_longer_attacher_timeout_the_driver_error_comes_first() {
    let (_, r, _) = run(&text("6m", 1));
    let calls = calls_of(&r, Operation::Attach);
    assert!(calls[0].2.as_ref().is_err_and(|e| e.contains("stuck")));
    assert_eq!(calls[0].1 - calls[0].0, 90_000);
    assert!(calls[1].2.is_ok());
    // Without the fault, one attach does it.
    let (_, r, _) = run(&text("60s", 0));
    let calls = calls_of(&r, Operation::Attach);
    assert_eq!(calls.len(), 1);
    assert!(calls[0].2.is_ok());
}
