//! Which fields a write changed, as dotted paths (`status.phase`,
//! `metadata.annotations.pv.kubernetes.io/bind-completed`): the names the
//! walk of the two objects' JSON values gives ([`changed_fields`]),
//! computed for the store from the typed values ([`Diff`], [`changed`]).

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
pub use storsim_derive::Diff;

/// Paths whose values differ between `old` and `new`. Objects present on
/// both sides are walked; arrays, scalars and fields that appear or go are
/// reported whole, except labels and annotations, which are named key by key.
/// `metadata.resourceVersion` is ignored.
pub fn changed_paths(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

/// [`changed_paths`] between two objects as they serialize, or `None` when
/// they are equal: the reference the typed walk ([`changed`]) is checked
/// against in debug builds. Equal values are no change, however their
/// quantities are spelled.
pub fn changed_fields<T: Serialize + PartialEq>(old: &T, new: &T) -> Option<Vec<String>> {
    if old == new {
        return None;
    }
    // Neither can be written: they compare as equal, like two nulls.
    let a = serde_json::to_value(old).unwrap_or_default();
    let b = serde_json::to_value(new).unwrap_or_default();
    (a != b).then(|| changed_paths(&a, &b))
}

fn walk(prefix: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            // serde_json's map is a BTreeMap here (no preserve_order): sorted keys.
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                entry(join(prefix, k), k, a.get(k), b.get(k), out);
            }
        }
        _ if old != new => out.push(prefix.to_string()),
        _ => {}
    }
}

/// One field `k` of an object walked at `path`, as it is on each side.
fn entry(path: String, k: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<String>) {
    if path == "metadata.resourceVersion" {
        return;
    }
    let empty = Value::Object(Default::default());
    match (old, new) {
        (Some(x), Some(y)) => walk(&path, x, y, out),
        (None, Some(y)) if keyed(k) => walk(&path, &empty, y, out),
        (Some(x), None) if keyed(k) => walk(&path, x, &empty, out),
        (None, None) => {}
        _ => out.push(path),
    }
}

/// Which fields changed, from the typed values: what [`changed_fields`]
/// finds from the two objects' JSON, without writing either out — a
/// fleet's writes spent about a fifth of their instructions building and
/// walking JSON values for this. `#[derive(Diff)]` (crate
/// `storsim-derive`) implements it for structs from their serde
/// attributes; types written as strings, numbers or arrays use the
/// defaults (compared whole). Debug builds check every write's answer
/// against [`changed_fields`] ([`changed`]).
pub trait Diff: PartialEq {
    /// Whether the value is written as a JSON object (walked field by
    /// field rather than compared whole).
    fn is_object(&self) -> bool {
        false
    }
    /// Whether the two are written alike. Not always `==`: quantities
    /// equal in value may be spelled differently.
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    /// Appends the paths under `path` where `self` and `other` differ;
    /// called only when both are objects.
    fn diff_into(&self, other: &Self, path: &str, out: &mut Vec<String>) {
        if !self.same(other) {
            out.push(path.to_string());
        }
    }
    /// Appends the paths the walk of this value against an empty object
    /// names: its keys for an object, `path` itself otherwise.
    fn keys_into(&self, path: &str, out: &mut Vec<String>) {
        out.push(path.to_string());
    }
}

/// The fields a write from `old` to `new` changed, as dotted paths, or
/// `None` when the two are equal: [`Diff`], checked against the walk of
/// the JSON values ([`changed_fields`]) in debug builds.
pub fn changed<T: Diff + Serialize>(old: &T, new: &T) -> Option<Vec<String>> {
    // Equal values are no change, however their quantities are spelled
    // (as in [`changed_fields`]).
    let typed = (old != new).then(|| {
        let mut out = Vec::new();
        old.diff_into(new, "", &mut out);
        out
    });
    debug_assert_eq!(
        typed,
        changed_fields(old, new),
        "the typed diff names what the JSON walk names"
    );
    typed
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        let mut path = String::with_capacity(prefix.len() + 1 + name.len());
        path.push_str(prefix);
        path.push('.');
        path.push_str(name);
        path
    }
}

/// Labels and annotations that appear or go are named key by key.
fn keyed(name: &str) -> bool {
    name == "annotations" || name == "labels"
}

/// One field `name` of an object at `prefix`, with whether it is written
/// on each side (`skip_serializing_if`): the JSON walk's rule for one
/// field, for typed values.
pub fn field<T: Diff + ?Sized>(
    prefix: &str,
    name: &str,
    (old, old_written): (&T, bool),
    (new, new_written): (&T, bool),
    out: &mut Vec<String>,
) {
    if !(old_written || new_written) || (old_written && new_written && old.same(new)) {
        return;
    }
    let path = join(prefix, name);
    if path == "metadata.resourceVersion" {
        return;
    }
    match (old_written, new_written) {
        (true, true) if old.is_object() && new.is_object() => old.diff_into(new, &path, out),
        (false, true) if keyed(name) => new.keys_into(&path, out),
        (true, false) if keyed(name) => old.keys_into(&path, out),
        _ => out.push(path),
    }
}

