//! Maps keyed by interned names that are only looked up, hashed by the
//! names' addresses.
//!
//! A `Name` hashes as its string's hash, computed when it was interned and
//! kept in the interner beside the string: hashing a name is a load from
//! the interner, which in a large fleet is rarely in cache, and a lookup of
//! a pod by its key paid that miss before it probed. Equal names are one
//! interned string, so their addresses are equal too and serve as the hash
//! without a load. Addresses differ from run to run, so such a map must
//! never be walked in its own order where that order could reach output:
//! this type offers no ordered walk, only [`AddrMap::iter_unordered`] and
//! [`AddrMap::values_mut_unordered`], whose callers sort or do work that
//! no order can change.

use crate::api::{Kind, Name, ObjectKey};
use std::hash::BuildHasher;

/// A key made of interned names, hashed by their addresses.
pub trait AddrKey: Eq {
    /// The hash of the names' addresses.
    fn addr_hash(&self) -> u64;
}

impl AddrKey for Name {
    fn addr_hash(&self) -> u64 {
        rustc_hash::FxBuildHasher.hash_one(self.addr())
    }
}

impl AddrKey for ObjectKey {
    fn addr_hash(&self) -> u64 {
        rustc_hash::FxBuildHasher.hash_one((self.namespace.addr(), self.name.addr()))
    }
}

impl AddrKey for (Kind, ObjectKey) {
    fn addr_hash(&self) -> u64 {
        let (kind, key) = self;
        rustc_hash::FxBuildHasher.hash_one((*kind, key.namespace.addr(), key.name.addr()))
    }
}

impl AddrKey for (Name, Name) {
    fn addr_hash(&self) -> u64 {
        rustc_hash::FxBuildHasher.hash_one((self.0.addr(), self.1.addr()))
    }
}

/// A hash map from `K` to `V` that is looked up, not walked.
#[derive(Clone)]
pub struct AddrMap<K, V>(hashbrown::HashTable<(K, V)>);

impl<K, V> Default for AddrMap<K, V> {
    fn default() -> Self {
        AddrMap(hashbrown::HashTable::new())
    }
}

impl<K: AddrKey, V> AddrMap<K, V> {
    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.0
            .find(key.addr_hash(), |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.0
            .find_mut(key.addr_hash(), |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Sets the value of `key`, returning the one it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self
            .0
            .entry(key.addr_hash(), |(k, _)| *k == key, |(k, _)| k.addr_hash())
        {
            hashbrown::hash_table::Entry::Occupied(mut e) => {
                Some(std::mem::replace(&mut e.get_mut().1, value))
            }
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert((key, value));
                None
            }
        }
    }

    /// The value of `key`, made by `make` if it had none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let hash = key.addr_hash();
        let entry = self
            .0
            .entry(hash, |(k, _)| *k == key, |(k, _)| k.addr_hash())
            .or_insert_with(|| (key, make()));
        &mut entry.into_mut().1
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let entry = self.0.find_entry(key.addr_hash(), |(k, _)| k == key).ok()?;
        Some(entry.remove().0.1)
    }

    /// How many keys have values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every entry, in an order that differs from run to run: sort them,
    /// or use them where order cannot matter.
    pub fn iter_unordered(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Every value, to change, in an order that differs from run to run:
    /// for changes that no order can make come out differently.
    pub fn values_mut_unordered(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

impl<K: AddrKey, V> std::ops::Index<&K> for AddrMap<K, V> {
    type Output = V;
    fn index(&self, key: &K) -> &V {
        self.get(key).expect("the key has a value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Any sequence of inserts, removes and lookups answers as a
        /// `BTreeMap` given the same sequence does.
        #[test]
        fn answers_as_a_btreemap(
            ops in proptest::collection::vec((0u8..4, 0usize..6, 0usize..3, any::<u16>()), 0..80)
        ) {
            let names = ["a", "b", "web-0", "web-1", "", "data-web-0"];
            let spaces = ["", "default", "db"];
            let mut map = AddrMap::default();
            let mut model = BTreeMap::new();
            for (op, n, ns, v) in ops {
                let key = ObjectKey::new(spaces[ns], names[n]);
                match op {
                    0 => prop_assert_eq!(map.insert(key.clone(), v), model.insert(key.clone(), v)),
                    1 => prop_assert_eq!(map.remove(&key), model.remove(&key)),
                    2 => {
                        let got = *map.get_or_insert_with(key.clone(), || v);
                        prop_assert_eq!(got, *model.entry(key.clone()).or_insert(v));
                    }
                    _ => {
                        if let Some(x) = map.get_mut(&key) {
                            *x = x.wrapping_add(1);
                        }
                        if let Some(x) = model.get_mut(&key) {
                            *x = x.wrapping_add(1);
                        }
                    }
                }
                prop_assert_eq!(map.get(&key), model.get(&key));
                prop_assert_eq!(map.contains_key(&key), model.contains_key(&key));
                prop_assert_eq!(map.len(), model.len());
            }
            let mut all: Vec<(ObjectKey, u16)> =
                map.iter_unordered().map(|(k, v)| (k.clone(), *v)).collect();
            all.sort();
            prop_assert!(all.into_iter().eq(model.into_iter()));
        }
    }
}
