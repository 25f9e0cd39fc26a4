//! `storsim describe`: what `kubectl describe` would have shown for one
//! object at one simulated instant — its metadata, status and the fields
//! that matter, the objects it depends on (claim → volume → attachment →
//! node), and its Events so far — so "why is my pod stuck?" has an answer.
//!
//! The state comes from a run stopped at that instant (the simulation is
//! deterministic, so it is the state the full run passed through); nothing
//! is copied per event.

use crate::api::{
    AnyObject, Kind, ObjectKey, ObjectRef, PersistentVolumeClaim, Pod, VolumeAttachment,
};
use crate::cluster::{ChangeOp, EventRecord, Record, Store};
use crate::engine::SimTime;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The description of `target` in `store` (a run stopped at the instant
/// to describe), or why there is none.
pub fn describe(store: &Store, target: &ObjectRef, now: SimTime) -> Result<String, String> {
    let Some(obj) = store.get_any(target) else {
        return Err(absent(store, target, now));
    };
    let mut out = String::new();
    let meta = obj.meta();
    let _ = writeln!(out, "{}{}", Label("Name:"), meta.name);
    if target.kind.namespaced() {
        let _ = writeln!(out, "{}{}", Label("Namespace:"), meta.namespace);
    }
    let _ = writeln!(out, "{}{}", Label("Kind:"), target.kind);
    let _ = writeln!(out, "{}{}", Label("At:"), now.offset_label());
    let _ = writeln!(
        out,
        "{}{}",
        Label("Created:"),
        meta.creation_timestamp.offset_label()
    );
    if let Some(d) = meta.deletion_timestamp {
        let _ = writeln!(
            out,
            "{}{} (Terminating)",
            Label("Deleting:"),
            d.offset_label()
        );
    }
    map_lines(&mut out, "Labels:", &meta.labels);
    map_lines(&mut out, "Annotations:", &meta.annotations);
    if !meta.finalizers.is_empty() {
        let _ = writeln!(
            out,
            "{}[{}]",
            Label("Finalizers:"),
            meta.finalizers
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if let Some(owner) = meta.owner_references.first() {
        let _ = writeln!(
            out,
            "{}{}/{}",
            Label("Controlled By:"),
            owner.kind,
            owner.name
        );
    }
    if let Some(p) = obj.phase() {
        let _ = writeln!(out, "{}{p}", Label("Status:"));
    }
    for (k, v) in obj.columns() {
        if !v.is_empty() {
            let _ = writeln!(out, "{}{v}", Label(&format!("{}:", title(k))));
        }
    }
    // Spec and status, flattened: every field the object has.
    let value = any_json(&obj);
    for part in ["spec", "status"] {
        if let Some(v) = value.get(part) {
            let mut lines = Vec::new();
            flatten(v, String::new(), &mut lines);
            if !lines.is_empty() {
                let _ = writeln!(
                    out,
                    "{}:",
                    if part == "spec" {
                        "Spec"
                    } else {
                        "Status Fields"
                    }
                );
                for (k, v) in lines {
                    let _ = writeln!(out, "  {k}: {v}");
                }
            }
        }
    }
    let related = related(store, &obj);
    if !related.is_empty() {
        let _ = writeln!(out, "Related:");
        for line in related {
            let _ = writeln!(out, "  {line}");
        }
    }
    events(&mut out, store, target);
    Ok(out)
}

/// Why an object is not there at `now`: not created yet, or gone.
fn absent(store: &Store, target: &ObjectRef, now: SimTime) -> String {
    let last = store.log().iter().rev().find_map(|r| match r {
        Record::Change(c) if &c.object == target => Some((c.op, c.t)),
        _ => None,
    });
    match last {
        Some((ChangeOp::Deleted, t)) => {
            format!(
                "{target} does not exist at {}: it was deleted at {}",
                now.offset_label(),
                t.offset_label()
            )
        }
        _ => format!(
            "{target} does not exist at {} (it may be created later: try a later --at)",
            now.offset_label()
        ),
    }
}

fn title(header: &str) -> String {
    let lower = header.to_lowercase();
    let mut c = lower.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A field's label, padded to the value column. A label as wide as the
/// column is followed by two spaces, as kubectl's tab writer leaves them
/// (`Controlled By:  StatefulSet/web`), never run into its value.
struct Label<'a>(&'a str);

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.chars().count() >= 14 {
            write!(f, "{}  ", self.0)
        } else {
            write!(f, "{:<14}", self.0)
        }
    }
}

fn map_lines(out: &mut String, label: &str, map: &crate::api::Labels) {
    if map.is_empty() {
        let _ = writeln!(out, "{}<none>", Label(label));
        return;
    }
    for (i, (k, v)) in map.iter().enumerate() {
        let l = if i == 0 { label } else { "" };
        let _ = writeln!(out, "{}{k}={v}", Label(l));
    }
}

fn any_json(obj: &AnyObject) -> serde_json::Value {
    let mut v = obj.to_json();
    // Classes keep their fields at the top level.
    if matches!(
        obj,
        AnyObject::StorageClass(_) | AnyObject::VolumeSnapshotClass(_)
    ) && let serde_json::Value::Object(m) = &mut v
    {
        m.remove("metadata");
        return serde_json::json!({ "spec": serde_json::Value::Object(m.clone()) });
    }
    v
}

/// `a.b[0].c: value` lines, leaves only.
fn flatten(v: &serde_json::Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(x, p, out);
            }
        }
        serde_json::Value::Array(a) => {
            // Short lists of plain values read better on one line.
            if a.iter().all(|x| !x.is_object() && !x.is_array()) {
                let items: Vec<String> = a.iter().map(plain).collect();
                out.push((path, format!("[{}]", items.join(", "))));
            } else {
                for (i, x) in a.iter().enumerate() {
                    flatten(x, format!("{path}[{i}]"), out);
                }
            }
        }
        // Times are milliseconds into the run: shown as the timeline shows them.
        serde_json::Value::Number(n)
            if path.ends_with("Time") || path.ends_with("Timestamp") || path.ends_with(".time") =>
        {
            let ms = n.as_u64().unwrap_or_default();
            out.push((path, SimTime(ms).offset_label()));
        }
        other => out.push((path, plain(other))),
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line about another object: its kind/name and kubectl status.
fn brief(store: &Store, r: &ObjectRef) -> String {
    match store.get_any(r) {
        Some(o) => {
            let status = o.phase().unwrap_or_default();
            let cols = crate::api::columns_text(&o.columns());
            format!("{r}: {status} {cols}").trim_end().to_string()
        }
        None => format!("{r}: does not exist"),
    }
}

