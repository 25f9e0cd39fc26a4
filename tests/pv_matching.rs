//! The PV controller's matching and binding rules (kubernetes-semantics.md
//! §1.2 and §1.3), case by case, mostly after the real unit tests they are
//! named for (index_test.go, binder_test.go, pv_helpers_test.go). Each test
//! runs a small scenario and looks at the claim's volume, the phases, the
//! annotations and the Events.

mod common;
use common::*;
use storsim::api::persistent_volume::{ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER};
use storsim::api::{Kind, ObjectKey};
use storsim::cluster::store::derive_uid;

// ---- §1.2 step 1: access-mode groups, fewest modes first ------------------

/// TestFindingVolumeWithDifferentAccessModes: gce (RWO,ROX), ebs (RWO),
/// nfs (RWO,ROX,RWX), all 10 Gi.
fn three_volumes(claim_modes: &str) -> String {
    scenario(
        "1s",
        &[
            pv("gce", "10Gi", &format!("{RWO}, {ROX}"), ""),
            pv("ebs", "10Gi", RWO, ""),
            pv("nfs", "10Gi", &format!("{RWO}, {ROX}, {RWX}"), ""),
            pvc("claim", "1Gi", claim_modes, ""),
        ]
        .concat(),
    )
}

#[test]
fn access_modes_pick_the_group_with_fewest_modes_that_contains_the_request() {
    for (modes, expected) in [
        (RWO.to_string(), "ebs"),
        (format!("{RWO}, {ROX}"), "gce"),
        (format!("{RWX}, {RWO}, {ROX}"), "nfs"),
        (RWX.to_string(), "nfs"),
        (ROX.to_string(), "gce"),
    ] {
        let (_, r, _) = run(&three_volumes(&modes));
        assert_eq!(volume_of(&r, "claim"), expected, "claim modes [{modes}]");
    }
}

#[test]
fn the_first_group_with_a_match_wins_even_if_a_later_group_has_a_smaller_volume() {
    let text = scenario(
        "1s",
        &[
            pv("big-rwo", "100Gi", RWO, ""),
            pv("small-multi", "1Gi", &format!("{RWO}, {ROX}"), ""),
            pvc("claim", "1Gi", RWO, ""),
        ]
        .concat(),
    );
    let (_, r, _) = run(&text);
    assert_eq!(volume_of(&r, "claim"), "big-rwo");
}

#[test]
fn when_the_small_group_is_used_up_the_next_group_is_searched() {
    // ebs is taken by an earlier claim: an RWO claim falls through to gce.
    let text = scenario(
        "1s",
        &[
            pv("gce", "10Gi", &format!("{RWO}, {ROX}"), ""),
            pv("ebs", "10Gi", RWO, ""),
            pvc("first", "1Gi", RWO, ""),
            pvc("second", "1Gi", RWO, ""),
        ]
        .concat(),
    );
    let (_, r, _) = run(&text);
    assert_eq!(volume_of(&r, "first"), "ebs");
    assert_eq!(volume_of(&r, "second"), "gce");
}

// ---- §1.2 step 2: filters and smallest fit ---------------------------------

#[test]
fn smallest_volume_that_fits_wins_and_too_small_ones_are_skipped() {
    let text = scenario(
        "1s",
        &[
            pv("pv-1", "1Gi", RWO, ""),
            pv("pv-10", "10Gi", RWO, ""),
            pv("pv-5", "5Gi", RWO, ""),
            pvc("claim", "2Gi", RWO, ""),
        ]
        .concat(),
    );
    let (_, r, _) = run(&text);
    assert_eq!(volume_of(&r, "claim"), "pv-5");
}

#[test]
fn equal_sizes_tie_by_name_so_runs_are_reproducible() {
    let text = scenario(
        "1s",
        &[
            pv("pv-b", "5Gi", RWO, ""),
            pv("pv-a", "5Gi", RWO, ""),
            pvc("claim", "1Gi", RWO, ""),
        ]
        .concat(),
    );
    let (_, r, _) = run(&text);
    assert_eq!(volume_of(&r, "claim"), "pv-a");
}

