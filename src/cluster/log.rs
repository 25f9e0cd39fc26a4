//! Everything a user can observe, in the order it happened: object changes
//! (what `kubectl get -w` prints), Events (what `kubectl describe` lists) and
//! the scenario's own actions.

use crate::api::{Name, ObjectRef};
use crate::backend::Operation;
use crate::engine::SimTime;
use rustc_hash::FxHashSet;
use std::hash::Hash;
use std::sync::Arc;

/// What a write did to an object.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChangeOp {
    /// The object was created.
    Added,
    /// The object was updated (including deletion being requested).
    Modified,
    /// The object is gone from the store.
    Deleted,
}

impl ChangeOp {
    /// Lower-case name used in JSON Lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Added => "added",
            ChangeOp::Modified => "modified",
            ChangeOp::Deleted => "deleted",
        }
    }
}

/// One store write. A run keeps every one (a 100 k-pod fleet makes
/// millions), so its words are interned: phases, conditions, annotation
/// keys, column values and field paths repeat from record to record and
/// are stored once — and so are its lists of them (see [`Lists`]).
#[derive(Clone, Debug)]
pub struct ChangeRecord {
    /// When.
    pub t: SimTime,
    /// Global order of records.
    pub seq: u64,
    /// Which object.
    pub object: ObjectRef,
    /// resourceVersion after the write.
    pub resource_version: u64,
    /// Kind of write.
    pub op: ChangeOp,
    /// Phase / status word after the write.
    pub phase: Option<Name>,
    /// Conditions that are True after the write.
    pub conditions: List<Name>,
    /// Annotation keys present after the write.
    pub annotations: List<Name>,
    /// `kubectl get` columns after the write.
    pub columns: List<(&'static str, Name)>,
    /// Dotted paths of the fields this write changed.
    pub changed: List<Name>,
    /// True once deletion was requested (Terminating).
    pub deleting: bool,
}

/// A text kept in the log: boxed, so it costs two words and no spare
/// capacity (a run records millions); it reads, compares and prints as
/// the string it holds.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text(Box<str>);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(s.into_boxed_str())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(s.into())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Event severity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// Normal.
    Normal,
    /// Warning.
    Warning,
}

impl EventType {
    /// As `kubectl` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One Event emission (a new Event or a repeat that bumped its count).
#[derive(Clone, Debug)]
pub struct EventRecord {
    /// When.
    pub t: SimTime,
    /// Global order of records.
    pub seq: u64,
    /// The involved object.
    pub object: ObjectRef,
    /// Normal or Warning.
    pub kind: EventType,
    /// Reason (interned: a run has a few dozen reasons and millions of
    /// Events).
    pub reason: Name,
    /// Message.
    pub message: Text,
    /// Times this same event has been seen, this one included.
    pub count: u32,
    /// When it was first seen.
    pub first_seen: SimTime,
    /// The reporting component (`persistentvolume-controller`, …).
    pub source: &'static str,
}

/// A scenario action, so the timeline shows what the user did.
#[derive(Clone, Debug)]
pub struct ActionRecord {
    /// When.
    pub t: SimTime,
    /// Global order of records.
    pub seq: u64,
    /// What was done, e.g. `delete PersistentVolumeClaim/data`.
    pub description: String,
    /// The action's label, if it has one.
    pub label: Option<String>,
}

/// Where a backend call is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CallPhase {
    /// The call was made.
    Start,
    /// It completed (successfully or not).
    End,
    /// The caller stopped waiting (`--timeout`); the call may still complete.
    Timeout,
}

impl CallPhase {
    /// Lower-case name used in JSON Lines and expectations.
    pub fn as_str(self) -> &'static str {
        match self {
            CallPhase::Start => "start",
            CallPhase::End => "end",
            CallPhase::Timeout => "timeout",
        }
    }
}

