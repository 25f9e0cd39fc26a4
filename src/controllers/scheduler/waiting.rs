//! The pods a scheduler holds between cycles, each with the time it next
//! needs attention: pods in PreBind (their next poll) and unschedulable
//! pods (their leftover flush). Both are indexed by that time as well as by
//! pod, so finding what is due, or when anything next is, does not walk
//! every pod — thousands wait at once while a large fleet provisions.

use crate::api::{Kind, ObjectKey};
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

/// The unschedulable pods (`unschedulablePods`), each with the kinds whose
/// events may make it schedulable (its failing plugins' EventsToRegister),
/// due at its leftover flush, and indexed by those kinds: an event finds
/// the pods it may move without a walk of every parked pod (while a large
/// fleet provisions, every pod waits here for its claim at once, and every
/// watch event asked each of them).
#[derive(Default)]
pub struct Parked {
    pods: Waiting<BTreeSet<Kind>>,
    /// The parked pods by each kind they wait for, in name order.
    by_kind: BTreeMap<Kind, BTreeSet<ObjectKey>>,
}

impl Parked {
    /// Parks `key` until an event of one of `kinds`, or `flush`.
    pub fn insert(&mut self, key: ObjectKey, flush: SimTime, kinds: BTreeSet<Kind>) {
        self.remove(&key);
        for kind in &kinds {
            self.by_kind.entry(*kind).or_default().insert(key.clone());
        }
        self.pods.insert(key, flush, kinds);
    }

    /// Takes `key` out; true if it was parked.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        let Some(kinds) = self.pods.remove(key) else {
            return false;
        };
        for kind in kinds {
            if let Some(keys) = self.by_kind.get_mut(&kind) {
                keys.remove(key);
            }
        }
        true
    }

    /// True when `key` is parked.
    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.pods.contains_key(key)
    }

    /// True when `key` is parked waiting for events of `kind`.
    pub fn waits_for(&self, key: &ObjectKey, kind: Kind) -> bool {
        self.pods
            .get(key)
            .is_some_and(|kinds| kinds.contains(&kind))
    }

    /// The pods waiting for events of `kind`, in name order.
    pub fn waiting_for(&self, kind: Kind) -> impl Iterator<Item = &ObjectKey> {
        self.by_kind.get(&kind).into_iter().flatten()
    }

    /// Every parked pod, in name order.
    pub fn keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.pods.iter().map(|(k, _)| k)
    }

    /// The pods whose flush is due at `now`, in name order.
    pub fn due(&self, now: SimTime) -> Vec<ObjectKey> {
        self.pods.due(now)
    }

    /// The earliest flush.
    pub fn next_due(&self) -> Option<SimTime> {
        self.pods.next_due()
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

    /// The index by kind answers as a walk of every parked pod would:
    /// the same pods, in name order, through re-parks and removals.
    #[test]
    fn parked_pods_are_found_by_kind_as_a_walk_finds_them() {
        let k = |n: &str| ObjectKey::new("default", n);
        let kinds = |ks: &[Kind]| ks.iter().copied().collect::<BTreeSet<Kind>>();
        let mut p = Parked::default();
        p.insert(
            k("c"),
            SimTime(30),
            kinds(&[Kind::Node, Kind::PersistentVolumeClaim]),
        );
        p.insert(k("a"), SimTime(30), kinds(&[Kind::PersistentVolumeClaim]));
        p.insert(k("b"), SimTime(60), kinds(&[Kind::Node]));
        let found = |p: &Parked, kind| p.waiting_for(kind).cloned().collect::<Vec<_>>();
        assert_eq!(found(&p, Kind::PersistentVolumeClaim), vec![k("a"), k("c")]);
        assert_eq!(found(&p, Kind::Node), vec![k("b"), k("c")]);
        // Parked again for other kinds: only those find it.
        p.insert(k("c"), SimTime(90), kinds(&[Kind::PersistentVolume]));
        assert_eq!(found(&p, Kind::Node), vec![k("b")]);
        assert_eq!(found(&p, Kind::PersistentVolume), vec![k("c")]);
        assert!(p.waits_for(&k("a"), Kind::PersistentVolumeClaim));
        assert!(!p.waits_for(&k("a"), Kind::Node));
        assert!(p.remove(&k("a")));
        assert!(!p.remove(&k("a")));
        assert_eq!(
            found(&p, Kind::PersistentVolumeClaim),
            Vec::<ObjectKey>::new()
        );
        assert_eq!(p.due(SimTime(60)), vec![k("b")]);
        assert_eq!(p.next_due(), Some(SimTime(60)));
        assert_eq!(p.keys().count(), 2);
    }
}