#[test]
fn class_must_match_and_no_class_matches_only_no_class() {
    // binder_test 13-1 / 13-2.
    let body = [
        static_class("gold", "Immediate"),
        pv("pv-none-1g", "1Gi", RWO, ""),
        pv("pv-gold-10g", "10Gi", RWO, "storageClassName = \"gold\""),
        pvc("wants-gold", "1Gi", RWO, "storageClassName = \"gold\""),
        pvc("wants-none", "1Gi", RWO, "storageClassName = \"\""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "wants-gold"), "pv-gold-10g");
    assert_eq!(volume_of(&r, "wants-none"), "pv-none-1g");
}

#[test]
fn selector_must_match_the_volume_labels() {
    // binder_test 1-11 and 1-12.
    let labelled = |name: &str, tier: &str| {
        format!(
            "[[object]]\nkind = \"PersistentVolume\"\nname = \"{name}\"\nlabels = {{ tier = \"{tier}\" }}\nspec = {{ capacity = {{ storage = \"10Gi\" }}, accessModes = [{RWO}], hostPath = {{ path = \"/x\" }} }}\n"
        )
    };
    let body = [
        labelled("silver", "silver"),
        labelled("gold", "gold"),
        pvc("wants-gold", "1Gi", RWO, "storageClassName = \"\", selector = { matchLabels = { tier = \"gold\" } }"),
        pvc("wants-bronze", "1Gi", RWO, "storageClassName = \"\", selector = { matchExpressions = [{ key = \"tier\", operator = \"In\", values = [\"bronze\"] }] }"),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "wants-gold"), "gold");
    assert_eq!(volume_of(&r, "wants-bronze"), "");
    assert_eq!(claim_phase(&r, "wants-bronze"), "Pending");
}

#[test]
fn volume_mode_must_match() {
    let body = [
        pv("block", "1Gi", RWO, "volumeMode = \"Block\""),
        pv("fs", "10Gi", RWO, ""),
        pvc("wants-fs", "1Gi", RWO, ""),
        pvc("wants-block", "1Gi", RWO, "volumeMode = \"Block\""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "wants-fs"), "fs");
    assert_eq!(volume_of(&r, "wants-block"), "block");
}

#[test]
fn only_available_volumes_are_matched() {
    // binder_test 1-17: a Released volume (claimRef to a deleted claim) is
    // never offered, even when it is the best fit.
    let body = [
        "[[object]]\nkind = \"PersistentVolume\"\nname = \"released\"\nspec = { capacity = { storage = \"1Gi\" }, accessModes = [\"ReadWriteOnce\"], hostPath = { path = \"/r\" }, claimRef = { name = \"gone\", uid = \"0000\" } }\nstatus = { phase = \"Released\" }\n".to_string(),
        pv("free", "10Gi", RWO, ""),
        pvc("claim", "1Gi", RWO, ""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "claim"), "free");
    assert_eq!(
        volume(&r, "released").unwrap().status.phase.to_string(),
        "Released"
    );
}

#[test]
fn a_volume_being_deleted_is_never_matched() {
    // TestStorageObjectInUseProtectionFiltering, on the library function.
    use storsim::controllers::pv_controller::{check_volume_satisfy_claim, find_matching_volume};
    let (_, r, _) = run(&scenario(
        "1s",
        &[pv("pv", "10Gi", RWO, ""), pvc("other", "1Gi", RWX, "")].concat(),
    ));
    let mut vol = volume(&r, "pv").unwrap();
    let mut c = claim(&r, "other").unwrap();
    c.spec.access_modes = vec![storsim::api::AccessMode::ReadWriteOnce];
    assert!(find_matching_volume(&c, &[&vol], false).is_some());
    vol.metadata.deletion_timestamp = Some(storsim::engine::SimTime(5));
    assert!(find_matching_volume(&c, &[&vol], false).is_none());
    assert_eq!(
        check_volume_satisfy_claim(&vol, &c).unwrap_err(),
        "the volume is marked for deletion \"pv\""
    );
}

// ---- pre-binding ------------------------------------------------------------

#[test]
fn a_volume_pre_bound_to_the_claim_wins_over_a_better_fit() {
    // binder_test 1-5: pre-bound by name; the PV gets no bound-by-controller.
    let body = [
        pv("reserved", "10Gi", RWO, "claimRef = { name = \"claim\" }"),
        pv("small", "1Gi", RWO, ""),
        pvc("claim", "1Gi", RWO, ""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "claim"), "reserved");
    let v = volume(&r, "reserved").unwrap();
    assert!(!v.metadata.has_annotation(ANN_BOUND_BY_CONTROLLER));
    let c = claim(&r, "claim").unwrap();
    assert!(
        c.metadata.has_annotation(ANN_BOUND_BY_CONTROLLER),
        "the controller chose the volume"
    );
    assert!(c.metadata.has_annotation(ANN_BIND_COMPLETED));
    assert_eq!(
        c.status.capacity["storage"].as_str(),
        "10Gi",
        "status capacity is the volume's"
    );
}

