//! The byte form of a [`Record`] in the [`Log`](super::log::Log).
//!
//! A run keeps every record (a 100 k-pod fleet makes about 9 million), so
//! a record is kept as a few bytes rather than a struct the size of the
//! largest kind: integers as LEB128 varints (`integer-encoding`), words
//! (names, phases, reasons, column values) and lists of them as indices
//! into a [`Dict`] of the run, texts (messages, targets) inline. A typical
//! change record takes under 30 bytes (a test holds it there) where its
//! struct took 104 and its column row another allocation.
//!
//! The layout of one record: a tag byte (the kind of record in its low
//! three bits, flags above), the time, then the kind's fields in a fixed
//! order (see [`encode_change`] and [`encode`]). Time and resourceVersion
//! are absolute, so any record decodes on its own from its position.

use super::log::{
    ActionRecord, CallPhase, ChangeOp, ChangeRecord, Columns, DnsRecord, EventRecord, EventType,
    List, OperationRecord, Record, Text,
};
use crate::api::{Kind, Name, ObjectKey, ObjectRef};
use crate::backend::Operation;
use crate::engine::SimTime;
use hashbrown::HashTable;
use integer_encoding::VarInt;
use rustc_hash::FxHashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

const CHANGE: u8 = 0;
const EVENT: u8 = 1;
const OPERATION: u8 = 2;
const DNS: u8 = 3;
const ACTION: u8 = 4;
/// The flags start above the three bits of the record's kind.
const FLAG: u8 = 1 << 3;

/// A change record as the store writes it: its lists borrowed, since the
/// log keeps each distinct list once and the record only its index. Its
/// words (phase, conditions, column values, changed paths) come as the
/// text the object reported (`W` is `String` from the store, `Name` when a
/// decoded record is written back): the dictionary finds a word it has seen
/// by its text, so a change interns only words new to the run.
pub struct NewChange<'a, W: AsRef<str> = String> {
    /// Which object.
    pub object: ObjectRef,
    /// resourceVersion after the write.
    pub resource_version: u64,
    /// Kind of write.
    pub op: ChangeOp,
    /// Phase / status word after the write.
    pub phase: Option<&'a str>,
    /// Conditions that are True after the write.
    pub conditions: &'a [W],
    /// Annotation keys present after the write.
    pub annotations: &'a [Name],
    /// `kubectl get` columns after the write.
    pub columns: &'a [(&'static str, W)],
    /// Dotted paths of the fields this write changed.
    pub changed: &'a [W],
    /// True once deletion was requested.
    pub deleting: bool,
}

/// The words and lists a run's records refer to, each stored once and
/// named by its index (in order of first use, so the same run makes the
/// same dictionary; only lookups go through the hash maps).
#[derive(Clone, Default)]
pub struct Dict {
    names: Vec<Name>,
    name_ids: FxHashMap<Name, u32>,
    lists: Vec<List<Name>>,
    list_ids: FxHashMap<List<Name>, u32>,
    /// Component names and column headers: string literals, found by
    /// address (two equal literals at different addresses get two entries
    /// that decode alike).
    statics: Vec<&'static str>,
    static_ids: FxHashMap<(usize, usize), u32>,
    /// `name_ids` found by the word's text rather than its interned form
    /// (interning a column value looks it up in the process-wide table of
    /// every name; most changes repeat words the run has seen). Only the
    /// ids are kept, hashed by their words' text: four bytes a word.
    words: HashTable<u32>,
    /// `list_ids` found by the words' ids, for the same reason.
    word_lists: FxHashMap<Box<[u32]>, u32>,
}

/// The hash of a word's text, as `words` keeps it.
fn text_hash(text: &str) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(text)
}

impl Dict {
    fn name(&mut self, n: Name) -> u64 {
        let next = self.names.len() as u32;
        let id = *self.name_ids.entry(n).or_insert(next);
        if id == next {
            self.names.push(n);
        }
        u64::from(id)
    }

    /// [`Dict::name`] of the word `text`, interned only when new to the run
    /// (so the id is the one `name` gives it: the bytes do not depend on
    /// which way a word came in).
    fn word(&mut self, text: &str) -> u32 {
        let hash = text_hash(text);
        let names = &self.names;
        if let Some(&id) = self.words.find(hash, |&id| names[id as usize] == text) {
            return id;
        }
        let id = self.name(Name::new(text)) as u32;
        let names = &self.names;
        self.words
            .insert_unique(hash, id, |&id| text_hash(&names[id as usize]));
        id
    }

