//! The typed object store. Every write bumps a global resourceVersion, is
//! logged as a [`ChangeRecord`] and queued as a [`WatchEvent`] for the
//! simulation to deliver to the controllers that watch its kind.

use super::log::{ActionRecord, ChangeOp, EventType, Log, NewEvent, Record};
use super::objects::{ObjectSet, Stored};
use crate::api::{AnyObject, Kind, Name, ObjectKey, ObjectRef};
use crate::engine::SimTime;
use sha2::{Digest, Sha256};

/// A change a controller may be told about.
#[derive(Clone, Debug)]
pub struct WatchEvent {
    /// Kind of the object.
    pub kind: Kind,
    /// Its key.
    pub key: ObjectKey,
    /// What happened.
    pub op: ChangeOp,
    /// The store revision of this change.
    pub resource_version: u64,
    /// The object as this change left it (for deletions: its last state),
    /// shared, since every watching controller gets the event.
    pub object: AnyObject,
    /// The key's number in the API server's numbering of its kind, which
    /// every informer of the run shares ([`crate::cluster::Informer::of`]):
    /// a cache applies the event without looking the key up. `None` for
    /// an event made by hand (a test's), applied by key.
    pub number: Option<u32>,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// Create of an object that exists.
    #[error("{0} already exists")]
    AlreadyExists(ObjectRef),
    /// Update or delete of an object that does not exist.
    #[error("{0} not found")]
    NotFound(ObjectRef),
}

impl StoreError {
    /// The message the API server's error carries, as controllers quote it
    /// in events: `pods "web-1" already exists`.
    pub fn api_message(&self) -> String {
        let (r, what) = match self {
            StoreError::AlreadyExists(r) => (r, "already exists"),
            StoreError::NotFound(r) => (r, "not found"),
        };
        format!("{} {:?} {what}", r.kind.resource(), r.key.name)
    }
}

/// The API server's state.
#[derive(Default)]
pub struct Store {
    now: SimTime,
    resource_version: u64,
    objects: ObjectSet,
    /// How many times each name has existed (part of each UID). Only
    /// looked up, never walked: a hash of the names' interned hashes,
    /// where a B-tree compared the names' strings on the way down.
    incarnations: rustc_hash::FxHashMap<(Kind, ObjectKey), u32>,
    log: Log,
    watch_outbox: Vec<WatchEvent>,
    /// Events' reasons interned, by the address and length of the text
    /// given (nearly always one of a few literals), checked against it on
    /// every use: interning takes a lock and a hash per event.
    reasons: rustc_hash::FxHashMap<(usize, usize), Name>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The simulation sets the clock before each handler runs.
    pub fn set_now(&mut self, now: SimTime) {
        self.now = now;
    }

    /// The resourceVersion of the latest write.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Every stored object.
    pub fn objects(&self) -> &ObjectSet {
        &self.objects
    }

    /// The stored object `key` of `kind` itself, shared.
    pub fn get_shared(&self, kind: Kind, key: &ObjectKey) -> Option<AnyObject> {
        self.objects.get_shared(kind, key)
    }

    /// The object `key` of kind `T`.
    pub fn get<T: Stored>(&self, key: &ObjectKey) -> Option<&T> {
        self.objects.get(key)
    }

    /// Every object of kind `T`, ordered by namespace and name.
    pub fn list<T: Stored>(&self) -> impl Iterator<Item = &T> {
        self.objects.list()
    }

    /// How many objects of kind `T` exist.
    pub fn count<T: Stored>(&self) -> usize {
        self.objects.count::<T>()
    }

    /// Whether an object of `kind` with `key` exists.
    pub fn exists(&self, kind: Kind, key: &ObjectKey) -> bool {
        self.objects.exists(kind, key)
    }

    /// Any object by reference, shared (changing it copies it first).
    pub fn get_any(&self, r: &ObjectRef) -> Option<AnyObject> {
        self.objects.get_shared(r.kind, &r.key)
    }

