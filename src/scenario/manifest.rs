//! Kubernetes YAML manifests as scenario input: multi-document files,
//! `List` kinds, the kinds storsim models, with the API's field names and
//! defaults. A field storsim does not model is reported once as a warning
//! with its file and line, then ignored; an unknown kind is skipped with a
//! warning; a malformed manifest is an error with file, line and column.

use super::diag::InputError;
use crate::api::persistent_volume::{PersistentVolumeSpec, PersistentVolumeStatus};
use crate::api::persistent_volume_claim::{PersistentVolumeClaimSpec, PersistentVolumeClaimStatus};
use crate::api::pod::{PodSpec, PodStatus};
use crate::api::stateful_set::{StatefulSetSpec, StatefulSetStatus};
use crate::api::storage_class::{ReclaimPolicy, VolumeBindingMode};
use crate::api::volume_snapshot::{DeletionPolicy, VolumeSnapshotSpec};
use crate::api::{
    AnyObject, Kind, ObjectMeta, PersistentVolume, PersistentVolumeClaim, Pod, StatefulSet,
    StorageClass, VolumeSnapshot, VolumeSnapshotClass,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A warning about a manifest: where, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: warning: {}", self.file, self.line, self.message)
    }
}

/// What manifests define.
#[derive(Default)]
pub struct Loaded {
    /// StorageClasses.
    pub classes: Vec<StorageClass>,
    /// VolumeSnapshotClasses.
    pub snapshot_classes: Vec<VolumeSnapshotClass>,
    /// Nodes.
    pub nodes: Vec<crate::api::Node>,
    /// Everything else, in file order.
    pub objects: Vec<AnyObject>,
    /// Fields and kinds that were ignored.
    pub warnings: Vec<Warning>,
    /// Objects written in part (for `apply` to an existing object), when
    /// loading for `apply`.
    pub partial: Vec<Partial>,
}

/// An object a manifest gives only in part: `kubectl apply` merges it into
/// the object of that name; it cannot create one.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// Kind.
    pub kind: Kind,
    /// Metadata.
    pub meta: ObjectMeta,
    /// The spec as written (fields storsim does not model removed).
    pub spec: Value,
    /// What a whole object would need (serde's "missing field …").
    pub missing: String,
}

/// One YAML document: its value, and where each path starts (byte offset).
struct Doc {
    value: Value,
    at: BTreeMap<String, usize>,
}

/// Builds JSON values from YAML events, remembering where each path is.
struct Builder {
    docs: Vec<Doc>,
    /// Open containers: the value, and for maps the pending key.
    stack: Vec<(Value, Option<String>, String)>,
    at: BTreeMap<String, usize>,
    anchors: BTreeMap<usize, Value>,
    pending_anchor: Vec<usize>,
    /// Char offset → byte offset.
    bytes: Vec<usize>,
}

fn scalar(s: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(s);
    }
    match s.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            if let Ok(i) = s.parse::<i64>() {
                Value::from(i)
            } else if let Ok(f) = s.parse::<f64>()
                && s.chars().any(|c| c.is_ascii_digit())
                && !s
                    .chars()
                    .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
            {
                Value::from(f)
            } else {
                Value::String(s)
            }
        }
    }
}

impl Builder {
    fn path(&self) -> String {
        let mut p = String::new();
        for (v, key, _) in &self.stack {
            match v {
                Value::Array(a) => p.push_str(&format!("[{}]", a.len())),
                Value::Object(_) => {
                    if let Some(k) = key {
                        if !p.is_empty() {
                            p.push('.');
                        }
                        p.push_str(k);
                    }
                }
                _ => {}
            }
        }
        p
    }

    fn byte(&self, m: &Marker) -> usize {
        self.bytes.get(m.index()).copied().unwrap_or(m.index())
    }