/// [`Diff::keys_into`] for one field of an object (written on this side).
pub fn key_into<T: Diff + ?Sized>(prefix: &str, name: &str, value: &T, out: &mut Vec<String>) {
    let path = join(prefix, name);
    if path == "metadata.resourceVersion" {
        return;
    }
    if keyed(name) {
        value.keys_into(&path, out);
    } else {
        out.push(path);
    }
}

macro_rules! leaves {
    ($($t:ty),* $(,)?) => {
        $(impl Diff for $t {})*
    };
}
leaves!(
    bool,
    u32,
    u64,
    i32,
    i64,
    i128,
    f64,
    String,
    crate::engine::SimTime,
);

/// Quantities equal in value may be spelled differently, and are written
/// as they were spelled.
impl Diff for crate::api::quantity::Quantity {
    fn same(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<T: Diff> Diff for Vec<T> {
    fn same(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.same(b))
    }
}

impl<T: Diff> Diff for Option<T> {
    fn is_object(&self) -> bool {
        self.as_ref().is_some_and(Diff::is_object)
    }
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same(b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
    fn diff_into(&self, other: &Self, path: &str, out: &mut Vec<String>) {
        match (self, other) {
            (Some(a), Some(b)) => a.diff_into(b, path, out),
            _ if !self.same(other) => out.push(path.to_string()),
            _ => {}
        }
    }
    fn keys_into(&self, path: &str, out: &mut Vec<String>) {
        match self {
            Some(v) => v.keys_into(path, out),
            None => out.push(path.to_string()),
        }
    }
}

/// Shared parts are written as what they point to; one allocation is
/// written alike without a look inside.
impl<T: Diff> Diff for std::sync::Arc<T> {
    fn is_object(&self) -> bool {
        (**self).is_object()
    }
    fn same(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(self, other) || (**self).same(other)
    }
    fn diff_into(&self, other: &Self, path: &str, out: &mut Vec<String>) {
        (**self).diff_into(other, path, out);
    }
    fn keys_into(&self, path: &str, out: &mut Vec<String>) {
        (**self).keys_into(path, out);
    }
}

/// Whether two maps ordered by key hold the same keys with values alike.
pub fn same_sorted<'a, K: PartialEq + 'a, V: Diff + 'a>(
    a: impl ExactSizeIterator<Item = (&'a K, &'a V)>,
    b: impl ExactSizeIterator<Item = (&'a K, &'a V)>,
) -> bool {
    a.len() == b.len() && a.zip(b).all(|((ka, x), (kb, y))| ka == kb && x.same(y))
}

/// [`Diff::diff_into`] for two maps ordered by key: the keys of both are
/// walked together in order, each one a field.
pub fn diff_sorted<'a, K: AsRef<str> + Ord + 'a, V: Diff + 'a>(
    a: impl Iterator<Item = (&'a K, &'a V)>,
    b: impl Iterator<Item = (&'a K, &'a V)>,
    path: &str,
    out: &mut Vec<String>,
) {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    loop {
        let (k, x, y) = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(&(ka, _)), Some(&(kb, _))) if ka == kb => {
                (ka, a.next().map(|e| e.1), b.next().map(|e| e.1))
            }
            (Some(&(ka, _)), Some(&(kb, _))) if ka < kb => (ka, a.next().map(|e| e.1), None),
            (Some(&(ka, _)), None) => (ka, a.next().map(|e| e.1), None),
            (_, Some(&(kb, _))) => (kb, None, b.next().map(|e| e.1)),
        };
        match (x, y) {
            (Some(x), Some(y)) => field(path, k.as_ref(), (x, true), (y, true), out),
            (Some(x), None) => field(path, k.as_ref(), (x, true), (x, false), out),
            (None, Some(y)) => field(path, k.as_ref(), (y, false), (y, true), out),
            (None, None) => {}
        }
    }
}

/// A map with string keys is an object; its keys are walked in order.
impl<K: AsRef<str> + Ord, V: Diff> Diff for BTreeMap<K, V> {
    fn is_object(&self) -> bool {
        true
    }
    fn same(&self, other: &Self) -> bool {
        same_sorted(self.iter(), other.iter())
    }
    fn diff_into(&self, other: &Self, path: &str, out: &mut Vec<String>) {
        diff_sorted(self.iter(), other.iter(), path, out);
    }
    fn keys_into(&self, path: &str, out: &mut Vec<String>) {
        for (k, v) in self {
            key_into(path, k.as_ref(), v, out);
        }
    }
}