    /// Creates `obj`: assigns its UID (derived from kind, key and how many
    /// times that name has existed, never from the seed), applies admission
    /// defaults, logs and queues the watch event.
    pub fn create<T: Stored>(&mut self, mut obj: T) -> Result<(), StoreError> {
        let key = obj.meta().key();
        let oref = ObjectRef::new(T::KIND, key.clone());
        if T::table(&self.objects).contains_key(&key) {
            return Err(StoreError::AlreadyExists(oref));
        }
        let n = self.incarnations.entry((T::KIND, key.clone())).or_insert(0);
        *n += 1;
        let uid = derive_uid(T::KIND, &key, *n);
        obj.admit();
        self.resource_version += 1;
        let meta = obj.meta_mut();
        meta.uid = uid.into();
        meta.resource_version = self.resource_version;
        meta.creation_timestamp = self.now;
        meta.deletion_timestamp = None;
        let object: AnyObject = obj.into();
        // A creation changes everything; `changed` lists updates only.
        self.log_change(&object, ChangeOp::Added, None);
        let number = self.objects.put_keyed(&key, object.clone());
        let resource_version = self.resource_version;
        self.watch_outbox.push(WatchEvent {
            kind: T::KIND,
            key,
            op: ChangeOp::Added,
            resource_version,
            object,
            number: Some(number),
        });
        Ok(())
    }

    /// Replaces the stored object with `obj`. A write that changes nothing is
    /// not a write (no new resourceVersion, no record), as with the API
    /// server. An object being deleted whose last finalizer goes is removed.
    pub fn update<T: Stored>(&mut self, mut obj: T) -> Result<(), StoreError> {
        let key = obj.meta().key();
        let Some(before) = self.objects.get_shared(T::KIND, &key) else {
            return Err(StoreError::NotFound(ObjectRef::new(T::KIND, key)));
        };
        let old = T::downcast(&before).expect("a kind's table holds that kind");
        // Identity fields are the server's, whatever the caller sent.
        {
            let (uid, ct, dt, rv) = (
                old.meta().uid,
                old.meta().creation_timestamp,
                old.meta().deletion_timestamp,
                old.meta().resource_version,
            );
            let m = obj.meta_mut();
            m.uid = uid;
            m.creation_timestamp = ct;
            m.deletion_timestamp = m.deletion_timestamp.or(dt);
            m.resource_version = rv;
        }
        if *old == obj {
            return Ok(());
        }
        if obj.meta().deletion_timestamp.is_some()
            && obj.meta().finalizers.is_empty()
            && !obj.graceful_delete()
        {
            return self.remove::<T>(&key);
        }
        self.resource_version += 1;
        obj.meta_mut().resource_version = self.resource_version;
        let object: AnyObject = obj.into();
        // Which fields changed is worked out where the record is written
        // (only the log reads it): the write hands over both versions.
        self.log_change(&object, ChangeOp::Modified, Some(before));
        let number = self.objects.put_keyed(&key, object.clone());
        let resource_version = self.resource_version;
        self.watch_outbox.push(WatchEvent {
            kind: T::KIND,
            key,
            op: ChangeOp::Modified,
            resource_version,
            object,
            number: Some(number),
        });
        Ok(())
    }

    /// `kubectl delete --grace-period=0 --force`: skips the graceful
    /// period, so an object without finalizers goes at once; finalizers
    /// still hold it (force does not bypass them).
    pub fn force_delete<T: Stored>(&mut self, key: &ObjectKey) -> Result<(), StoreError> {
        let Some(obj) = self.get::<T>(key) else {
            return Err(StoreError::NotFound(ObjectRef::new(T::KIND, key.clone())));
        };
        if obj.meta().finalizers.is_empty() {
            return self.remove::<T>(key);
        }
        self.delete::<T>(key)
    }

    /// Applies `f` to a copy of object `key` and writes it back.
    pub fn modify<T: Stored>(
        &mut self,
        key: &ObjectKey,
        f: impl FnOnce(&mut T),
    ) -> Result<(), StoreError> {
        let Some(mut obj) = self.get::<T>(key).cloned() else {
            return Err(StoreError::NotFound(ObjectRef::new(T::KIND, key.clone())));
        };
        f(&mut obj);
        self.update(obj)
    }

    /// A graceful delete: with finalizers the object only gets a
    /// deletionTimestamp (Terminating); without, it is removed.
    pub fn delete<T: Stored>(&mut self, key: &ObjectKey) -> Result<(), StoreError> {
        let Some(obj) = self.get::<T>(key) else {
            return Err(StoreError::NotFound(ObjectRef::new(T::KIND, key.clone())));
        };
        if obj.meta().finalizers.is_empty() && !obj.graceful_delete() {
            return self.remove::<T>(key);
        }
        if obj.meta().deletion_timestamp.is_some() {
            return Ok(());
        }
        let now = self.now;
        self.modify::<T>(key, |o| o.meta_mut().deletion_timestamp = Some(now))
    }

