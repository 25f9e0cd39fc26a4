//! A set of objects of every kind, ordered by key: the API server's state
//! and each controller's informer cache are both one of these.

use super::addr_map::AddrMap;
use super::small_set::SmallSet;
use crate::api::persistent_volume::VolumePhase;
use crate::api::{
    AnyObject, Kind, Name, Node, ObjectKey, PersistentVolume, PersistentVolumeClaim, Pod, Resource,
    StatefulSet, StorageClass, VolumeAttachment, VolumeSnapshot, VolumeSnapshotClass,
    VolumeSnapshotContent,
};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

/// Dense numbers for one kind's keys, shared by every [`ObjectSet`] of a
/// run (the API server's and each informer cache's, made with
/// [`ObjectSet::numbered_like`]): a key gets the next number the first
/// time any of them stores it and keeps it for the run, a deleted object's
/// name included (a StatefulSet's pod comes back under its name).
type Numbers = Rc<RefCell<AddrMap<ObjectKey, u32>>>;

/// One kind's objects. Objects are shared and never changed in place: the
/// API server's copy, the watch event and every informer's copy are one
/// allocation (a write stores a new object), so delivering a change costs
/// no copy.
///
/// Reads and replacements — nearly every access — find the key's number
/// in the run's one table of numbers for the kind, then the object in
/// this set's slot of that number. The table of numbers is shared by the
/// API server and every informer, so it is one table in cache instead of
/// one per process, and each set's own part is a plain array. Listings
/// walk the ordered index and find each object by its key, so every
/// listing is deterministic; only adding or removing an object touches
/// the ordered index.
#[derive(Default, Clone)]
pub struct Table {
    /// The numbers of the kind's keys (shared; hashed by the addresses of
    /// the keys' interned names, [`AddrMap`], and never walked).
    numbers: Numbers,
    /// The objects by their keys' numbers.
    slots: Vec<Option<AnyObject>>,
    /// How many slots hold an object.
    len: usize,
    /// The ordered index, built at the table's first listing and kept from
    /// then on. Most informer caches never list some of their kinds (they
    /// only look objects up): those never pay for a B-tree insert per new
    /// object, whose key comparisons read the names' strings.
    order: std::cell::OnceCell<BTreeSet<ObjectKey>>,
}

impl Table {
    /// An empty table numbering keys as `other` does.
    fn numbered_like(other: &Table) -> Table {
        Table {
            numbers: Rc::clone(&other.numbers),
            ..Table::default()
        }
    }

    /// The ordered index (built from the slots, sorted, on first use).
    fn order(&self) -> &BTreeSet<ObjectKey> {
        self.order.get_or_init(|| {
            self.slots
                .iter()
                .flatten()
                .map(|o| o.meta().key())
                .collect()
        })
    }

    fn get(&self, key: &ObjectKey) -> Option<&AnyObject> {
        let n = *self.numbers.borrow().get(key)?;
        self.slots.get(n as usize)?.as_ref()
    }

