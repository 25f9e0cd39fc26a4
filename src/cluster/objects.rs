//! A set of objects of every kind, ordered by key: the API server's state
//! and each controller's informer cache are both one of these.

use crate::api::persistent_volume::VolumePhase;
use crate::api::{
    AnyObject, Kind, Node, ObjectKey, PersistentVolume, PersistentVolumeClaim, Pod, Resource,
    StatefulSet, StorageClass, VolumeAttachment, VolumeSnapshot, VolumeSnapshotClass,
    VolumeSnapshotContent,
};
use rustc_hash::FxHashMap;
use slab::Slab;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One kind's objects. Objects are shared and never changed in place: the
/// API server's copy, the watch event and every informer's copy are one
/// allocation (a write stores a new object), so delivering a change costs
/// no copy.
///
/// Reads and replacements — nearly every access — find the object by a
/// hash of its key in constant time; listings walk the keys in order, so
/// every listing is deterministic (the hash map is never iterated). Only
/// adding or removing an object touches the ordered index. The objects
/// live in slots both indexes point to, so neither holds a second handle.
#[derive(Default, Clone)]
pub struct Table {
    slots: Slab<Arc<AnyObject>>,
    by_key: FxHashMap<ObjectKey, usize>,
    order: BTreeMap<ObjectKey, usize>,
}

impl Table {
    fn get(&self, key: &ObjectKey) -> Option<&Arc<AnyObject>> {
        self.by_key.get(key).map(|&i| &self.slots[i])
    }

    /// Whether an object is stored under `key`.
    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.by_key.contains_key(key)
    }

    fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Stores `obj` under `key`, returning what it replaced.
    fn insert(&mut self, key: &ObjectKey, obj: Arc<AnyObject>) -> Option<Arc<AnyObject>> {
        match self.by_key.get(key) {
            Some(&i) => Some(std::mem::replace(&mut self.slots[i], obj)),
            None => {
                let i = self.slots.insert(obj);
                self.by_key.insert(key.clone(), i);
                self.order.insert(key.clone(), i);
                None
            }
        }
    }

    fn remove(&mut self, key: &ObjectKey) -> Option<Arc<AnyObject>> {
        let i = self.by_key.remove(key)?;
        self.order.remove(key);
        Some(self.slots.remove(i))
    }

    /// The objects in key order.
    fn values(&self) -> impl Iterator<Item = &Arc<AnyObject>> {
        self.order.values().map(|&i| &self.slots[i])
    }

    /// The objects from `from` on, in key order.
    fn range_from(&self, from: ObjectKey) -> impl Iterator<Item = (&ObjectKey, &Arc<AnyObject>)> {
        self.order.range(from..).map(|(k, &i)| (k, &self.slots[i]))
    }
}

/// A stored object kept by a reader: it reads as a `&T` and costs a
/// reference count, not a copy.
pub struct Shared<T> {
    obj: Arc<AnyObject>,
    kind: std::marker::PhantomData<T>,
}

impl<T: Stored> Shared<T> {
    /// `obj` as a `T`, if it is one.
    pub fn new(obj: Arc<AnyObject>) -> Option<Self> {
        T::downcast(&obj)?;
        Some(Shared {
            obj,
            kind: std::marker::PhantomData,
        })
    }
}

impl<T: Stored> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // `new` only makes a Shared<T> of a T.
        T::downcast(&self.obj).expect("a Shared<T> holds a T")
    }
}

/// Objects of every kind.
#[derive(Default, Clone)]
pub struct ObjectSet {
    nodes: Table,
    classes: Table,
    pvs: Table,
    pvcs: Table,
    pods: Table,
    sets: Table,
    attachments: Table,
    snapshot_classes: Table,
    snapshots: Table,
    contents: Table,
    /// The volumes a claim could bind to, kept with the table.
    pv_index: PvIndex,
    /// Pod names by (namespace, label key, label value).
    pod_labels: BTreeMap<(String, String, String), BTreeSet<String>>,
    /// StatefulSets by the first `matchLabels` pair of their selector
    /// (a pod without that label cannot be selected); `None` for selectors
    /// of expressions only.
    set_selectors: BTreeMap<Option<LabelKey>, BTreeSet<ObjectKey>>,
    set_selector_of: BTreeMap<ObjectKey, Option<LabelKey>>,
}