    /// [`Dict::list`] of the words `items`, found by their ids.
    fn word_list<W: AsRef<str>>(&mut self, items: &[W]) -> u64 {
        let ids: smallvec::SmallVec<[u32; 8]> =
            items.iter().map(|w| self.word(w.as_ref())).collect();
        if let Some(&id) = self.word_lists.get(&ids[..]) {
            return u64::from(id);
        }
        let names: Vec<Name> = ids.iter().map(|&i| self.names[i as usize]).collect();
        let id = self.list(&names);
        self.word_lists.insert(ids.as_slice().into(), id as u32);
        id
    }

    fn list(&mut self, items: &[Name]) -> u64 {
        if let Some(&id) = self.list_ids.get(items) {
            return u64::from(id);
        }
        let id = self.lists.len() as u32;
        let list = List(Arc::new(items.into()));
        self.lists.push(list.clone());
        self.list_ids.insert(list, id);
        u64::from(id)
    }

    fn static_str(&mut self, s: &'static str) -> u64 {
        let next = self.statics.len() as u32;
        let id = *self
            .static_ids
            .entry((s.as_ptr() as usize, s.len()))
            .or_insert(next);
        if id == next {
            self.statics.push(s);
        }
        u64::from(id)
    }
}

/// Appends the change record `c` made at `t`.
pub fn encode_change<W: AsRef<str>>(
    out: &mut Vec<u8>,
    dict: &mut Dict,
    t: SimTime,
    c: &NewChange<'_, W>,
) {
    let op = match c.op {
        ChangeOp::Added => 0,
        ChangeOp::Modified => 1,
        ChangeOp::Deleted => 2,
    };
    let flags = op | (u8::from(c.deleting) << 2) | (u8::from(c.phase.is_some()) << 3);
    out.push(tag(CHANGE, flags));
    put(out, t.0);
    put_object(out, dict, &c.object);
    put(out, c.resource_version);
    if let Some(p) = c.phase {
        put(out, u64::from(dict.word(p)));
    }
    put(out, dict.word_list(c.conditions));
    put(out, dict.list(c.annotations));
    put(out, dict.word_list(c.changed));
    put(out, c.columns.len() as u64);
    for (header, value) in c.columns {
        put(out, dict.static_str(header));
        put(out, u64::from(dict.word(value.as_ref())));
    }
}

/// An Event record's parts, borrowed.
pub struct EventView<'a> {
    /// When.
    pub t: SimTime,
    /// The object it is about.
    pub object: &'a ObjectRef,
    /// Normal or Warning.
    pub kind: EventType,
    /// Its reason.
    pub reason: Name,
    /// Its message.
    pub message: &'a str,
    /// Its series' count so far.
    pub count: u32,
    /// When its series began.
    pub first_seen: SimTime,
    /// The component that recorded it.
    pub source: &'static str,
}

/// Appends the Event record `e`.
pub fn encode_event(out: &mut Vec<u8>, dict: &mut Dict, e: &EventView<'_>) {
    out.push(tag(EVENT, u8::from(e.kind == EventType::Warning)));
    put(out, e.t.0);
    put_object(out, dict, e.object);
    put(out, dict.name(e.reason));
    put_str(out, e.message);
    put(out, u64::from(e.count));
    put(out, e.t.0 - e.first_seen.0);
    put(out, dict.static_str(e.source));
}

/// Appends any record but a change (which the store writes through
/// [`encode_change`]; a decoded one is written back that way).
pub fn encode(out: &mut Vec<u8>, dict: &mut Dict, rec: &Record) {
    match rec {
        Record::Change(c) => encode_change(
            out,
            dict,
            c.t,
            &NewChange {
                object: c.object.clone(),
                resource_version: c.resource_version,
                op: c.op,
                phase: c.phase.as_deref(),
                conditions: &c.conditions,
                annotations: &c.annotations,
                columns: &c.columns,
                changed: &c.changed,
                deleting: c.deleting,
            },
        ),
        Record::Event(e) => encode_event(
            out,
            dict,
            &EventView {
                t: e.t,
                object: &e.object,
                kind: e.kind,
                reason: e.reason,
                message: &e.message,
                count: e.count,
                first_seen: e.first_seen,
                source: e.source,
            },
        ),
        Record::Operation(o) => {
            let phase = match o.phase {
                CallPhase::Start => 0,
                CallPhase::End => 1,
                CallPhase::Timeout => 2,
            };
            let result = match &o.result {
                None => 0,
                Some(Ok(_)) => 1,
                Some(Err(_)) => 2,
            };
            out.push(tag(OPERATION, phase | (result << 2)));
            put(out, o.t.0);
            put(out, o.call);
            put(out, position(&Operation::ALL, o.op));
            put_str(out, &o.target);
            put(out, u64::from(o.attempt));
            if let Some(Ok(text) | Err(text)) = &o.result {
                put_str(out, text);
            }
            put(out, dict.static_str(o.caller));
        }
        Record::Dns(d) => {
            out.push(tag(DNS, u8::from(d.resolves)));
            put(out, d.t.0);
            put_str(out, &d.name);
        }
        Record::Action(a) => {
            out.push(tag(ACTION, u8::from(a.label.is_some())));
            put(out, a.t.0);
            put_str(out, &a.description);
            if let Some(label) = &a.label {
                put_str(out, label);
            }
        }
    }
}