/// One step of a CSI or cloud call.
#[derive(Clone, Debug)]
pub struct OperationRecord {
    /// When.
    pub t: SimTime,
    /// Global order of records.
    pub seq: u64,
    /// The call's ID (start, end and timeout of one call share it).
    pub call: u64,
    /// The operation.
    pub op: Operation,
    /// What it is about (volume name, `vol-…@node`, …).
    pub target: Text,
    /// Start, end or timeout.
    pub phase: CallPhase,
    /// Which attempt on this operation and target (1-based).
    pub attempt: u32,
    /// For ends: `Err` with the gRPC error text; `Ok` with a short result.
    pub result: Option<Result<Text, Text>>,
    /// The component that made the call.
    pub caller: &'static str,
}

/// A pod's DNS name under its headless service starting or stopping to
/// resolve (the endpoints publish Ready pods only).
#[derive(Clone, Debug)]
pub struct DnsRecord {
    /// When.
    pub t: SimTime,
    /// Global order of records.
    pub seq: u64,
    /// `postgres-0.postgres.default.svc.cluster.local`.
    pub name: String,
    /// Whether it resolves from now on.
    pub resolves: bool,
}

/// A timeline record.
#[derive(Clone, Debug)]
pub enum Record {
    /// A DNS name started or stopped resolving.
    Dns(DnsRecord),
    /// A backend call started, ended or timed out.
    Operation(OperationRecord),
    /// An object changed.
    Change(ChangeRecord),
    /// An Event was recorded.
    Event(EventRecord),
    /// A scenario action ran.
    Action(ActionRecord),
}

impl Record {
    /// When it happened.
    pub fn t(&self) -> SimTime {
        match self {
            Record::Change(c) => c.t,
            Record::Event(e) => e.t,
            Record::Action(a) => a.t,
            Record::Operation(o) => o.t,
            Record::Dns(d) => d.t,
        }
    }

    /// Its place in the global order.
    pub fn seq(&self) -> u64 {
        match self {
            Record::Change(c) => c.seq,
            Record::Event(e) => e.seq,
            Record::Action(a) => a.seq,
            Record::Operation(o) => o.seq,
            Record::Dns(d) => d.seq,
        }
    }
}

/// The lists change records hold, each stored once: a run's records
/// repeat a few condition sets, annotation key sets and changed-field sets
/// (a 10k-pod fleet: 5 and 30 distinct among 388,000 records) and many
/// column rows, so a record holds a shared handle instead of its own copy.
#[derive(Default)]
pub struct Lists {
    names: FxHashSet<List<Name>>,
    columns: FxHashSet<List<(&'static str, Name)>>,
}

impl Lists {
    /// The shared copy of `items`.
    pub fn names(&mut self, items: &[Name]) -> List<Name> {
        shared(&mut self.names, items)
    }

