//! Reading a scenario file: TOML syntax, the schema, each object's spec by
//! its kind, then the references between things. Every error carries its
//! place in the file.

use super::diag::{InputError, hint_for_serde_message, nearest};
use super::model::*;
use super::schema::*;
use crate::api::node::{LABEL_HOSTNAME, LABEL_OS, LABEL_REGION, LABEL_ZONE, NodeSpec, NodeStatus};
use crate::api::persistent_volume::PersistentVolumeStatus;
use crate::api::persistent_volume_claim::PersistentVolumeClaimStatus;
use crate::api::pod::PodStatus;
use crate::api::storage_class::ANN_DEFAULT_CLASS;
use crate::api::{
    AnyObject, Kind, Node, ObjectKey, ObjectMeta, ObjectRef, PersistentVolume,
    PersistentVolumeClaim, Pod, Quantity, ReclaimPolicy, StorageClass,
};
use crate::backend::Profile;
use crate::backend::profile::BUILT_IN;
use crate::backend::profile::{OperationOverride, Overrides, SidecarOverride};
use crate::cluster::EventType;
use crate::engine::{SimDuration, SimTime};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

mod feasibility;

/// Feature gates a scenario may set, and the value a GA gate is locked to.
const FEATURE_GATES: [(&str, Option<bool>); 5] = [
    ("MaxUnavailableStatefulSet", None),
    ("StatefulSetAutoDeletePVC", Some(true)),
    ("HonorPVReclaimPolicy", Some(true)),
    ("ReadWriteOncePod", Some(true)),
    ("NodeOutOfServiceVolumeDetach", Some(true)),
];

/// Default bound on handled events.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000;
/// Default bound on simulated time when a scenario has no `end`.
pub const DEFAULT_MAX_TIME: SimDuration = SimDuration::from_secs(24 * 3600);

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// File name.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{}", .0.iter().map(InputError::render).collect::<Vec<_>>().join("\n"))]
    Input(Vec<InputError>),
}

/// Reads and validates the scenario at `path`.
pub fn load_file(path: &str) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        file: path.to_string(),
        source,
    })?;
    load_str(path, &text)
}

/// Validates scenario `text`, naming it `file` in errors.
pub fn load_str(file: &str, text: &str) -> Result<Scenario, LoadError> {
    let source = Arc::new(text.to_string());
    let mut cx = Cx {
        file: file.to_string(),
        source: source.clone(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut root = DeTable::parse(text).map_err(|e| LoadError::Input(vec![cx.toml_error(e)]))?;
    let raw: ScenarioFile =
        serde::Deserialize::deserialize(toml::de::Deserializer::from(without_specs(&mut root)))
            .map_err(|e| LoadError::Input(vec![cx.toml_error(e)]))?;
    let scenario = build(&mut cx, &root, raw, text);
    if cx.errors.is_empty() {
        Ok(scenario)
    } else {
        Err(LoadError::Input(cx.errors))
    }
}

/// A copy of the tree for the schema's pass, with each object's `spec`
/// and `status` an empty table where it was.
///
/// The schema only asks whether an object has them: each is read later
/// from `root`, by the object's kind, so that its errors point into it.
/// Copying them as well doubled the loader's memory (a node of the
/// spanned tree's maps is about a kilobyte, even for a one-entry inline
/// table), and a 100 k-pod fleet's file then took 600 MB to load. They
/// are taken out of `root` while it is copied, then put back.
fn without_specs<'i>(root: &mut Spanned<DeTable<'i>>) -> Spanned<DeTable<'i>> {
    type Taken<'i> = Vec<Spanned<DeValue<'i>>>;
    /// The `spec` and `status` of the object definitions in array `key`
    /// (at `inner` within each element, if given), swapped with `taken`'s.
    fn swap<'i>(root: &mut DeTable<'i>, key: &str, inner: Option<&str>, taken: &mut Taken<'i>) {
        let Some(DeValue::Array(items)) = root.get_mut(key).map(Spanned::get_mut) else {
            return;
        };
        let defs = items.iter_mut().filter_map(|item| match item.get_mut() {
            DeValue::Table(t) => match inner {
                None => Some(t),
                Some(k) => match t.get_mut(k).map(Spanned::get_mut) {
                    Some(DeValue::Table(def)) => Some(def),
                    _ => None,
                },
            },
            _ => None,
        });
        let mut i = 0;
        for def in defs {
            for field in ["spec", "status"] {
                if let Some(v) = def.get_mut(field) {
                    if taken.len() == i {
                        let span = v.span();
                        taken.push(Spanned::new(span, DeValue::Table(DeTable::new())));
                    }
                    std::mem::swap(v, &mut taken[i]);
                    i += 1;
                }
            }
        }
    }
    // Swapped out, copied, swapped back: a swap with the placeholders
    // swaps the values back.
    let places = [("object", None), ("action", Some("create"))];
    let mut taken: [Taken<'i>; 2] = Default::default();
    for ((key, inner), held) in places.iter().zip(&mut taken) {
        swap(root.get_mut(), key, *inner, held);
    }
    let copy = root.clone();
    for ((key, inner), held) in places.iter().zip(&mut taken) {
        swap(root.get_mut(), key, *inner, held);
    }
    copy
}

/// Error collector.
struct Cx {
    file: String,
    source: Arc<String>,
    errors: Vec<InputError>,
    /// Valid for Kubernetes but probably not what was meant:
    /// `file:line:col: warning: …`.
    warnings: Vec<String>,
}

impl Cx {
    fn warning(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, col) = InputError {
            file: self.file.clone(),
            source_text: self.source.clone(),
            span,
            message: String::new(),
            hint: None,
        }
        .line_col();
        self.warnings.push(format!(
            "{}:{line}:{col}: warning: {}",
            self.file,
            message.into()
        ));
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>, hint: Option<String>) {
        self.errors.push(InputError {
            file: self.file.clone(),
            source_text: self.source.clone(),
            span,
            message: message.into(),
            hint,
        });
    }

    fn toml_error(&self, e: toml::de::Error) -> InputError {
        let message = e.message().trim().to_string();
        let hint = hint_for_serde_message(&message).or_else(|| {
            message
                .starts_with("missing field")
                .then(|| "add the field; see the scenario format reference in the README".into())
        });
        InputError {
            file: self.file.clone(),
            source_text: self.source.clone(),
            span: e.span().unwrap_or(0..0),
            message,
            hint,
        }
    }

    /// Deserializes the value at `path` of the spanned tree as `T`.
    fn typed<T: DeserializeOwned>(
        &mut self,
        root: &Spanned<DeTable<'_>>,
        path: &[Seg<'_>],
    ) -> Option<T> {
        let value = lookup(root, path)?;
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(v) => Some(v),
            Err(e) => {
                let ie = self.toml_error(e);
                self.errors.push(ie);
                None
            }
        }
    }
}

/// A step in a path through the document tree.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn lookup<'a, 'i>(
    root: &'a Spanned<DeTable<'i>>,
    path: &[Seg<'_>],
) -> Option<&'a Spanned<DeValue<'i>>> {
    let mut table: &DeTable<'i> = root.get_ref();
    let mut current: Option<&Spanned<DeValue<'i>>> = None;
    for seg in path {
        let next = match (seg, current) {
            (Seg::Key(k), None) => table.get(*k),
            (Seg::Key(k), Some(v)) => v.get_ref().as_table()?.get(*k),
            (Seg::Index(i), Some(v)) => v.get_ref().as_array()?.get(*i),
            (Seg::Index(_), None) => None,
        }?;
        current = Some(next);
        if let Some(t) = next.get_ref().as_table() {
            table = t;
        }
    }
    current
}

fn span_of(root: &Spanned<DeTable<'_>>, path: &[Seg<'_>]) -> Range<usize> {
    lookup(root, path).map(|v| v.span()).unwrap_or(0..0)
}

/// DNS-1123 subdomain, as Kubernetes requires of most names.
fn name_problem(name: &str) -> Option<String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 253 || !ok_chars || !ends_ok {
        Some(format!(
            "`{name}` is not a valid Kubernetes name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters"
        ))
    } else {
        None
    }
}

/// Names known statically, to check references and suggest corrections.
#[derive(Default)]
struct Known {
    objects: BTreeMap<ObjectRef, Range<usize>>,
    labels: BTreeMap<String, Range<usize>>,
    zones: Vec<String>,
    /// StatefulSets: their claim template names.
    set_templates: BTreeMap<ObjectKey, Vec<String>>,
    /// StatefulSets: their container names.
    set_containers: BTreeMap<ObjectKey, Vec<String>>,
    /// Node names per zone.
    zone_nodes: BTreeMap<String, Vec<String>>,
}

impl Known {
    fn names_of(&self, kind: Kind) -> Vec<&str> {
        self.objects
            .keys()
            .filter(|r| r.kind == kind)
            .map(|r| r.key.name.as_str())
            .collect()
    }

    /// Whether `r` can exist during a run: defined in the file, or a name the
    /// simulation generates (dynamically provisioned PVs are `pvc-<uid>`;
    /// a StatefulSet's pods `<set>-<n>` and claims `<template>-<set>-<n>`).
    fn can_exist(&self, r: &ObjectRef) -> bool {
        let ordinal_of = |name: &str, prefix: &str| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|n| n.parse::<u32>().is_ok())
        };
        self.objects.contains_key(r)
            || (r.kind == Kind::PersistentVolume && r.key.name.starts_with("pvc-"))
            || self.set_templates.iter().any(|(set, templates)| {
                set.namespace == r.key.namespace
                    && match r.kind {
                        Kind::Pod => ordinal_of(&r.key.name, &set.name),
                        Kind::PersistentVolumeClaim => templates
                            .iter()
                            .any(|t| ordinal_of(&r.key.name, &format!("{t}-{}", set.name))),
                        _ => false,
                    }
            })
    }
}