/// Reads the record at the start of `bytes` (its place in the log is
/// `seq`); returns it and how many bytes it took.
pub fn decode(bytes: &[u8], dict: &Dict, seq: u64) -> (Record, usize) {
    let mut r = Reader { bytes, at: 1 };
    let tag = bytes[0];
    let flags = tag / FLAG;
    let t = SimTime(r.u64());
    let rec = match tag % FLAG {
        CHANGE => {
            let object = r.object(dict);
            let resource_version = r.u64();
            let phase = (flags & 0b1000 != 0).then(|| r.name(dict));
            let conditions = r.list(dict);
            let annotations = r.list(dict);
            let changed = r.list(dict);
            let n = r.u64() as usize;
            let columns: Columns = (0..n)
                .map(|_| (dict.statics[r.u64() as usize], r.name(dict)))
                .collect();
            Record::Change(ChangeRecord {
                t,
                seq,
                object,
                resource_version,
                op: match flags & 0b11 {
                    0 => ChangeOp::Added,
                    1 => ChangeOp::Modified,
                    _ => ChangeOp::Deleted,
                },
                phase,
                conditions,
                annotations,
                columns,
                changed,
                deleting: flags & 0b100 != 0,
            })
        }
        EVENT => {
            let object = r.object(dict);
            let reason = r.name(dict);
            let message = Text::from(r.str());
            let count = r.u64() as u32;
            let first_seen = SimTime(t.0 - r.u64());
            Record::Event(EventRecord {
                t,
                seq,
                object,
                kind: if flags & 1 != 0 {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason,
                message,
                count,
                first_seen,
                source: dict.statics[r.u64() as usize],
            })
        }
        OPERATION => {
            let call = r.u64();
            let op = Operation::ALL[r.u64() as usize];
            let target = Text::from(r.str());
            let attempt = r.u64() as u32;
            let result = match flags >> 2 {
                0 => None,
                1 => Some(Ok(Text::from(r.str()))),
                _ => Some(Err(Text::from(r.str()))),
            };
            Record::Operation(OperationRecord {
                t,
                seq,
                call,
                op,
                target,
                phase: match flags & 0b11 {
                    0 => CallPhase::Start,
                    1 => CallPhase::End,
                    _ => CallPhase::Timeout,
                },
                attempt,
                result,
                caller: dict.statics[r.u64() as usize],
            })
        }
        DNS => Record::Dns(DnsRecord {
            t,
            seq,
            name: r.str().to_string(),
            resolves: flags & 1 != 0,
        }),
        _ => {
            let description = r.str().to_string();
            let label = (flags & 1 != 0).then(|| r.str().to_string());
            Record::Action(ActionRecord {
                t,
                seq,
                description,
                label,
            })
        }
    };
    (rec, r.at)
}

/// The tag byte: the kind of record, and its flags above.
fn tag(kind: u8, flags: u8) -> u8 {
    kind | (flags * FLAG)
}

fn position<T: PartialEq + Copy>(all: &[T], x: T) -> u64 {
    all.iter().position(|a| *a == x).expect("listed in ALL") as u64
}

fn put(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 10];
    let n = v.encode_var(&mut buf);
    out.extend_from_slice(&buf[..n]);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_object(out: &mut Vec<u8>, dict: &mut Dict, o: &ObjectRef) {
    out.push(position(&Kind::ALL, o.kind) as u8);
    put(out, dict.name(o.key.namespace));
    put(out, dict.name(o.key.name));
}

/// Reads a record's fields in the order they were written. The bytes are
/// the log's own, written by the functions above: a malformed one is a
/// bug in this file, hence the panics.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u64(&mut self) -> u64 {
        let (v, n) = u64::decode_var(&self.bytes[self.at..]).expect("a varint the log wrote");
        self.at += n;
        v
    }

    fn str(&mut self) -> &'a str {
        let n = self.u64() as usize;
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        std::str::from_utf8(s).expect("a str the log wrote")
    }

    fn name(&mut self, dict: &Dict) -> Name {
        dict.names[self.u64() as usize]
    }

    fn list(&mut self, dict: &Dict) -> List<Name> {
        dict.lists[self.u64() as usize].clone()
    }

    fn object(&mut self, dict: &Dict) -> ObjectRef {
        let kind = Kind::ALL[usize::from(self.bytes[self.at])];
        self.at += 1;
        let namespace = self.name(dict);
        let name = self.name(dict);
        ObjectRef::new(kind, ObjectKey { namespace, name })
    }
}