    /// Adds a finished value to the container on top (or ends a document).
    fn add(&mut self, v: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            None => {
                let at = std::mem::take(&mut self.at);
                self.docs.push(Doc { value: v, at });
            }
            Some((Value::Array(a), _, _)) => a.push(v),
            Some((Value::Object(m), key, _)) => match key.take() {
                Some(k) => {
                    m.insert(k, v);
                }
                None => {
                    let k = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    *key = Some(k);
                }
            },
            Some(_) => {}
        }
    }

    /// Records where the value about to be added starts, if it is a map
    /// value or a sequence item.
    fn mark(&mut self, m: &Marker) {
        let is_value = match self.stack.last() {
            Some((Value::Object(_), key, _)) => key.is_some(),
            Some((Value::Array(_), _, _)) => true,
            _ => false,
        };
        if is_value {
            let p = self.path();
            let b = self.byte(m);
            self.at.entry(p).or_insert(b);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, m: Marker) {
        match ev {
            Event::Scalar(s, style, anchor, _) => {
                // A key: remember where it is written (warnings point at keys).
                if let Some((Value::Object(_), None, _)) = self.stack.last() {
                    let mut p = self.path();
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(&s);
                    let b = self.byte(&m);
                    self.at.entry(p).or_insert(b);
                } else {
                    self.mark(&m);
                }
                self.add(scalar(s, style), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.mark(&m);
                self.pending_anchor.push(anchor);
                self.stack
                    .push((Value::Array(Vec::new()), None, String::new()));
            }
            Event::MappingStart(anchor, _) => {
                self.mark(&m);
                self.pending_anchor.push(anchor);
                self.stack
                    .push((Value::Object(Map::new()), None, String::new()));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((v, _, _)) = self.stack.pop() {
                    let anchor = self.pending_anchor.pop().unwrap_or(0);
                    self.add(v, anchor);
                }
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.add(v, 0);
            }
            _ => {}
        }
    }
}

/// Parses a YAML stream into its documents; a syntax error is located.
fn parse(file: &str, text: &str, source: &Arc<String>) -> Result<Vec<Doc>, InputError> {
    let mut bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    bytes.push(text.len());
    let mut b = Builder {
        docs: Vec::new(),
        stack: Vec::new(),
        at: BTreeMap::new(),
        anchors: BTreeMap::new(),
        pending_anchor: Vec::new(),
        bytes,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut b, true) {
        let at = b.byte(e.marker());
        return Err(InputError {
            file: file.to_string(),
            source_text: source.clone(),
            span: at..at,
            message: format!("not valid YAML: {}", e.info()),
            hint: None,
        });
    }
    // Empty documents (`---` at the end) are nothing.
    b.docs.retain(|d| !d.value.is_null());
    Ok(b.docs)
}

/// The files a path names: itself, or a directory's `*.yaml` / `*.yml`, sorted.
pub fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    v.sort();
    Ok(v)
}

/// Context of one file.
struct FileCx<'a> {
    file: String,
    source: Arc<String>,
    text: &'a str,
    out: &'a mut Loaded,
    errors: &'a mut Vec<InputError>,
    warned: &'a mut BTreeSet<(String, String)>,
    /// Loading for `apply`: a spec with missing fields is kept as a partial.
    partial_ok: bool,
    /// The "missing field" error of the last spec, when `partial_ok`.
    missing: Option<String>,
}