fn build(cx: &mut Cx, root: &Spanned<DeTable<'_>>, raw: ScenarioFile, text: &str) -> Scenario {
    if *raw.format.get_ref() != 1 {
        cx.error(
            raw.format.span(),
            format!("unsupported format {}", raw.format.get_ref()),
            Some("this storsim reads `format = 1`".into()),
        );
    }
    let mut known = Known::default();

    // Zones and nodes.
    let mut zones = Vec::new();
    for z in &raw.cluster.zones {
        if zones.contains(z.get_ref()) {
            cx.error(z.span(), format!("duplicate zone `{}`", z.get_ref()), None);
        }
        zones.push(z.get_ref().clone());
    }
    known.zones = zones.clone();
    let mut nodes = Vec::new();
    let mut generated: u64 = 0;
    for (gi, g) in raw.cluster.node_group.iter().enumerate() {
        // Refused before a single node is made: a typo here would otherwise
        // take the machine's memory, not give an error.
        generated += u64::from(g.per_zone) * zones.len() as u64;
        if generated > MAX_NODES {
            let gib = generated as f64 * NODE_BYTES as f64 / (1u64 << 30) as f64;
            cx.error(
                span_of(
                    root,
                    &[
                        Seg::Key("cluster"),
                        Seg::Key("node_group"),
                        Seg::Index(gi),
                        Seg::Key("per_zone"),
                    ],
                ),
                format!(
                    "{generated} nodes is too many to simulate (about {gib:.1} GiB of nodes alone)"
                ),
                Some(format!("at most {MAX_NODES} generated nodes in all")),
            );
            break;
        }
        if zones.is_empty() {
            cx.error(
                span_of(
                    root,
                    &[Seg::Key("cluster"), Seg::Key("node_group"), Seg::Index(gi)],
                ),
                "a node group places nodes in every zone, but `cluster.zones` is empty",
                Some("add `zones = [\"us-east-1a\", …]` under [cluster]".into()),
            );
        }
        for zone in &zones {
            for i in 0..g.per_zone {
                let name = format!("{}-{zone}-{i}", g.name_prefix);
                nodes.push(make_node(
                    &name,
                    Some(zone),
                    raw.cluster.region.as_deref(),
                    &g.cpu,
                    &g.memory,
                    g.pods,
                    &g.labels,
                    &g.taints,
                ));
            }
        }
    }
    for n in &raw.cluster.node {
        if let Some(z) = &n.zone
            && !zones.contains(z.get_ref())
        {
            let hint = nearest(z.get_ref(), zones.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some("add the zone to `cluster.zones`".into()));
            cx.error(z.span(), format!("unknown zone `{}`", z.get_ref()), hint);
        }
        if let Some(p) = name_problem(n.name.get_ref()) {
            cx.error(n.name.span(), p, None);
        }
        nodes.push(make_node(
            n.name.get_ref(),
            n.zone.as_ref().map(|z| z.get_ref().as_str()),
            raw.cluster.region.as_deref(),
            &n.cpu,
            &n.memory,
            n.pods,
            &n.labels,
            &n.taints,
        ));
    }
    let mut node_names = BTreeSet::new();
    for (i, n) in nodes.iter().enumerate() {
        if !node_names.insert(n.metadata.name) {
            let span = raw
                .cluster
                .node
                .iter()
                .find(|d| d.name.get_ref() == &n.metadata.name)
                .map(|d| d.name.span())
                .unwrap_or_else(|| span_of(root, &[Seg::Key("cluster")]));
            cx.error(
                span,
                format!("duplicate node name `{}` (node {})", n.metadata.name, i + 1),
                None,
            );
        }
        known
            .objects
            .insert(ObjectRef::new(Kind::Node, n.metadata.key()), 0..0);
        if let Some(z) = n.zone() {
            known
                .zone_nodes
                .entry(z.to_string())
                .or_default()
                .push(n.metadata.name.to_string());
        }
    }

    // Storage classes.
    let mut classes = Vec::new();
    for d in &raw.storage_class {
        let name = declare_class(cx, &mut known, Kind::StorageClass, &d.name, text);
        let reclaim = match &d.reclaim_policy {
            Some(p) if *p.get_ref() == ReclaimPolicy::Recycle => {
                cx.error(
                    p.span(),
                    "reclaimPolicy Recycle is not allowed on a StorageClass",
                    Some("use Delete or Retain".into()),
                );
                ReclaimPolicy::Delete
            }
            Some(p) => *p.get_ref(),
            None => ReclaimPolicy::Delete,
        };
        let mut annotations: crate::api::Labels = d.annotations.iter().collect();
        if d.is_default {
            annotations.insert(ANN_DEFAULT_CLASS, "true");
        }
        classes.push(StorageClass {
            metadata: ObjectMeta {
                name: name.into(),
                labels: d.labels.iter().collect(),
                annotations,
                ..Default::default()
            },
            provisioner: d.provisioner.clone(),
            parameters: d.parameters.clone(),
            reclaim_policy: reclaim,
            volume_binding_mode: d.volume_binding_mode.unwrap_or_default(),
            allow_volume_expansion: d.allow_volume_expansion,
            allowed_topologies: d.allowed_topologies.clone(),
            mount_options: d.mount_options.clone(),
        });
    }

    // Snapshot classes.
    let mut snapshot_classes = Vec::new();
    for d in &raw.snapshot_class {
        let name = declare_class(cx, &mut known, Kind::VolumeSnapshotClass, &d.name, text);
        let mut annotations = crate::api::Labels::new();
        if d.is_default {
            annotations.insert(
                crate::api::volume_snapshot::ANN_DEFAULT_SNAPSHOT_CLASS,
                "true",
            );
        }
        snapshot_classes.push(crate::api::VolumeSnapshotClass {
            metadata: ObjectMeta {
                name: name.into(),
                annotations,
                ..Default::default()
            },
            driver: d.driver.clone(),
            deletion_policy: d.deletion_policy,
            parameters: d.parameters.clone(),
        });
    }

    // Manifests: their classes join the file's, their objects come first.
    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    if !raw.manifests.is_empty() {
        let dir = std::path::Path::new(&cx.file)
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let paths: Vec<std::path::PathBuf> = raw
            .manifests
            .iter()
            .map(|m| dir.join(m.get_ref()))
            .collect();
        let span = raw.manifests[0].span();
        match super::manifest::load(&paths) {
            Ok(loaded) => {
                warnings = loaded.warnings.iter().map(|w| w.to_string()).collect();
                for n in loaded.nodes {
                    let r = ObjectRef::new(Kind::Node, n.metadata.key());
                    if known.objects.contains_key(&r) {
                        cx.error(
                            span.clone(),
                            format!("duplicate node name `{}`", n.metadata.name),
                            None,
                        );
                        continue;
                    }
                    known.objects.insert(r, span.clone());
                    if let Some(z) = n.zone() {
                        known
                            .zone_nodes
                            .entry(z.to_string())
                            .or_default()
                            .push(n.metadata.name.to_string());
                    }
                    nodes.push(n);
                }
                for sc in loaded.classes {
                    known.objects.insert(
                        ObjectRef::new(Kind::StorageClass, sc.metadata.key()),
                        span.clone(),
                    );
                    classes.push(sc);
                }
                for c in loaded.snapshot_classes {
                    known.objects.insert(
                        ObjectRef::new(Kind::VolumeSnapshotClass, c.metadata.key()),
                        span.clone(),
                    );
                    snapshot_classes.push(c);
                }
                for o in loaded.objects {
                    // What the API server would refuse is refused here.
                    if let Err(m) = crate::cluster::admission::validate_create(&o) {
                        cx.error(span.clone(), m, None);
                        continue;
                    }
                    register(cx, &mut known, &o, span.clone(), text);
                    objects.push((o, span.clone()));
                }
            }
            Err(errors) => cx.errors.extend(errors),
        }
    }

    let from_manifests = objects.len();

    // Objects and created objects: first pass registers names so that
    // references may point forward in the file.
    let object_paths: Vec<Vec<Seg<'static>>> = (0..raw.object.len())
        .map(|i| vec![Seg::Key("object"), Seg::Index(i)])
        .collect();
    for (i, def) in raw.object.iter().enumerate() {
        if let Some(o) = build_object(cx, root, def, &object_paths[i]) {
            register(cx, &mut known, &o, def.name.span(), text);
            objects.push((o, def.name.span()));
        }
    }
    let mut created = Vec::new();
    // `apply` files are read here too, so that what they create can be
    // referred to like what `create` creates.
    type Applied = (Vec<AnyObject>, Vec<super::manifest::Partial>);
    let mut applied: BTreeMap<usize, Applied> = BTreeMap::new();
    for (i, a) in raw.action.iter().enumerate() {
        if let Some(f) = &a.apply {
            let dir = std::path::Path::new(&cx.file)
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            match super::manifest::load_for_apply(&[dir.join(f.get_ref())]) {
                Ok(loaded) => {
                    warnings.extend(loaded.warnings.iter().map(|w| w.to_string()));
                    let mut objects: Vec<AnyObject> = Vec::new();
                    objects.extend(loaded.classes.into_iter().map(AnyObject::from));
                    objects.extend(loaded.snapshot_classes.into_iter().map(AnyObject::from));
                    objects.extend(loaded.objects);
                    for o in &objects {
                        let r = ObjectRef::new(o.kind(), o.meta().key());
                        // New objects are known like created ones; an
                        // update of a known object is no duplicate.
                        if !known.objects.contains_key(&r) {
                            register(cx, &mut known, o, f.span(), text);
                        }
                    }
                    for p in &loaded.partial {
                        let r = ObjectRef::new(p.kind, p.meta.key());
                        known.objects.entry(r).or_insert_with(|| f.span());
                    }
                    applied.insert(i, (objects, loaded.partial));
                }
                Err(errors) => cx.errors.extend(errors),
            }
        }
        if let Some(def) = &a.create {
            let path = [Seg::Key("action"), Seg::Index(i), Seg::Key("create")];
            if let Some(o) = build_object(cx, root, def, &path) {
                register(cx, &mut known, &o, def.name.span(), text);
                created.push((i, o));
            }
        }
    }
    for a in &raw.action {
        if let Some(l) = &a.label {
            if known.labels.contains_key(l.get_ref()) {
                cx.error(
                    l.span(),
                    format!("duplicate action label `{}`", l.get_ref()),
                    None,
                );
            }
            known.labels.insert(l.get_ref().clone(), l.span());
        }
    }
    for (i, (o, span)) in objects.iter().enumerate() {
        // Manifests are taken as Kubernetes takes them: a class name that
        // names no StorageClass only restricts binding to volumes of that
        // class (the reference document's `manual`).
        let Some(j) = i.checked_sub(from_manifests) else {
            let class = match o {
                AnyObject::PersistentVolumeClaim(c) => c.spec.storage_class_name.clone(),
                AnyObject::PersistentVolume(v) => Some(v.spec.storage_class_name.clone()),
                _ => None,
            };
            if let Some(c) = class.filter(|c| !c.is_empty())
                && !known
                    .objects
                    .contains_key(&ObjectRef::new(Kind::StorageClass, ObjectKey::cluster(&c)))
            {
                warnings.push(format!(
                    "{}: storageClassName `{c}` names no StorageClass: nothing provisions it; only volumes of that class can bind",
                    ObjectRef::new(o.kind(), o.meta().key())
                ));
            }
            continue;
        };
        let base = [Seg::Key("object"), Seg::Index(j)];
        check_references(cx, root, &base, &known, o, span.clone());
    }
    for (i, o) in &created {
        let span = raw.action[*i]
            .create
            .as_ref()
            .map(|d| d.name.span())
            .unwrap_or(0..0);
        let base = [Seg::Key("action"), Seg::Index(*i), Seg::Key("create")];
        check_references(cx, root, &base, &known, o, span);
    }

    // Claims to check against the backend once the profile is known, and
    // every class they may name.
    let mut claim_uses = Vec::new();
    for (i, (o, span)) in objects.iter().enumerate() {
        let base = i
            .checked_sub(from_manifests)
            .map(|j| vec![Seg::Key("object"), Seg::Index(j)]);
        feasibility::claim_uses(root, base.as_deref(), o, span, &mut claim_uses);
    }
    for (i, o) in &created {
        let base = [Seg::Key("action"), Seg::Index(*i), Seg::Key("create")];
        let span = span_of(root, &base);
        feasibility::claim_uses(root, Some(&base), o, &span, &mut claim_uses);
    }
    let mut all_classes = classes.clone();
    for (i, (objs, _)) in &applied {
        let span = span_of(
            root,
            &[Seg::Key("action"), Seg::Index(*i), Seg::Key("apply")],
        );
        for o in objs {
            feasibility::claim_uses(root, None, o, &span, &mut claim_uses);
            if let AnyObject::StorageClass(c) = o {
                all_classes.push((**c).clone());
            }
        }
    }

    // Actions.
    let mut actions = Vec::new();
    let mut created_iter = created.into_iter().peekable();
    for (i, a) in raw.action.iter().enumerate() {
        let span = span_of(root, &[Seg::Key("action"), Seg::Index(i)]);
        let when = match (&a.at, &a.after) {
            (Some(at), None) => {
                if a.delay.is_some() {
                    cx.error(
                        at.span(),
                        "`delay` goes with `after`, not with `at`",
                        Some("fold the delay into `at`".into()),
                    );
                }
                Some(When::At(SimTime(at.get_ref().as_millis())))
            }
            (None, Some(after)) => {
                occurrence(cx, &known, after.get_ref(), after.span()).map(|occurrence| {
                    When::After {
                        occurrence,
                        delay: a.delay.unwrap_or_default(),
                    }
                })
            }
            (Some(at), Some(_)) => {
                cx.error(
                    at.span(),
                    "an action has either `at` or `after`, not both",
                    None,
                );
                None
            }
            (None, None) => {
                cx.error(
                    span.clone(),
                    "this action has no time",
                    Some("add `at = \"5s\"` or `after = { object = \"…\", phase = \"…\" }`".into()),
                );
                None
            }
        };
        let count = a.create.is_some() as u8
            + a.delete.is_some() as u8
            + a.patch.is_some() as u8
            + a.scale.is_some() as u8
            + a.set_image.is_some() as u8
            + a.resize.is_some() as u8
            + a.apply.is_some() as u8
            + a.fault.is_some() as u8
            + a.clear_fault.is_some() as u8
            + a.taint.is_some() as u8
            + a.untaint.is_some() as u8
            + a.fail_node.is_some() as u8
            + a.recover_node.is_some() as u8
            + a.fail_zone.is_some() as u8
            + a.recover_zone.is_some() as u8;
        if count != 1 {
            cx.error(
                span.clone(),
                "an action does exactly one thing",
                Some("give one of `create`, `delete`, `patch`, `apply`, `scale`, `set_image`, `resize`, `fault`, `clear_fault`, `taint`, `untaint`, `fail_node`, `recover_node`, `fail_zone` or `recover_zone`".into()),
            );
            continue;
        }
        if a.force.is_some() && a.delete.is_none() {
            cx.error(span.clone(), "`force` goes with `delete`", None);
            continue;
        }
        let kind = if a.create.is_some() {
            // A create whose object was refused has its error reported already.
            created_iter
                .next_if(|(ci, _)| *ci == i)
                .map(|(_, o)| ActionKind::Create(Box::new(o)))
        } else if let Some(d) = &a.delete {
            object_ref(cx, &known, d).map(|r| ActionKind::Delete(r, a.force == Some(true)))
        } else if let Some(p) = &a.patch {
            patch_action(cx, &known, &objects, p)
        } else if let Some(f) = &a.fault {
            operation_name(cx, &f.operation).and_then(|op| {
                let change = operation_override(&f.change);
                // The change's own values; the run applies it to the profile.
                let mut check = crate::backend::operations::OperationProfile::fixed(
                    crate::engine::SimDuration::ZERO,
                );
                change.apply(&mut check);
                let check = check.validate().and_then(|()| {
                    if change.stuck_first.is_some() && op != crate::backend::Operation::Attach {
                        Err("`stuck_first` is for attach only (an attachment that stays `attaching`)".to_string())
                    } else {
                        Ok(())
                    }
                });
                match check {
                    Ok(()) => Some(ActionKind::Fault(op, change)),
                    Err(m) => {
                        cx.error(f.operation.span(), m, None);
                        None
                    }
                }
            })
        } else if let Some(t) = &a.taint {
            let node = node_name(cx, &known, &t.node);
            let effect = t.effect.get_ref().as_str();
            let ok_effect = matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute");
            if !ok_effect {
                cx.error(
                    t.effect.span(),
                    format!("unknown taint effect `{effect}`"),
                    Some("NoSchedule, PreferNoSchedule or NoExecute".into()),
                );
            }
            node.filter(|_| ok_effect).map(|n| {
                ActionKind::Taint(
                    n,
                    crate::api::node::Taint {
                        key: t.key.clone(),
                        value: t.value.clone(),
                        effect: effect.to_string(),
                    },
                )
            })
        } else if let Some(n) = a.fail_node.as_ref().or(a.recover_node.as_ref()) {
            node_name(cx, &known, n).map(|node| ActionKind::Machines {
                nodes: vec![node.clone()],
                down: a.fail_node.is_some(),
                what: format!("node {node}"),
            })
        } else if let Some(z) = a.fail_zone.as_ref().or(a.recover_zone.as_ref()) {
            match known.zone_nodes.get(z.get_ref()) {
                Some(nodes) => Some(ActionKind::Machines {
                    nodes: nodes.clone(),
                    down: a.fail_zone.is_some(),
                    what: format!("zone {}", z.get_ref()),
                }),
                None => {
                    let hint = nearest(z.get_ref(), known.zones.iter().map(String::as_str))
                        .map(|n| format!("did you mean `{n}`?"));
                    cx.error(z.span(), format!("no node in zone `{}`", z.get_ref()), hint);
                    None
                }
            }
        } else if let Some(u) = &a.untaint {
            node_name(cx, &known, &u.node).map(|n| ActionKind::Untaint(n, u.key.clone()))
        } else if let Some(op) = &a.clear_fault {
            operation_name(cx, op).map(ActionKind::ClearFault)
        } else if let Some(f) = &a.apply {
            applied
                .remove(&i)
                .map(|(objects, partial)| ActionKind::Apply {
                    file: f.get_ref().clone(),
                    objects,
                    partial,
                })
        } else if let Some(r) = &a.resize {
            let spanned = Spanned::new(
                r.claim.span(),
                format!("PersistentVolumeClaim/{}", r.claim.get_ref()),
            );
            let claim = object_ref(cx, &known, &spanned);
            let size = match crate::api::Quantity::parse(r.size.get_ref()) {
                Ok(q) if q.value() > 0 => Some(q),
                Ok(_) => {
                    cx.error(r.size.span(), "a claim's size must be positive", None);
                    None
                }
                Err(e) => {
                    cx.error(
                        r.size.span(),
                        format!("`{}` is not a quantity: {e}", r.size.get_ref()),
                        Some("write e.g. \"200Gi\"".into()),
                    );
                    None
                }
            };
            claim
                .zip(size)
                .map(|(claim, size)| ActionKind::Resize { claim, size })
        } else if let Some(sc) = &a.scale {
            if sc.replicas > MAX_REPLICAS {
                cx.error(
                    sc.statefulset.span(),
                    format!("{} replicas is too many to simulate", sc.replicas),
                    Some(format!("at most {MAX_REPLICAS} per StatefulSet")),
                );
                None
            } else {
                statefulset_ref(cx, &known, &sc.statefulset)
                    .map(|r| ActionKind::Scale(r, sc.replicas))
            }
        } else if let Some(si) = &a.set_image {
            statefulset_ref(cx, &known, &si.statefulset).and_then(|set| {
                let containers = known
                    .set_containers
                    .get(&set.key)
                    .cloned()
                    .unwrap_or_default();
                let container = match &si.container {
                    Some(c) if !containers.contains(c.get_ref()) => {
                        let hint = nearest(c.get_ref(), containers.iter().map(String::as_str))
                            .map(|n| format!("did you mean `{n}`?"));
                        cx.error(
                            c.span(),
                            format!("the StatefulSet has no container `{}`", c.get_ref()),
                            hint,
                        );
                        return None;
                    }
                    Some(c) => Some(c.get_ref().clone()),
                    None if containers.len() == 1 => None,
                    None => {
                        cx.error(
                            si.statefulset.span(),
                            "the StatefulSet has several containers: name one with `container`",
                            None,
                        );
                        return None;
                    }
                };
                Some(ActionKind::SetImage {
                    set,
                    container,
                    image: si.image.clone(),
                })
            })
        } else {
            None
        };
        if let (Some(when), Some(kind)) = (when, kind) {
            actions.push(Action {
                when,
                kind,
                label: a.label.as_ref().map(|l| l.get_ref().clone()),
                span,
            });
        }
    }

    // Expectations.
    let mut expectations = Vec::new();
    for (i, e) in raw.expect.iter().enumerate() {
        let span = span_of(root, &[Seg::Key("expect"), Seg::Index(i)]);
        if let Some(x) = expectation(cx, &known, e, span) {
            expectations.push(x);
        }
    }

    // Reference lines: each becomes an expectation unless it only diverges.
    let mut reference = Vec::new();
    for (i, r) in raw.reference.iter().enumerate() {
        let span = span_of(root, &[Seg::Key("reference"), Seg::Index(i)]);
        let doc = r.doc.get_ref().clone();
        if r.occurrence.is_none() && r.diverges.is_none() {
            cx.error(
                r.doc.span(),
                "this reference line is unaccounted for",
                Some("map it to an `occurrence` (checked against its `time`), or say with `diverges = \"…\"` why real Kubernetes differs".into()),
            );
            continue;
        }
        if r.occurrence.is_some() && r.time.is_none() && r.diverges.is_none() {
            cx.error(
                r.doc.span(),
                "a reference line with an occurrence needs the document's `time`",
                None,
            );
            continue;
        }
        let from = match &r.from {
            Some(f) if !known.labels.contains_key(f.get_ref()) => {
                cx.error(f.span(), format!("unknown label `{}`", f.get_ref()), None);
                continue;
            }
            f => f.as_ref().map(|f| f.get_ref().clone()),
        };
        let occurrence = match &r.occurrence {
            Some(o) => match occurrence(cx, &known, o.get_ref(), o.span()) {
                Some(o) => Some(o),
                None => continue,
            },
            None => None,
        };
        let tolerance = r.tolerance.unwrap_or(SimDuration::from_secs(2));
        if let Some(occ) = &occurrence {
            let timing = match (&r.diverges, r.time) {
                (None, Some(t)) => Timing {
                    at: Some((t, tolerance)),
                    from: from.clone(),
                    ..Default::default()
                },
                _ => Timing {
                    from: from.clone(),
                    ..Default::default()
                },
            };
            let title = match &r.diverges {
                None => format!("reference: {doc}"),
                Some(_) => format!("reference (diverges): {doc}"),
            };
            expectations.push(Expectation {
                title,
                hint: None,
                check: Check::Happens(occ.clone(), timing),
                span,
            });
        }
        reference.push(ReferenceLine {
            doc,
            time: r.time,
            occurrence,
            from,
            diverges: r.diverges.clone(),
            tolerance,
        });
    }

    // Backend.
    let profile_name = raw.backend.profile.get_ref().clone();
    let profile = match Profile::built_in(&profile_name) {
        Some(p) => p,
        None => {
            let hint = nearest(&profile_name, BUILT_IN)
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| format!("built-in profiles: {}", BUILT_IN.join(", ")));
            cx.error(
                raw.backend.profile.span(),
                format!("unknown backend profile `{profile_name}`"),
                Some(hint),
            );
            Profile::built_in("reference").expect("built-in")
        }
    };
    let mut overrides = backend_overrides(cx, &raw.backend, &profile);
    for (zone, def) in &raw.backend.zones {
        if !known.zones.contains(zone) {
            let hint = nearest(zone, known.zones.iter().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| "zones are listed under [cluster] `zones`".into());
            cx.error(def.span(), format!("unknown zone `{zone}`"), Some(hint));
        }
        overrides
            .zone_capacity
            .insert(zone.clone(), def.get_ref().capacity.value());
    }
    let profile = profile.with(&overrides);
    if !raw.scenario.allow_infeasible {
        feasibility::check(cx, &claim_uses, &all_classes, &profile);
    }

    for (k, d) in [
        ("end", raw.scenario.end),
        ("max_time", raw.scenario.max_time),
    ] {
        if d == Some(SimDuration::ZERO) {
            cx.error(
                span_of(root, &[Seg::Key("scenario"), Seg::Key(k)]),
                format!("`{k}` must be after the start"),
                None,
            );
        }
        if d.is_some_and(|d| d > MAX_SIMULATED) {
            cx.error(
                span_of(root, &[Seg::Key("scenario"), Seg::Key(k)]),
                format!("`{k}` is more than ten years of simulated time"),
                Some("a run covers minutes to days; `24h` is the default bound".into()),
            );
        }
    }
    let end = raw.scenario.end.map(|d| SimTime(d.as_millis()));
    let max_time = raw
        .scenario
        .max_time
        .map(|d| SimTime(d.as_millis()))
        .or(end)
        .unwrap_or(SimTime(DEFAULT_MAX_TIME.as_millis()));

    if raw.components.scheduler.percentage_of_nodes_to_score > 100 {
        cx.error(
            span_of(
                root,
                &[
                    Seg::Key("components"),
                    Seg::Key("scheduler"),
                    Seg::Key("percentage_of_nodes_to_score"),
                ],
            ),
            "`percentage_of_nodes_to_score` must be between 0 and 100",
            Some("0 (the default) lets the scheduler choose by cluster size".into()),
        );
    }

    for (gate, on) in &raw.feature_gates {
        let span = span_of(root, &[Seg::Key("feature_gates"), Seg::Key(gate)]);
        match FEATURE_GATES.iter().find(|(name, _)| name == gate) {
            None => {
                let names: Vec<&str> = FEATURE_GATES.iter().map(|(n, _)| *n).collect();
                let hint = nearest(gate, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("gates storsim models: {}", names.join(", ")));
                cx.error(span, format!("unknown feature gate `{gate}`"), Some(hint));
            }
            Some((_, Some(locked))) if on != locked => {
                cx.error(
                    span,
                    format!("`{gate}` is GA and locked to {locked} in 1.33"),
                    None,
                );
            }
            _ => {}
        }
    }

    warnings.append(&mut cx.warnings);
    let digest = Sha256::digest(text.as_bytes());
    Scenario {
        file: cx.file.clone(),
        source: cx.source.clone(),
        source_sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        name: raw.scenario.name,
        description: raw.scenario.description,
        seed: raw.scenario.seed,
        end,
        max_events: raw.scenario.max_events.unwrap_or(DEFAULT_MAX_EVENTS),
        max_time,
        profile,
        overrides,
        settings: raw.components,
        feature_gates: raw.feature_gates,
        images: raw.images,
        nodes,
        classes,
        snapshot_classes,
        warnings,
        lab: raw.lab.as_ref().map(|l| crate::scenario::model::Lab {
            title: l.title.clone(),
            goal: l.goal.clone(),
            background: l.background.clone(),
            questions: l.questions.clone(),
            hints: l.hints.clone(),
        }),
        objects: objects.into_iter().map(|(o, _)| o).collect(),
        actions,
        expectations,
        reference,
    }
}