/// Free-form values (probe handlers, ports) walked as the JSON walk does.
impl Diff for Value {
    fn is_object(&self) -> bool {
        self.is_object()
    }
    fn diff_into(&self, other: &Self, path: &str, out: &mut Vec<String>) {
        walk(path, self, other, out);
    }
    fn keys_into(&self, path: &str, out: &mut Vec<String>) {
        walk(path, &Value::Object(Default::default()), self, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_write_names_only_its_fields() {
        let old = json!({
            "metadata": {"name": "web-0", "resourceVersion": 4, "labels": {"app": "web"}},
            "spec": {"containers": [{"image": "app:1"}], "nodeName": ""},
            "status": {"phase": "Pending"},
        });
        let mut new = old.clone();
        new["status"] = json!({"phase": "Running", "podIP": "10.0.0.1"});
        new["metadata"]["labels"]["ready"] = json!("1");
        new["metadata"]["resourceVersion"] = json!(5);
        assert_eq!(
            changed_fields(&old, &new),
            Some(vec![
                "metadata.labels.ready".to_string(),
                "status.phase".to_string(),
                "status.podIP".to_string(),
            ])
        );
        // Only the resourceVersion moved: a change, naming nothing.
        let mut bumped = old.clone();
        bumped["metadata"]["resourceVersion"] = json!(5);
        assert_eq!(changed_fields(&old, &bumped), Some(vec![]));
    }

    /// A claim as the API would hold it, from its JSON.
    fn claim(v: Value) -> crate::api::PersistentVolumeClaim {
        serde_json::from_value(v).expect("a claim")
    }

    /// The typed diff of two claims, and the JSON walk's answer beside it.
    fn both_ways(
        old: &crate::api::PersistentVolumeClaim,
        new: &crate::api::PersistentVolumeClaim,
    ) -> (Option<Vec<String>>, Option<Vec<String>>) {
        (changed(old, new), changed_fields(old, new))
    }

    #[test]
    fn the_typed_diff_names_what_the_json_walk_names() {
        let old = claim(json!({
            "metadata": {"name": "data-web-0", "namespace": "default", "resourceVersion": 3},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            "status": {},
        }));
        // Annotations appear (named key by key), the phase and the
        // capacity are written for the first time, the version moves.
        let mut new = claim(json!({
            "metadata": {"name": "data-web-0", "namespace": "default", "resourceVersion": 4,
                         "annotations": {"pv.kubernetes.io/bind-completed": "yes", "a": "b"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "volumeName": "pvc-1"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}},
        }));
        let (typed, walked) = both_ways(&old, &new);
        assert_eq!(
            typed,
            Some(vec![
                "metadata.annotations.a".to_string(),
                "metadata.annotations.pv.kubernetes.io/bind-completed".to_string(),
                "spec.volumeName".to_string(),
                "status.capacity".to_string(),
                "status.phase".to_string(),
            ])
        );
        assert_eq!(typed, walked);
        // Annotations going: named key by key again.
        assert_eq!(both_ways(&new, &old).0, both_ways(&new, &old).1);
        // The same size spelled otherwise is an equal value: alone, no
        // change; beside another change, named as the JSON shows it.
        let before = new.clone();
        new.spec.resources.requests.insert(
            "storage",
            crate::api::quantity::Quantity::parse("1024Mi").expect("a quantity"),
        );
        assert_eq!(both_ways(&before, &new), (None, None));
        new.status.phase = crate::api::persistent_volume_claim::ClaimPhase::Lost;
        let (typed, walked) = both_ways(&before, &new);
        assert_eq!(
            typed,
            Some(vec![
                "spec.resources.requests.storage".to_string(),
                "status.phase".to_string()
            ])
        );
        assert_eq!(typed, walked);
        // Only the resource version: a change that names nothing.
        let mut bumped = before.clone();
        bumped.metadata.resource_version += 1;
        assert_eq!(both_ways(&before, &bumped), (Some(vec![]), Some(vec![])));
        assert_eq!(both_ways(&before, &before), (None, None));
    }

    #[test]
    fn reports_nested_changes_and_additions() {
        let a = json!({"metadata": {"resourceVersion": 1, "annotations": {"x": "1"}}, "status": {"phase": "Pending"}});
        let b = json!({"metadata": {"resourceVersion": 2, "annotations": {"x": "1", "y": "2"}}, "status": {"phase": "Bound"}});
        assert_eq!(
            changed_paths(&a, &b),
            vec!["metadata.annotations.y", "status.phase"]
        );
    }
}
