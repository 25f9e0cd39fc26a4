//! An ordered set that nearly always holds one item: the pods of a claim,
//! the claims of a volume, the attachments of a volume. A `BTreeSet`
//! allocates a node of eleven slots for its first item; indexes keyed by
//! every claim or volume of a 100 k-pod fleet hold hundreds of thousands
//! of these sets, so this one keeps its first item inline and the rest
//! sorted in a vector (inserting is linear, which a set of a few never
//! notices; an item is found by equality, only an insert orders).

use smallvec::SmallVec;

/// A sorted set, inline while it holds one item. Iterates in order, as a
/// `BTreeSet` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmallSet<T>(SmallVec<[T; 1]>);

impl<T> Default for SmallSet<T> {
    fn default() -> Self {
        SmallSet(SmallVec::new())
    }
}

impl<T: Ord> SmallSet<T> {
    /// Adds `x`; false if it was there.
    pub fn insert(&mut self, x: T) -> bool {
        if self.position(&x).is_some() {
            return false;
        }
        let i = self.0.partition_point(|y| *y < x);
        self.0.insert(i, x);
        true
    }

    /// Removes `x`; false if it was not there.
    pub fn remove(&mut self, x: &T) -> bool {
        match self.position(x) {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }

    /// Whether `x` is in the set.
    pub fn contains(&self, x: &T) -> bool {
        self.position(x).is_some()
    }

    /// Where `x` is, found by equality, not by order: for keys of
    /// interned names equality compares pointers, where the order reads
    /// both names' strings (memory a large fleet rarely has in cache), and
    /// the set is too small for a binary search to save compares.
    fn position(&self, x: &T) -> Option<usize> {
        self.0.iter().position(|y| y == x)
    }
}

impl<T> SmallSet<T> {
    /// The items, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a, T> IntoIterator for &'a SmallSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Any sequence of inserts and removes leaves the same items, in
        /// the same order, as a `BTreeSet` given the same sequence, and
        /// each call answers as the `BTreeSet`'s does.
        #[test]
        fn behaves_as_a_btreeset(ops in proptest::collection::vec((any::<bool>(), 0u8..12), 0..60)) {
            let mut small = SmallSet::default();
            let mut btree = BTreeSet::new();
            for (add, x) in ops {
                if add {
                    prop_assert_eq!(small.insert(x), btree.insert(x));
                } else {
                    prop_assert_eq!(small.remove(&x), btree.remove(&x));
                }
                prop_assert_eq!(small.contains(&x), btree.contains(&x));
                prop_assert_eq!(small.len(), btree.len());
                prop_assert_eq!(small.is_empty(), btree.is_empty());
            }
            prop_assert!(small.iter().eq(btree.iter()));
        }
    }

    #[test]
    fn one_item_is_kept_inline() {
        let mut s = SmallSet::default();
        s.insert(7u64);
        assert!(!s.0.spilled());
        s.insert(3);
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![3, 7]);
    }
}