/// A node of the cluster, by name.
fn node_name(cx: &mut Cx, known: &Known, name: &Spanned<String>) -> Option<String> {
    let r = ObjectRef::new(Kind::Node, ObjectKey::cluster(name.get_ref()));
    if known.objects.contains_key(&r) {
        return Some(name.get_ref().clone());
    }
    let hint =
        nearest(name.get_ref(), known.names_of(Kind::Node)).map(|n| format!("did you mean `{n}`?"));
    cx.error(
        name.span(),
        format!("unknown node `{}`", name.get_ref()),
        hint,
    );
    None
}

/// An operation's changes as written in `[backend.operations.*]` or a fault.
fn operation_override(d: &OperationDef) -> OperationOverride {
    OperationOverride {
        latency: d.latency.clone(),
        failure_latency: d.failure_latency.clone(),
        failure_rate: d.failure_rate,
        fail_first: d.fail_first,
        error: d.error,
        message: d.message.clone(),
        rate_limit: d.rate_limit.clone(),
        stuck_first: d.stuck_first,
    }
}

/// An operation named as in `[backend.operations.*]` or by its CSI name.
fn operation_name(cx: &mut Cx, name: &Spanned<String>) -> Option<crate::backend::Operation> {
    use crate::backend::Operation;
    if let Some(op) = Operation::parse(name.get_ref()) {
        return Some(op);
    }
    let names: Vec<String> = Operation::ALL
        .iter()
        .filter_map(|o| serde_json::to_value(o).ok()?.as_str().map(str::to_string))
        .collect();
    let hint = nearest(name.get_ref(), names.iter().map(String::as_str))
        .map(|n| format!("did you mean `{n}`?"))
        .unwrap_or_else(|| format!("operations: {}", names.join(", ")));
    cx.error(
        name.span(),
        format!("unknown operation `{}`", name.get_ref()),
        Some(hint),
    );
    None
}

