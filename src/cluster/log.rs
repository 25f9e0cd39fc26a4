//! Everything a user can observe, in the order it happened: object changes
//! (what `kubectl get -w` prints), Events (what `kubectl describe` lists) and
//! the scenario's own actions.

use crate::api::{Name, ObjectRef};
use crate::backend::Operation;
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

/// One store write. A run keeps every one (a 100 k-pod fleet makes
/// millions), so its words are interned: phases, conditions, annotation
/// keys, column values and field paths repeat from record to record and
/// are stored once.
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
    pub conditions: Box<[Name]>,
    /// Annotation keys present after the write.
    pub annotations: Box<[Name]>,
    /// `kubectl get` columns after the write.
    pub columns: Box<[(&'static str, Name)]>,
    /// Dotted paths of the fields this write changed.
    pub changed: Box<[Name]>,
    /// True once deletion was requested (Terminating).
    pub deleting: bool,
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
    pub target: String,
    /// Start, end or timeout.
    pub phase: CallPhase,
    /// Which attempt on this operation and target (1-based).
    pub attempt: u32,
    /// For ends: `Err` with the gRPC error text; `Ok` with a short result.
    pub result: Option<Result<String, String>>,
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
