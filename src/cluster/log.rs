//! Everything a user can observe, in the order it happened: object changes
//! (what `kubectl get -w` prints), Events (what `kubectl describe` lists) and
//! the scenario's own actions.

use super::codec::{self, Dict, NewChange};
use crate::api::{AnyObject, Name, ObjectRef};
use crate::backend::Operation;
use crate::engine::SimTime;
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

/// One store write, as the [`Log`] gives it back. The log keeps it as a
/// few bytes (see [`codec`](super::codec)): its words and lists are
/// indices into the run's dictionary, so a decoded record shares them.
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
    pub columns: Columns,
    /// Dotted paths of the fields this write changed.
    pub changed: List<Name>,
    /// True once deletion was requested (Terminating).
    pub deleting: bool,
}

/// A change record's `kubectl get` columns (header, value): a kind has at
/// most five, so a decoded record holds them without allocating.
pub type Columns = smallvec::SmallVec<[(&'static str, Name); 6]>;

/// A text of a record (a message, a call's target): boxed, two words and
/// no spare capacity; it reads, compares and prints as the string it
/// holds.
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
    // `pad`, not `write_str`: a width pads it as it pads a str.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
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

/// A list of a change record (its conditions, annotation keys or changed
/// fields), shared with the log's dictionary: decoding a record copies a
/// pointer, not the list. Reads as a slice.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct List<T>(pub(super) Arc<Box<[T]>>);

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

/// How many bytes of records one chunk of a [`Log`] holds before it is
/// sealed (compressed) and the next begun.
const CHUNK_BYTES: usize = 1 << 20;

/// Every how many records the log notes where a record starts, so a
/// record found by its index is at most that many decodes away.
const BLOCK: usize = 16;

/// Where a record's bytes start: its chunk, and its offset in the chunk's
/// bytes as written (before sealing compressed them).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Pos {
    chunk: u32,
    offset: u32,
}

/// The records a [`Log`] has written, in their byte form (see
/// [`codec`](super::codec)) and, once a chunk of them is full, compressed
/// (LZ4, `lz4_flex`): a record is a few bytes where its struct took a
/// hundred, and runs of records compress well (the same templates around
/// the same names).
#[derive(Clone, Default)]
struct Book {
    /// The sealed chunks: each one's bytes, compressed (size prepended).
    sealed: Vec<Box<[u8]>>,
    /// The chunk being written (its buffer is reused once it is sealed).
    open: Vec<u8>,
    /// Where records `0, BLOCK, 2 × BLOCK, …` start.
    blocks: Vec<Pos>,
    len: usize,
    dict: Dict,
    scratch: Vec<u8>,
    /// The Event series counted so far.
    series: super::event_series::Series,
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("records", &self.len)
            .field("sealed_chunks", &self.sealed.len())
            .finish()
    }
}

