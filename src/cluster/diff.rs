//! Which fields a write changed, as dotted paths (`status.phase`,
//! `metadata.annotations.pv.kubernetes.io/bind-completed`).

use serde_json::Value;

/// Paths whose values differ between `old` and `new`. Objects present on
/// both sides are walked; arrays, scalars and fields that appear or go are
/// reported whole, except labels and annotations, which are named key by key.
/// `metadata.resourceVersion` is ignored.
pub fn changed_paths(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
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
                if path == "metadata.resourceVersion" {
                    continue;
                }
                let empty = Value::Object(Default::default());
                // Labels and annotations that appear or go are named key by key.
                let keyed = k == "annotations" || k == "labels";
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&path, x, y, out),
                    (None, Some(y)) if keyed => walk(&path, &empty, y, out),
                    (Some(x), None) if keyed => walk(&path, x, &empty, out),
                    (None, None) => {}
                    _ => out.push(path),
                }
            }
        }
        _ if old != new => out.push(prefix.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