    /// Whether an object is stored under `key`.
    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.get(key).is_some()
    }

    fn len(&self) -> usize {
        self.len
    }

    /// The number of `key`, given it now if it has none.
    fn number(&mut self, key: &ObjectKey) -> u32 {
        let mut numbers = self.numbers.borrow_mut();
        let next = u32::try_from(numbers.len()).expect("fewer than 2^32 keys of a kind");
        *numbers.get_or_insert_with(key.clone(), || next)
    }

    /// Stores `obj` under `key`, numbered `n`, returning what it replaced.
    fn insert(&mut self, n: u32, key: &ObjectKey, obj: AnyObject) -> Option<AnyObject> {
        debug_assert_eq!(
            self.numbers.borrow().get(key),
            Some(&n),
            "{key} is numbered {n}"
        );
        let n = n as usize;
        if n >= self.slots.len() {
            self.slots.resize(n + 1, None);
        }
        let old = self.slots[n].replace(obj);
        if old.is_none() {
            self.len += 1;
            if let Some(order) = self.order.get_mut() {
                order.insert(key.clone());
            }
        }
        old
    }

    /// Removes the object of `key`, with the key's number.
    fn remove(&mut self, key: &ObjectKey) -> Option<(u32, AnyObject)> {
        let n = *self.numbers.borrow().get(key)?;
        Some((n, self.remove_at(n, key)?))
    }

    /// Removes the object of `key`, numbered `n`.
    fn remove_at(&mut self, n: u32, key: &ObjectKey) -> Option<AnyObject> {
        debug_assert_eq!(
            self.numbers.borrow().get(key),
            Some(&n),
            "{key} is numbered {n}"
        );
        let obj = self.slots.get_mut(n as usize)?.take()?;
        self.len -= 1;
        if let Some(order) = self.order.get_mut() {
            order.remove(key);
        }
        Some(obj)
    }

    /// The object of a key the ordered index holds.
    fn at(&self, key: &ObjectKey) -> &AnyObject {
        count_listed();
        self.get(key)
            .expect("the ordered index holds only stored keys")
    }

    /// The objects in key order.
    fn values(&self) -> impl Iterator<Item = &AnyObject> {
        self.order().iter().map(|k| self.at(k))
    }

    /// The objects from `from` on, in key order.
    fn range_from(&self, from: ObjectKey) -> impl Iterator<Item = (&ObjectKey, &AnyObject)> {
        self.order().range(from..).map(|k| (k, self.at(k)))
    }
}

thread_local! {
    static LISTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one object handed out by a listing.
fn count_listed() {
    LISTED.with(|n| n.set(n.get() + 1));
}

/// How many objects listings of any [`ObjectSet`] have handed out on this
/// thread so far: what the scaling test compares across fleet sizes to
/// find a controller that scans every object per event. A count, not a
/// timing, so it is the same on any machine.
pub fn listed_objects() -> u64 {
    LISTED.with(std::cell::Cell::get)
}

/// Runs `f` without counting what it lists: for debug builds' checks,
/// which rebuild what an index stands for by listing and are not the
/// model's work.
pub fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    let before = listed_objects();
    let r = f();
    LISTED.with(|n| n.set(before));
    r
}

/// A stored object kept by a reader: it reads as a `&T` and costs a
/// reference count, not a copy.
pub struct Shared<T> {
    obj: AnyObject,
    kind: std::marker::PhantomData<T>,
}