/// The scenario's `[backend.*]` changes, checked (each operation against
/// the profile it changes, so errors point at the override).
fn backend_overrides(cx: &mut Cx, b: &BackendDef, base: &crate::backend::Profile) -> Overrides {
    let mut o = Overrides {
        watch_delay: b
            .control_plane
            .as_ref()
            .and_then(|c| c.watch_delay.as_ref())
            .map(|w| w.get_ref().clone()),
        ..Default::default()
    };
    if let Some(cp) = &b.control_plane
        && let Some(w) = &cp.watch_delay
        && let Err(m) = w.get_ref().validate()
    {
        cx.error(w.span(), m, None);
    }
    for (op, def) in &b.operations {
        let d = def.get_ref();
        let change = operation_override(d);
        let mut check = base.operation(*op).clone();
        change.apply(&mut check);
        if let Err(m) = check.validate() {
            cx.error(def.span(), m, None);
        }
        if d.stuck_first.is_some() && *op != crate::backend::Operation::Attach {
            cx.error(
                def.span(),
                "`stuck_first` is for attach only (an attachment that stays `attaching`)",
                None,
            );
        }
        o.operations.insert(*op, change);
    }
    let sidecar = |d: &Option<SidecarDef>| {
        d.as_ref()
            .map(|d| SidecarOverride {
                timeout: d.timeout,
                retry_start: d.retry_start,
                retry_max: d.retry_max,
            })
            .unwrap_or_default()
    };
    o.provisioner = sidecar(&b.sidecars.provisioner);
    o.attacher = sidecar(&b.sidecars.attacher);
    o.resizer = sidecar(&b.sidecars.resizer);
    o.snapshotter = sidecar(&b.sidecars.snapshotter);
    if let Some(d) = &b.driver {
        o.driver_name = d.name.clone();
        o.max_volumes_per_node = d.max_volumes_per_node;
        o.expansion = d.expansion;
    }
    o
}