    /// Removes `finalizer` from object `key`; the object goes if it was the
    /// last one and deletion was requested.
    pub fn remove_finalizer<T: Stored>(
        &mut self,
        key: &ObjectKey,
        finalizer: &str,
    ) -> Result<(), StoreError> {
        self.modify::<T>(key, |o| o.meta_mut().finalizers.retain(|f| f != finalizer))
    }

    /// Removes the object immediately (finalizers done, or force delete).
    pub fn remove<T: Stored>(&mut self, key: &ObjectKey) -> Result<(), StoreError> {
        let Some((number, object)) = self.objects.take_numbered(T::KIND, key) else {
            return Err(StoreError::NotFound(ObjectRef::new(T::KIND, key.clone())));
        };
        self.resource_version += 1;
        self.log_change(&object, ChangeOp::Deleted, None);
        let resource_version = self.resource_version;
        self.watch_outbox.push(WatchEvent {
            kind: T::KIND,
            key: key.clone(),
            op: ChangeOp::Deleted,
            resource_version,
            object,
            number: Some(number),
        });
        Ok(())
    }

    /// Records an Event on `object`. Identical events (same object, type,
    /// reason, message and source) are one Event whose count grows, as the
    /// client-go event correlator does.
    pub fn record_event(
        &mut self,
        object: ObjectRef,
        kind: EventType,
        reason: &str,
        message: impl Into<String>,
        source: &'static str,
    ) {
        let message = message.into();
        let uid = self
            .objects
            .get_shared(object.kind, &object.key)
            .map(|o| o.meta().uid)
            .unwrap_or_default();
        self.log.push_event(NewEvent {
            t: self.now,
            object,
            uid,
            kind,
            reason: Self::reason(&mut self.reasons, reason),
            message,
            source,
        });
    }

    /// `reason` interned, through `reasons`.
    fn reason(reasons: &mut rustc_hash::FxHashMap<(usize, usize), Name>, reason: &str) -> Name {
        let at = (reason.as_ptr() as usize, reason.len());
        match reasons.get(&at) {
            Some(name) if name.as_str() == reason => *name,
            _ => {
                // A reason made on the fly would add an entry per event:
                // the literals fit in a few dozen.
                if reasons.len() >= 256 {
                    reasons.clear();
                }
                let name = Name::new(reason);
                reasons.insert(at, name);
                name
            }
        }
    }

    /// Records a step of a backend call in the log.
    pub fn record_operation(&mut self, mut op: super::log::OperationRecord) {
        op.t = self.now;
        op.seq = self.take_seq();
        self.log.push(Record::Operation(op));
    }

    /// Records a DNS name starting or stopping to resolve.
    pub fn record_dns(&mut self, name: String, resolves: bool) {
        let seq = self.take_seq();
        self.log.push(Record::Dns(super::log::DnsRecord {
            t: self.now,
            seq,
            name,
            resolves,
        }));
    }

    /// Records a scenario action in the log.
    pub fn record_action(&mut self, description: String, label: Option<String>) {
        let seq = self.take_seq();
        self.log.push(Record::Action(ActionRecord {
            t: self.now,
            seq,
            description,
            label,
        }));
    }

    /// Every record so far, in order.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// From now on, encodes and compresses the log's records on a thread
    /// of their own while the run goes on (the records and their order
    /// are the same; reading the log waits for that thread). Only before
    /// the first record.
    pub fn log_in_thread(&mut self) {
        debug_assert!(
            self.log.is_empty(),
            "the log moves to a thread before its first record"
        );
        if self.log.is_empty() {
            self.log = Log::in_thread();
        }
    }

    /// Takes the watch events queued since the last call.
    pub fn drain_watch_events(&mut self) -> Vec<WatchEvent> {
        std::mem::take(&mut self.watch_outbox)
    }

    /// The next record's place in the global order: its index in the log.
    fn take_seq(&self) -> u64 {
        self.log.len() as u64
    }