impl Book {
    /// Appends what `item` records (read only: the items go back to the
    /// thread that made them, to be freed there).
    fn take(&mut self, item: &Item) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        match item {
            Item::Record(rec) => codec::encode(&mut scratch, &mut self.dict, rec),
            Item::Event(e) => {
                let (count, first_seen) = self.series.count(e);
                let view = codec::EventView {
                    t: e.t,
                    object: &e.object,
                    kind: e.kind,
                    reason: e.reason,
                    message: &e.message,
                    count,
                    first_seen,
                    source: e.source,
                };
                codec::encode_event(&mut scratch, &mut self.dict, &view);
            }
            Item::Change(c) => {
                let meta = c.object.meta();
                let annotations: Vec<Name> = meta.annotations.keys().copied().collect();
                let (phase, conditions, columns) = c.object.phase_conditions_columns();
                let changed = c
                    .before
                    .as_ref()
                    .map(|b| b.changed_paths(&c.object))
                    .unwrap_or_default();
                let change = NewChange {
                    object: ObjectRef::new(c.object.kind(), meta.key()),
                    resource_version: c.resource_version,
                    op: c.op,
                    phase: phase.as_deref(),
                    conditions: &conditions,
                    annotations: &annotations,
                    columns: &columns,
                    changed: &changed,
                    deleting: meta.deletion_timestamp.is_some(),
                };
                codec::encode_change(&mut scratch, &mut self.dict, c.t, &change);
            }
        }
        self.append(&scratch);
        self.scratch = scratch;
    }

    fn append(&mut self, bytes: &[u8]) {
        if !self.open.is_empty() && self.open.len() + bytes.len() > CHUNK_BYTES {
            self.sealed
                .push(lz4_flex::compress_prepend_size(&self.open).into_boxed_slice());
            self.open.clear();
        }
        let pos = Pos {
            chunk: self.sealed.len() as u32,
            offset: self.open.len() as u32,
        };
        self.open.extend_from_slice(bytes);
        if self.len % BLOCK == 0 {
            self.blocks.push(pos);
        }
        self.len += 1;
    }

    /// The records from the `i`-th on, in order.
    fn since(&self, i: usize) -> Iter<'_> {
        let mut it = Iter {
            log: self,
            next: i.min(self.len),
            pos: Pos {
                chunk: 0,
                offset: 0,
            },
            end: self.len,
            front: Unpacked::default(),
            back: std::collections::VecDeque::new(),
            back_chunk: Unpacked::default(),
        };
        if it.next < it.end {
            let block = it.next / BLOCK;
            it.pos = self.blocks[block];
            for seq in block * BLOCK..it.next {
                it.pos = self.decode_at(&mut it.front, it.pos, seq).1;
            }
        }
        it
    }

    /// The record at `pos` (the `seq`-th), and where the next one starts;
    /// `chunk` holds the unpacked bytes of the sealed chunk last read.
    fn decode_at(&self, chunk: &mut Unpacked, pos: Pos, seq: usize) -> (Record, Pos) {
        let bytes = chunk.bytes(self, pos.chunk as usize);
        let (rec, n) = codec::decode(&bytes[pos.offset as usize..], &self.dict, seq as u64);
        let offset = pos.offset as usize + n;
        let next = if offset < bytes.len() {
            Pos {
                chunk: pos.chunk,
                offset: offset as u32,
            }
        } else {
            Pos {
                chunk: pos.chunk + 1,
                offset: 0,
            }
        };
        (rec, next)
    }
}

/// What a [`Log`] is given to write: a record, or a store write whose
/// record is made from the object as written (its phase, conditions and
/// columns are worked out where the record is encoded).
enum Item {
    Record(Box<Record>),
    Change(Box<WriteOf>),
    Event(Box<NewEvent>),
}

/// An Event as recorded, before its series is counted.
pub struct NewEvent {
    /// When.
    pub t: SimTime,
    /// The object it is about.
    pub object: ObjectRef,
    /// That object's UID ("" if it is gone): a new incarnation of a name
    /// starts new series.
    pub uid: Name,
    /// Normal or Warning.
    pub kind: EventType,
    /// Its reason.
    pub reason: Name,
    /// Its message.
    pub message: String,
    /// The component that recorded it.
    pub source: &'static str,
}

/// A store write, for its change record.
struct WriteOf {
    t: SimTime,
    object: AnyObject,
    resource_version: u64,
    op: ChangeOp,
    /// The version it replaced, for an update (whose changed fields are
    /// worked out here, off the simulation's thread).
    before: Option<AnyObject>,
}

/// How many items a [`Writer`] gathers before handing them over. A
/// hand-over wakes the writing thread (a futex call) and frees a written
/// batch: with 512 a run spent 4 % of its thread there, and 4096 made
/// the 1 k fleet 8 % and the 10 k fleet 4 % faster (8192 gave no more).
const BATCH: usize = 4096;

/// How many batches may wait for the writing thread before the
/// simulation waits for it: bounds the memory the items hold (each keeps
/// its object alive) if the writing falls behind, to 32 k items.
const IN_FLIGHT: usize = 8;

