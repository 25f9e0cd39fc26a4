//! The pods a scheduler holds between cycles, each with the time it next
//! needs attention: pods in PreBind (their next poll) and unschedulable
//! pods (their leftover flush). Both are indexed by that time as well as by
//! pod, so finding what is due, or when anything next is, does not walk
//! every pod — thousands wait at once while a large fleet provisions.

use crate::api::ObjectKey;
use crate::engine::SimTime;
use std::collections::{BTreeMap, BTreeSet};

/// Pods keyed by name, each with a due time, indexed by that time.
pub struct Waiting<V> {
    by_key: BTreeMap<ObjectKey, (SimTime, V)>,
    by_time: BTreeSet<(SimTime, ObjectKey)>,
}

impl<V> Default for Waiting<V> {
    fn default() -> Self {
        Waiting {
            by_key: BTreeMap::new(),
            by_time: BTreeSet::new(),
        }
    }
}

impl<V> Waiting<V> {
    /// Adds or replaces `key`, due at `due`.
    pub fn insert(&mut self, key: ObjectKey, due: SimTime, value: V) {
        self.remove(&key);
        self.by_time.insert((due, key.clone()));
        self.by_key.insert(key, (due, value));
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<V> {
        let (due, value) = self.by_key.remove(key)?;
        self.by_time.remove(&(due, key.clone()));
        Some(value)
    }

    /// Moves `key`'s due time to `due`.
    pub fn reschedule(&mut self, key: &ObjectKey, due: SimTime) {
        if let Some((old, _)) = self.by_key.get_mut(key) {
            self.by_time.remove(&(*old, key.clone()));
            *old = due;
            self.by_time.insert((due, key.clone()));
        }
    }

    /// `key`'s value.
    pub fn get(&self, key: &ObjectKey) -> Option<&V> {
        self.by_key.get(key).map(|(_, v)| v)
    }

    /// True when `key` waits here.
    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.by_key.contains_key(key)
    }

    /// Every pod with its value, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &V)> {
        self.by_key.iter().map(|(k, (_, v))| (k, v))
    }

    /// The pods due at or before `now`, in name order (the order a walk of
    /// every pod would have found them in).
    pub fn due(&self, now: SimTime) -> Vec<ObjectKey> {
        let mut keys: Vec<ObjectKey> = self
            .by_time
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| k.clone())
            .collect();
        keys.sort();
        keys
    }

    /// The earliest due time.
    pub fn next_due(&self) -> Option<SimTime> {
        self.by_time.first().map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_pods_come_in_name_order_and_follow_reschedules() {
        let k = |n: &str| ObjectKey::new("default", n);
        let mut w = Waiting::default();
        w.insert(k("b"), SimTime(5), ());
        w.insert(k("a"), SimTime(7), ());
        w.insert(k("c"), SimTime(9), ());
        assert_eq!(w.next_due(), Some(SimTime(5)));
        assert_eq!(w.due(SimTime(7)), vec![k("a"), k("b")]);
        w.reschedule(&k("b"), SimTime(20));
        assert_eq!(w.due(SimTime(9)), vec![k("a"), k("c")]);
        w.remove(&k("a"));
        w.insert(k("c"), SimTime(30), ());
        assert_eq!(w.next_due(), Some(SimTime(20)));
        assert_eq!(w.iter().count(), 2);
    }
}