    /// The shared copy of a row of columns.
    pub fn columns(&mut self, items: &[(&'static str, Name)]) -> List<(&'static str, Name)> {
        shared(&mut self.columns, items)
    }
}

fn shared<T: Hash + Eq + Clone>(set: &mut FxHashSet<List<T>>, items: &[T]) -> List<T> {
    if let Some(a) = set.get(items) {
        return a.clone();
    }
    let a = List(Arc::new(items.into()));
    set.insert(a.clone());
    a
}

/// A shared list of a change record: one pointer wide where an `Arc<[T]>`
/// is two, since a run keeps millions of records holding four lists each
/// (a record is the size of its largest kind). Reads as a slice.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct List<T>(Arc<Box<[T]>>);

impl<T> Clone for List<T> {
    fn clone(&self) -> Self {
        List(Arc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> std::borrow::Borrow<[T]> for List<T> {
    fn borrow(&self) -> &[T] {
        &self.0
    }
}

/// How many records one chunk of a [`Log`] holds (8 MiB of them).
const CHUNK: usize = 1 << 16;

/// Every record of a run, in order. Kept in chunks of fixed capacity, so
/// appending never moves what is already recorded: one growing vector
/// would copy a 100,000-pod fleet's gigabyte of records at each doubling,
/// holding both copies while it does, and keep up to half of it unused.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Every chunk but the last is full.
    chunks: Vec<Vec<Record>>,
}

impl Log {
    /// Appends `rec`.
    pub fn push(&mut self, rec: Record) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(rec),
            _ => {
                // The first chunk grows as a vector does (a small run stays
                // small); later ones are full-sized from the start.
                let mut c = if self.chunks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(CHUNK)
                };
                c.push(rec);
                self.chunks.push(c);
            }
        }
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.chunks.len().saturating_sub(1) * CHUNK + self.chunks.last().map_or(0, Vec::len)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Every record, in order.
    pub fn iter(&self) -> std::iter::Flatten<std::slice::Iter<'_, Vec<Record>>> {
        self.chunks.iter().flatten()
    }

    /// The records from the `i`-th on, in order.
    pub fn since(&self, i: usize) -> impl Iterator<Item = &Record> {
        let (first, within) = (i / CHUNK, i % CHUNK);
        let head = self
            .chunks
            .get(first)
            .map_or(&[][..], |c| &c[within.min(c.len())..]);
        head.iter()
            .chain(self.chunks.iter().skip(first + 1).flatten())
    }
}

impl std::ops::Index<usize> for Log {
    type Output = Record;
    fn index(&self, i: usize) -> &Record {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<'a> IntoIterator for &'a Log {
    type Item = &'a Record;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<Record>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(i: usize) -> Record {
        Record::Dns(DnsRecord {
            t: SimTime(i as u64),
            seq: i as u64,
            name: String::new(),
            resolves: true,
        })
    }

    #[test]
    fn a_log_over_several_chunks_reads_as_one_sequence() {
        let n = 2 * CHUNK + 5;
        let mut log = Log::default();
        assert!(log.is_empty());
        assert_eq!(log.since(0).count(), 0);
        for i in 0..n {
            log.push(dns(i));
            if i + 1 == CHUNK || i + 1 == CHUNK + 1 {
                assert_eq!(log.len(), i + 1, "a full chunk, and one record beyond");
            }
        }
        assert!(!log.is_empty());
        assert_eq!(log.len(), n);
        let seqs: Vec<u64> = log.iter().map(Record::seq).collect();
        assert_eq!(seqs, (0..n as u64).collect::<Vec<_>>());
        let back: Vec<u64> = log.iter().rev().take(3).map(Record::seq).collect();
        assert_eq!(back, vec![n as u64 - 1, n as u64 - 2, n as u64 - 3]);
        for i in [0, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1] {
            assert_eq!(log[i].seq(), i as u64);
            let from: Vec<u64> = log.since(i).map(Record::seq).collect();
            assert_eq!(from, (i as u64..n as u64).collect::<Vec<_>>(), "since {i}");
        }
        assert_eq!(log.since(n).count(), 0);
        assert_eq!(log.since(n + CHUNK).count(), 0);
    }
}

#[cfg(test)]
mod record_size {
    use super::*;

    /// A 100 k-pod fleet keeps 8.7 M records, each the size of the largest
    /// kind: 104 bytes since change records hold thin lists, Events an
    /// interned reason and a boxed message, and operations boxed strings
    /// (128, then 112 before; each 8 bytes is 70 MB at 100 k).
    #[test]
    fn a_record_stays_within_104_bytes() {
        assert!(std::mem::size_of::<ChangeRecord>() <= 96);
        assert!(std::mem::size_of::<EventRecord>() <= 96);
        assert!(std::mem::size_of::<OperationRecord>() <= 96);
        assert!(std::mem::size_of::<Record>() <= 104);
    }

    #[test]
    fn a_list_reads_as_its_items_and_is_shared() {
        let mut lists = Lists::default();
        let a = lists.names(&[Name::new("Ready"), Name::new("Initialized")]);
        let b = lists.names(&[Name::new("Ready"), Name::new("Initialized")]);
        assert_eq!(&*a, &[Name::new("Ready"), Name::new("Initialized")][..]);
        assert!(Arc::ptr_eq(&a.0, &b.0), "one copy of a list");
        assert_eq!(std::mem::size_of::<List<Name>>(), 8);
    }
}