#[test]
fn pre_bound_to_another_claim_or_too_small_is_skipped() {
    // TestFindingPreboundVolumes.
    let body = [
        pv("pv1", "1Gi", RWO, "claimRef = { name = \"someone-else\" }"),
        pv("pv5", "5Gi", RWO, ""),
        pv("pv-bad-size", "1Mi", RWO, "claimRef = { name = \"claim\" }"),
        pvc("claim", "1Gi", RWO, ""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "claim"), "pv5");
}

#[test]
fn a_pre_bound_claim_binds_to_its_volume_and_ignores_the_selector() {
    // binder_test 1-15 and 2-8.
    let body = [
        pv("big", "10Gi", RWO, ""),
        pv("small", "1Gi", RWO, ""),
        pvc(
            "claim",
            "1Gi",
            RWO,
            "volumeName = \"big\", selector = { matchLabels = { never = \"matches\" } }",
        ),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "claim"), "big");
    let c = claim(&r, "claim").unwrap();
    assert!(
        !c.metadata.has_annotation(ANN_BOUND_BY_CONTROLLER),
        "the user chose the volume"
    );
    assert!(c.metadata.has_annotation(ANN_BIND_COMPLETED));
    assert!(
        volume(&r, "big")
            .unwrap()
            .metadata
            .has_annotation(ANN_BOUND_BY_CONTROLLER)
    );
}

#[test]
fn a_pre_bound_claim_that_does_not_fit_gets_volume_mismatch_with_the_reason() {
    // checkVolumeSatisfyClaim, in its order: size, class, volumeMode, access modes.
    let cases = [
        ("pv", "10Gi", RWO, "", "1Mi", "requested PV is too small"),
        (
            "pv",
            "1Gi",
            RWO,
            "storageClassName = \"gold\"",
            "",
            "storageClassName does not match",
        ),
        (
            "pv",
            "1Gi",
            RWO,
            "volumeMode = \"Block\"",
            "",
            "incompatible volumeMode",
        ),
        ("pv", "1Gi", RWX, "", "", "incompatible accessMode"),
    ];
    for (name, want, claim_modes, pv_extra, pv_size, reason) in cases {
        let size = if pv_size.is_empty() { "1Gi" } else { pv_size };
        let body = [
            static_class("gold", "Immediate"),
            pv(name, size, RWO, pv_extra),
            pvc(
                "claim",
                want,
                claim_modes,
                "storageClassName = \"\", volumeName = \"pv\"",
            ),
        ]
        .concat();
        let (_, r, _) = run(&scenario("20s", &body));
        assert_eq!(claim_phase(&r, "claim"), "Pending");
        let ev = events_on(&r, Kind::PersistentVolumeClaim, "claim");
        assert!(!ev.is_empty(), "{reason}: no event");
        assert_eq!(ev[0].reason, "VolumeMismatch");
        assert_eq!(
            ev[0].message,
            format!("Cannot bind to requested volume \"pv\": {reason}")
        );
        assert_eq!(ev[0].kind.as_str(), "Warning");
        // Repeated on every resync: at 10 ms and at 15 s.
        assert_eq!(
            ev.iter().map(|e| e.t.as_millis()).collect::<Vec<_>>(),
            vec![10, 15_000],
            "{reason}"
        );
    }
}

#[test]
fn a_claim_naming_a_volume_bound_elsewhere_says_so() {
    // binder_test 2-6.
    let body = [
        pv("pv", "10Gi", RWO, "claimRef = { name = \"owner\" }"),
        pvc("owner", "1Gi", RWO, "storageClassName = \"\""),
        pvc(
            "claim",
            "1Gi",
            RWO,
            "storageClassName = \"\", volumeName = \"pv\"",
        ),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "owner"), "pv");
    assert_eq!(claim_phase(&r, "claim"), "Pending");
    let ev = events_on(&r, Kind::PersistentVolumeClaim, "claim");
    assert_eq!(ev[0].reason, "FailedBinding");
    assert_eq!(
        ev[0].message,
        "volume \"pv\" already bound to a different claim."
    );
}

