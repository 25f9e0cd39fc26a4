//! Which fields a write changed, as dotted paths (`status.phase`,
//! `metadata.annotations.pv.kubernetes.io/bind-completed`).

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

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
/// they serialize alike (the write changes nothing).
///
/// Most writes touch one part of an object (its status, an annotation)
/// and leave the rest — a pod's spec is most of it — alone. So each object
/// is written out once as JSON text and split into its top-level fields
/// without being parsed; only fields whose text differs are parsed and
/// walked. The result is the walk of the whole objects: equal text is an
/// equal value, and unequal text is compared as values.
pub fn changed_fields<T: Serialize + PartialEq>(old: &T, new: &T) -> Option<Vec<String>> {
    // Equal values write out alike: a write that changes nothing (a third
    // of a fleet's writes) is known without writing either out.
    if old == new {
        return None;
    }
    let (Ok(a), Ok(b)) = (serde_json::to_vec(old), serde_json::to_vec(new)) else {
        // Neither can be written: they compare as equal, like two nulls.
        return None;
    };
    if a == b {
        return None;
    }
    type Fields<'a> = BTreeMap<&'a str, &'a RawValue>;
    let (Ok(fa), Ok(fb)) = (
        serde_json::from_slice::<Fields>(&a),
        serde_json::from_slice::<Fields>(&b),
    ) else {
        // Not an object of plain field names: compare the whole values.
        let (va, vb) = (parse(&a), parse(&b));
        return (va != vb).then(|| changed_paths(&va, &vb));
    };
    let mut keys: Vec<&str> = fa.keys().chain(fb.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::new();
    let mut differ = false;
    for k in keys {
        let (x, y) = (fa.get(k), fb.get(k));
        if let (Some(x), Some(y)) = (x, y)
            && x.get() == y.get()
        {
            continue;
        }
        let x = x.map(|r| parse(r.get().as_bytes()));
        let y = y.map(|r| parse(r.get().as_bytes()));
        differ |= x != y;
        entry(k.to_string(), k, x.as_ref(), y.as_ref(), &mut out);
    }
    differ.then_some(out)
}

/// [`changed_fields`] for an object written as `metadata`, `spec` and
/// `status`, all three always present, given as those parts. A part equal
/// as a value is equal as text and is skipped without being written out (a
/// status write leaves the metadata and the spec alone); the others are
/// written out and walked as [`changed_fields`] walks its fields.
pub fn changed_parts<M, S, T>(old: (&M, &S, &T), new: (&M, &S, &T)) -> Option<Vec<String>>
where
    M: Serialize + PartialEq,
    S: Serialize + PartialEq,
    T: Serialize + PartialEq,
{
    if old == new {
        return None;
    }
    let mut out = Vec::new();
    let mut differ = false;
    // In the order of the names, as the fields of the whole object are.
    part("metadata", old.0, new.0, &mut out, &mut differ);
    part("spec", old.1, new.1, &mut out, &mut differ);
    part("status", old.2, new.2, &mut out, &mut differ);
    differ.then_some(out)
}

/// One part of [`changed_parts`].
fn part<X: Serialize + PartialEq>(
    k: &str,
    old: &X,
    new: &X,
    out: &mut Vec<String>,
    differ: &mut bool,
) {
    if old == new {
        return;
    }
    // Straight to values: for these types the same values the text would
    // parse to (a number out of JSON's range cannot be a value, and goes
    // by the text as in [`changed_fields`]).
    let (x, y) = match (serde_json::to_value(old), serde_json::to_value(new)) {
        (Ok(x), Ok(y)) => (x, y),
        _ => {
            let (Ok(a), Ok(b)) = (serde_json::to_vec(old), serde_json::to_vec(new)) else {
                return;
            };
            (parse(&a), parse(&b))
        }
    };
    if x != y {
        *differ = true;
        entry(k.to_string(), k, Some(&x), Some(&y), out);
    }
}

fn parse(text: &[u8]) -> Value {
    serde_json::from_slice(text).unwrap_or_default()
}

fn walk(prefix: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            // serde_json's map is a BTreeMap here (no preserve_order): sorted keys.
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                entry(path, k, a.get(k), b.get(k), out);
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
    // Labels and annotations that appear or go are named key by key.
    let keyed = k == "annotations" || k == "labels";
    match (old, new) {
        (Some(x), Some(y)) => walk(&path, x, y, out),
        (None, Some(y)) if keyed => walk(&path, &empty, y, out),
        (Some(x), None) if keyed => walk(&path, x, &empty, out),
        (None, None) => {}
        _ => out.push(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// What [`changed_fields`] stands in for: both objects as values.
    fn by_values<T: Serialize>(old: &T, new: &T) -> Option<Vec<String>> {
        let a = serde_json::to_value(old).unwrap_or_default();
        let b = serde_json::to_value(new).unwrap_or_default();
        (a != b).then(|| changed_paths(&a, &b))
    }

    /// Small JSON values: scalars, arrays, and objects over a few keys that
    /// include the keyed ones, so both sides often share fields.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            (0.0f64..2.0).prop_map(Value::from),
            "[ab]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("labels".to_string()),
                        Just("annotations".to_string()),
                        Just("resourceVersion".to_string()),
                        "[a-c]",
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Field by field from the text gives what the whole values give,
        /// for any pair of objects (and for non-objects, by the fallback).
        #[test]
        fn fields_from_text_match_the_walk_of_whole_values(
            top in prop::collection::btree_map(
                prop_oneof![Just("metadata".to_string()), Just("spec".to_string()), Just("status".to_string()), Just("labels".to_string())],
                value(),
                0..4,
            ),
            edits in prop::collection::btree_map(
                prop_oneof![Just("metadata".to_string()), Just("spec".to_string()), Just("status".to_string()), Just("labels".to_string())],
                prop::option::of(value()),
                0..3,
            ),
            scalar in any::<bool>(),
        ) {
            let old = Value::Object(top.clone().into_iter().collect());
            let mut changed = top;
            for (k, v) in edits {
                match v {
                    Some(v) => changed.insert(k, v),
                    None => changed.remove(&k),
                };
            }
            let new = if scalar && changed.is_empty() {
                Value::from(1)
            } else {
                Value::Object(changed.into_iter().collect())
            };
            prop_assert_eq!(changed_fields(&old, &new), by_values(&old, &new));
            prop_assert_eq!(changed_fields(&new, &old), by_values(&new, &old));
            prop_assert_eq!(changed_fields(&old, &old), None);
        }
    }

    proptest! {
        /// Part by part gives what the whole objects give, for any parts.
        #[test]
        fn parts_match_the_whole_objects(
            old in (value(), value(), value()),
            new in (value(), value(), value()),
        ) {
            let whole = |(m, s, t): &(Value, Value, Value)| {
                json!({"metadata": m, "spec": s, "status": t})
            };
            prop_assert_eq!(
                changed_parts((&old.0, &old.1, &old.2), (&new.0, &new.1, &new.2)),
                changed_fields(&whole(&old), &whole(&new))
            );
            // Parts that share values (the common case): one part moved.
            prop_assert_eq!(
                changed_parts((&old.0, &old.1, &old.2), (&old.0, &new.1, &old.2)),
                changed_fields(&whole(&old), &whole(&(old.0.clone(), new.1.clone(), old.2.clone())))
            );
        }
    }

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
        assert_eq!(by_values(&old, &bumped), Some(vec![]));
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
