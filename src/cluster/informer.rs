//! A process's informer cache: the objects its controllers watch, as of the
//! watch events it has received, shared by the controllers of the process as
//! an informer factory's caches are. Controllers decide from this view —
//! which lags the API server by the watch delay, as a real informer's does —
//! and write through the API server; each knows its own writes before the
//! watch brings them ([`OwnWrites`]).

use super::objects::ObjectSet;
use super::store::WatchEvent;
use crate::api::{AnyObject, Kind, ObjectKey};
use crate::cluster::{AddrMap, ChangeOp};
use std::collections::BTreeMap;
use std::ops::Deref;

/// The cache.
#[derive(Clone)]
pub struct Informer {
    objects: ObjectSet,
}

impl Informer {
    /// An empty cache of `store`'s objects, numbering keys as the store
    /// does ([`ObjectSet::numbered_like`]), so that its watch events apply
    /// by number; `indexed` keeps the indexes of [`ObjectSet::indexed`] for
    /// a controller that asks the questions they answer.
    pub fn of(store: &super::Store, indexed: bool) -> Self {
        Informer {
            objects: store.objects().numbered_like(indexed),
        }
    }

    /// Applies a delivered watch event.
    pub fn apply(&mut self, ev: &WatchEvent) {
        match (ev.op, ev.number) {
            (ChangeOp::Deleted, Some(n)) => drop(self.objects.take_at(ev.kind, n, &ev.key)),
            (ChangeOp::Deleted, None) => self.objects.remove(ev.kind, &ev.key),
            (_, Some(n)) => self.objects.put_numbered(n, &ev.key, ev.object.clone()),
            (_, None) => {
                self.objects.put_keyed(&ev.key, ev.object.clone());
            }
        }
    }

    /// Puts the result of a controller's own write into the cache of the
    /// process it runs alone in (in a shared one its writes stay its own:
    /// [`OwnWrites`]).
    pub fn own_write(&mut self, obj: AnyObject) {
        self.objects.put_shared(obj);
    }
}

impl Informer {
    /// Drops an object the controller itself removed.
    pub fn forget(&mut self, kind: crate::api::Kind, key: &crate::api::ObjectKey) {
        self.objects.remove(kind, key);
    }
}

impl Deref for Informer {
    type Target = ObjectSet;
    fn deref(&self) -> &ObjectSet {
        &self.objects
    }
}

/// One controller's writes that its process's shared informer has not
/// delivered yet. A controller knows what it wrote (the PV controller keeps
/// its writes in its own store, the StatefulSet controller's next sync must
/// not create a pod twice) while the other controllers of its process see
/// them only when the watch brings them. An entry lasts until the informer
/// applies a change of that object at least as new.
#[derive(Default)]
pub struct OwnWrites {
    /// Per kind.
    entries: BTreeMap<Kind, OwnOfKind>,
    /// The same entries' resourceVersions, hashed by the keys' addresses:
    /// every read the controller makes, and every watch event its process
    /// applies, asks whether an object is among them, and nearly always it
    /// is not. A B-tree search compared the key's strings with several
    /// entries' (reads from the interner, misses in a large fleet); the
    /// ordered maps are searched only for a key that is here.
    versions: AddrMap<(Kind, ObjectKey), u64>,
}

/// A controller's undelivered writes of one kind, by key: the
/// resourceVersion each left and the object (`None`: removed).
pub type OwnOfKind = BTreeMap<ObjectKey, (u64, Option<AnyObject>)>;

/// What a controller's own writes say of an object, if anything.
pub type OwnEntry<'a> = Option<Option<&'a AnyObject>>;

impl OwnWrites {
    /// Records that the controller left `key` as `obj` (`None`: removed)
    /// at resourceVersion `rv`.
    pub fn record(&mut self, kind: Kind, key: &ObjectKey, rv: u64, obj: Option<AnyObject>) {
        self.versions.insert((kind, key.clone()), rv);
        self.entries
            .entry(kind)
            .or_default()
            .insert(key.clone(), (rv, obj));
    }

    /// Drops what the controller's writes said of `key`.
    pub fn forget(&mut self, kind: Kind, key: &ObjectKey) {
        if self.versions.remove(&(kind, key.clone())).is_none() {
            return;
        }
        if let Some(of_kind) = self.entries.get_mut(&kind) {
            of_kind.remove(key);
            if of_kind.is_empty() {
                self.entries.remove(&kind);
            }
        }
    }

    /// The informer applied `ev`: an entry it is at least as new as is
    /// known to the whole process now.
    pub fn expire(&mut self, ev: &WatchEvent) {
        let delivered = (self.versions)
            .get(&(ev.kind, ev.key.clone()))
            .is_some_and(|rv| *rv <= ev.resource_version);
        if delivered {
            self.forget(ev.kind, &ev.key);
        }
    }

    /// The controller's own version of `key`, if it has one.
    pub fn lookup(&self, kind: Kind, key: &ObjectKey) -> OwnEntry<'_> {
        if !self.versions.contains_key(&(kind, key.clone())) {
            return None;
        }
        self.entries.get(&kind)?.get(key).map(|(_, o)| o.as_ref())
    }

    /// Its entries of `kind`, by key (`None` if it has none).
    pub fn of_kind(&self, kind: Kind) -> Option<&OwnOfKind> {
        self.entries.get(&kind)
    }
}