type LabelKey = (String, String, String);

fn label_keys(meta: &crate::api::ObjectMeta) -> impl Iterator<Item = LabelKey> + '_ {
    meta.labels
        .iter()
        .map(|(k, v)| (meta.namespace.clone(), k.clone(), v.clone()))
}

/// Volumes by what makes them a candidate for a claim: Available ones by
/// class, and any by the claim its `claimRef` names. A volume outside both
/// can never be chosen (`FindMatchingVolume` skips it), so a search looks
/// only at these, not at every volume.
#[derive(Default, Clone)]
struct PvIndex {
    available: BTreeMap<String, BTreeSet<String>>,
    claimed: BTreeMap<(String, String), BTreeSet<String>>,
}

impl PvIndex {
    fn entries(pv: &PersistentVolume) -> (Option<String>, Option<(String, String)>) {
        let available = (pv.status.phase == VolumePhase::Available).then(|| pv.class().to_string());
        let claimed = pv
            .spec
            .claim_ref
            .as_ref()
            .map(|r| (r.namespace.clone(), r.name.clone()));
        (available, claimed)
    }

    fn add(&mut self, pv: &PersistentVolume) {
        let (available, claimed) = Self::entries(pv);
        let name = &pv.metadata.name;
        if let Some(c) = available {
            self.available.entry(c).or_default().insert(name.clone());
        }
        if let Some(c) = claimed {
            self.claimed.entry(c).or_default().insert(name.clone());
        }
    }

    fn remove(&mut self, pv: &PersistentVolume) {
        let (available, claimed) = Self::entries(pv);
        let name = &pv.metadata.name;
        if let Some(c) = available
            && let Some(set) = self.available.get_mut(&c)
        {
            set.remove(name);
        }
        if let Some(c) = claimed
            && let Some(set) = self.claimed.get_mut(&c)
        {
            set.remove(name);
        }
    }
}

/// Kinds an [`ObjectSet`] holds: the link between a type and its table.
pub trait Stored: Resource + Clone + Into<AnyObject> + 'static {
    /// This kind's table.
    fn table(set: &ObjectSet) -> &Table;
    /// This kind's table, mutably.
    fn table_mut(set: &mut ObjectSet) -> &mut Table;
    /// The object, if `o` is of this kind.
    fn downcast(o: &AnyObject) -> Option<&Self>;
}