#[allow(clippy::too_many_arguments)]
fn make_node(
    name: &str,
    zone: Option<&str>,
    region: Option<&str>,
    cpu: &Quantity,
    memory: &Quantity,
    pods: u32,
    extra: &BTreeMap<String, String>,
    taints: &[crate::api::node::Taint],
) -> Node {
    let mut labels = crate::api::Labels::new();
    labels.insert(LABEL_HOSTNAME, name);
    labels.insert(LABEL_OS, "linux");
    if let Some(z) = zone {
        labels.insert(LABEL_ZONE, z);
    }
    if let Some(r) = region {
        labels.insert(LABEL_REGION, r);
    }
    labels.extend(extra);
    let mut allocatable = crate::api::labels::Resources::new();
    allocatable.insert("cpu", *cpu);
    allocatable.insert("memory", *memory);
    allocatable.insert("pods", Quantity::parse(&pods.to_string()).expect("integer"));
    Node {
        metadata: ObjectMeta {
            name: name.to_string().into(),
            labels,
            ..Default::default()
        },
        spec: NodeSpec {
            unschedulable: false,
            taints: taints.to_vec(),
        },
        status: NodeStatus {
            allocatable,
            ready: true,
            ..Default::default()
        },
    }
}

fn register(cx: &mut Cx, known: &mut Known, o: &AnyObject, span: Range<usize>, text: &str) {
    let r = ObjectRef::new(o.kind(), o.meta().key());
    if let AnyObject::StatefulSet(set) = o {
        let templates = set
            .spec
            .volume_claim_templates
            .iter()
            .map(|t| t.metadata.name.clone())
            .collect();
        known.set_templates.insert(r.key.clone(), templates);
        let containers = set
            .spec
            .template
            .spec
            .containers
            .iter()
            .map(|c| c.name.clone())
            .collect();
        known.set_containers.insert(r.key.clone(), containers);
    }
    if let Some(first) = known.objects.get(&r) {
        let line = text[..first.start.min(text.len())].matches('\n').count() + 1;
        cx.error(
            span,
            format!("duplicate {r} (first defined at line {line})"),
            Some("names are unique per kind and namespace".into()),
        );
        return;
    }
    known.objects.insert(r, span);
}

/// A class declared in the file: its name checked and made known (a
/// second one of the name is an error pointing at the first).
fn declare_class(
    cx: &mut Cx,
    known: &mut Known,
    kind: Kind,
    name: &Spanned<String>,
    text: &str,
) -> String {
    let n = name.get_ref().clone();
    if let Some(p) = name_problem(&n) {
        cx.error(name.span(), p, None);
    }
    let r = ObjectRef::new(kind, ObjectKey::cluster(&n));
    if let Some(first) = known.objects.get(&r) {
        let line = text[..first.start.min(text.len())].matches('\n').count() + 1;
        cx.error(
            name.span(),
            format!("duplicate {kind} `{n}` (first defined at line {line})"),
            None,
        );
    }
    known.objects.insert(r, name.span());
    n
}

/// Kinds a scenario may create, with the reason the others are refused.
fn creatable(kind: Kind) -> Result<(), &'static str> {
    match kind {
        Kind::PersistentVolume
        | Kind::PersistentVolumeClaim
        | Kind::Pod
        | Kind::StatefulSet
        | Kind::VolumeSnapshot => Ok(()),
        Kind::VolumeSnapshotClass => Err("snapshot classes are declared as [[snapshot_class]]"),
        Kind::VolumeSnapshotContent => Err(
            "VolumeSnapshotContents are created by the snapshot controller (pre-provisioned contents are not modelled)",
        ),
        Kind::Node => Err("nodes are declared under [cluster] (`node_group` or `node`)"),
        Kind::StorageClass => Err("storage classes are declared as [[storage_class]]"),
        Kind::VolumeAttachment => {
            Err("VolumeAttachments are created by the attach/detach controller, not by users")
        }
    }
}