/// The objects this one depends on or that depend on it.
fn related(store: &Store, obj: &AnyObject) -> Vec<String> {
    let mut out = Vec::new();
    let claim_chain = |out: &mut Vec<String>, ns: &str, claim: &str, node: Option<&str>| {
        let ck = ObjectKey::new(ns, claim);
        out.push(brief(
            store,
            &ObjectRef::new(Kind::PersistentVolumeClaim, ck.clone()),
        ));
        let Some(c) = store.get::<PersistentVolumeClaim>(&ck) else {
            return;
        };
        if c.spec.volume_name.is_empty() {
            return;
        }
        let pv = ObjectKey::cluster_named(c.spec.volume_name);
        out.push(format!(
            "  └ {}",
            brief(store, &ObjectRef::new(Kind::PersistentVolume, pv))
        ));
        if let Some(n) = node
            && !store.list::<VolumeAttachment>().any(|va| {
                va.spec.persistent_volume_name == c.spec.volume_name && va.spec.node_name == n
            })
        {
            out.push(format!("    └ no VolumeAttachment for {n}"));
        }
        for va in store.list::<VolumeAttachment>() {
            if va.spec.persistent_volume_name == c.spec.volume_name
                && node.is_none_or(|n| n == va.spec.node_name)
            {
                let mut line = format!(
                    "    └ {}",
                    brief(
                        store,
                        &ObjectRef::new(Kind::VolumeAttachment, va.metadata.key())
                    )
                );
                if let Some(e) = &va.status.attach_error {
                    let _ = write!(line, " attachError=\"{e}\"");
                }
                if let Some(e) = &va.status.detach_error {
                    let _ = write!(line, " detachError=\"{e}\"");
                }
                out.push(line);
            }
        }
    };
    match obj {
        AnyObject::Pod(p) => {
            let node = (!p.spec.node_name.is_empty()).then_some(p.spec.node_name.as_str());
            if let Some(n) = node {
                out.push(brief(
                    store,
                    &ObjectRef::new(Kind::Node, ObjectKey::cluster(n)),
                ));
            }
            for c in p.claim_names() {
                claim_chain(&mut out, &p.metadata.namespace, c, node);
            }
        }
        AnyObject::PersistentVolumeClaim(c) => {
            if !c.spec.volume_name.is_empty() {
                let pv = ObjectKey::cluster_named(c.spec.volume_name);
                out.push(brief(store, &ObjectRef::new(Kind::PersistentVolume, pv)));
            }
            let users: Vec<String> = store
                .list::<Pod>()
                .filter(|p| {
                    p.metadata.namespace == c.metadata.namespace
                        && p.claim_names().any(|n| n == c.metadata.name)
                })
                .map(|p| p.metadata.name.to_string())
                .collect();
            out.push(format!(
                "Used By: {}",
                if users.is_empty() {
                    "<none>".to_string()
                } else {
                    users.join(", ")
                }
            ));
            if let Some(ds) = &c.spec.data_source
                && ds.kind == "VolumeSnapshot"
            {
                let k = ObjectKey::new(c.metadata.namespace, &ds.name);
                out.push(brief(store, &ObjectRef::new(Kind::VolumeSnapshot, k)));
            }
        }
        AnyObject::PersistentVolume(pv) => {
            if let Some(cr) = &pv.spec.claim_ref {
                let k = ObjectKey::new(cr.namespace, cr.name);
                out.push(brief(
                    store,
                    &ObjectRef::new(Kind::PersistentVolumeClaim, k),
                ));
            }
            for va in store.list::<VolumeAttachment>() {
                if va.spec.persistent_volume_name == pv.metadata.name {
                    out.push(brief(
                        store,
                        &ObjectRef::new(Kind::VolumeAttachment, va.metadata.key()),
                    ));
                }
            }
        }
        AnyObject::Node(n) => {
            for p in store
                .list::<Pod>()
                .filter(|p| p.spec.node_name == n.metadata.name)
            {
                out.push(brief(store, &ObjectRef::new(Kind::Pod, p.metadata.key())));
            }
            for v in &n.status.volumes_attached {
                out.push(format!("volume attached: {v}"));
            }
            for v in &n.status.volumes_in_use {
                out.push(format!("volume in use: {v}"));
            }
        }
        AnyObject::StatefulSet(s) => {
            for p in store.list::<Pod>().filter(|p| {
                p.metadata.namespace == s.metadata.namespace
                    && p.metadata
                        .owner_references
                        .iter()
                        .any(|o| o.name == s.metadata.name)
            }) {
                out.push(brief(store, &ObjectRef::new(Kind::Pod, p.metadata.key())));
            }
            let prefixes: Vec<String> = s
                .spec
                .volume_claim_templates
                .iter()
                .map(|t| format!("{}-{}-", t.metadata.name, s.metadata.name))
                .collect();
            for c in store.list::<PersistentVolumeClaim>().filter(|c| {
                c.metadata.namespace == s.metadata.namespace
                    && prefixes
                        .iter()
                        .any(|pre| c.metadata.name.starts_with(pre.as_str()))
            }) {
                out.push(brief(
                    store,
                    &ObjectRef::new(Kind::PersistentVolumeClaim, c.metadata.key()),
                ));
            }
        }
        AnyObject::VolumeAttachment(va) => {
            let pv = ObjectKey::cluster(va.spec.persistent_volume_name);
            out.push(brief(store, &ObjectRef::new(Kind::PersistentVolume, pv)));
            let n = ObjectKey::cluster(va.spec.node_name);
            out.push(brief(store, &ObjectRef::new(Kind::Node, n)));
        }
        AnyObject::VolumeSnapshot(s) => {
            if let Some(c) = &s.spec.source.persistent_volume_claim_name {
                let k = ObjectKey::new(s.metadata.namespace, c);
                out.push(brief(
                    store,
                    &ObjectRef::new(Kind::PersistentVolumeClaim, k),
                ));
            }
            if let Some(c) = &s.status.bound_volume_snapshot_content_name {
                let k = ObjectKey::cluster(c);
                out.push(brief(
                    store,
                    &ObjectRef::new(Kind::VolumeSnapshotContent, k),
                ));
            }
        }
        _ => {}
    }
    out
}