macro_rules! stored {
    ($t:ident, $field:ident) => {
        impl Stored for $t {
            fn table(set: &ObjectSet) -> &Table {
                &set.$field
            }
            fn table_mut(set: &mut ObjectSet) -> &mut Table {
                &mut set.$field
            }
            fn downcast(o: &AnyObject) -> Option<&Self> {
                match o {
                    AnyObject::$t(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}
stored!(Node, nodes);
stored!(StorageClass, classes);
stored!(PersistentVolume, pvs);
stored!(PersistentVolumeClaim, pvcs);
stored!(Pod, pods);
stored!(StatefulSet, sets);
stored!(VolumeAttachment, attachments);
stored!(VolumeSnapshotClass, snapshot_classes);
stored!(VolumeSnapshot, snapshots);
stored!(VolumeSnapshotContent, contents);

/// Applies `$body` with `$t` bound to the Rust type of `$kind`.
macro_rules! with_kind {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            Kind::Node => {
                type $t = Node;
                $body
            }
            Kind::StorageClass => {
                type $t = StorageClass;
                $body
            }
            Kind::PersistentVolume => {
                type $t = PersistentVolume;
                $body
            }
            Kind::PersistentVolumeClaim => {
                type $t = PersistentVolumeClaim;
                $body
            }
            Kind::Pod => {
                type $t = Pod;
                $body
            }
            Kind::StatefulSet => {
                type $t = StatefulSet;
                $body
            }
            Kind::VolumeAttachment => {
                type $t = VolumeAttachment;
                $body
            }
            Kind::VolumeSnapshotClass => {
                type $t = VolumeSnapshotClass;
                $body
            }
            Kind::VolumeSnapshot => {
                type $t = VolumeSnapshot;
                $body
            }
            Kind::VolumeSnapshotContent => {
                type $t = VolumeSnapshotContent;
                $body
            }
        }
    };
}

impl ObjectSet {
    /// The object `key` of kind `T`.
    pub fn get<T: Stored>(&self, key: &ObjectKey) -> Option<&T> {
        T::table(self).get(key).and_then(|o| T::downcast(o))
    }

    /// Every object of kind `T`, ordered by namespace and name.
    pub fn list<T: Stored>(&self) -> impl Iterator<Item = &T> {
        T::table(self).values().filter_map(|o| T::downcast(o))
    }

    /// The objects of kind `T` in `namespace` whose names start with
    /// `prefix`, by name: a range of the ordered table, not a scan.
    pub fn list_prefixed<'a, T: Stored>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a T> + 'a {
        Self::prefixed::<T>(self, namespace, prefix).filter_map(|v| T::downcast(v))
    }

    fn prefixed<'a, T: Stored>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Arc<AnyObject>> + 'a {
        T::table(self)
            .range_from(ObjectKey::new(namespace, prefix))
            .take_while(move |(k, _)| k.namespace == namespace && k.name.starts_with(prefix))
            .map(|(_, v)| v)
    }

    /// [`ObjectSet::list_prefixed`], keeping shared handles instead of
    /// borrowing the set.
    pub fn list_prefixed_shared<'a, T: Stored>(
        &'a self,
        namespace: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = Shared<T>> + 'a {
        Self::prefixed::<T>(self, namespace, prefix).filter_map(|v| Shared::new(v.clone()))
    }

    /// How many objects of kind `T` there are.
    pub fn count<T: Stored>(&self) -> usize {
        T::table(self).len()
    }

    /// Whether an object of `kind` with `key` exists.
    pub fn exists(&self, kind: Kind, key: &ObjectKey) -> bool {
        with_kind!(kind, T => T::table(self).contains_key(key))
    }

    /// Any object, cloned into [`AnyObject`].
    pub fn get_any(&self, kind: Kind, key: &ObjectKey) -> Option<AnyObject> {
        with_kind!(kind, T => T::table(self).get(key).map(|o| (**o).clone()))
    }

    /// The stored object itself, shared.
    pub fn get_shared(&self, kind: Kind, key: &ObjectKey) -> Option<Arc<AnyObject>> {
        with_kind!(kind, T => T::table(self).get(key).cloned())
    }

    /// Inserts or replaces `obj`.
    pub fn put(&mut self, obj: AnyObject) {
        self.put_shared(Arc::new(obj));
    }

    /// Inserts or replaces `obj`, shared with whoever else holds it. One
    /// walk of the table: the replaced object comes back from the insert
    /// for the indexes to compare.
    pub fn put_shared(&mut self, obj: Arc<AnyObject>) {
        let key = obj.meta().key();
        self.put_keyed(&key, obj);
    }

    /// [`ObjectSet::put_shared`] with the object's key at hand (a watch
    /// event carries it): a replaced object keeps its entry, so only a new
    /// one costs a copy of the key.
    pub fn put_keyed(&mut self, key: &ObjectKey, obj: Arc<AnyObject>) {
        let old = with_kind!(obj.kind(), T => T::table_mut(self).insert(key, obj.clone()));
        match (obj.as_ref(), old.as_deref()) {
            (AnyObject::PersistentVolume(o), old) => {
                if let Some(AnyObject::PersistentVolume(old)) = old {
                    self.pv_index.remove(old);
                }
                self.pv_index.add(o);
            }
            (AnyObject::Pod(o), old) => {
                // Labels rarely change: only a change touches the index.
                let old = old.and_then(Pod::downcast);
                if old.is_none_or(|p| p.metadata.labels != o.metadata.labels) {
                    if let Some(p) = old {
                        self.unindex_pod_labels(&p.metadata);
                    }
                    for l in label_keys(&o.metadata) {
                        self.pod_labels
                            .entry(l)
                            .or_default()
                            .insert(key.name.clone());
                    }
                }
            }
            (AnyObject::StatefulSet(o), _) => {
                let first = o
                    .spec
                    .selector
                    .match_labels
                    .iter()
                    .next()
                    .map(|(k, v)| (key.namespace.clone(), k.clone(), v.clone()));
                if self.set_selector_of.get(key) != Some(&first) {
                    self.unindex_set(&o.metadata);
                    self.set_selectors
                        .entry(first.clone())
                        .or_default()
                        .insert(key.clone());
                    self.set_selector_of.insert(key.clone(), first);
                }
            }
            _ => {}
        }
    }

    /// Removes an object.
    pub fn remove(&mut self, kind: Kind, key: &ObjectKey) {
        drop(self.take(kind, key));
    }

    /// Removes and returns the object `key` of `kind`, still shared (no
    /// copy: whoever else holds it keeps it).
    pub fn take(&mut self, kind: Kind, key: &ObjectKey) -> Option<Arc<AnyObject>> {
        let obj = with_kind!(kind, T => T::table_mut(self).remove(key))?;
        match obj.as_ref() {
            AnyObject::PersistentVolume(pv) => self.pv_index.remove(pv),
            AnyObject::Pod(p) => self.unindex_pod_labels(&p.metadata),
            AnyObject::StatefulSet(s) => self.unindex_set(&s.metadata),
            _ => {}
        }
        Some(obj)
    }

    fn unindex_pod_labels(&mut self, meta: &crate::api::ObjectMeta) {
        for l in label_keys(meta) {
            if let Some(set) = self.pod_labels.get_mut(&l) {
                set.remove(&meta.name);
            }
        }
    }

    fn unindex_set(&mut self, meta: &crate::api::ObjectMeta) {
        let key = meta.key();
        if let Some(first) = self.set_selector_of.remove(&key)
            && let Some(set) = self.set_selectors.get_mut(&first)
        {
            set.remove(&key);
        }
    }

    /// The StatefulSets of `namespace` whose selector could select a pod
    /// with `labels`, by key: those whose first `matchLabels` pair the pod
    /// carries, and those selecting by expressions only. Callers still match.
    pub fn sets_that_may_select<'a>(
        &'a self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Iterator<Item = &'a StatefulSet> + 'a {
        let mut keys: BTreeSet<&'a ObjectKey> = BTreeSet::new();
        for (k, v) in labels {
            let l = Some((namespace.to_string(), k.clone(), v.clone()));
            keys.extend(self.set_selectors.get(&l).into_iter().flatten());
        }
        keys.extend(
            self.set_selectors
                .get(&None)
                .into_iter()
                .flatten()
                .filter(|k| k.namespace == namespace),
        );
        keys.into_iter().filter_map(|k| self.get::<StatefulSet>(k))
    }

    /// Pods in `namespace` that carry label `key` = `value`, by name.
    pub fn pods_labelled<'a>(
        &'a self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> impl Iterator<Item = &'a Pod> + 'a {
        let l = (namespace.to_string(), key.to_string(), value.to_string());
        let ns = namespace.to_string();
        self.pod_labels
            .get(&l)
            .into_iter()
            .flatten()
            .filter_map(move |n| self.get::<Pod>(&ObjectKey::new(&ns, n)))
    }

    /// The volumes `claim` could bind to, by name: every Available volume of
    /// its class and every volume whose `claimRef` names it. A superset of
    /// what `FindMatchingVolume` can pick; callers check each as before.
    pub fn pv_candidates<'a>(
        &'a self,
        claim: &PersistentVolumeClaim,
    ) -> impl Iterator<Item = &'a PersistentVolume> + 'a {
        let mut names: BTreeSet<&'a String> = BTreeSet::new();
        if let Some(set) = self.pv_index.available.get(claim.class()) {
            names.extend(set);
        }
        let key = (
            claim.metadata.namespace.clone(),
            claim.metadata.name.clone(),
        );
        if let Some(set) = self.pv_index.claimed.get(&key) {
            names.extend(set);
        }
        names
            .into_iter()
            .filter_map(|n| self.get::<PersistentVolume>(&ObjectKey::cluster(n)))
    }
}
