//! Event series: alike Events (same object and UID, type, reason,
//! message and source) are one Event whose count grows, as the client-go
//! event correlator counts them. Counted where the log is written (see
//! [`Log`](super::Log)), since nothing else reads them.

use super::log::{EventType, NewEvent};
use crate::api::{Name, ObjectRef};
use crate::engine::SimTime;
use sha2::{Digest, Sha256};

/// One series of alike Events (same object and UID, type, reason, message
/// and source), counted as the client-go event correlator counts them.
/// What makes them alike is kept as a fingerprint, not read back from the
/// log (whose chunks are compressed), and a run keeps every series (a
/// 100 k-pod fleet has millions), so a series is 32 bytes.
#[derive(Clone)]
struct EventSeries {
    /// The first 128 bits of the SHA-256 of what makes the events alike:
    /// equal fingerprints are alike events (the odds of two of a run's
    /// series colliding are below 2^-80).
    fingerprint: [u64; 2],
    /// How many Events the series has had (the Event's `count`).
    count: u32,
    /// When its first Event was recorded (`firstTimestamp`).
    first_seen: SimTime,
}

/// The fingerprint of an Event series: every field length-prefixed, so
/// no two different events hash the same bytes.
fn fingerprint(
    object: &ObjectRef,
    uid: Name,
    kind: EventType,
    reason: &str,
    message: &str,
    source: &str,
) -> [u64; 2] {
    let mut h = Sha256::new();
    for field in [
        object.kind.as_str(),
        object.key.namespace.as_str(),
        object.key.name.as_str(),
        uid.as_str(),
        kind.as_str(),
        reason,
        message,
        source,
    ] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    let d = h.finalize();
    let word = |i: usize| u64::from_le_bytes(d[i..i + 8].try_into().expect("8 bytes"));
    [word(0), word(8)]
}

/// Every series of a run, found by fingerprint.
#[derive(Clone, Default)]
pub(super) struct Series(hashbrown::HashTable<EventSeries>);

impl Series {
    /// Counts the Event `e`: its series' count and first time, this
    /// Event included.
    pub(super) fn count(&mut self, e: &NewEvent) -> (u32, SimTime) {
        let fp = fingerprint(&e.object, e.uid, e.kind, &e.reason, &e.message, e.source);
        match self.0.find_mut(fp[0], |s| s.fingerprint == fp) {
            Some(series) => {
                series.count += 1;
                (series.count, series.first_seen)
            }
            None => {
                let series = EventSeries {
                    fingerprint: fp,
                    count: 1,
                    first_seen: e.t,
                };
                self.0.insert_unique(fp[0], series, |s| s.fingerprint[0]);
                (1, e.t)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 100 k-pod fleet keeps millions of series.
    #[test]
    fn an_event_series_takes_32_bytes() {
        assert_eq!(std::mem::size_of::<EventSeries>(), 32);
    }
}