    fn log_change(&mut self, object: &AnyObject, op: ChangeOp, before: Option<AnyObject>) {
        self.log
            .push_write(self.now, object, self.resource_version, op, before);
    }
}

/// A UUID-shaped UID from the object's identity (kind, namespace, name, and
/// how many times that name has been created, from 1): the same in every run
/// and with every seed, so two timelines name things alike and diffs stay
/// small. Public so scenarios and tests can refer to an object's UID.
pub fn derive_uid(kind: Kind, key: &ObjectKey, incarnation: u32) -> String {
    // The digest of `{kind}/{namespace}/{name}/{incarnation}`, hashed in
    // parts rather than formatted first (one is made per object created).
    let mut h = Sha256::new();
    for part in [kind.as_str(), "/", &key.namespace, "/", &key.name, "/"] {
        h.update(part.as_bytes());
    }
    h.update(itoa::Buffer::new().format(incarnation).as_bytes());
    let mut hex = [0u8; 32];
    hex::encode_to_slice(&h.finalize()[..16], &mut hex).expect("16 bytes are 32 hex digits");
    let hex = std::str::from_utf8(&hex).expect("hex digits are ASCII");
    [
        &hex[0..8],
        "-",
        &hex[8..12],
        "-",
        &hex[12..16],
        "-",
        &hex[16..20],
        "-",
        &hex[20..32],
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::persistent_volume_claim::{
        FINALIZER_PVC_PROTECTION, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    };
    use crate::api::{ClaimPhase, ObjectMeta, PersistentVolumeClaim};

    /// The UID is the first 16 bytes of the SHA-256 of
    /// `{kind}/{namespace}/{name}/{incarnation}` in UUID form, whichever
    /// way it is computed; every shipped timeline prints UIDs.
    #[test]
    fn uid_is_the_digest_of_kind_key_and_incarnation_as_a_uuid() {
        for (kind, ns, name, n) in [
            (Kind::Pod, "default", "web-0", 1),
            (Kind::PersistentVolume, "", "pvc-1234", 12),
            (
                Kind::PersistentVolumeClaim,
                "team-a",
                "data-db-10",
                4_000_000_000,
            ),
        ] {
            let key = ObjectKey::new(ns, name);
            let d = Sha256::digest(format!("{kind}/{ns}/{name}/{n}"));
            let h: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
            let want = format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            );
            assert_eq!(derive_uid(kind, &key, n), want);
        }
        assert_eq!(
            derive_uid(Kind::Pod, &ObjectKey::new("default", "web-0"), 1).len(),
            36
        );
    }

    fn claim(name: &str) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: name.into(),
                namespace: "default".into(),
                ..Default::default()
            },
            spec: PersistentVolumeClaimSpec::default(),
            status: PersistentVolumeClaimStatus::default(),
        }
    }

    /// Writes, Events (some alike), calls and removals on `n` claims,
    /// from claim `from` on: enough records for several batches.
    fn play(s: &mut Store, from: usize, n: usize) {
        for i in from..from + n {
            s.set_now(SimTime(10 * i as u64));
            let name = format!("c{}", i % 700);
            let key = ObjectKey::new("default", name.as_str());
            let on = ObjectRef::new(Kind::PersistentVolumeClaim, key.clone());
            if s.get::<PersistentVolumeClaim>(&key).is_none() {
                s.create(claim(&name)).unwrap();
            } else {
                s.modify::<PersistentVolumeClaim>(&key, |c| {
                    c.status.phase = if i % 2 == 0 {
                        ClaimPhase::Bound
                    } else {
                        ClaimPhase::Pending
                    };
                })
                .unwrap();
            }
            let msg = format!("waiting for volume {}", i % 3);
            s.record_event(on, EventType::Normal, "ExternalProvisioning", msg, "x");
            if i % 5 == 0 {
                s.record_action(format!("step {i}"), None);
            }
            if i % 11 == 0 {
                s.remove::<PersistentVolumeClaim>(&key).unwrap();
            }
        }
    }

    fn shown(s: &Store) -> Vec<String> {
        s.log().iter().map(|r| format!("{r:?}")).collect()
    }

    #[test]
    fn a_log_written_in_a_thread_reads_as_one_written_in_line() {
        let mut inline = Store::new();
        play(&mut inline, 0, 3000);
        let want = shown(&inline);
        assert!(want.len() > 3 * 512, "several batches: {}", want.len());
        let mut threaded = Store::new();
        threaded.log_in_thread();
        play(&mut threaded, 0, 3000);
        assert_eq!(threaded.log().len(), want.len());
        assert!(
            format!("{:?}", threaded.log()).contains("written_in_thread"),
            "the records went to a thread"
        );
        assert_eq!(shown(&threaded), want);
        // Read half-way: the thread catches up, and the log goes on in line
        // with the same series counts.
        let mut halves = Store::new();
        halves.log_in_thread();
        play(&mut halves, 0, 1500);
        assert_eq!(shown(&halves), want[..halves.log().len()]);
        play(&mut halves, 1500, 1500);
        assert_eq!(shown(&halves), want);
    }

    /// Each update's record names the fields that update changed, against
    /// the version it replaced, even when later updates replaced that one
    /// again before the log (here on its thread) wrote the record.
    #[test]
    fn change_records_name_the_fields_each_update_changed() {
        for threaded in [false, true] {
            let mut s = Store::new();
            if threaded {
                s.log_in_thread();
            }
            let key = ObjectKey::new("default", "a");
            s.create(claim("a")).unwrap();
            s.modify::<PersistentVolumeClaim>(&key, |c| c.status.phase = ClaimPhase::Bound)
                .unwrap();
            s.modify::<PersistentVolumeClaim>(&key, |c| {
                c.metadata.annotations.insert("x", "1");
                c.spec.volume_name = "pv-1".into();
            })
            .unwrap();
            // A no-op write makes no record.
            s.modify::<PersistentVolumeClaim>(&key, |c| c.spec.volume_name = "pv-1".into())
                .unwrap();
            s.modify::<PersistentVolumeClaim>(&key, |c| c.status.phase = ClaimPhase::Lost)
                .unwrap();
            s.remove::<PersistentVolumeClaim>(&key).unwrap();
            let changed: Vec<Vec<String>> = s
                .log()
                .iter()
                .map(|r| match r {
                    Record::Change(c) => c.changed.iter().map(|p| p.to_string()).collect(),
                    other => panic!("only writes: {other:?}"),
                })
                .collect();
            let want: [&[&str]; 5] = [
                &[],
                &["status.phase"],
                &["metadata.annotations.x", "spec.volumeName"],
                &["status.phase"],
                &[],
            ];
            assert_eq!(changed, want, "threaded: {threaded}");
        }
    }

    #[test]
    fn create_update_delete_bump_versions_and_log() {
        let mut s = Store::new();
        s.create(claim("a")).unwrap();
        let key = ObjectKey::new("default", "a");
        let rv1 = s
            .get::<PersistentVolumeClaim>(&key)
            .unwrap()
            .metadata
            .resource_version;
        s.modify::<PersistentVolumeClaim>(&key, |c| c.status.phase = ClaimPhase::Bound)
            .unwrap();
        let rv2 = s
            .get::<PersistentVolumeClaim>(&key)
            .unwrap()
            .metadata
            .resource_version;
        assert!(rv2 > rv1);
        // A no-op write is not a write.
        s.modify::<PersistentVolumeClaim>(&key, |c| c.status.phase = ClaimPhase::Bound)
            .unwrap();
        assert_eq!(
            s.get::<PersistentVolumeClaim>(&key)
                .unwrap()
                .metadata
                .resource_version,
            rv2
        );
        assert_eq!(s.log().len(), 2);
        assert_eq!(s.drain_watch_events().len(), 2);
    }

    /// The counts, first-seen times and messages of the Events on claim `a`.
    fn events_of_a(s: &Store) -> Vec<(u32, u64, String)> {
        s.log()
            .iter()
            .filter_map(|r| match r {
                Record::Event(e) if e.object.key.name.as_str() == "a" => {
                    Some((e.count, e.first_seen.as_millis(), e.message.to_string()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn alike_events_are_counted_per_series_and_incarnation() {
        let mut s = Store::new();
        s.create(claim("a")).unwrap();
        let key = ObjectKey::new("default", "a");
        let on_a = || ObjectRef::new(Kind::PersistentVolumeClaim, ObjectKey::new("default", "a"));
        let warn = |s: &mut Store, msg: &str| {
            s.record_event(on_a(), EventType::Warning, "ProvisioningFailed", msg, "x");
        };
        warn(&mut s, "quota");
        s.set_now(SimTime(500));
        warn(&mut s, "quota");
        warn(&mut s, "timeout"); // another message: its own series
        s.set_now(SimTime(900));
        warn(&mut s, "quota");
        // Another source or type is another series too.
        s.record_event(
            on_a(),
            EventType::Warning,
            "ProvisioningFailed",
            "quota",
            "y",
        );
        s.record_event(
            on_a(),
            EventType::Normal,
            "ProvisioningFailed",
            "quota",
            "x",
        );
        // A new claim of the same name (another UID) starts its own counts.
        s.remove::<PersistentVolumeClaim>(&key).unwrap();
        s.create(claim("a")).unwrap();
        warn(&mut s, "quota");
        let q = |n, t| (n, t, "quota".to_string());
        assert_eq!(
            events_of_a(&s),
            vec![
                q(1, 0),
                q(2, 0),
                (1, 500, "timeout".to_string()),
                q(3, 0),
                q(1, 900),
                q(1, 900),
                q(1, 900),
            ]
        );
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let mut s = Store::new();
        s.create(claim("a")).unwrap();
        let key = ObjectKey::new("default", "a");
        s.delete::<PersistentVolumeClaim>(&key).unwrap();
        let c = s.get::<PersistentVolumeClaim>(&key).unwrap();
        assert!(
            c.metadata.deletion_timestamp.is_some(),
            "pvc-protection holds it"
        );
        s.remove_finalizer::<PersistentVolumeClaim>(&key, FINALIZER_PVC_PROTECTION)
            .unwrap();
        assert!(s.get::<PersistentVolumeClaim>(&key).is_none());
    }

    #[test]
    fn uids_are_derived_from_identity_and_incarnation() {
        let mut s = Store::new();
        s.create(claim("a")).unwrap();
        let key = ObjectKey::new("default", "a");
        let uid1 = s.get::<PersistentVolumeClaim>(&key).unwrap().metadata.uid;
        s.remove::<PersistentVolumeClaim>(&key).unwrap();
        s.create(claim("a")).unwrap();
        let uid2 = s.get::<PersistentVolumeClaim>(&key).unwrap().metadata.uid;
        assert_ne!(uid1, uid2, "a recreated claim is a different object");
        let mut s2 = Store::new();
        s2.create(claim("a")).unwrap();
        assert_eq!(
            s2.get::<PersistentVolumeClaim>(&key).unwrap().metadata.uid,
            uid1
        );
    }

    #[test]
    fn identical_events_share_a_count() {
        let mut s = Store::new();
        let o = ObjectRef::new(Kind::PersistentVolumeClaim, ObjectKey::new("default", "a"));
        s.record_event(o.clone(), EventType::Normal, "R", "m", "x");
        s.record_event(o.clone(), EventType::Normal, "R", "m", "x");
        s.record_event(o, EventType::Normal, "R", "other", "x");
        let counts: Vec<u32> = s
            .log()
            .iter()
            .filter_map(|r| {
                if let Record::Event(e) = r {
                    Some(e.count)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(counts, vec![1, 2, 1]);
    }

    /// An event's reason is the text given, also when a reason made on the
    /// fly sits where an earlier, different one was.
    #[test]
    fn event_reasons_are_the_text_given() {
        let mut s = Store::new();
        let o = ObjectRef::new(Kind::PersistentVolumeClaim, ObjectKey::new("default", "a"));
        s.record_event(o.clone(), EventType::Normal, "Provisioning", "m", "x");
        let mut given = vec!["Provisioning".to_string()];
        let mut text = String::with_capacity(16);
        for reason in ["Foo", "Bar", "Baz"] {
            // One buffer, so each reason has the address and length of the
            // one before.
            text.clear();
            text.push_str(reason);
            s.record_event(o.clone(), EventType::Normal, &text, "m", "x");
            given.push(reason.to_string());
        }
        s.record_event(o, EventType::Normal, "Provisioning", "m", "x");
        given.push("Provisioning".to_string());
        let reasons: Vec<String> = s
            .log()
            .iter()
            .filter_map(|r| match r {
                Record::Event(e) => Some(e.reason.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(reasons, given);
    }
}