impl FileCx<'_> {
    fn line_of(&self, byte: usize) -> usize {
        // Bytes, not a str slice: the parser's offsets are not always on a
        // character boundary.
        let end = byte.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn warn(&mut self, doc: &Doc, prefix: &str, path: &str, message: String) {
        let full = join(prefix, path);
        // Once per field of a kind in a file, whatever the index.
        let general: String = full
            .split('[')
            .map(|s| s.split_once(']').map_or(s, |(_, rest)| rest))
            .collect();
        // A List's items are objects like any other.
        let general = general.trim_start_matches("items.").to_string();
        if !self.warned.insert((self.file.clone(), general)) {
            return;
        }
        let line = doc.at.get(&full).map_or(1, |b| self.line_of(*b));
        self.out.warnings.push(Warning {
            file: self.file.clone(),
            line,
            message,
        });
    }

    fn error(
        &mut self,
        doc: &Doc,
        prefix: &str,
        path: &str,
        message: String,
        hint: Option<String>,
    ) {
        let full = join(prefix, path);
        let at = doc
            .at
            .get(&full)
            .or_else(|| doc.at.get(prefix))
            .copied()
            .unwrap_or(0);
        self.errors.push(InputError {
            file: self.file.clone(),
            source_text: self.source.clone(),
            span: at..at,
            message,
            hint,
        });
    }
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty() || path == ".") {
        (true, _) => path.trim_start_matches('.').to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// Removes the value at a dotted path (`spec.containers[0].ports`).
fn remove_path(v: &mut Value, path: &str) -> bool {
    let mut parts: Vec<String> = Vec::new();
    for seg in path.split('.') {
        let mut s = seg;
        while let Some(i) = s.find('[') {
            if i > 0 {
                parts.push(s[..i].to_string());
            }
            let end = s[i..].find(']').map_or(s.len(), |e| i + e);
            parts.push(s[i..=end.min(s.len() - 1)].to_string());
            s = &s[(end + 1).min(s.len())..];
        }
        if !s.is_empty() {
            parts.push(s.to_string());
        }
    }
    let Some((last, init)) = parts.split_last() else {
        return false;
    };
    let mut cur = v;
    for p in init {
        cur = match p.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            Some(i) => match i.parse::<usize>().ok().and_then(|i| cur.get_mut(i)) {
                Some(x) => x,
                None => return false,
            },
            None => match cur.get_mut(p) {
                Some(x) => x,
                None => return false,
            },
        };
    }
    cur.as_object_mut()
        .is_some_and(|m| m.remove(last).is_some())
}

/// Deserializes `value` (at `prefix` in the document) as `T`, dropping
/// every field `T` does not know with a warning.
fn typed<T: DeserializeOwned>(
    cx: &mut FileCx<'_>,
    doc: &Doc,
    prefix: &str,
    value: &mut Value,
) -> Option<T> {
    for _ in 0..200 {
        let de = value.clone();
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(t) => return Some(t),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner().to_string();
                if let Some(rest) = inner.strip_prefix("unknown field `")
                    && let Some((field, _)) = rest.split_once('`')
                {
                    let full = if path == "." || path.is_empty() {
                        field.to_string()
                    } else if path.ends_with(field) {
                        path.clone()
                    } else {
                        format!("{path}.{field}")
                    };
                    let shown = join(prefix, &full);
                    cx.warn(
                        doc,
                        prefix,
                        &full,
                        format!("field `{shown}` is not modelled by storsim; ignored"),
                    );
                    if remove_path(value, &full) {
                        continue;
                    }
                }
                if cx.partial_ok && inner.starts_with("missing field") {
                    cx.missing = Some(format!("`{}`: {inner}", join(prefix, &path)));
                    return None;
                }
                cx.error(
                    doc,
                    prefix,
                    &path,
                    format!("`{}`: {inner}", join(prefix, &path)),
                    None,
                );
                return None;
            }
        }
    }
    None
}

fn string_map(
    cx: &mut FileCx<'_>,
    doc: &Doc,
    prefix: &str,
    v: Option<&Value>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(m)) = v {
        for (k, x) in m {
            match x {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                Value::Null => {
                    out.insert(k.clone(), String::new());
                }
                other => {
                    // Kubernetes requires strings; `true` or `3` unquoted is a
                    // common slip, refused by the API server.
                    cx.error(
                        doc,
                        prefix,
                        k,
                        format!("`{}.{k}` must be a string, found {other}", prefix),
                        Some(format!("quote it: \"{other}\"")),
                    );
                }
            }
        }
    }
    out
}

