//! What the API server refuses on an update, before it stores it: claim
//! validation (`ValidatePersistentVolumeClaimUpdate`, with
//! RecoverVolumeExpansionFailure on, as in 1.33) and the
//! `PersistentVolumeClaimResize` admission plugin. The texts are the ones
//! kubectl prints after `Error from server (…)`.

use super::Store;
use crate::api::persistent_volume_claim::ClaimPhase;
use crate::api::{AnyObject, ObjectKey, PersistentVolumeClaim, StorageClass};

/// Checks an update of `old` to `new`; the error is the API server's.
pub fn validate_update(store: &Store, old: &AnyObject, new: &AnyObject) -> Result<(), String> {
    match (old, new) {
        (AnyObject::PersistentVolumeClaim(o), AnyObject::PersistentVolumeClaim(n)) => {
            claim_update(store, o, n)
        }
        _ => Ok(()),
    }
}

fn claim_update(
    store: &Store,
    old: &PersistentVolumeClaim,
    new: &PersistentVolumeClaim,
) -> Result<(), String> {
    let name = &new.metadata.name;
    let invalid = |detail: &str| format!("PersistentVolumeClaim {name:?} is invalid: {detail}");
    // The spec is immutable but for the size of a bound claim, and for the
    // volume name the first time it is set.
    let mut o = old.spec.clone();
    let mut n = new.spec.clone();
    if old.status.phase == ClaimPhase::Bound {
        n.resources = o.resources.clone();
    }
    if o.volume_name.is_empty() {
        o.volume_name = n.volume_name;
    }
    if o != n {
        return Err(invalid(
            "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let (Some(was), Some(now)) = (old.request(), new.request()) else {
        return Ok(());
    };
    let (was, now) = (was.value(), now.value());
    if now < was && now <= new.capacity_bytes() {
        // A claim may come down again (to recover from a failed expansion),
        // never to or below what it has.
        return Err(invalid(
            "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity",
        ));
    }
    if now > was {
        let forbidden = |m: &str| format!("persistentvolumeclaims {name:?} is forbidden: {m}");
        if old.status.phase != ClaimPhase::Bound {
            return Err(forbidden(
                "Only bound persistent volume claims can be expanded",
            ));
        }
        let class = old.class();
        let allowed = !class.is_empty()
            && class == new.class()
            && store
                .get::<StorageClass>(&ObjectKey::cluster(class))
                .is_some_and(|sc| sc.allow_volume_expansion);
        if !allowed {
            return Err(forbidden(
                "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
            ));
        }
    }
    Ok(())
}

/// Checks a new object as API validation does for the fields storsim
/// reads; the error is the API server's (`… is invalid: [field: reason, …]`).
pub fn validate_create(obj: &AnyObject) -> Result<(), String> {
    let mut errs: Vec<String> = Vec::new();
    match obj {
        AnyObject::StatefulSet(s) => {
            let sel = &s.spec.selector;
            if sel.match_labels.is_empty() && sel.match_expressions.is_empty() {
                errs.push("spec.selector: Required value".into());
            }
            if !sel.matches(&s.spec.template.metadata.labels)
                || s.spec.template.metadata.labels.is_empty()
            {
                errs.push(
                    "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"
                        .into(),
                );
            }
            if s.spec.template.spec.containers.is_empty() {
                errs.push("spec.template.spec.containers: Required value".into());
            }
        }
        AnyObject::Pod(p) if p.spec.containers.is_empty() => {
            errs.push("spec.containers: Required value".into());
        }
        AnyObject::PersistentVolumeClaim(c) => {
            if c.spec.access_modes.is_empty() {
                errs.push(
                    "spec.accessModes: Required value: at least 1 access mode is required".into(),
                );
            }
            if c.request().is_none() {
                errs.push("spec.resources[storage]: Required value".into());
            }
        }
        _ => {}
    }
    if errs.is_empty() {
        return Ok(());
    }
    let kind = obj.kind();
    let group = match kind {
        crate::api::Kind::StatefulSet => "StatefulSet.apps",
        k => k.as_str(),
    };
    let list = if errs.len() == 1 {
        errs.remove(0)
    } else {
        format!("[{}]", errs.join(", "))
    };
    Err(format!("{group} {:?} is invalid: {list}", obj.meta().name))
}
