//! Everything a user can observe, in the order it happened: object changes
//! (what `kubectl get -w` prints), Events (what `kubectl describe` lists) and
//! the scenario's own actions.

use crate::api::ObjectRef;
use crate::engine::SimTime;

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

/// One store write.
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
    pub phase: Option<String>,
    /// Conditions that are True after the write.
    pub conditions: Vec<String>,
    /// Annotation keys present after the write.
    pub annotations: Vec<String>,
    /// `kubectl get` columns after the write.
    pub columns: Vec<(&'static str, String)>,
    /// Dotted paths of the fields this write changed.
    pub changed: Vec<String>,
    /// True once deletion was requested (Terminating).
    pub deleting: bool,
}

/// Event severity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
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
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
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

/// A timeline record.
#[derive(Clone, Debug)]
pub enum Record {
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
        }
    }

    /// Its place in the global order.
    pub fn seq(&self) -> u64 {
        match self {
            Record::Change(c) => c.seq,
            Record::Event(e) => e.seq,
            Record::Action(a) => a.seq,
        }
    }
}