#[test]
fn a_claim_naming_a_missing_volume_waits_without_an_event() {
    // binder_test 2-1: the PV appears later and the claim binds at the next resync.
    let body = [
        pvc("claim", "1Gi", RWO, "storageClassName = \"\", volumeName = \"later\""),
        "[[action]]\nat = \"3s\"\ncreate = { kind = \"PersistentVolume\", name = \"later\", spec = { capacity = { storage = \"1Gi\" }, accessModes = [\"ReadWriteOnce\"], hostPath = { path = \"/l\" } } }\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&scenario("20s", &body));
    assert!(events_on(&r, Kind::PersistentVolumeClaim, "claim").is_empty());
    let bound = changes_of(&r, Kind::PersistentVolumeClaim, "claim")
        .into_iter()
        .find(|c| c.phase.as_deref() == Some("Bound"))
        .expect("binds once the volume exists");
    assert_eq!(
        bound.t.as_millis(),
        15_000,
        "at the resync, not when the PV appears"
    );
}

// ---- WaitForFirstConsumer ---------------------------------------------------

#[test]
fn the_pv_controller_never_binds_a_wait_for_first_consumer_claim_itself() {
    // binder_test 1-13 and §1.5.
    let body = [
        static_class("wffc", "WaitForFirstConsumer"),
        pv("pv", "10Gi", RWO, "storageClassName = \"wffc\""),
        pvc("claim", "1Gi", RWO, "storageClassName = \"wffc\""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("31s", &body));
    assert_eq!(claim_phase(&r, "claim"), "Pending");
    let ev = events_on(&r, Kind::PersistentVolumeClaim, "claim");
    assert_eq!(ev.len(), 3, "at 10 ms, 15 s and 30 s");
    assert!(ev.iter().all(|e| e.reason == "WaitForFirstConsumer"
        && e.message == "waiting for first consumer to be created before binding"));
    assert_eq!(ev[2].count, 3, "one Event whose count grows");
}

#[test]
fn a_wait_for_first_consumer_claim_binds_a_volume_pre_bound_to_it() {
    // binder_test 1-14.
    let body = [
        static_class("wffc", "WaitForFirstConsumer"),
        pv(
            "pv",
            "10Gi",
            RWO,
            "storageClassName = \"wffc\", claimRef = { name = \"claim\" }",
        ),
        pvc("claim", "1Gi", RWO, "storageClassName = \"wffc\""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "claim"), "pv");
}

#[test]
fn waiting_claims_name_their_unscheduled_pods() {
    // emitEventForUnboundDelayBindingClaim: several pods are comma-joined.
    let pod = |name: &str| {
        format!(
            "[[object]]\nkind = \"Pod\"\nname = \"{name}\"\nspec = {{ nodeSelector = {{ none = \"such\" }}, containers = [{{ name = \"c\", image = \"i\" }}], volumes = [{{ name = \"d\", persistentVolumeClaim = {{ claimName = \"claim\" }} }}] }}\n"
        )
    };
    let body = [
        static_class("wffc", "WaitForFirstConsumer"),
        pvc("claim", "1Gi", RWO, "storageClassName = \"wffc\""),
        pod("web-1"),
        pod("web-0"),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    let ev = events_on(&r, Kind::PersistentVolumeClaim, "claim");
    assert_eq!(ev[0].reason, "WaitForPodScheduled");
    assert_eq!(
        ev[0].message,
        "waiting for pods web-0,web-1 to be scheduled"
    );
}

// ---- dynamic provisioning hand-off (§1.9) -----------------------------------

#[test]
fn a_claim_with_a_csi_class_is_handed_to_the_external_provisioner() {
    let body = [
        "[[storage_class]]\nname = \"ebs\"\nprovisioner = \"ebs.csi.aws.com\"\n".to_string(),
        pvc("claim", "1Gi", RWO, "storageClassName = \"ebs\""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    let c = claim(&r, "claim").unwrap();
    assert_eq!(
        c.metadata
            .annotation("volume.kubernetes.io/storage-provisioner"),
        Some("ebs.csi.aws.com")
    );
    assert_eq!(
        c.metadata
            .annotation("volume.beta.kubernetes.io/storage-provisioner"),
        Some("ebs.csi.aws.com")
    );
    let ev = events_on(&r, Kind::PersistentVolumeClaim, "claim");
    assert_eq!(ev[0].reason, "ExternalProvisioning");
    assert_eq!(
        ev[0].message,
        "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."
    );
}

#[test]
fn a_claim_without_a_class_gets_the_default_class() {
    // DefaultStorageClass admission at creation.
    let body = [
        "[[storage_class]]\nname = \"standard\"\nprovisioner = \"ebs.csi.aws.com\"\ndefault = true\n".to_string(),
        pvc("claim", "1Gi", RWO, ""),
        pvc("explicitly-none", "1Gi", RWO, "storageClassName = \"\""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(claim(&r, "claim").unwrap().class(), "standard");
    assert_eq!(claim(&r, "explicitly-none").unwrap().class(), "");
}

// ---- §1.3 bind() write order --------------------------------------------------

#[test]
fn bind_writes_volume_then_claim_in_four_steps() {
    let (_, r, _) = run(&scenario(
        "1s",
        &[pv("pv", "1Gi", RWO, ""), pvc("claim", "1Gi", RWO, "")].concat(),
    ));
    let mut steps: Vec<(u64, String, Vec<String>)> = Vec::new();
    for c in changes_of(&r, Kind::PersistentVolume, "pv")
        .into_iter()
        .chain(changes_of(&r, Kind::PersistentVolumeClaim, "claim"))
    {
        steps.push((
            c.seq,
            c.object.kind.to_string(),
            c.changed.iter().map(|p| p.to_string()).collect(),
        ));
    }
    steps.sort();
    let described: Vec<String> = steps
        .iter()
        .map(|(_, k, ch)| format!("{k}: {}", ch.join(",")))
        .collect();
    assert_eq!(
        described,
        vec![
            "PersistentVolume: status.phase", // Pending -> Available
            "PersistentVolume: metadata.annotations.pv.kubernetes.io/bound-by-controller,spec.claimRef",
            "PersistentVolume: status.phase", // -> Bound
            "PersistentVolumeClaim: metadata.annotations.pv.kubernetes.io/bind-completed,metadata.annotations.pv.kubernetes.io/bound-by-controller,spec.volumeName",
            "PersistentVolumeClaim: status.accessModes,status.capacity,status.phase",
        ]
    );
}

/// A half-finished bind, as if the controller crashed after `step` of the
/// four writes (binder_test 1-8, 1-9, 1-10).
fn after_crash(step: u32) -> String {
    let uid = derive_uid(
        Kind::PersistentVolumeClaim,
        &ObjectKey::new("default", "claim"),
        1,
    );
    let pv_phase = if step >= 2 { "Bound" } else { "Available" };
    let mut body = format!(
        "[[object]]\nkind = \"PersistentVolume\"\nname = \"pv\"\nannotations = {{ \"pv.kubernetes.io/bound-by-controller\" = \"yes\" }}\nspec = {{ capacity = {{ storage = \"1Gi\" }}, accessModes = [\"ReadWriteOnce\"], hostPath = {{ path = \"/p\" }}, claimRef = {{ name = \"claim\", uid = \"{uid}\" }} }}\nstatus = {{ phase = \"{pv_phase}\" }}\n"
    );
    body.push_str(&pv("other", "1Gi", RWO, ""));
    if step >= 3 {
        body.push_str("[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"claim\"\nannotations = { \"pv.kubernetes.io/bind-completed\" = \"yes\", \"pv.kubernetes.io/bound-by-controller\" = \"yes\" }\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } }, volumeName = \"pv\" }\n");
    } else {
        body.push_str(&pvc("claim", "1Gi", RWO, ""));
    }
    scenario("1s", &body)
}

#[test]
fn a_half_finished_bind_is_completed_on_the_next_sync() {
    for step in 1..=3 {
        let (_, r, _) = run(&after_crash(step));
        assert_eq!(volume_of(&r, "claim"), "pv", "after step {step}");
        assert_eq!(claim_phase(&r, "claim"), "Bound", "after step {step}");
        assert_eq!(volume(&r, "pv").unwrap().status.phase.to_string(), "Bound");
        assert_eq!(
            volume(&r, "other").unwrap().status.phase.to_string(),
            "Available",
            "the other volume is left alone"
        );
        assert_eq!(
            claim(&r, "claim").unwrap().status.capacity["storage"].as_str(),
            "1Gi"
        );
    }
}

// ---- lost and misbound claims, release and unbind -----------------------------

#[test]
fn a_bound_claim_whose_volume_is_gone_is_lost_and_says_so_once() {
    // binder_test 3-2.
    // Its volume was dynamically provisioned and is gone. (Deleting a Bound
    // PV would not do: pv-protection holds it while it is Bound.)
    let body = "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"claim\"\nannotations = { \"pv.kubernetes.io/bind-completed\" = \"yes\" }\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } }, volumeName = \"pvc-gone\" }\nstatus = { phase = \"Bound\" }\n";
    let (_, r, _) = run(&scenario("40s", body));
    assert_eq!(claim_phase(&r, "claim"), "Lost");
    let lost: Vec<_> = events_on(&r, Kind::PersistentVolumeClaim, "claim")
        .into_iter()
        .filter(|e| e.reason == "ClaimLost")
        .collect();
    assert_eq!(lost.len(), 1, "only on the transition, not on every resync");
    assert_eq!(
        lost[0].message,
        "Bound claim has lost its PersistentVolume. Data on the volume is lost!"
    );
    assert_eq!(lost[0].kind.as_str(), "Warning");
}

#[test]
fn a_bound_claim_without_a_volume_name_is_lost() {
    // binder_test 3-1.
    let body = "[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"claim\"\nannotations = { \"pv.kubernetes.io/bind-completed\" = \"yes\" }\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } } }\nstatus = { phase = \"Bound\" }\n";
    let (_, r, _) = run(&scenario("1s", body));
    assert_eq!(claim_phase(&r, "claim"), "Lost");
    let ev = events_on(&r, Kind::PersistentVolumeClaim, "claim");
    assert_eq!(
        ev[0].message,
        "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"
    );
}

#[test]
fn a_claim_whose_volume_names_another_uid_is_misbound() {
    // binder_test 3-4.
    let body = "[[object]]\nkind = \"PersistentVolume\"\nname = \"pv\"\nspec = { capacity = { storage = \"1Gi\" }, accessModes = [\"ReadWriteOnce\"], hostPath = { path = \"/p\" }, claimRef = { name = \"claim\", uid = \"not-this-one\" } }\nstatus = { phase = \"Bound\" }\n[[object]]\nkind = \"PersistentVolumeClaim\"\nname = \"claim\"\nannotations = { \"pv.kubernetes.io/bind-completed\" = \"yes\" }\nspec = { accessModes = [\"ReadWriteOnce\"], resources = { requests = { storage = \"1Gi\" } }, volumeName = \"pv\" }\nstatus = { phase = \"Bound\" }\n";
    let (_, r, _) = run(&scenario("1s", body));
    assert_eq!(claim_phase(&r, "claim"), "Lost");
    let ev = events_on(&r, Kind::PersistentVolumeClaim, "claim");
    assert_eq!(ev[0].reason, "ClaimMisbound");
    assert_eq!(
        ev[0].message,
        "Two claims are bound to the same volume, this one is bound incorrectly"
    );
    // The volume's claim (by name) has another UID: it is released (4-4).
    assert_eq!(
        volume(&r, "pv").unwrap().status.phase.to_string(),
        "Released"
    );
}

#[test]
fn retain_keeps_the_volume_released_after_its_claim_is_deleted() {
    // binder_test 4-3, through the real deletion path (pvc-protection).
    let body = [
        pv(
            "pv",
            "1Gi",
            RWO,
            "persistentVolumeReclaimPolicy = \"Retain\"",
        ),
        pvc("claim", "1Gi", RWO, ""),
        "[[action]]\nat = \"1s\"\ndelete = \"PersistentVolumeClaim/claim\"\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&scenario("40s", &body));
    assert!(claim(&r, "claim").is_none());
    let v = volume(&r, "pv").unwrap();
    assert_eq!(v.status.phase.to_string(), "Released");
    assert!(
        !v.spec.claim_ref.as_ref().unwrap().uid.is_empty(),
        "the old UID keeps it from new claims"
    );
}

#[test]
fn volumes_bound_to_a_claim_that_took_another_volume_are_unbound() {
    // binder_test 4-7 (bound by controller: claimRef cleared) and 4-8 (by
    // user: only the UID cleared).
    let uid = derive_uid(
        Kind::PersistentVolumeClaim,
        &ObjectKey::new("default", "claim"),
        1,
    );
    let half_bound = |name: &str, by_controller: bool| {
        let ann = if by_controller {
            "annotations = { \"pv.kubernetes.io/bound-by-controller\" = \"yes\" }\n"
        } else {
            ""
        };
        format!(
            "[[object]]\nkind = \"PersistentVolume\"\nname = \"{name}\"\n{ann}spec = {{ capacity = {{ storage = \"1Gi\" }}, accessModes = [\"ReadWriteOnce\"], hostPath = {{ path = \"/p\" }}, claimRef = {{ name = \"claim\", uid = \"{uid}\" }} }}\nstatus = {{ phase = \"Bound\" }}\n"
        )
    };
    let body = [
        half_bound("by-controller", true),
        half_bound("by-user", false),
        pv("real", "1Gi", RWO, ""),
        pvc("claim", "1Gi", RWO, "volumeName = \"real\""),
    ]
    .concat();
    let (_, r, _) = run(&scenario("1s", &body));
    assert_eq!(volume_of(&r, "claim"), "real");
    let a = volume(&r, "by-controller").unwrap();
    assert!(a.spec.claim_ref.is_none());
    assert_eq!(a.status.phase.to_string(), "Available");
    let b = volume(&r, "by-user").unwrap();
    let cr = b.spec.claim_ref.as_ref().unwrap();
    assert_eq!((cr.name.as_str(), cr.uid.as_str()), ("claim", ""));
    assert_eq!(b.status.phase.to_string(), "Available");
}

#[test]
fn delete_policy_on_a_static_nfs_volume_fails_without_a_deleter() {
    // binder_test 4-10's message.
    let body = [
        "[[object]]\nkind = \"PersistentVolume\"\nname = \"nfs\"\nspec = { capacity = { storage = \"1Gi\" }, accessModes = [\"ReadWriteMany\"], persistentVolumeReclaimPolicy = \"Delete\", nfs = { server = \"s\", path = \"/e\" } }\n".to_string(),
        pvc("claim", "1Gi", RWX, ""),
        "[[action]]\nat = \"1s\"\ndelete = \"PersistentVolumeClaim/claim\"\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&scenario("40s", &body));
    let v = volume(&r, "nfs").unwrap();
    assert_eq!(v.status.phase.to_string(), "Failed");
    assert_eq!(
        v.status.message,
        "error getting deleter volume plugin for volume \"nfs\": no volume plugin matched"
    );
    let ev = events_on(&r, Kind::PersistentVolume, "nfs");
    assert_eq!(
        ev.len(),
        1,
        "VolumeFailedDelete only on the transition to Failed"
    );
    assert_eq!(ev[0].reason, "VolumeFailedDelete");
}

#[test]
fn a_claim_in_use_by_a_scheduled_pod_stays_terminating() {
    // pvc-protection: only scheduled pods hold the claim.
    let body = [
        pv("pv", "1Gi", RWO, ""),
        pvc("claim", "1Gi", RWO, ""),
        "[[cluster.node]]\nname = \"n1\"\n".to_string(),
        "[[object]]\nkind = \"Pod\"\nname = \"user\"\nspec = { nodeName = \"n1\", containers = [{ name = \"c\", image = \"i\" }], volumes = [{ name = \"d\", persistentVolumeClaim = { claimName = \"claim\" } }] }\n".to_string(),
        "[[action]]\nat = \"1s\"\ndelete = \"PersistentVolumeClaim/claim\"\n".to_string(),
        "[[action]]\nat = \"5s\"\ndelete = \"Pod/user\"\n".to_string(),
    ]
    .concat();
    let (_, r, _) = run(&scenario("10s", &body));
    let gone = changes_of(&r, Kind::PersistentVolumeClaim, "claim")
        .into_iter()
        .find(|c| c.op == storsim::cluster::ChangeOp::Deleted)
        .expect("the claim goes once the pod is gone");
    // Deleted at 5 s; kubelet sees it at 5.010 s and, with nothing to stop
    // or unmount, removes the pod; pvc-protection sees that at 5.020 s.
    assert_eq!(
        gone.t.as_millis(),
        5_020,
        "held until the pod object is gone"
    );
    assert_eq!(
        volume(&r, "pv").unwrap().status.phase.to_string(),
        "Released"
    );
}
