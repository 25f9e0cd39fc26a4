//! JSON merge patch (RFC 7386), as `kubectl patch --type merge` applies it.

use crate::api::{
    AnyObject, Node, PersistentVolume, PersistentVolumeClaim, Pod, StatefulSet, StorageClass,
    VolumeAttachment, VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Merges `patch` into `target`: objects merge key by key, `null` removes a
/// key, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patched<T: Serialize + DeserializeOwned>(obj: &T, patch: &Value) -> Result<T, String> {
    let mut v = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    merge(&mut v, patch);
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// `obj` with `patch` applied. Fails if the result is not a valid object of
/// the same kind, or if the patch renames it.
pub fn apply(obj: &AnyObject, patch: &Value) -> Result<AnyObject, String> {
    let out: AnyObject = match obj {
        AnyObject::Node(o) => patched::<Node>(o, patch)?.into(),
        AnyObject::StorageClass(o) => patched::<StorageClass>(o, patch)?.into(),
        AnyObject::PersistentVolume(o) => patched::<PersistentVolume>(o, patch)?.into(),
        AnyObject::PersistentVolumeClaim(o) => patched::<PersistentVolumeClaim>(o, patch)?.into(),
        AnyObject::Pod(o) => patched::<Pod>(o, patch)?.into(),
        AnyObject::StatefulSet(o) => patched::<StatefulSet>(o, patch)?.into(),
        AnyObject::VolumeAttachment(o) => patched::<VolumeAttachment>(o, patch)?.into(),
        AnyObject::VolumeSnapshotClass(o) => patched::<VolumeSnapshotClass>(o, patch)?.into(),
        AnyObject::VolumeSnapshot(o) => patched::<VolumeSnapshot>(o, patch)?.into(),
        AnyObject::VolumeSnapshotContent(o) => patched::<VolumeSnapshotContent>(o, patch)?.into(),
    };
    if out.meta().key() != obj.meta().key() {
        return Err("a patch cannot change an object's name or namespace".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_replaces_and_removes() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": [1, 2]});
        merge(&mut t, &json!({"a": {"b": 5, "c": null}, "d": [3]}));
        assert_eq!(t, json!({"a": {"b": 5}, "d": [3]}));
    }
}
