//! Labels, annotations and resource lists: small maps keyed by interned
//! strings.
//!
//! An object carries a handful of each, every write copies them, and
//! controllers read them on every sync (a pod's revision label, a node's
//! zone, a claim's requested size). As a sorted vector of interned keys and
//! their values ([`litemap`]), a copy is one allocation instead of a B-tree
//! node and a string or two per entry, a lookup reads one contiguous block,
//! and a label value is compared with another name by pointer.

use super::meta::Name;
use crate::cluster::diff::{Diff, diff_sorted, key_into, same_sorted};
use litemap::LiteMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// A map keyed by strings, in the byte order of the keys (as a
/// `BTreeMap<String, V>` orders them), each key at most once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameMap<V>(LiteMap<Name, V>);

/// Labels or annotations.
pub type Labels = NameMap<Name>;

/// A resource list (`capacity`, `requests`, `allocatable`).
pub type Resources = NameMap<super::quantity::Quantity>;

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap(LiteMap::new_vec())
    }
}

impl Labels {
    /// The value of `key` as a string.
    pub fn get_str(&self, key: &str) -> Option<&'static str> {
        self.get(key).map(Name::as_str)
    }

    /// Sets `key` to `value` unless it is present.
    pub fn insert_if_absent(&mut self, key: impl Into<Name>, value: impl Into<Name>) {
        let key = key.into();
        if !self.contains_key(&key) {
            self.0.insert(key, value.into());
        }
    }

    /// Whether every entry of `wanted` is here with the same value
    /// (`matchLabels`, `nodeSelector`).
    pub fn contains_all(&self, wanted: &Labels) -> bool {
        wanted.iter().all(|(k, v)| self.get_name(*k) == Some(v))
    }

    /// As an ordered map of strings (for a JSON rendering or a test).
    pub fn to_string_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl<V> NameMap<V> {
    /// No entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.get_by(|k| k.as_str().cmp(key))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of the interned `key`, found by address: equal strings
    /// are one interned name, so the keys are compared, not the strings
    /// they stand for. A search by string reads the strings from the
    /// interner, which in a large fleet is rarely in cache; these maps
    /// hold a handful of entries, so a walk of them is short.
    pub fn get_name(&self, key: Name) -> Option<&V> {
        self.0.iter().find(|(k, _)| **k == key).map(|(_, v)| v)
    }

    /// Sets `key` to `value`; the previous value, if any.
    pub fn insert(&mut self, key: impl Into<Name>, value: impl Into<V>) -> Option<V> {
        self.0.insert(key.into(), value.into())
    }

    /// Removes `key`; its value, if it was present.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = self
            .0
            .as_slice()
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()?;
        let (k, _) = self.0.get_indexed(i)?;
        let k = *k;
        self.0.remove(&k)
    }

    /// The entries in key order.
    pub fn iter(&self) -> <&Self as IntoIterator>::IntoIter {
        self.into_iter()
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Name> + '_ {
        self.0.as_slice().iter().map(|(k, _)| k)
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<Name>, V, W: Into<V>> FromIterator<(K, W)> for NameMap<V> {
    fn from_iter<I: IntoIterator<Item = (K, W)>>(iter: I) -> Self {
        let mut out = NameMap::new();
        out.extend(iter);
        out
    }
}

impl<K: Into<Name>, V, W: Into<V>> Extend<(K, W)> for NameMap<V> {
    fn extend<I: IntoIterator<Item = (K, W)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Into<Name>, V, W: Into<V>, const N: usize> From<[(K, W); N]> for NameMap<V> {
    fn from(entries: [(K, W); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<V> std::ops::Index<&str> for NameMap<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        self.get(key).expect("no such key")
    }
}

/// A slice entry as the pair of references a map's iterator yields.
type Entry<'a, V> = fn(&'a (Name, V)) -> (&'a Name, &'a V);

impl<'a, V> IntoIterator for &'a NameMap<V> {
    type Item = (&'a Name, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Name, V)>, Entry<'a, V>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.as_slice().iter().map(|(k, v)| (k, v))
    }
}

/// Written as a map, in key order.
impl<V: Serialize> Serialize for NameMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

/// Read as a map with string keys, so a scenario's mistakes are reported
/// as they were for a `BTreeMap<String, V>`.
impl<'de, V: Deserialize<'de>> Deserialize<'de> for NameMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, V>::deserialize(d)?;
        Ok(NameMap(
            map.into_iter().map(|(k, v)| (Name::new(&k), v)).collect(),
        ))
    }
}

/// An object whose keys are walked in order, as for a map of strings.
impl<V: Diff> Diff for NameMap<V> {
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
        for (k, v) in self.iter() {
            key_into(path, k, v, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same entries, order, lookups, removals and JSON as the map
        /// of strings they replace, for any keys and values.
        #[test]
        fn behaves_as_a_map_of_strings(
            entries in proptest::collection::vec(("[a-c./-]{0,3}", "[x-z0-9]{0,2}"), 0..8),
            gone in "[a-c./-]{0,3}",
        ) {
            let mut want: BTreeMap<String, String> = BTreeMap::new();
            let mut got = Labels::new();
            for (k, v) in &entries {
                prop_assert_eq!(
                    got.insert(k.as_str(), v.as_str()).map(|n| n.to_string()),
                    want.insert(k.clone(), v.clone())
                );
            }
            prop_assert_eq!(got.to_string_map(), want.clone());
            prop_assert_eq!(
                serde_json::to_string(&got).expect("json"),
                serde_json::to_string(&want).expect("json")
            );
            for (k, v) in &want {
                prop_assert_eq!(got.get(k).map(|n| n.as_str()), Some(v.as_str()));
                prop_assert_eq!(got.get_name(Name::new(k)), got.get(k));
            }
            prop_assert_eq!(got.get_name(Name::new(&gone)), got.get(&gone));
            prop_assert_eq!(got.remove(&gone).map(|n| n.to_string()), want.remove(&gone));
            prop_assert!(!got.contains_key(&gone));
            prop_assert_eq!(got.to_string_map(), want);
        }
    }

    #[test]
    fn changed_paths_are_those_of_a_map_of_strings() {
        let a: Labels = [("app", "web"), ("tier", "db")].into();
        let b: Labels = [("app", "web"), ("zone", "a")].into();
        let mut out = Vec::new();
        a.diff_into(&b, "metadata.labels", &mut out);
        assert_eq!(out, ["metadata.labels.tier", "metadata.labels.zone"]);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_reported_as_before() {
        let err = serde_json::from_str::<Labels>(r#"{"app": 1}"#).expect_err("not a string");
        let old = serde_json::from_str::<BTreeMap<String, String>>(r#"{"app": 1}"#)
            .expect_err("not a string");
        assert_eq!(err.to_string(), old.to_string());
    }
}
