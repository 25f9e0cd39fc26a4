//! The in-memory API server: a typed object store with resource versions,
//! finalizer-aware deletion, watch notifications, the Event recorder, and the
//! log of every observable change that the report is built from.

pub mod addr_map;
pub mod admission;
pub mod codec;
pub mod diff;
mod event_series;
pub mod informer;
pub mod log;
pub mod objects;
pub mod patch;
pub mod small_set;
pub mod store;

pub use addr_map::AddrMap;
pub use informer::{Informer, OwnWrites};
pub use log::{
    ActionRecord, CallPhase, ChangeOp, ChangeRecord, DnsRecord, EventRecord, EventType, Log,
    OperationRecord, Record,
};
pub use objects::{ObjectSet, Shared, Stored};
pub use small_set::SmallSet;
pub use store::{Store, StoreError, WatchEvent};