fn build_object(
    cx: &mut Cx,
    root: &Spanned<DeTable<'_>>,
    def: &ObjectDef,
    path: &[Seg<'_>],
) -> Option<AnyObject> {
    let Some(kind) = Kind::parse(def.kind.get_ref()) else {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        let hint = nearest(def.kind.get_ref(), names.iter().copied())
            .map(|n| format!("did you mean `{n}`?"))
            .unwrap_or_else(|| format!("known kinds: {}", names.join(", ")));
        cx.error(
            def.kind.span(),
            format!("unknown kind `{}`", def.kind.get_ref()),
            Some(hint),
        );
        return None;
    };
    if let Err(why) = creatable(kind) {
        cx.error(
            def.kind.span(),
            format!("{kind} cannot be an [[object]] here"),
            Some(why.into()),
        );
        return None;
    }
    if let Some(p) = name_problem(def.name.get_ref()) {
        cx.error(def.name.span(), p, None);
    }
    let namespace = if kind.namespaced() {
        def.namespace.clone().unwrap_or_else(|| "default".into())
    } else {
        if def.namespace.is_some() {
            cx.error(
                def.name.span(),
                format!("{kind} is cluster-scoped and has no namespace"),
                None,
            );
        }
        String::new()
    };
    let metadata = ObjectMeta {
        name: def.name.get_ref().clone().into(),
        namespace: namespace.into(),
        labels: def.labels.iter().collect(),
        annotations: def.annotations.iter().collect(),
        ..Default::default()
    };
    let mut spec_path = path.to_vec();
    spec_path.push(Seg::Key("spec"));
    let mut status_path = path.to_vec();
    status_path.push(Seg::Key("status"));
    if def.spec.is_none() {
        cx.error(
            def.name.span(),
            format!("this {kind} has no `spec`"),
            Some("add `spec = { … }` with the API's fields".into()),
        );
        return None;
    }
    let has_status = def.status.is_some();
    let obj: AnyObject = match kind {
        Kind::PersistentVolumeClaim => {
            let spec = cx.typed(root, &spec_path)?;
            let status = if has_status {
                cx.typed(root, &status_path)?
            } else {
                PersistentVolumeClaimStatus::default()
            };
            PersistentVolumeClaim {
                metadata,
                spec,
                status,
            }
            .into()
        }
        Kind::PersistentVolume => {
            let spec = cx.typed(root, &spec_path)?;
            let status = if has_status {
                cx.typed(root, &status_path)?
            } else {
                PersistentVolumeStatus::default()
            };
            PersistentVolume {
                metadata,
                spec,
                status,
            }
            .into()
        }
        Kind::Pod => {
            let spec = cx.typed(root, &spec_path)?;
            let status = if has_status {
                cx.typed(root, &status_path)?
            } else {
                PodStatus::default()
            };
            Pod {
                metadata,
                spec,
                status,
            }
            .into()
        }
        Kind::StatefulSet => {
            let spec: crate::api::stateful_set::StatefulSetSpec = cx.typed(root, &spec_path)?;
            let status = if has_status {
                cx.typed(root, &status_path)?
            } else {
                crate::api::stateful_set::StatefulSetStatus::default()
            };
            crate::api::StatefulSet {
                metadata,
                spec: spec.into(),
                status,
            }
            .into()
        }
        Kind::VolumeSnapshot => {
            let spec: crate::api::volume_snapshot::VolumeSnapshotSpec =
                cx.typed(root, &spec_path)?;
            let src = &spec.source;
            if src.persistent_volume_claim_name.is_some()
                == src.volume_snapshot_content_name.is_some()
            {
                cx.error(
                    def.name.span(),
                    "a VolumeSnapshot's source names exactly one of `persistentVolumeClaimName` and `volumeSnapshotContentName`",
                    None,
                );
                return None;
            }
            if src.volume_snapshot_content_name.is_some() {
                cx.error(
                    def.name.span(),
                    "pre-provisioned snapshots (`volumeSnapshotContentName`) are not modelled",
                    Some("snapshot a claim with `persistentVolumeClaimName`".into()),
                );
                return None;
            }
            crate::api::VolumeSnapshot {
                metadata,
                spec,
                status: Default::default(),
            }
            .into()
        }
        _ => return None,
    };
    check_object_fields(
        cx,
        &obj,
        lookup(root, &spec_path)
            .map(|v| v.span())
            .unwrap_or(def.name.span()),
    );
    Some(obj)
}

/// API validation the types alone do not express.
/// Replicas beyond this are a typo, not a cluster: refused up front rather
/// than run out of memory (about 4 KiB per object; a replica brings a pod,
/// and usually a claim, a volume and an attachment).
pub const MAX_REPLICAS: u32 = 1_000_000;

/// A size no byte count of Kubernetes can hold (`Quantity.Value()` is an
/// int64: above 8 EiB it saturates).
fn check_size(cx: &mut Cx, q: &crate::api::Quantity, span: Range<usize>) {
    if q.value() > i128::from(i64::MAX) {
        cx.error(
            span,
            format!("size `{q}` is more than 8 EiB, the most a Kubernetes byte count holds"),
            Some("sizes are written like `10Gi` or `2Ti`".into()),
        );
    }
}

/// `end` and `max_time` beyond this are a typo (ten years).
const MAX_SIMULATED: SimDuration = SimDuration::from_secs(10 * 365 * 24 * 3600);

/// Generated nodes beyond this are refused up front, with the estimate.
pub const MAX_NODES: u64 = 100_000;
/// What one node costs: its object, its status updates' copies in every
/// informer, the kubelet's and the scheduler's state (an estimate).
const NODE_BYTES: u64 = 16 * 1024;

fn check_object_fields(cx: &mut Cx, o: &AnyObject, spec_span: Range<usize>) {
    match o {
        AnyObject::StatefulSet(set) => {
            let spec = &set.spec;
            if spec.replicas > MAX_REPLICAS {
                let gib = spec.replicas as f64 * 4.0 * 4096.0 / (1u64 << 30) as f64;
                cx.error(
                    spec_span.clone(),
                    format!(
                        "{} replicas is too many to simulate (about {gib:.0} GiB of objects)",
                        spec.replicas
                    ),
                    Some(format!("at most {MAX_REPLICAS} per StatefulSet")),
                );
            }
            if spec.template.spec.containers.is_empty() {
                cx.error(
                    spec_span.clone(),
                    "the pod template has no containers",
                    Some(
                        "add `template = { spec = { containers = [{ name = …, image = … }] } }`"
                            .into(),
                    ),
                );
            }
            let selector = &spec.selector;
            if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
                cx.error(spec_span.clone(), "a StatefulSet needs a `selector`", Some("e.g. `selector = { matchLabels = { app = \"web\" } }` matching the template's labels".into()));
            } else if !selector.matches(&spec.template.metadata.labels) {
                cx.error(
                    spec_span.clone(),
                    "`selector` does not match template `labels`",
                    Some("the pods the StatefulSet makes must match its selector".into()),
                );
            }
            if !["OrderedReady", "Parallel"].contains(&spec.pod_management_policy.as_str()) {
                cx.error(
                    spec_span.clone(),
                    format!(
                        "unknown podManagementPolicy `{}`",
                        spec.pod_management_policy
                    ),
                    Some("`OrderedReady` or `Parallel`".into()),
                );
            }
            if !["RollingUpdate", "OnDelete"].contains(&spec.update_strategy.kind.as_str()) {
                cx.error(
                    spec_span.clone(),
                    format!(
                        "unknown updateStrategy type `{}`",
                        spec.update_strategy.kind
                    ),
                    Some("`RollingUpdate` or `OnDelete`".into()),
                );
            }
            let policy = &spec.persistent_volume_claim_retention_policy;
            for v in [&policy.when_deleted, &policy.when_scaled] {
                if !["Retain", "Delete"].contains(&v.as_str()) {
                    cx.error(
                        spec_span.clone(),
                        format!("unknown retention `{v}`"),
                        Some("`Retain` or `Delete`".into()),
                    );
                }
            }
            let partition = spec
                .update_strategy
                .rolling_update
                .as_ref()
                .map_or(0, |r| r.partition);
            if partition > spec.replicas {
                // Valid (validation only asks for partition ≥ 0): it is how a
                // rollout is held entirely; say so in case it is a typo.
                cx.warning(
                    spec_span.clone(),
                    format!(
                        "partition {partition} is above replicas {}: no pod will be updated until it is lowered (Kubernetes accepts this; it holds a rollout entirely)",
                        spec.replicas
                    ),
                );
            }
            for t in &spec.volume_claim_templates {
                if let Some(q) = t.spec.resources.requests.get("storage") {
                    check_size(cx, q, spec_span.clone());
                }
                if t.metadata.name.is_empty() {
                    cx.error(
                        spec_span.clone(),
                        "a volumeClaimTemplate needs `metadata.name`",
                        None,
                    );
                }
                if t.spec.access_modes.is_empty()
                    || !t.spec.resources.requests.contains_key("storage")
                {
                    cx.error(
                        spec_span.clone(),
                        format!(
                            "volumeClaimTemplate `{}` needs accessModes and a storage request",
                            t.metadata.name
                        ),
                        None,
                    );
                }
            }
        }
        AnyObject::PersistentVolumeClaim(c) => {
            if c.spec.access_modes.is_empty() {
                cx.error(
                    spec_span.clone(),
                    "at least 1 access mode is required",
                    Some("e.g. `accessModes = [\"ReadWriteOnce\"]`".into()),
                );
            }
            if let Some(q) = c.request() {
                check_size(cx, q, spec_span.clone());
            }
            if c.request().is_none() {
                cx.error(
                    spec_span,
                    "a claim must request storage",
                    Some("add `resources = { requests = { storage = \"10Gi\" } }`".into()),
                );
            }
        }
        AnyObject::PersistentVolume(p) => {
            if p.spec.access_modes.is_empty() {
                cx.error(
                    spec_span.clone(),
                    "at least 1 access mode is required",
                    Some("e.g. `accessModes = [\"ReadWriteOnce\"]`".into()),
                );
            }
            if let Some(q) = p.capacity() {
                check_size(cx, q, spec_span.clone());
            }
            if p.capacity().is_none() {
                cx.error(
                    spec_span.clone(),
                    "a PersistentVolume needs a storage capacity",
                    Some("add `capacity = { storage = \"100Gi\" }`".into()),
                );
            }
            let sources = p.sources();
            if sources.len() != 1 {
                cx.error(
                    spec_span.clone(),
                    format!(
                        "a PersistentVolume needs exactly one volume source, found {}",
                        sources.len()
                    ),
                    Some("give one of `csi`, `hostPath`, `local`, `nfs`".into()),
                );
            }
            if p.spec.persistent_volume_reclaim_policy == ReclaimPolicy::Recycle {
                cx.error(
                    spec_span,
                    "reclaim policy Recycle is deprecated and not simulated",
                    Some("use Retain or Delete".into()),
                );
            }
        }
        _ => {}
    }
}