/// An Event as `kubectl describe` groups it: type, reason, source, message.
type EventKey = (String, String, &'static str, String);
/// First seen, last seen, count, and the log position of the last.
type Seen = (SimTime, SimTime, u32, u64);

/// The object's Events so far, as `kubectl describe` lists them: one row
/// per distinct event with its count and first and last time.
fn events(out: &mut String, store: &Store, target: &ObjectRef) {
    let mut rows: BTreeMap<EventKey, Seen> = BTreeMap::new();
    for rec in store.log() {
        if let Record::Event(e) = rec
            && &e.object == target
        {
            let EventRecord {
                kind,
                reason,
                message,
                source,
                t,
                first_seen,
                count,
                seq,
                ..
            } = e;
            let row = rows
                .entry((
                    kind.as_str().to_string(),
                    reason.to_string(),
                    source,
                    message.to_string(),
                ))
                .or_insert((first_seen, t, count, seq));
            row.1 = t;
            row.2 = count;
            row.3 = seq;
        }
    }
    if rows.is_empty() {
        let _ = writeln!(out, "Events:       <none>");
        return;
    }
    let mut rows: Vec<_> = rows.into_iter().collect();
    rows.sort_by_key(|(_, (first, _, _, seq))| (*first, *seq));
    let _ = writeln!(out, "Events:");
    let _ = writeln!(
        out,
        "  {:<8} {:<26} {:<24} {:<28} Message",
        "Type", "Reason", "When", "From"
    );
    for ((kind, reason, source, message), (first, last, count, _)) in rows {
        let when = if count > 1 {
            format!(
                "{} (x{count} since {})",
                last.offset_label(),
                first.offset_label()
            )
        } else {
            last.offset_label()
        };
        let _ = writeln!(
            out,
            "  {kind:<8} {reason:<26} {when:<24} {source:<28} {message}"
        );
    }
}