/// Metadata from a manifest; other metadata fields are warned about.
fn metadata(
    cx: &mut FileCx<'_>,
    doc: &Doc,
    base: &str,
    v: &Value,
    kind: Kind,
) -> Option<ObjectMeta> {
    let prefix = join(base, "metadata");
    let m = v.get("metadata").and_then(Value::as_object);
    let name = m.and_then(|m| m.get("name")).and_then(Value::as_str);
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        cx.error(
            doc,
            base,
            "metadata",
            format!("this {kind} has no metadata.name"),
            Some("every object needs a name".into()),
        );
        return None;
    };
    let mut meta = ObjectMeta {
        name: name.to_string().into(),
        namespace: if kind.namespaced() {
            m.and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string()
                .into()
        } else {
            String::new().into()
        },
        ..Default::default()
    };
    meta.labels = string_map(
        cx,
        doc,
        &join(&prefix, "labels"),
        m.and_then(|m| m.get("labels")),
    )
    .iter()
    .collect();
    meta.annotations = string_map(
        cx,
        doc,
        &join(&prefix, "annotations"),
        m.and_then(|m| m.get("annotations")),
    )
    .iter()
    .collect();
    for k in m.into_iter().flat_map(|m| m.keys()) {
        if !["name", "namespace", "labels", "annotations"].contains(&k.as_str()) {
            cx.warn(
                doc,
                &prefix,
                k,
                format!("field `{prefix}.{k}` is not modelled by storsim; ignored"),
            );
        }
    }
    Some(meta)
}

/// The manifest's kinds storsim reads, and the apiVersion each has.
fn kind_of(kind: &str) -> Option<(Kind, &'static str)> {
    Some(match kind {
        "Node" => (Kind::Node, "v1"),
        "StorageClass" => (Kind::StorageClass, "storage.k8s.io/v1"),
        "PersistentVolume" => (Kind::PersistentVolume, "v1"),
        "PersistentVolumeClaim" => (Kind::PersistentVolumeClaim, "v1"),
        "Pod" => (Kind::Pod, "v1"),
        "StatefulSet" => (Kind::StatefulSet, "apps/v1"),
        "VolumeSnapshotClass" => (Kind::VolumeSnapshotClass, "snapshot.storage.k8s.io/v1"),
        "VolumeSnapshot" => (Kind::VolumeSnapshot, "snapshot.storage.k8s.io/v1"),
        _ => return None,
    })
}