/// Checks what an object refers to. `base` is the object's path in the
/// document, so each error points at the field that names the missing thing.
fn check_references(
    cx: &mut Cx,
    root: &Spanned<DeTable<'_>>,
    base: &[Seg<'_>],
    known: &Known,
    o: &AnyObject,
    fallback: Range<usize>,
) {
    let field_span = |rest: &[Seg<'_>]| {
        let mut path = base.to_vec();
        path.push(Seg::Key("spec"));
        path.extend_from_slice(rest);
        lookup(root, &path)
            .map(|v| v.span())
            .unwrap_or_else(|| fallback.clone())
    };
    let unknown = |cx: &mut Cx, span: Range<usize>, kind: Kind, name: &str, what: &str| {
        let names = known.names_of(kind);
        let hint = nearest(name, names.iter().copied())
            .map(|n| format!("did you mean `{n}`?"))
            .unwrap_or_else(|| {
                let list = if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                };
                format!("define it in this file; known: {list}")
            });
        cx.error(
            span,
            format!("{what} refers to unknown {kind} `{name}`"),
            Some(hint),
        );
    };
    let class_known = |class: &str| {
        known.objects.contains_key(&ObjectRef::new(
            Kind::StorageClass,
            ObjectKey::cluster(class),
        ))
    };
    match o {
        AnyObject::PersistentVolumeClaim(c) => {
            if let Some(class) = c.spec.storage_class_name.as_deref()
                && !class.is_empty()
                && !class_known(class)
            {
                let span = field_span(&[Seg::Key("storageClassName")]);
                unknown(cx, span, Kind::StorageClass, class, "storageClassName");
            }
            let pv = ObjectRef::new(
                Kind::PersistentVolume,
                ObjectKey::cluster_named(c.spec.volume_name),
            );
            if !c.spec.volume_name.is_empty() && !known.can_exist(&pv) {
                let span = field_span(&[Seg::Key("volumeName")]);
                unknown(
                    cx,
                    span,
                    Kind::PersistentVolume,
                    &c.spec.volume_name,
                    "volumeName",
                );
            }
        }
        AnyObject::StatefulSet(set) => {
            for (i, t) in set.spec.volume_claim_templates.iter().enumerate() {
                if let Some(class) = t.spec.storage_class_name.as_deref()
                    && !class.is_empty()
                    && !class_known(class)
                {
                    let span = field_span(&[
                        Seg::Key("volumeClaimTemplates"),
                        Seg::Index(i),
                        Seg::Key("spec"),
                        Seg::Key("storageClassName"),
                    ]);
                    unknown(cx, span, Kind::StorageClass, class, "storageClassName");
                }
            }
        }
        AnyObject::PersistentVolume(p) => {
            let class = &p.spec.storage_class_name;
            if !class.is_empty() && !class_known(class) {
                let span = field_span(&[Seg::Key("storageClassName")]);
                unknown(cx, span, Kind::StorageClass, class, "storageClassName");
            }
        }
        AnyObject::Pod(p) => {
            for (j, v) in p.spec.volumes.iter().enumerate() {
                let Some(src) = &v.persistent_volume_claim else {
                    continue;
                };
                let key = ObjectKey::new(p.metadata.namespace, src.claim_name);
                if !known.can_exist(&ObjectRef::new(Kind::PersistentVolumeClaim, key)) {
                    let span = field_span(&[
                        Seg::Key("volumes"),
                        Seg::Index(j),
                        Seg::Key("persistentVolumeClaim"),
                        Seg::Key("claimName"),
                    ]);
                    unknown(
                        cx,
                        span,
                        Kind::PersistentVolumeClaim,
                        &src.claim_name,
                        "claimName",
                    );
                }
            }
        }
        _ => {}
    }
}

fn object_ref(cx: &mut Cx, known: &Known, s: &Spanned<String>) -> Option<ObjectRef> {
    match ObjectRef::parse(s.get_ref()) {
        Err(m) => {
            cx.error(s.span(), m, None);
            None
        }
        Ok(r) if !known.can_exist(&r) => {
            let names = known.names_of(r.kind);
            let hint = nearest(&r.key.name, names.iter().copied())
                .map(|n| format!("did you mean `{}/{n}`?", r.kind))
                .unwrap_or_else(|| {
                    "no object of that name is defined or created in this file".into()
                });
            cx.error(
                s.span(),
                format!("unknown object `{}`", s.get_ref()),
                Some(hint),
            );
            None
        }
        Ok(r) => Some(r),
    }
}

fn statefulset_ref(cx: &mut Cx, known: &Known, name: &Spanned<String>) -> Option<ObjectRef> {
    let spanned = Spanned::new(name.span(), format!("StatefulSet/{}", name.get_ref()));
    object_ref(cx, known, &spanned)
}

fn patch_action(
    cx: &mut Cx,
    known: &Known,
    objects: &[(AnyObject, Range<usize>)],
    p: &PatchDef,
) -> Option<ActionKind> {
    let target = object_ref(cx, known, &p.object)?;
    let mut patch = serde_json::Map::new();
    for (k, v) in [
        ("metadata", &p.metadata),
        ("spec", &p.spec),
        ("status", &p.status),
    ] {
        if let Some(v) = v {
            patch.insert(k.to_string(), serde_json::to_value(v).unwrap_or_default());
        }
    }
    for r in &p.remove {
        let parts: Vec<&str> = r.get_ref().split('.').collect();
        if parts.len() < 2
            || !["metadata", "spec", "status"].contains(&parts[0])
            || parts.iter().any(|s| s.is_empty())
        {
            cx.error(
                r.span(),
                format!("`{}` is not a field path", r.get_ref()),
                Some("write e.g. \"spec.claimRef\"".into()),
            );
            continue;
        }
        let mut node = patch
            .entry(parts[0].to_string())
            .or_insert_with(|| serde_json::json!({}));
        for part in &parts[1..parts.len() - 1] {
            node = match node {
                serde_json::Value::Object(m) => m
                    .entry(part.to_string())
                    .or_insert_with(|| serde_json::json!({})),
                _ => break,
            };
        }
        if let serde_json::Value::Object(m) = node {
            m.insert(parts[parts.len() - 1].to_string(), serde_json::Value::Null);
        }
    }
    if patch.is_empty() {
        cx.error(p.object.span(), "this patch changes nothing", Some("add `spec = { … }`, `metadata = { … }`, `status = { … }` or `remove = [\"spec.x\"]`".into()));
        return None;
    }
    let patch = serde_json::Value::Object(patch);
    // Check the patch against the object as the file defines it, when it does.
    if let Some((o, _)) = objects
        .iter()
        .find(|(o, _)| o.kind() == target.kind && o.meta().key() == target.key)
        && let Err(m) = crate::cluster::patch::apply(o, &patch)
    {
        cx.error(
            p.object.span(),
            format!("this patch does not fit {target}: {m}"),
            None,
        );
        return None;
    }
    Some(ActionKind::Patch { target, patch })
}

fn occurrence(
    cx: &mut Cx,
    known: &Known,
    d: &OccurrenceDef,
    span: Range<usize>,
) -> Option<Occurrence> {
    let nth = match &d.nth {
        Some(n) if *n.get_ref() == 0 => {
            cx.error(n.span(), "`nth` counts from 1", None);
            return None;
        }
        Some(n) => *n.get_ref(),
        None => 1,
    };
    if let Some(name) = &d.dns {
        if d.object.is_some() || d.event.is_some() || d.operation.is_some() {
            cx.error(
                span,
                "an occurrence is one of an object's state, an event, an operation or a DNS name",
                None,
            );
            return None;
        }
        return Some(Occurrence::Dns {
            name: name.clone(),
            resolves: d.resolves.unwrap_or(true),
            nth,
        });
    }
    if d.resolves.is_some() {
        cx.error(span, "`resolves` goes with `dns = \"…\"`", None);
        return None;
    }
    if let Some(op) = &d.operation {
        if d.object.is_some() || d.event.is_some() {
            cx.error(
                span,
                "an occurrence is one of an object's state, an event or an operation",
                None,
            );
            return None;
        }
        let Some(name) = crate::backend::Operation::parse(op.name.get_ref()) else {
            let names: Vec<&str> = crate::backend::Operation::ALL
                .iter()
                .map(|o| o.csi_name())
                .collect();
            let hint = nearest(op.name.get_ref(), names.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| format!("operations: {}", names.join(", ")));
            cx.error(
                op.name.span(),
                format!("unknown operation `{}`", op.name.get_ref()),
                Some(hint),
            );
            return None;
        };
        let phase = match op.phase.as_ref().map(|p| (p.get_ref().as_str(), p.span())) {
            None | Some(("start", _)) => crate::cluster::CallPhase::Start,
            Some(("end", _)) => crate::cluster::CallPhase::End,
            Some(("timeout", _)) => crate::cluster::CallPhase::Timeout,
            Some((other, sp)) => {
                cx.error(
                    sp,
                    format!("unknown phase `{other}`"),
                    Some("`start`, `end` or `timeout`".into()),
                );
                return None;
            }
        };
        let ok = match op.result.as_ref().map(|r| (r.get_ref().as_str(), r.span())) {
            None => None,
            Some(("ok", _)) => Some(true),
            Some(("error", _)) => Some(false),
            Some((other, sp)) => {
                cx.error(
                    sp,
                    format!("unknown result `{other}`"),
                    Some("`ok` or `error`".into()),
                );
                return None;
            }
        };
        if ok.is_some() && phase != crate::cluster::CallPhase::End {
            cx.error(span, "`result` goes with `phase = \"end\"`", None);
            return None;
        }
        return Some(Occurrence::Operation {
            op: name,
            target_contains: op.target_contains.clone(),
            phase,
            ok,
            nth,
        });
    }
    if let Some(ev) = &d.event {
        if d.object.is_some() || d.phase.is_some() || d.condition.is_some() {
            cx.error(
                span,
                "an occurrence is either an object's state or an event",
                Some("put the object inside `event = { object = … }`".into()),
            );
            return None;
        }
        let object = match &ev.object {
            Some(o) => Some(object_ref(cx, known, o)?),
            None => None,
        };
        let kind = match &ev.kind {
            Some(k) => match k.get_ref().as_str() {
                "Normal" => Some(EventType::Normal),
                "Warning" => Some(EventType::Warning),
                other => {
                    cx.error(
                        k.span(),
                        format!("unknown event type `{other}`"),
                        Some("`Normal` or `Warning`".into()),
                    );
                    return None;
                }
            },
            None => None,
        };
        return Some(Occurrence::Event {
            reason: ev.reason.clone(),
            object,
            message_contains: ev.message_contains.clone(),
            kind,
            nth,
        });
    }
    let Some(obj) = &d.object else {
        cx.error(span, "this names no occurrence", Some("give `object = \"Kind/name\"` with `phase`, `condition`, `annotation`, `created` or `deleted`, or `event = { … }`".into()));
        return None;
    };
    let object = object_ref(cx, known, obj)?;
    let mut moments = Vec::new();
    if let Some(p) = &d.phase {
        moments.push(ObjectMoment::Phase(p.clone()));
    }
    if let Some(c) = &d.condition {
        moments.push(ObjectMoment::Condition(c.clone()));
    }
    if let Some(a) = &d.annotation {
        moments.push(ObjectMoment::Annotation(a.clone()));
    }
    if d.created == Some(true) {
        moments.push(ObjectMoment::Created);
    }
    if d.deleted == Some(true) {
        moments.push(ObjectMoment::Deleted);
    }
    let shows: Vec<(String, String)> = d.shows.clone().unwrap_or_default().into_iter().collect();
    if moments.is_empty() && !shows.is_empty() {
        moments.push(ObjectMoment::Shows);
    }
    if moments.len() != 1 {
        cx.error(obj.span(), "name exactly one moment of the object", Some("one of `phase`, `condition`, `annotation`, `created = true`, `deleted = true`, or `shows = { … }`".into()));
        return None;
    }
    if !shows.is_empty() && moments[0] == ObjectMoment::Deleted {
        cx.error(obj.span(), "a deleted object shows nothing", None);
        return None;
    }
    Some(Occurrence::Object {
        object,
        moment: moments.remove(0),
        shows,
        nth,
    })
}

