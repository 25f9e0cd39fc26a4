//! Claims the backend can never serve, refused when the file is loaded.
//!
//! Kubernetes accepts a ReadWriteMany claim on a class whose driver only
//! attaches to one node (EBS): the external-provisioner then fails
//! CreateVolume with InvalidArgument ("Volume capabilities not supported")
//! on every retry and the claim stays Pending. That is almost always a
//! mistake in the scenario, so storsim refuses it up front and says where;
//! `allow_infeasible = true` under `[scenario]` runs it as Kubernetes would.

use super::{Cx, Seg, lookup};
use crate::api::{AccessMode, AnyObject, StorageClass};
use crate::backend::Profile;
use std::ops::Range;
use toml::Spanned;
use toml::de::DeTable;

/// A claim, or a StatefulSet's claim template, that may be provisioned.
pub(super) struct ClaimUse {
    /// `PersistentVolumeClaim/data`, `StatefulSet/db volumeClaimTemplate data`.
    what: String,
    /// `storageClassName` as written (None: the default class).
    class: Option<String>,
    modes: Vec<AccessMode>,
    /// Where its access modes are written (or the object, without them).
    span: Range<usize>,
}

/// The claims `o` may provision. `base` is the object's path in the scenario
/// file (None for objects from manifests, which point at `fallback`).
pub(super) fn claim_uses(
    root: &Spanned<DeTable<'_>>,
    base: Option<&[Seg<'_>]>,
    o: &AnyObject,
    fallback: &Range<usize>,
    out: &mut Vec<ClaimUse>,
) {
    let span_at = |rest: &[Seg<'_>]| {
        base.and_then(|b| {
            let mut path = b.to_vec();
            path.push(Seg::Key("spec"));
            path.extend_from_slice(rest);
            lookup(root, &path).map(|v| v.span())
        })
        .unwrap_or_else(|| fallback.clone())
    };
    match o {
        AnyObject::PersistentVolumeClaim(c) if c.spec.volume_name.is_empty() => {
            out.push(ClaimUse {
                what: format!("PersistentVolumeClaim/{}", c.metadata.name),
                class: c.spec.storage_class_name.clone(),
                modes: c.spec.access_modes.clone(),
                span: span_at(&[Seg::Key("accessModes")]),
            })
        }
        AnyObject::StatefulSet(set) => {
            for (i, t) in set.spec.volume_claim_templates.iter().enumerate() {
                out.push(ClaimUse {
                    what: format!(
                        "StatefulSet/{} volumeClaimTemplate {}",
                        set.metadata.name, t.metadata.name
                    ),
                    class: t.spec.storage_class_name.clone(),
                    modes: t.spec.access_modes.clone(),
                    span: span_at(&[
                        Seg::Key("volumeClaimTemplates"),
                        Seg::Index(i),
                        Seg::Key("spec"),
                        Seg::Key("accessModes"),
                    ]),
                });
            }
        }
        _ => {}
    }
}

/// Refuses every claim asking a single-node driver for a multi-node mode.
pub(super) fn check(cx: &mut Cx, claims: &[ClaimUse], classes: &[StorageClass], profile: &Profile) {
    if profile.driver.multi_node {
        return;
    }
    for c in claims {
        let class = match &c.class {
            Some(name) => classes.iter().find(|k| &k.metadata.name == name),
            None => classes.iter().find(|k| k.is_default()),
        };
        let Some(class) = class.filter(|k| k.provisioner == profile.driver.name) else {
            continue;
        };
        let Some(mode) = c.modes.iter().find(|m| m.is_multi_node()) else {
            continue;
        };
        cx.error(
            c.span.clone(),
            format!(
                "{} asks for {mode:?}, but class `{}` provisions with {} (profile `{}`), whose volumes attach to one node at a time: CreateVolume would fail with InvalidArgument on every retry",
                c.what, class.metadata.name, profile.driver.name, profile.name
            ),
            Some("use ReadWriteOnce or ReadWriteOncePod, or a shared-filesystem profile (`aws-efs`, `nfs`); to watch Kubernetes refuse it, set `allow_infeasible = true` under [scenario]".into()),
        );
    }
}