/// One object of a document (or of a `List`'s items, at `base`).
fn object(cx: &mut FileCx<'_>, doc: &Doc, base: &str, v: &Value) {
    let kind_name = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind_name.is_empty() {
        cx.error(
            doc,
            base,
            "",
            "this document has no `kind`".into(),
            Some("a manifest starts with apiVersion and kind".into()),
        );
        return;
    }
    if kind_name == "List" {
        if let Some(Value::Array(items)) = v.get("items") {
            for (i, item) in items.iter().enumerate() {
                object(cx, doc, &join(base, &format!("items[{i}]")), item);
            }
        }
        return;
    }
    if kind_name == "Service" {
        // A StatefulSet's headless Service: storsim's DNS model follows the
        // set's serviceName, so the Service itself carries nothing more.
        let headless = v
            .get("spec")
            .and_then(|s| s.get("clusterIP"))
            .and_then(Value::as_str)
            == Some("None");
        if !headless {
            cx.warn(doc, base, "kind", "only headless Services (clusterIP: None) are modelled, through the StatefulSet's serviceName; ignored".into());
        }
        return;
    }
    let Some((kind, api)) = kind_of(kind_name) else {
        cx.warn(
            doc,
            base,
            "kind",
            format!("kind `{kind_name}` is not modelled by storsim; skipped"),
        );
        return;
    };
    let version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if version != api && !(kind == Kind::VolumeSnapshot || kind == Kind::VolumeSnapshotClass) {
        cx.warn(
            doc,
            base,
            "apiVersion",
            format!("{kind_name} is {api}, not `{version}`; read as {api}"),
        );
    }
    let Some(meta) = metadata(cx, doc, base, v, kind) else {
        return;
    };
    let meta_copy = meta.clone();
    let obj = v.as_object().cloned().unwrap_or_default();
    let allowed: &[&str] = match kind {
        Kind::StorageClass => &[
            "provisioner",
            "parameters",
            "reclaimPolicy",
            "volumeBindingMode",
            "allowVolumeExpansion",
            "allowedTopologies",
            "mountOptions",
        ],
        Kind::VolumeSnapshotClass => &["driver", "deletionPolicy", "parameters"],
        _ => &["spec", "status"],
    };
    for k in obj.keys() {
        if !["apiVersion", "kind", "metadata"].contains(&k.as_str())
            && !allowed.contains(&k.as_str())
        {
            cx.warn(
                doc,
                base,
                k,
                format!(
                    "field `{}` is not modelled by storsim; ignored",
                    join(base, k)
                ),
            );
        }
    }
    if obj.contains_key("status")
        && !matches!(
            kind,
            Kind::StorageClass | Kind::VolumeSnapshotClass | Kind::Node
        )
    {
        cx.warn(
            doc,
            base,
            "status",
            "`status` is set by the cluster, not by a manifest; ignored".into(),
        );
    }
    let mut spec = obj
        .get("spec")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let sp = join(base, "spec");
    match kind {
        Kind::StorageClass => {
            let mut fields: Map<String, Value> = obj
                .iter()
                .filter(|(k, _)| allowed.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // The API's defaults for a class: Delete, Immediate.
            fields
                .entry("reclaimPolicy")
                .or_insert(Value::String("Delete".into()));
            fields
                .entry("volumeBindingMode")
                .or_insert(Value::String("Immediate".into()));
            fields.insert(
                "metadata".into(),
                serde_json::to_value(&meta).unwrap_or_default(),
            );
            if let Some(mut sc) = typed::<StorageClass>(cx, doc, base, &mut Value::Object(fields)) {
                sc.metadata = meta;
                let _ = (ReclaimPolicy::Delete, VolumeBindingMode::Immediate);
                cx.out.classes.push(sc);
            }
        }
        Kind::VolumeSnapshotClass => {
            let mut fields: Map<String, Value> = obj
                .iter()
                .filter(|(k, _)| allowed.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !fields.contains_key("deletionPolicy") {
                cx.error(
                    doc,
                    base,
                    "",
                    "a VolumeSnapshotClass needs `deletionPolicy` (Delete or Retain)".into(),
                    None,
                );
                return;
            }
            fields.insert(
                "metadata".into(),
                serde_json::to_value(&meta).unwrap_or_default(),
            );
            if let Some(mut c) =
                typed::<VolumeSnapshotClass>(cx, doc, base, &mut Value::Object(fields))
            {
                c.metadata = meta;
                let _ = DeletionPolicy::Delete;
                cx.out.snapshot_classes.push(c);
            }
        }
        Kind::Node => {
            if let Some(spec) = typed::<crate::api::node::NodeSpec>(cx, doc, &sp, &mut spec) {
                // A node reports what it can hold; the defaults are those of
                // a [cluster] node group.
                let mut allocatable = crate::api::labels::Resources::new();
                for (k, d) in [("cpu", "4"), ("memory", "16Gi"), ("pods", "110")] {
                    let given = obj
                        .get("status")
                        .and_then(|s| s.get("allocatable").or_else(|| s.get("capacity")))
                        .and_then(|a| a.get(k))
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                    let q = given
                        .and_then(|g| crate::api::Quantity::parse(&g).ok())
                        .or_else(|| crate::api::Quantity::parse(d).ok());
                    if let Some(q) = q {
                        allocatable.insert(k.to_string(), q);
                    }
                }
                let mut meta = meta;
                let name = meta.name;
                meta.labels
                    .insert_if_absent(crate::api::node::LABEL_HOSTNAME, name);
                meta.labels
                    .insert_if_absent(crate::api::node::LABEL_OS, "linux");
                cx.out.nodes.push(crate::api::Node {
                    metadata: meta,
                    spec,
                    status: crate::api::node::NodeStatus {
                        allocatable,
                        ready: true,
                        ..Default::default()
                    },
                });
            }
        }
        Kind::PersistentVolume => {
            if let Some(spec) = typed::<PersistentVolumeSpec>(cx, doc, &sp, &mut spec) {
                cx.out.objects.push(
                    PersistentVolume {
                        metadata: meta,
                        spec,
                        status: PersistentVolumeStatus::default(),
                    }
                    .into(),
                );
            }
        }
        Kind::PersistentVolumeClaim => {
            if let Some(spec) = typed::<PersistentVolumeClaimSpec>(cx, doc, &sp, &mut spec) {
                cx.out.objects.push(
                    PersistentVolumeClaim {
                        metadata: meta,
                        spec,
                        status: PersistentVolumeClaimStatus::default(),
                    }
                    .into(),
                );
            }
        }
        Kind::Pod => {
            if let Some(spec) = typed::<PodSpec>(cx, doc, &sp, &mut spec) {
                cx.out.objects.push(
                    Pod {
                        metadata: meta,
                        spec: spec.into(),
                        status: PodStatus::default(),
                    }
                    .into(),
                );
            }
        }
        Kind::StatefulSet => {
            if let Some(spec) = typed::<StatefulSetSpec>(cx, doc, &sp, &mut spec) {
                cx.out.objects.push(
                    StatefulSet {
                        metadata: meta,
                        spec: spec.into(),
                        status: StatefulSetStatus::default(),
                    }
                    .into(),
                );
            }
        }
        Kind::VolumeSnapshot => {
            if let Some(spec) = typed::<VolumeSnapshotSpec>(cx, doc, &sp, &mut spec) {
                cx.out.objects.push(
                    VolumeSnapshot {
                        metadata: meta,
                        spec,
                        status: Default::default(),
                    }
                    .into(),
                );
            }
        }
        _ => {}
    }
    if let Some(missing) = cx.missing.take() {
        cx.out.partial.push(Partial {
            kind,
            meta: meta_copy,
            spec,
            missing,
        });
    }
}

/// Loads every manifest under `paths` (files or directories), named in
/// errors as given.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, Vec<InputError>> {
    load_with(paths, false)
}

/// [`load`] for `apply`: objects written in part are kept as [`Partial`]s.
pub fn load_for_apply(paths: &[PathBuf]) -> Result<Loaded, Vec<InputError>> {
    load_with(paths, true)
}

fn load_with(paths: &[PathBuf], partial_ok: bool) -> Result<Loaded, Vec<InputError>> {
    let mut out = Loaded::default();
    let mut errors = Vec::new();
    let mut warned = BTreeSet::new();
    for p in paths {
        let list = files(p).map_err(|e| {
            vec![InputError {
                file: p.display().to_string(),
                source_text: Arc::new(String::new()),
                span: 0..0,
                message: format!("cannot read: {e}"),
                hint: None,
            }]
        })?;
        for f in list {
            let file = f.display().to_string();
            let text = std::fs::read_to_string(&f).map_err(|e| {
                vec![InputError {
                    file: file.clone(),
                    source_text: Arc::new(String::new()),
                    span: 0..0,
                    message: format!("cannot read: {e}"),
                    hint: None,
                }]
            })?;
            load_text_with(&file, &text, &mut out, &mut errors, &mut warned, partial_ok);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Loads one manifest file's text into `out`.
pub fn load_text(
    file: &str,
    text: &str,
    out: &mut Loaded,
    errors: &mut Vec<InputError>,
    warned: &mut BTreeSet<(String, String)>,
) {
    load_text_with(file, text, out, errors, warned, false);
}

fn load_text_with(
    file: &str,
    text: &str,
    out: &mut Loaded,
    errors: &mut Vec<InputError>,
    warned: &mut BTreeSet<(String, String)>,
    partial_ok: bool,
) {
    let source = Arc::new(text.to_string());
    let docs = match parse(file, text, &source) {
        Ok(d) => d,
        Err(e) => {
            errors.push(e);
            return;
        }
    };
    let mut cx = FileCx {
        file: file.to_string(),
        source,
        text,
        out,
        errors,
        warned,
        partial_ok,
        missing: None,
    };
    for doc in &docs {
        if !doc.value.is_object() {
            cx.error(
                doc,
                "",
                "",
                "a manifest document is a mapping (apiVersion, kind, metadata…)".into(),
                None,
            );
            continue;
        }
        object(&mut cx, doc, "", &doc.value);
    }
}