fn expectation(
    cx: &mut Cx,
    known: &Known,
    e: &ExpectDef,
    span: Range<usize>,
) -> Option<Expectation> {
    let inline = OccurrenceDef {
        object: e.object.clone(),
        phase: e.phase.clone(),
        condition: e.condition.clone(),
        annotation: e.annotation.clone(),
        created: e.created,
        deleted: e.deleted,
        shows: e.shows.clone(),
        event: e.event.clone(),
        operation: e.operation.clone(),
        dns: e.dns.clone(),
        resolves: e.resolves,
        nth: e.nth.clone(),
    };
    let has_inline =
        e.object.is_some() || e.event.is_some() || e.operation.is_some() || e.dns.is_some();
    let forms = has_inline as u8
        + e.never.is_some() as u8
        + (e.first.is_some() || e.before.is_some()) as u8
        + e.cost.is_some() as u8;
    if forms != 1 {
        cx.error(span, "an expectation has exactly one form", Some("an occurrence (`object = …` or `event = …`), `never = { … }`, `first = { … }` with `before = { … }`, or `cost = { … }`".into()));
        return None;
    }
    if let Some(c) = &e.cost {
        if e.at.is_some() || e.by.is_some() || e.after.is_some() || e.from.is_some() {
            cx.error(
                span,
                "`cost` is the bill when the run ends and takes no timing",
                None,
            );
            return None;
        }
        if c.total_month.is_none() && c.orphaned_month.is_none() && c.orphaned_claims.is_none() {
            cx.error(
                span,
                "`cost` names nothing to check",
                Some("give `total_month`, `orphaned_month` or `orphaned_claims`".into()),
            );
            return None;
        }
        let check = Check::Cost {
            total_month: c.total_month,
            orphaned_month: c.orphaned_month,
            orphaned_claims: c.orphaned_claims,
        };
        let title = e.name.clone().unwrap_or_else(|| describe(&check));
        return Some(Expectation {
            title,
            hint: e.hint.clone(),
            check,
            span,
        });
    }
    if let Some(f) = &e.from
        && !known.labels.contains_key(f.get_ref())
    {
        let hint = nearest(f.get_ref(), known.labels.keys().map(String::as_str))
            .map(|n| format!("did you mean `{n}`?"))
            .unwrap_or_else(|| "`from` names an action's `label`, or \"start\"".into());
        if f.get_ref() != "start" {
            cx.error(
                f.span(),
                format!("unknown label `{}`", f.get_ref()),
                Some(hint),
            );
            return None;
        }
    }
    let timing = Timing {
        at: e.at.map(|a| (a, e.tolerance.unwrap_or_default())),
        by: e.by,
        after: e.after,
        from: e
            .from
            .as_ref()
            .map(|f| f.get_ref().clone())
            .filter(|f| f != "start"),
    };
    if e.tolerance.is_some() && e.at.is_none() {
        cx.error(span.clone(), "`tolerance` goes with `at`", None);
    }
    let check = if let Some(n) = &e.never {
        if timing.is_timed() || e.at_end.is_some() {
            cx.error(span.clone(), "`never` takes no timing", None);
        }
        Check::Never(occurrence(cx, known, n, span.clone())?)
    } else if e.first.is_some() || e.before.is_some() {
        let (Some(a), Some(b)) = (&e.first, &e.before) else {
            cx.error(
                span,
                "`first` and `before` go together",
                Some("`first = { … }` happens before `before = { … }`".into()),
            );
            return None;
        };
        Check::Before(
            occurrence(cx, known, a, span.clone())?,
            occurrence(cx, known, b, span.clone())?,
        )
    } else {
        let occ = occurrence(cx, known, &inline, span.clone())?;
        if e.at_end == Some(true) {
            if timing.is_timed() {
                cx.error(
                    span.clone(),
                    "`at_end` checks the final state and takes no timing",
                    None,
                );
            }
            Check::AtEnd(occ)
        } else {
            Check::Happens(occ, timing)
        }
    };
    let title = e.name.clone().unwrap_or_else(|| describe(&check));
    Some(Expectation {
        title,
        hint: e.hint.clone(),
        check,
        span,
    })
}

/// A sentence for an expectation without a name.
pub fn describe(check: &Check) -> String {
    match check {
        Check::Happens(o, t) => {
            let mut s = o.to_string();
            let from = t
                .from
                .as_ref()
                .map(|f| format!(" after {f}"))
                .unwrap_or_default();
            if let Some((at, tol)) = t.at {
                s.push_str(&format!(" at {at}{from}"));
                if tol.as_millis() > 0 {
                    s.push_str(&format!(" ±{tol}"));
                }
            }
            if let Some(b) = t.by {
                s.push_str(&format!(" by {b}{from}"));
            }
            if let Some(a) = t.after {
                s.push_str(&format!(" no earlier than {a}{from}"));
            }
            s
        }
        Check::Never(o) => format!("never: {o}"),
        Check::Before(a, b) => format!("{a} before {b}"),
        Check::AtEnd(o) => format!("at end: {o}"),
        Check::Cost {
            total_month,
            orphaned_month,
            orphaned_claims,
        } => {
            let mut parts = Vec::new();
            if let Some(t) = total_month {
                parts.push(format!("${t:.2}/month in all"));
            }
            if let Some(o) = orphaned_month {
                parts.push(format!("${o:.2}/month for orphaned claims"));
            }
            if let Some(n) = orphaned_claims {
                parts.push(format!("{n} orphaned claim(s)"));
            }
            format!("at end the disks cost {}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"format = 1
scenario = { name = "specs", end = "1m" }
[[object]]
kind = "Pod"
name = "a"
spec = { containers = [{ name = "c", image = "i" }] }
status = { phase = "Pending" }
[[object]]
kind = "Pod"
name = "b"
spec = { containers = "none" }
[[action]]
at = "1s"
create = { kind = "Pod", name = "c", spec = { nodeName = 7 } }
[[action]]
at = "2s"
delete = "Pod/a"
"#;

    fn spec_at<'a, 'i>(t: &'a Spanned<DeTable<'i>>, path: &[Seg<'_>]) -> &'a Spanned<DeValue<'i>> {
        lookup(t, path).expect("the path is in the tree")
    }

    /// The schema's copy has an empty table, at the same place, for each
    /// object's spec and status; the tree has them whole again afterwards.
    #[test]
    fn the_schema_copy_leaves_specs_out_and_the_tree_keeps_them() {
        let mut root = DeTable::parse(TEXT).expect("valid TOML");
        let before = format!("{root:?}");
        let copy = without_specs(&mut root);
        assert_eq!(format!("{root:?}"), before, "the tree is as it was");
        let paths: [&[Seg<'_>]; 4] = [
            &[Seg::Key("object"), Seg::Index(0), Seg::Key("spec")],
            &[Seg::Key("object"), Seg::Index(0), Seg::Key("status")],
            &[Seg::Key("object"), Seg::Index(1), Seg::Key("spec")],
            &[
                Seg::Key("action"),
                Seg::Index(0),
                Seg::Key("create"),
                Seg::Key("spec"),
            ],
        ];
        for path in paths {
            let (whole, hollow) = (spec_at(&root, path), spec_at(&copy, path));
            assert_eq!(hollow.span(), whole.span());
            assert!(matches!(hollow.get_ref(), DeValue::Table(t) if t.is_empty()));
            assert!(!matches!(whole.get_ref(), DeValue::Table(t) if t.is_empty()));
        }
        let delete = [Seg::Key("action"), Seg::Index(1), Seg::Key("delete")];
        assert_eq!(
            spec_at(&copy, &delete).span(),
            spec_at(&root, &delete).span()
        );
    }

    /// A spec's mistakes are still found, where they are: in the second
    /// object's spec and in an action's object.
    #[test]
    fn errors_in_specs_point_into_them() {
        let Err(LoadError::Input(errors)) = load_str("s.toml", TEXT) else {
            panic!("the file has two mistakes");
        };
        let places: Vec<(usize, usize)> = errors.iter().map(InputError::line_col).collect();
        assert!(places.contains(&(11, 23)), "{places:?}");
        assert!(places.contains(&(14, 58)), "{places:?}");
    }
}