impl<T: Stored> Shared<T> {
    /// `obj` as a `T`, if it is one.
    pub fn new(obj: AnyObject) -> Option<Self> {
        T::downcast(&obj)?;
        Some(Shared {
            obj,
            kind: std::marker::PhantomData,
        })
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            obj: self.obj.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

impl<T> Shared<T> {
    /// The stored object, shared.
    pub fn into_shared(self) -> AnyObject {
        self.obj
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
    /// Whether the indexes below are kept. Only caches whose owner asks
    /// them questions keep them (every write to every informer would pay
    /// otherwise); the questions scan the tables when they are not kept,
    /// with the same answers in the same order.
    indexed: bool,
    /// The volumes a claim could bind to, kept with the table.
    pv_index: PvIndex,
    /// Pod names by (namespace, label key, label value). The maps of this
    /// index are looked up, never walked (hashed: a B-tree search compares
    /// the keys' strings); the sets they hold keep name order.
    pod_labels: FxHashMap<LabelKey, BTreeSet<Name>>,
    /// StatefulSets by the first `matchLabels` pair of their selector
    /// (a pod without that label cannot be selected); `None` for selectors
    /// of expressions only.
    set_selectors: FxHashMap<Option<LabelKey>, BTreeSet<ObjectKey>>,
    set_selector_of: FxHashMap<ObjectKey, Option<LabelKey>>,
    /// Pods by the claims their volumes name: the pod-to-claim index that
    /// kube-controller-manager's controllers share on their pod informer
    /// (`AddPodPVCIndexerIfNotPresent`). A pod's volumes never change, so
    /// only a pod's arrival and departure touch it.
    claim_users: AddrMap<ObjectKey, SmallSet<ObjectKey>>,
}

type LabelKey = (Name, Name, Name);

fn label_keys(meta: &crate::api::ObjectMeta) -> impl Iterator<Item = LabelKey> + '_ {
    meta.labels.iter().map(|(k, v)| (meta.namespace, *k, *v))
}

/// Volumes by what makes them a candidate for a claim: Available ones by
/// class, and any by the claim its `claimRef` names. A volume outside both
/// can never be chosen (`FindMatchingVolume` skips it), so a search looks
/// only at these, not at every volume.
#[derive(Default, Clone)]
struct PvIndex {
    available: BTreeMap<String, BTreeSet<Name>>,
    /// Only looked up (never walked), so hashed.
    claimed: FxHashMap<(Name, Name), super::SmallSet<Name>>,
}

impl PvIndex {
    fn entries(pv: &PersistentVolume) -> (Option<String>, Option<(Name, Name)>) {
        let available = (pv.status.phase == VolumePhase::Available).then(|| pv.class().to_string());
        let claimed = pv.spec.claim_ref.as_ref().map(|r| (r.namespace, r.name));
        (available, claimed)
    }

    fn add(&mut self, pv: &PersistentVolume) {
        let (available, claimed) = Self::entries(pv);
        let name = &pv.metadata.name;
        if let Some(c) = available {
            self.available.entry(c).or_default().insert(*name);
        }
        if let Some(c) = claimed {
            self.claimed.entry(c).or_default().insert(*name);
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
pub trait Stored:
    Resource + Clone + crate::cluster::diff::Diff + serde::Serialize + Into<AnyObject> + 'static
{
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
    /// An empty set that keeps the indexes behind
    /// [`ObjectSet::pods_labelled`], [`ObjectSet::pods_using`],
    /// [`ObjectSet::sets_that_may_select`] and [`ObjectSet::pv_candidates`].
    pub fn indexed() -> Self {
        ObjectSet {
            indexed: true,
            ..Default::default()
        }
    }

    /// An empty set (with the indexes if `indexed`) whose tables number
    /// keys as this set's do: the API server's set gives every informer
    /// cache of a run its numbering.
    pub fn numbered_like(&self, indexed: bool) -> Self {
        ObjectSet {
            nodes: Table::numbered_like(&self.nodes),
            classes: Table::numbered_like(&self.classes),
            pvs: Table::numbered_like(&self.pvs),
            pvcs: Table::numbered_like(&self.pvcs),
            pods: Table::numbered_like(&self.pods),
            sets: Table::numbered_like(&self.sets),
            attachments: Table::numbered_like(&self.attachments),
            snapshot_classes: Table::numbered_like(&self.snapshot_classes),
            snapshots: Table::numbered_like(&self.snapshots),
            contents: Table::numbered_like(&self.contents),
            indexed,
            ..Default::default()
        }
    }

    /// The object `key` of kind `T`.
    pub fn get<T: Stored>(&self, key: &ObjectKey) -> Option<&T> {
        T::table(self).get(key).and_then(|o| T::downcast(o))
    }

    /// Every object of kind `T`, ordered by namespace and name.
    pub fn list<T: Stored>(&self) -> impl Iterator<Item = &T> {
        T::table(self).values().filter_map(|o| T::downcast(o))
    }

    /// Every object of kind `T` with its key, ordered by namespace and name.
    pub fn list_keyed<T: Stored>(&self) -> impl Iterator<Item = (&ObjectKey, &T)> {
        let table = T::table(self);
        table
            .order()
            .iter()
            .filter_map(|k| T::downcast(table.at(k)).map(|o| (k, o)))
    }

    /// The objects of kind `T` in `prefix.namespace` whose names start with
    /// `prefix.name`, by name: a range of the ordered table, not a scan.
    /// The prefix is a key (interned) so that a caller asking again and
    /// again, as a controller's sync does, interns nothing.
    pub fn list_prefixed<'a, T: Stored>(
        &'a self,
        prefix: &'a ObjectKey,
    ) -> impl Iterator<Item = &'a T> + 'a {
        Self::prefixed::<T>(self, prefix).filter_map(|v| T::downcast(v))
    }

    fn prefixed<'a, T: Stored>(
        &'a self,
        prefix: &'a ObjectKey,
    ) -> impl Iterator<Item = &'a AnyObject> + 'a {
        T::table(self)
            .range_from(prefix.clone())
            .take_while(move |(k, _)| prefix.contains(k))
            .map(|(_, v)| v)
    }

    /// [`ObjectSet::list_prefixed`], keeping shared handles instead of
    /// borrowing the set.
    pub fn list_prefixed_shared<'a, T: Stored>(
        &'a self,
        prefix: &'a ObjectKey,
    ) -> impl Iterator<Item = Shared<T>> + 'a {
        Self::prefixed::<T>(self, prefix).filter_map(|v| Shared::new(v.clone()))
    }

    /// How many objects of kind `T` there are.
    pub fn count<T: Stored>(&self) -> usize {
        T::table(self).len()
    }

    /// Whether an object of `kind` with `key` exists.
    pub fn exists(&self, kind: Kind, key: &ObjectKey) -> bool {
        with_kind!(kind, T => T::table(self).contains_key(key))
    }

    /// The stored object itself, shared.
    pub fn get_shared(&self, kind: Kind, key: &ObjectKey) -> Option<AnyObject> {
        with_kind!(kind, T => T::table(self).get(key).cloned())
    }

    /// Inserts or replaces `obj`.
    pub fn put(&mut self, obj: AnyObject) {
        self.put_shared(obj);
    }

    /// Inserts or replaces `obj`, shared with whoever else holds it. One
    /// lookup in the table: the replaced object comes back from the insert
    /// for the indexes to compare.
    pub fn put_shared(&mut self, obj: AnyObject) {
        let key = obj.meta().key();
        self.put_keyed(&key, obj);
    }

    /// [`ObjectSet::put_shared`] with the object's key at hand (a watch
    /// event carries it), so its names are not interned again.
    /// Returns the key's number in the set's numbering.
    pub fn put_keyed(&mut self, key: &ObjectKey, obj: AnyObject) -> u32 {
        let n = with_kind!(obj.kind(), T => T::table_mut(self).number(key));
        self.put_numbered(n, key, obj);
        n
    }

    /// The object in the slot numbered `n` of `kind`, if any: what a
    /// watch event carrying that number replaces (for a prefetch hint).
    pub fn slot_object(&self, kind: Kind, n: u32) -> Option<&AnyObject> {
        with_kind!(kind, T => T::table(self).slots.get(n as usize)?.as_ref())
    }

    /// [`ObjectSet::put_keyed`] with the key's number at hand (a watch
    /// event from an API server numbering as this set does carries it),
    /// so the key is not looked up at all.
    pub fn put_numbered(&mut self, n: u32, key: &ObjectKey, obj: AnyObject) {
        let old = with_kind!(obj.kind(), T => T::table_mut(self).insert(n, key, obj.clone()));
        if !self.indexed {
            return;
        }
        match (&obj, old.as_ref()) {
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
                        self.pod_labels.entry(l).or_default().insert(key.name);
                    }
                }
                // A pod's spec is shared by its versions until it changes;
                // its claims, never (a pod of the same name is a new pod,
                // after the old one's deletion).
                if old.is_none_or(|p| {
                    !Arc::ptr_eq(&p.spec, &o.spec) && !p.claim_keys().eq(o.claim_keys())
                }) {
                    if let Some(p) = old {
                        self.unindex_claim_users(p);
                    }
                    for claim in o.claim_keys() {
                        self.claim_users
                            .get_or_insert_with(claim, SmallSet::default)
                            .insert(key.clone());
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
                    .map(|(k, v)| (key.namespace, *k, *v));
                if self.set_selector_of.get(key) != Some(&first) {
                    self.unindex_set(&o.metadata);
                    self.set_selectors
                        .entry(first)
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
    pub fn take(&mut self, kind: Kind, key: &ObjectKey) -> Option<AnyObject> {
        self.take_numbered(kind, key).map(|(_, obj)| obj)
    }

    /// [`ObjectSet::take`], with the key's number.
    pub fn take_numbered(&mut self, kind: Kind, key: &ObjectKey) -> Option<(u32, AnyObject)> {
        let (n, obj) = with_kind!(kind, T => T::table_mut(self).remove(key))?;
        Some((n, self.unindex(obj)))
    }

    /// [`ObjectSet::take`] with the key's number at hand.
    pub fn take_at(&mut self, kind: Kind, n: u32, key: &ObjectKey) -> Option<AnyObject> {
        let obj = with_kind!(kind, T => T::table_mut(self).remove_at(n, key))?;
        Some(self.unindex(obj))
    }

    /// Drops a removed object from the indexes; returns it.
    fn unindex(&mut self, obj: AnyObject) -> AnyObject {
        if !self.indexed {
            return obj;
        }
        match &obj {
            AnyObject::PersistentVolume(pv) => self.pv_index.remove(pv),
            AnyObject::Pod(p) => {
                self.unindex_pod_labels(&p.metadata);
                self.unindex_claim_users(p);
            }
            AnyObject::StatefulSet(s) => self.unindex_set(&s.metadata),
            _ => {}
        }
        obj
    }

    fn unindex_pod_labels(&mut self, meta: &crate::api::ObjectMeta) {
        for l in label_keys(meta) {
            if let Some(set) = self.pod_labels.get_mut(&l) {
                set.remove(&meta.name);
            }
        }
    }

    fn unindex_claim_users(&mut self, pod: &Pod) {
        let key = pod.metadata.key();
        for claim in pod.claim_keys() {
            if let Some(users) = self.claim_users.get_mut(&claim) {
                users.remove(&key);
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
        namespace: Name,
        labels: &crate::api::Labels,
    ) -> Box<dyn Iterator<Item = &'a StatefulSet> + 'a> {
        if !self.indexed {
            return Box::new(
                self.list::<StatefulSet>()
                    .filter(move |s| s.metadata.namespace == namespace),
            );
        }
        let mut keys: BTreeSet<&'a ObjectKey> = BTreeSet::new();
        for (k, v) in labels {
            let l = Some((namespace, *k, *v));
            keys.extend(self.set_selectors.get(&l).into_iter().flatten());
        }
        keys.extend(
            self.set_selectors
                .get(&None)
                .into_iter()
                .flatten()
                .filter(|k| k.namespace == namespace),
        );
        Box::new(keys.into_iter().filter_map(|k| self.get::<StatefulSet>(k)))
    }

    /// Pods in `namespace` that carry label `key` = `value`, by name.
    pub fn pods_labelled<'a>(
        &'a self,
        namespace: Name,
        key: Name,
        value: Name,
    ) -> Box<dyn Iterator<Item = &'a Pod> + 'a> {
        if !self.indexed {
            return Box::new(self.list::<Pod>().filter(move |p| {
                p.metadata.namespace == namespace && p.metadata.labels.get(&key) == Some(&value)
            }));
        }
        let ns = namespace;
        let l = (ns, key, value);
        Box::new(
            self.pod_labels
                .get(&l)
                .into_iter()
                .flatten()
                .filter_map(move |&name| {
                    self.get::<Pod>(&ObjectKey {
                        namespace: ns,
                        name,
                    })
                }),
        )
    }

    /// The pods whose volumes name claim `claim`, by key.
    pub fn pods_using<'a>(&'a self, claim: &ObjectKey) -> impl Iterator<Item = &'a ObjectKey> + 'a {
        // Unindexed, a scan (collected: the indexed answer, the usual one,
        // allocates nothing).
        let scanned: Vec<&ObjectKey> = match self.indexed {
            true => Vec::new(),
            false => (self.list_keyed::<Pod>())
                .filter(|(_, p)| p.claim_keys().any(|c| c == *claim))
                .map(|(k, _)| k)
                .collect(),
        };
        let kept = self.claim_users.get(claim).filter(|_| self.indexed);
        kept.into_iter().flatten().chain(scanned)
    }

    /// Whether `claim` could bind to `pv`: an Available volume of its class,
    /// or one whose `claimRef` names it.
    pub fn pv_is_candidate(pv: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
        Self::pv_matches(
            pv,
            claim.class(),
            claim.metadata.namespace,
            claim.metadata.name,
        )
    }

    /// [`ObjectSet::pv_is_candidate`] for a claim of class `class` named
    /// `namespace`/`name`.
    fn pv_matches(pv: &PersistentVolume, class: &str, namespace: Name, name: Name) -> bool {
        // As PvIndex::entries says, without interning the claim's names.
        (pv.status.phase == VolumePhase::Available && pv.class() == class)
            || pv
                .spec
                .claim_ref
                .as_ref()
                .is_some_and(|r| r.namespace == namespace.as_str() && r.name == name.as_str())
    }

    /// The volumes `claim` could bind to, by name: every Available volume of
    /// its class and every volume whose `claimRef` names it. A superset of
    /// what `FindMatchingVolume` can pick; callers check each as before.
    pub fn pv_candidates<'a>(
        &'a self,
        claim: &PersistentVolumeClaim,
    ) -> Box<dyn Iterator<Item = &'a PersistentVolume> + 'a> {
        if !self.indexed {
            let class = claim.class().to_string();
            let (ns, name) = (claim.metadata.namespace, claim.metadata.name);
            return Box::new(
                self.list::<PersistentVolume>()
                    .filter(move |pv| Self::pv_matches(pv, &class, ns, name)),
            );
        }
        let mut names: BTreeSet<Name> = BTreeSet::new();
        if let Some(set) = self.pv_index.available.get(claim.class()) {
            names.extend(set);
        }
        let key = (claim.metadata.namespace, claim.metadata.name);
        if let Some(set) = self.pv_index.claimed.get(&key) {
            names.extend(set);
        }
        Box::new(names.into_iter().filter_map(|name| {
            self.get::<PersistentVolume>(&ObjectKey {
                namespace: Name::default(),
                name,
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ObjectMeta;
    use crate::api::persistent_volume::{ClaimRef, PersistentVolumeSpec, PersistentVolumeStatus};
    use crate::api::persistent_volume_claim::PersistentVolumeClaimSpec;
    use crate::api::stateful_set::StatefulSetSpec;

    fn meta(ns: &str, name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            namespace: ns.into(),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    fn pod(ns: &str, name: &str, labels: &[(&str, &str)]) -> AnyObject {
        Pod {
            metadata: meta(ns, name, labels),
            spec: Default::default(),
            status: Default::default(),
        }
        .into()
    }

    /// Sets numbered alike find each other's numbers: an object put by
    /// number in a cache is found there by key; a key keeps its number
    /// after a removal; another key gets another number; a set numbered on
    /// its own does not see them.
    #[test]
    fn sets_numbered_alike_share_numbers_and_apply_by_number() {
        let mut server = ObjectSet::default();
        let mut cache = server.numbered_like(true);
        let (a, b) = (
            ObjectKey::new("default", "a"),
            ObjectKey::new("default", "b"),
        );
        let labelled = |set: &ObjectSet| {
            let (ns, app, x) = (Name::new("default"), Name::new("app"), Name::new("x"));
            set.pods_labelled(ns, app, x).count()
        };
        let pod_a = pod("default", "a", &[("app", "x")]);
        let n = server.put_keyed(&a, pod_a.clone());
        cache.put_numbered(n, &a, pod_a.clone());
        assert!(cache.get::<Pod>(&a).is_some());
        assert_eq!(cache.count::<Pod>(), 1);
        assert_eq!(labelled(&cache), 1);
        let m = server.put_keyed(&b, pod("default", "b", &[]));
        assert_ne!(n, m, "another key, another number");
        assert!(cache.get::<Pod>(&b).is_none(), "numbered, not stored");
        assert_eq!(server.take_numbered(Kind::Pod, &a).map(|(k, _)| k), Some(n));
        assert!(cache.take_at(Kind::Pod, n, &a).is_some());
        assert!(cache.get::<Pod>(&a).is_none());
        assert_eq!(cache.count::<Pod>(), 0);
        assert_eq!(labelled(&cache), 0);
        assert_eq!(server.put_keyed(&a, pod_a), n, "a key keeps its number");
        let mut alone = ObjectSet::default();
        alone.put_keyed(&b, pod("default", "b", &[]));
        assert!(alone.get::<Pod>(&a).is_none());
        assert_eq!(alone.list::<Pod>().count(), 1);
    }

    fn pv(name: &str, class: &str, phase: VolumePhase, claim: Option<(&str, &str)>) -> AnyObject {
        PersistentVolume {
            metadata: meta("", name, &[]),
            spec: PersistentVolumeSpec {
                storage_class_name: class.into(),
                claim_ref: claim.map(|(ns, n)| ClaimRef {
                    namespace: ns.into(),
                    name: n.into(),
                    uid: Name::default(),
                }),
                ..Default::default()
            },
            status: PersistentVolumeStatus {
                phase,
                ..Default::default()
            },
        }
        .into()
    }

    fn set(ns: &str, name: &str, selector: serde_json::Value) -> AnyObject {
        let spec: StatefulSetSpec = serde_json::from_value(serde_json::json!({
            "selector": selector,
            "template": {"spec": serde_json::to_value(crate::api::pod::PodSpec::default()).expect("json")},
        }))
        .expect("a spec");
        StatefulSet {
            metadata: meta(ns, name, &[]),
            spec: spec.into(),
            status: Default::default(),
        }
        .into()
    }

    /// The same writes, to a set with indexes and to one without.
    fn both(writes: &[AnyObject], removals: &[(Kind, ObjectKey)]) -> (ObjectSet, ObjectSet) {
        let (mut with, mut without) = (ObjectSet::indexed(), ObjectSet::default());
        for s in [&mut with, &mut without] {
            for w in writes {
                s.put(w.clone());
            }
            for (kind, key) in removals {
                s.remove(*kind, key);
            }
        }
        (with, without)
    }

    #[test]
    fn unindexed_sets_answer_the_indexed_questions_alike() {
        let writes = [
            pod("a", "web-1", &[("app", "web"), ("tier", "x")]),
            pod("a", "web-0", &[("app", "web")]),
            pod("b", "web-0", &[("app", "web")]),
            pod("a", "db-0", &[("app", "db")]),
            // Relabelled and removed pods leave the answers.
            pod("a", "db-0", &[("app", "web")]),
            pod("a", "gone", &[("app", "web")]),
            pv("pv-b", "fast", VolumePhase::Available, None),
            pv("pv-a", "fast", VolumePhase::Available, None),
            pv("pv-c", "slow", VolumePhase::Available, None),
            pv("pv-d", "fast", VolumePhase::Bound, Some(("a", "data"))),
            pv("pv-e", "slow", VolumePhase::Released, Some(("a", "data"))),
            pv("pv-f", "fast", VolumePhase::Bound, Some(("a", "other"))),
            set(
                "a",
                "web",
                serde_json::json!({"matchLabels": {"app": "web"}}),
            ),
            set("a", "db", serde_json::json!({"matchLabels": {"app": "db"}})),
            set(
                "b",
                "web",
                serde_json::json!({"matchLabels": {"app": "web"}}),
            ),
            set(
                "a",
                "any",
                serde_json::json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
            ),
        ];
        let removals = [(Kind::Pod, ObjectKey::new("a", "gone"))];
        let (with, without) = both(&writes, &removals);
        let names = |it: Box<dyn Iterator<Item = &Pod> + '_>| -> Vec<String> {
            it.map(|p| p.metadata.name.to_string()).collect()
        };
        assert_eq!(
            names(with.pods_labelled("a".into(), "app".into(), "web".into())),
            ["db-0", "web-0", "web-1"]
        );
        for (k, v) in [("app", "web"), ("app", "db"), ("tier", "x"), ("no", "ne")] {
            assert_eq!(
                names(with.pods_labelled("a".into(), k.into(), v.into())),
                names(without.pods_labelled("a".into(), k.into(), v.into())),
                "{k}={v}"
            );
        }
        let labels: crate::api::Labels = [("app", "web")].into();
        let sets = |s: &ObjectSet| -> Vec<String> {
            s.sets_that_may_select(Name::new("a"), &labels)
                .filter(|s| s.spec.selector.matches(&labels))
                .map(|s| s.metadata.name.to_string())
                .collect()
        };
        assert_eq!(sets(&with), ["any", "web"]);
        assert_eq!(sets(&with), sets(&without));
        let claim = PersistentVolumeClaim {
            metadata: meta("a", "data", &[]),
            spec: PersistentVolumeClaimSpec {
                storage_class_name: Some("fast".into()),
                ..Default::default()
            },
            status: Default::default(),
        };
        let pvs = |s: &ObjectSet| -> Vec<String> {
            s.pv_candidates(&claim)
                .map(|v| v.metadata.name.to_string())
                .collect()
        };
        assert_eq!(pvs(&with), ["pv-a", "pv-b", "pv-d", "pv-e"]);
        assert_eq!(pvs(&with), pvs(&without));
    }

    /// A pod whose volumes name `claims`.
    fn pod_using(ns: &str, name: &str, claims: &[&str]) -> AnyObject {
        let volumes: Vec<_> = (claims.iter().enumerate())
            .map(|(i, c)| serde_json::json!({"name": format!("v{i}"), "persistentVolumeClaim": {"claimName": c}}))
            .collect();
        let spec = serde_json::from_value(serde_json::json!({"volumes": volumes})).expect("a spec");
        Pod {
            metadata: meta(ns, name, &[]),
            spec: Arc::new(spec),
            status: Default::default(),
        }
        .into()
    }

    /// Pods by claim: a pod is found under each claim it names, in its own
    /// namespace only, by key order; a removed pod is no longer found, and
    /// a pod put again with other claims (a new pod of the same name)
    /// moves. A new status with the same spec keeps it where it was.
    #[test]
    fn pods_by_claim_follow_arrivals_departures_and_new_pods() {
        let mut same_spec = pod_using("a", "web-0", &["data", "logs"]);
        if let AnyObject::Pod(p) = &mut same_spec {
            Arc::make_mut(p).status.reason = "Running".into();
        }
        let writes = [
            pod_using("a", "web-1", &["data"]),
            pod_using("a", "web-0", &["data", "logs"]),
            same_spec,
            pod_using("b", "web-0", &["data"]),
            pod_using("a", "gone", &["data"]),
            pod_using("a", "moved", &["data"]),
            pod_using("a", "moved", &["other"]),
            pod("a", "plain", &[]),
        ];
        let removals = [(Kind::Pod, ObjectKey::new("a", "gone"))];
        let (with, without) = both(&writes, &removals);
        let users = |s: &ObjectSet, claim: &str| -> Vec<String> {
            s.pods_using(&ObjectKey::new("a", claim))
                .map(|k| k.name.to_string())
                .collect()
        };
        assert_eq!(users(&with, "data"), ["web-0", "web-1"]);
        assert_eq!(users(&with, "logs"), ["web-0"]);
        assert_eq!(users(&with, "other"), ["moved"]);
        for claim in ["data", "logs", "other", "none"] {
            assert_eq!(users(&with, claim), users(&without, claim), "{claim}");
        }
    }

    use proptest::prelude::*;

    proptest! {
        /// The ordered index is built at the first listing and kept from
        /// then on: whenever a table is listed, before or after that, by
        /// walk or by range, it lists what a B-tree of the live keys holds.
        #[test]
        fn listings_follow_key_order_however_writes_and_listings_interleave(
            ops in proptest::collection::vec((0u8..3, 0u8..40), 0..80)
        ) {
            let mut set = ObjectSet::default();
            let mut model = BTreeSet::new();
            for (op, n) in ops {
                let name = format!("web-{n}");
                match op {
                    0 => {
                        set.put(pod("a", &name, &[]));
                        model.insert(name);
                    }
                    1 => {
                        set.remove(Kind::Pod, &ObjectKey::new("a", &name));
                        model.remove(&name);
                    }
                    _ => {
                        let listed: Vec<String> =
                            set.list::<Pod>().map(|p| p.metadata.name.to_string()).collect();
                        prop_assert_eq!(&listed, &model.iter().cloned().collect::<Vec<_>>());
                        let prefix = ObjectKey::new("a", format!("web-{}", n % 4));
                        let ranged: Vec<String> = set
                            .list_prefixed::<Pod>(&prefix)
                            .map(|p| p.metadata.name.to_string())
                            .collect();
                        let expected: Vec<String> = model
                            .iter()
                            .filter(|m| m.starts_with(prefix.name.as_str()))
                            .cloned()
                            .collect();
                        prop_assert_eq!(ranged, expected);
                    }
                }
            }
            let keyed: Vec<String> = set.list_keyed::<Pod>().map(|(k, _)| k.name.to_string()).collect();
            prop_assert_eq!(keyed, model.into_iter().collect::<Vec<_>>());
        }
    }
}
