//! `storsim export`: the objects of a run at an instant as YAML, the way
//! `kubectl get -o yaml` shows them, one document per object — readable,
//! and loadable again as manifests.

use crate::api::{
    AnyObject, Kind, PersistentVolume, PersistentVolumeClaim, Pod, StatefulSet, StorageClass,
    VolumeAttachment, VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent,
};
use crate::cluster::{Store, Stored};
use serde_json::{Map, Value};
use yaml_rust2::YamlEmitter;
use yaml_rust2::yaml::{Hash, Yaml};

fn api_version(kind: Kind) -> &'static str {
    match kind {
        Kind::StorageClass | Kind::VolumeAttachment => "storage.k8s.io/v1",
        Kind::StatefulSet => "apps/v1",
        Kind::VolumeSnapshot | Kind::VolumeSnapshotClass | Kind::VolumeSnapshotContent => {
            "snapshot.storage.k8s.io/v1"
        }
        _ => "v1",
    }
}

fn yaml(v: &Value) -> Yaml {
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(a) => Yaml::Array(a.iter().map(yaml).collect()),
        Value::Object(m) => {
            let mut h = Hash::new();
            for (k, x) in m {
                h.insert(Yaml::String(k.clone()), yaml(x));
            }
            Yaml::Hash(h)
        }
    }
}

/// One object as a manifest: apiVersion, kind, metadata, then the rest.
fn manifest(obj: &AnyObject, body: Value) -> Yaml {
    let kind = obj.kind();
    let meta = obj.meta();
    let mut m = Map::new();
    m.insert("name".into(), Value::String(meta.name.to_string()));
    if kind.namespaced() {
        m.insert(
            "namespace".into(),
            Value::String(meta.namespace.to_string()),
        );
    }
    for (k, map) in [("labels", &meta.labels), ("annotations", &meta.annotations)] {
        if !map.is_empty() {
            m.insert(k.into(), serde_json::to_value(map).unwrap_or_default());
        }
    }
    if !meta.finalizers.is_empty() {
        m.insert(
            "finalizers".into(),
            serde_json::to_value(&meta.finalizers).unwrap_or_default(),
        );
    }
    m.insert("uid".into(), Value::String(meta.uid.to_string()));
    m.insert(
        "resourceVersion".into(),
        Value::String(meta.resource_version.to_string()),
    );
    let mut out = Hash::new();
    let s = |x: &str| Yaml::String(x.to_string());
    out.insert(s("apiVersion"), s(api_version(kind)));
    out.insert(s("kind"), s(kind.as_str()));
    out.insert(s("metadata"), yaml(&Value::Object(m)));
    if let Value::Object(b) = body {
        for (k, v) in b {
            if k != "metadata" {
                out.insert(Yaml::String(k), yaml(&v));
            }
        }
    }
    Yaml::Hash(out)
}

fn all<T: Stored + serde::Serialize>(store: &Store, out: &mut Vec<Yaml>) {
    for o in store.list::<T>() {
        let any: AnyObject = o.clone().into();
        out.push(manifest(&any, serde_json::to_value(o).unwrap_or_default()));
    }
}

/// Every object in `store` (nodes aside: they are the scenario's
/// cluster) as YAML documents.
pub fn export(store: &Store) -> String {
    let mut docs = Vec::new();
    all::<StorageClass>(store, &mut docs);
    all::<VolumeSnapshotClass>(store, &mut docs);
    all::<PersistentVolume>(store, &mut docs);
    all::<PersistentVolumeClaim>(store, &mut docs);
    all::<StatefulSet>(store, &mut docs);
    all::<Pod>(store, &mut docs);
    all::<VolumeAttachment>(store, &mut docs);
    all::<VolumeSnapshot>(store, &mut docs);
    all::<VolumeSnapshotContent>(store, &mut docs);
    let mut text = String::new();
    for d in &docs {
        let mut one = String::new();
        let mut e = YamlEmitter::new(&mut one);
        if e.dump(d).is_ok() {
            text.push_str(&one);
            text.push('\n');
        }
    }
    text
}
