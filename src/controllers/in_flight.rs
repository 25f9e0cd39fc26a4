//! The CSI calls a sidecar has in flight, found both ways: by the object a
//! call is for (a sidecar makes one call per object at a time) and by the
//! call's ID when its reply comes. Looking a reply up by walking every call
//! took a step per call in flight, thousands while a fleet starts; neither
//! map is walked, so both are hashed.

use crate::backend::CallId;
use rustc_hash::FxHashMap;
use std::borrow::Borrow;
use std::hash::Hash;

/// Calls in flight, by object and by call ID.
#[derive(Debug)]
pub struct InFlight<K> {
    by_item: FxHashMap<K, CallId>,
    by_call: FxHashMap<CallId, K>,
}

impl<K> Default for InFlight<K> {
    fn default() -> Self {
        InFlight {
            by_item: FxHashMap::default(),
            by_call: FxHashMap::default(),
        }
    }
}

impl<K: Clone + Eq + Hash> InFlight<K> {
    /// Records call `id`, made for `item` (replacing any call it had).
    pub fn insert(&mut self, item: K, id: CallId) {
        if let Some(old) = self.by_item.insert(item.clone(), id) {
            self.by_call.remove(&old);
        }
        self.by_call.insert(id, item);
    }

    /// Whether a call for `item` is in flight.
    pub fn contains<Q: ?Sized + Hash + Eq>(&self, item: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.by_item.contains_key(item)
    }

    /// Forgets the call for `item`: its reply, when it comes, is ignored.
    pub fn forget<Q: ?Sized + Hash + Eq>(&mut self, item: &Q)
    where
        K: Borrow<Q>,
    {
        if let Some(id) = self.by_item.remove(item) {
            self.by_call.remove(&id);
        }
    }

    /// The item call `id` was made for, no longer in flight; `None` for a
    /// call forgotten (or never made here).
    pub fn take(&mut self, id: CallId) -> Option<K> {
        let item = self.by_call.remove(&id)?;
        self.by_item.remove(&item);
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_finds_its_item_once_and_a_forgotten_call_finds_none() {
        let mut f = InFlight::default();
        f.insert("a".to_string(), 1);
        f.insert("b".to_string(), 2);
        assert!(f.contains("a"));
        assert_eq!(f.take(1).as_deref(), Some("a"));
        assert!(!f.contains("a"));
        assert_eq!(f.take(1), None);
        f.forget("b");
        assert_eq!(f.take(2), None);
        // A new call for an item replaces the old one: the old reply is stale.
        f.insert("c".to_string(), 3);
        f.insert("c".to_string(), 4);
        assert_eq!(f.take(3), None);
        assert_eq!(f.take(4).as_deref(), Some("c"));
    }
}