/// The thread that encodes and compresses a log's records while the
/// simulation goes on, and the batch being gathered for it.
struct Writer {
    batch: Vec<Item>,
    to_thread: Option<std::sync::mpsc::SyncSender<Vec<Item>>>,
    /// Batches written, coming back to be freed (and their room reused)
    /// by the thread that made their items: an allocator frees fastest
    /// on the thread that allocated, and the objects' reference counts
    /// stay in that thread's cache.
    written: std::sync::mpsc::Receiver<Vec<Item>>,
    thread: Option<std::thread::JoinHandle<Book>>,
}

impl Writer {
    /// A writing thread, or `None` where one cannot be started.
    fn spawn() -> Option<Writer> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Item>>(IN_FLIGHT);
        let (back, written) = std::sync::mpsc::channel::<Vec<Item>>();
        let thread = std::thread::Builder::new()
            .name("storsim-log".into())
            .spawn(move || {
                let mut book = Book::default();
                for batch in rx {
                    for item in &batch {
                        book.take(item);
                    }
                    // Once the log is finished nobody takes them back:
                    // they are freed here.
                    let _ = back.send(batch);
                }
                book
            })
            .ok()?;
        Some(Writer {
            batch: Vec::with_capacity(BATCH),
            to_thread: Some(tx),
            written,
            thread: Some(thread),
        })
    }

    fn push(&mut self, item: Item) {
        self.batch.push(item);
        if self.batch.len() == BATCH {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        // The next batch reuses the room of one written (freeing its items
        // here); the others written meanwhile are freed too.
        let mut next = None;
        while let Ok(mut done) = self.written.try_recv() {
            done.clear();
            next.get_or_insert(done);
        }
        let next = next.unwrap_or_else(|| Vec::with_capacity(BATCH));
        let batch = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.to_thread {
            // A send fails only if the thread has stopped, which only a
            // panic does: `finish` raises it.
            let _ = tx.send(batch);
        }
    }

    /// Every record written: the thread's book, once it has taken
    /// everything handed to it.
    fn finish(mut self) -> Book {
        self.hand_over();
        self.to_thread = None;
        let thread = self
            .thread
            .take()
            .expect("a writer's thread is joined once");
        match thread.join() {
            Ok(book) => book,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Close the channel so the thread ends, and wait for it: no thread
        // outlives the log it writes.
        self.to_thread = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every record of a run, in order: writes (what `kubectl get -w`
/// prints), Events, backend calls, DNS and the scenario's actions.
/// Reading decodes: [`iter`](Log::iter) gives records by value, forwards
/// or backwards, unpacking one chunk at a time.
///
/// A log made with [`Log::in_thread`] encodes and compresses on a thread
/// of its own, in the order the records were given, so its bytes are the
/// same as a log written in line; the first read waits for that thread to
/// catch up, and the log is written in line from then on.
pub struct Log {
    len: usize,
    /// The records, once written in line (from the start, or since the
    /// first read of a log written in a thread).
    book: std::sync::OnceLock<Book>,
    /// The thread writing the records, until the first read.
    writer: std::sync::Mutex<Option<Writer>>,
}

impl Default for Log {
    fn default() -> Self {
        Log::with_book(Book::default(), 0)
    }
}

impl Clone for Log {
    fn clone(&self) -> Self {
        Log::with_book(self.book().clone(), self.len)
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.book.get() {
            Some(book) => book.fmt(f),
            None => f
                .debug_struct("Log")
                .field("records", &self.len)
                .field("written_in_thread", &true)
                .finish(),
        }
    }
}

impl Log {
    fn with_book(book: Book, len: usize) -> Self {
        Log {
            len,
            book: std::sync::OnceLock::from(book),
            writer: std::sync::Mutex::new(None),
        }
    }

    /// An empty log whose records are encoded and compressed on a thread
    /// of their own (in line where no thread can be started).
    pub fn in_thread() -> Self {
        match Writer::spawn() {
            Some(w) => Log {
                len: 0,
                book: std::sync::OnceLock::new(),
                writer: std::sync::Mutex::new(Some(w)),
            },
            None => Log::default(),
        }
    }

    fn take(&mut self, item: Item) {
        self.len += 1;
        let writer = self.writer.get_mut().unwrap_or_else(|e| e.into_inner());
        match writer {
            Some(w) => w.push(item),
            None => self
                .book
                .get_mut()
                .expect("a log without a writer has its book")
                .take(&item),
        }
    }

    /// Appends `rec` (its `seq` must be its index: the log gives records
    /// back with their index as `seq`).
    pub fn push(&mut self, rec: Record) {
        debug_assert_eq!(rec.seq(), self.len as u64, "a record's seq is its index");
        self.take(Item::Record(Box::new(rec)));
    }

    /// Appends the Event `e`, counted in its series.
    pub fn push_event(&mut self, e: NewEvent) {
        self.take(Item::Event(Box::new(e)));
    }

    /// Appends the change record of a write of `object` at `t`, which
    /// made it `resource_version`; an update gives the version it replaced
    /// (`before`), and the record names the fields that differ.
    pub fn push_write(
        &mut self,
        t: SimTime,
        object: &AnyObject,
        resource_version: u64,
        op: ChangeOp,
        before: Option<AnyObject>,
    ) {
        self.take(Item::Change(Box::new(WriteOf {
            t,
            object: object.clone(),
            resource_version,
            op,
            before,
        })));
    }

    /// The records written, once the writing thread (if any) has caught up.
    fn book(&self) -> &Book {
        self.book.get_or_init(|| {
            let writer = self
                .writer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .expect("a log without its book has its writer");
            writer.finish()
        })
    }

    /// Waits until every record given so far is written (a no-op for a
    /// log written in line): a run's time then includes all its writing.
    pub fn settle(&self) {
        self.book();
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every record, in order.
    pub fn iter(&self) -> Iter<'_> {
        self.since(0)
    }

    /// The records from the `i`-th on, in order.
    pub fn since(&self, i: usize) -> Iter<'_> {
        self.book().since(i)
    }

    /// The `i`-th record.
    pub fn get(&self, i: usize) -> Option<Record> {
        self.since(i).next()
    }
}

/// The bytes of the sealed chunk a reader is in, unpacked.
#[derive(Default)]
struct Unpacked {
    chunk: Option<usize>,
    bytes: Vec<u8>,
}

impl Unpacked {
    /// The bytes of chunk `i` of `log` as written.
    fn bytes<'b>(&'b mut self, log: &'b Book, i: usize) -> &'b [u8] {
        if i == log.sealed.len() {
            return &log.open;
        }
        if self.chunk != Some(i) {
            self.bytes = lz4_flex::decompress_size_prepended(&log.sealed[i])
                .expect("a chunk the log compressed");
            self.chunk = Some(i);
        }
        &self.bytes
    }
}

/// The records of a [`Log`], decoded as they are read. Backwards, it
/// decodes a block of records at a time (the bytes read forwards only).
pub struct Iter<'a> {
    log: &'a Book,
    /// Index of the next record read from the front…
    next: usize,
    /// …and where its bytes start.
    pos: Pos,
    /// Records from `end` on were read from the back or are in `back`.
    end: usize,
    /// The chunk the front reads in.
    front: Unpacked,
    /// Records `end..end + back.len()`, decoded for reading backwards.
    back: std::collections::VecDeque<Record>,
    /// The chunk the back reads in.
    back_chunk: Unpacked,
}

impl Iterator for Iter<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.next < self.end {
            let (rec, pos) = self.log.decode_at(&mut self.front, self.pos, self.next);
            self.next += 1;
            self.pos = pos;
            Some(rec)
        } else {
            self.back.pop_front()
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next + self.back.len();
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Record> {
        if self.back.is_empty() && self.end > self.next {
            // Decode the last block not yet read (from the front's place
            // if the front is inside it).
            let start = ((self.end - 1) / BLOCK * BLOCK).max(self.next);
            let mut pos = if start == self.next {
                self.pos
            } else {
                self.log.blocks[start / BLOCK]
            };
            for seq in start..self.end {
                let (rec, next) = self.log.decode_at(&mut self.back_chunk, pos, seq);
                self.back.push_back(rec);
                pos = next;
            }
            self.end = start;
        }
        self.back.pop_back()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Log {
    type Item = Record;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Kind, ObjectKey};

    fn object(i: usize) -> ObjectRef {
        ObjectRef::new(
            Kind::ALL[i % Kind::ALL.len()],
            ObjectKey::new("default", format!("web-{}", i % 97)),
        )
    }

    /// Record `i` of a mixed log: every kind of record, with and without
    /// their optional parts, texts of many lengths (some longer than a
    /// varint's first byte counts) and odd spacing.
    fn record(i: usize) -> Record {
        let t = SimTime(1_000 * i as u64 / 3);
        let seq = i as u64;
        let word = |w: &str| Name::new(&format!("{w}{}", i % 5));
        let list = |n: usize| List(Arc::new((0..n).map(|k| word(&format!("c{k}"))).collect()));
        match i % 7 {
            0..=2 => Record::Change(ChangeRecord {
                t,
                seq,
                object: object(i),
                resource_version: 10 * i as u64 + 7,
                op: [ChangeOp::Added, ChangeOp::Modified, ChangeOp::Deleted][i % 3],
                phase: (i % 4 != 0).then(|| word("Phase")),
                conditions: list(i % 3),
                annotations: list(i % 2),
                columns: (0..i % 5)
                    .map(|k| (["READY", "NODE", "AGE", "CAPACITY"][k % 4], word("v")))
                    .collect(),
                changed: list(i % 4),
                deleting: i % 5 == 0,
            }),
            3 => Record::Event(EventRecord {
                t,
                seq,
                object: object(i),
                kind: if i % 2 == 0 {
                    EventType::Normal
                } else {
                    EventType::Warning
                },
                reason: word("Reason"),
                // Spaces leading, doubled and trailing read back exactly.
                message: Text::from(format!(" {}  said {} ", "m".repeat(i % 300), i % 7)),
                count: (i % 9) as u32 + 1,
                first_seen: SimTime(t.0 / 2),
                source: "kubelet",
            }),
            4 => Record::Operation(OperationRecord {
                t,
                seq,
                call: i as u64 / 2,
                op: Operation::ALL[i % Operation::ALL.len()],
                target: Text::from(format!("vol-{i}@node-{}", i % 3)),
                phase: [CallPhase::Start, CallPhase::End, CallPhase::Timeout][i % 3],
                attempt: (i % 4) as u32 + 1,
                result: match i % 3 {
                    0 => None,
                    1 => Some(Ok(Text::from("ok"))),
                    _ => Some(Err(Text::from(format!("rpc error {i}")))),
                },
                caller: "external-attacher",
            }),
            5 => Record::Dns(DnsRecord {
                t,
                seq,
                name: format!("web-{i}.web.default.svc.cluster.local"),
                resolves: i % 2 == 0,
            }),
            _ => Record::Action(ActionRecord {
                t,
                seq,
                // Kept inline: long ones make the log span chunks.
                description: format!("scale StatefulSet/web to {i}{}", "x".repeat(i % 400)),
                label: (i % 3 == 0).then(|| format!("step-{i}")),
            }),
        }
    }

    fn shown(r: &Record) -> String {
        format!("{r:?}")
    }

    /// Enough records for several 1 MiB chunks.
    const N: usize = 120_000;

    #[test]
    fn every_record_reads_back_as_written_forwards_backwards_and_from_anywhere() {
        let mut log = Log::default();
        assert!(log.is_empty());
        assert_eq!(log.since(0).count(), 0);
        assert_eq!(log.iter().next_back().map(|r| shown(&r)), None);
        for i in 0..N {
            log.push(record(i));
        }
        assert!(log.book().sealed.len() > 2, "the test spans chunks");
        assert_eq!(log.len(), N);
        let want: Vec<String> = (0..N).map(|i| shown(&record(i))).collect();
        let forwards: Vec<String> = log.iter().map(|r| shown(&r)).collect();
        assert_eq!(forwards, want);
        let mut backwards: Vec<String> = log.iter().rev().map(|r| shown(&r)).collect();
        backwards.reverse();
        assert_eq!(backwards, want);
        for i in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, N / 2 + 3, N - 1] {
            let from: Vec<String> = log.since(i).map(|r| shown(&r)).collect();
            assert_eq!(from, want[i..], "since {i}");
            assert_eq!(log.get(i).map(|r| shown(&r)), Some(want[i].clone()));
        }
        assert_eq!(log.since(N).count(), 0);
        assert!(log.get(N).is_none());
        assert_eq!(log.iter().len(), N);
    }

    #[test]
    fn reading_from_both_ends_meets_in_the_middle_without_gap_or_repeat() {
        let n = 5 * BLOCK + 3;
        let mut log = Log::default();
        for i in 0..n {
            log.push(record(i));
        }
        for front in [0, 1, BLOCK - 1, BLOCK + 2, n - 1] {
            let mut it = log.since(0);
            let mut seen: Vec<u64> = (0..front).map(|_| it.next().unwrap().seq()).collect();
            let mut tail: Vec<u64> = Vec::new();
            // Alternate ends until both meet.
            loop {
                match it.next_back() {
                    Some(r) => tail.push(r.seq()),
                    None => break,
                }
                match it.next() {
                    Some(r) => seen.push(r.seq()),
                    None => break,
                }
            }
            tail.reverse();
            seen.extend(tail);
            assert_eq!(
                seen,
                (0..n as u64).collect::<Vec<_>>(),
                "front read {front} first"
            );
            assert!(it.next().is_none() && it.next_back().is_none());
        }
    }

    /// A 100 k-pod fleet keeps about nine million records, most of them
    /// change records: kept as bytes, a typical one (a pod going Running
    /// on a node, three columns, two conditions) takes a few dozen bytes —
    /// the struct it was kept as took 104, and its column row more.
    #[test]
    fn a_change_record_takes_a_few_dozen_bytes() {
        let mut log = Book::default();
        let (conditions, changed) = (
            ["Ready", "PodScheduled"].map(String::from),
            ["status.phase", "status.conditions"].map(String::from),
        );
        let columns = [
            ("READY", "1/1".to_string()),
            ("NODE", "node-123".to_string()),
            ("AGE", "4m".to_string()),
        ];
        for i in 0..1000 {
            let mut bytes = Vec::new();
            codec::encode_change(
                &mut bytes,
                &mut log.dict,
                SimTime(3_600_000 + i),
                &NewChange {
                    object: ObjectRef::new(Kind::Pod, ObjectKey::new("default", "web-4711")),
                    resource_version: 9_000_000 + i,
                    op: ChangeOp::Modified,
                    phase: Some("Running"),
                    conditions: &conditions,
                    annotations: &[],
                    columns: &columns,
                    changed: &changed,
                    deleting: false,
                },
            );
            log.append(&bytes);
        }
        let bytes = log.open.len();
        assert!(bytes <= 1000 * 30, "{bytes} bytes for 1000 change records");
    }

    #[test]
    fn a_list_reads_as_its_items() {
        let a = List(Arc::new(
            vec![Name::new("Ready"), Name::new("Initialized")].into(),
        ));
        assert_eq!(&*a, &[Name::new("Ready"), Name::new("Initialized")][..]);
        assert_eq!(std::mem::size_of::<List<Name>>(), 8);
    }
}
