//! The validated scenario: what a run needs, with every reference resolved.
//! Also the one notion of an *occurrence* (an object reaching a state, or an
//! Event) that actions wait for and expectations check.

use crate::api::{AnyObject, Node, ObjectRef, StorageClass};
use crate::backend::Profile;
use crate::cluster::{ChangeOp, EventType, Record};
use crate::controllers::ComponentSettings;
use crate::engine::{SimDuration, SimTime};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file as named on the command line.
    pub file: String,
    /// The file's text (runtime errors point into it).
    pub source: Arc<String>,
    /// Hex SHA-256 of the file's bytes.
    pub source_sha256: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// When the run ends; `None`: when nothing is pending.
    pub end: Option<SimTime>,
    /// Bound on handled events.
    pub max_events: u64,
    /// Bound on simulated time.
    pub max_time: SimTime,
    /// Backend profile (after overrides).
    pub profile: Profile,
    /// The scenario's backend overrides, re-applied to a profile chosen on
    /// the command line.
    pub overrides: crate::backend::profile::Overrides,
    /// Kubernetes timers.
    pub settings: ComponentSettings,
    /// How images behave.
    pub images: BTreeMap<String, crate::controllers::kubelet::ImageBehaviour>,
    /// Feature gates set in the file.
    pub feature_gates: BTreeMap<String, bool>,
    /// Nodes, created first.
    pub nodes: Vec<Node>,
    /// StorageClasses, created next.
    pub classes: Vec<StorageClass>,
    /// VolumeSnapshotClasses, created with the StorageClasses.
    pub snapshot_classes: Vec<crate::api::VolumeSnapshotClass>,
    /// Objects created at T+0, in file order.
    pub objects: Vec<AnyObject>,
    /// Timed and triggered actions.
    pub actions: Vec<Action>,
    /// Expectations (the reference lines' checks included).
    pub expectations: Vec<Expectation>,
    /// The reference document's lines, for the comparison table.
    pub reference: Vec<ReferenceLine>,
    /// A teaching lab's brief, if the file is a lab.
    pub lab: Option<Lab>,
    /// What loading ignored (manifest fields and kinds storsim does not
    /// model), to show the user.
    pub warnings: Vec<String>,
}

/// A teaching lab: a scenario whose expectations are the goals.
#[derive(Clone, Debug, PartialEq)]
pub struct Lab {
    /// Title.
    pub title: String,
    /// What to achieve.
    pub goal: String,
    /// What to know first.
    pub background: String,
    /// Questions to answer from the run.
    pub questions: Vec<String>,
    /// General hints.
    pub hints: Vec<String>,
}

/// A reference document line and what it corresponds to.
#[derive(Clone, Debug)]
pub struct ReferenceLine {
    /// The document's text.
    pub doc: String,
    /// The document's time.
    pub time: Option<SimDuration>,
    /// The occurrence, if the line maps to one.
    pub occurrence: Option<Occurrence>,
    /// The origin label.
    pub from: Option<String>,
    /// Why Kubernetes differs, if it does.
    pub diverges: Option<String>,
    /// Allowed difference.
    pub tolerance: SimDuration,
}

/// When an action runs.
#[derive(Clone, Debug)]
pub enum When {
    /// At this time.
    At(SimTime),
    /// `delay` after the first time `occurrence` happens.
    After {
        /// The trigger.
        occurrence: Occurrence,
        /// Extra delay.
        delay: SimDuration,
    },
}

/// What an action does.
#[derive(Clone, Debug)]
pub enum ActionKind {
    /// Create the object.
    Create(Box<AnyObject>),
    /// Delete: graceful, or forced (`--grace-period=0 --force`).
    Delete(ObjectRef, bool),
    /// Scale a StatefulSet.
    Scale(ObjectRef, u32),
    /// Change a StatefulSet container's image.
    SetImage {
        /// The StatefulSet.
        set: ObjectRef,
        /// Container (the only one if `None`).
        container: Option<String>,
        /// New image.
        image: String,
    },
    /// Machines go down (`down`) or come back.
    Machines {
        /// The nodes.
        nodes: Vec<String>,
        /// Down or back.
        down: bool,
        /// As written (`node-x` or `zone us-east-1a`).
        what: String,
    },
    /// Add a taint to a node.
    Taint(String, crate::api::node::Taint),
    /// Remove a node's taints of a key.
    Untaint(String, String),
    /// A backend fault from now on.
    Fault(
        crate::backend::Operation,
        crate::backend::profile::OperationOverride,
    ),
    /// The operation behaves as the profile says again.
    ClearFault(crate::backend::Operation),
    /// A claim's new storage request (a merge patch of
    /// `spec.resources.requests.storage`).
    Resize {
        /// The claim.
        claim: ObjectRef,
        /// The new request.
        size: crate::api::Quantity,
    },
    /// `kubectl apply -f FILE`: create what does not exist, update the
    /// rest (labels, annotations and spec).
    Apply {
        /// The file, as written.
        file: String,
        /// Its objects.
        objects: Vec<AnyObject>,
        /// Its objects written in part (merged into existing ones).
        partial: Vec<crate::scenario::manifest::Partial>,
    },
    /// JSON merge patch.
    Patch {
        /// Target.
        target: ObjectRef,
        /// The merge patch.
        patch: serde_json::Value,
    },
}

/// One scenario action.
#[derive(Clone, Debug)]
pub struct Action {
    /// When.
    pub when: When,
    /// What.
    pub kind: ActionKind,
    /// Its label.
    pub label: Option<String>,
    /// Where it is written (runtime failures point here).
    pub span: Range<usize>,
}

impl ActionKind {
    /// `create PersistentVolumeClaim/x`, `delete …`, `patch …`.
    pub fn describe(&self) -> String {
        match self {
            ActionKind::Create(o) => {
                format!("create {}", ObjectRef::new(o.kind(), o.meta().key()))
            }
            ActionKind::Delete(r, false) => format!("delete {r}"),
            ActionKind::Delete(r, true) => format!("delete {r} --grace-period=0 --force"),
            ActionKind::Scale(r, n) => format!("scale {r} --replicas={n}"),
            ActionKind::SetImage {
                set,
                container,
                image,
            } => {
                format!(
                    "set image {set} {}={image}",
                    container.as_deref().unwrap_or("*")
                )
            }
            ActionKind::Patch { target, patch } => format!("patch {target} {patch}"),
            ActionKind::Resize { claim, size } => format!("resize {claim} to {size}"),
            ActionKind::Apply { file, .. } => format!("apply -f {file}"),
            ActionKind::Fault(op, _) => format!("inject a fault into {op}"),
            ActionKind::Machines { down, what, .. } => {
                format!("{} {what}", if *down { "fail" } else { "recover" })
            }
            ActionKind::Taint(n, t) => {
                format!("taint nodes {n} {}={}:{}", t.key, t.value, t.effect)
            }
            ActionKind::Untaint(n, k) => format!("taint nodes {n} {k}-"),
            ActionKind::ClearFault(op) => format!("clear the faults of {op}"),
        }
    }
}

/// The moment in an object's life an occurrence names.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectMoment {
    /// Enters this phase / STATUS word.
    Phase(String),
    /// Condition becomes True.
    Condition(String),
    /// Annotation appears.
    Annotation(String),
    /// Is created.
    Created,
    /// Is removed from the API.
    Deleted,
    /// Shows the given columns (and nothing else is asked).
    Shows,
}

/// Something that happens during a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Occurrence {
    /// An object reaching a moment, the `nth` time (1-based).
    Object {
        /// The object.
        object: ObjectRef,
        /// Which moment.
        moment: ObjectMoment,
        /// Columns that must show these values too (`volume` = `pv-1`).
        shows: Vec<(String, String)>,
        /// Which time.
        nth: u32,
    },
    /// A backend or CSI call reaching a phase, the `nth` time.
    Operation {
        /// The operation.
        op: crate::backend::Operation,
        /// Substring of the target.
        target_contains: Option<String>,
        /// Start, end or timeout.
        phase: crate::cluster::CallPhase,
        /// For ends: success or failure.
        ok: Option<bool>,
        /// Which time.
        nth: u32,
    },
    /// A DNS name starting (or stopping) to resolve, the `nth` time.
    Dns {
        /// The name.
        name: String,
        /// Starts (true) or stops resolving.
        resolves: bool,
        /// Which time.
        nth: u32,
    },
    /// An Event emission (repeats count), the `nth` time.
    Event {
        /// Reason.
        reason: Option<String>,
        /// Involved object.
        object: Option<ObjectRef>,
        /// Message substring.
        message_contains: Option<String>,
        /// Type.
        kind: Option<EventType>,
        /// Which time.
        nth: u32,
    },
}

impl fmt::Display for Occurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nth = |n: u32| {
            if n > 1 {
                format!(" (occurrence {n})")
            } else {
                String::new()
            }
        };
        match self {
            Occurrence::Object {
                object,
                moment,
                shows,
                nth: n,
            } => {
                let mut m = match moment {
                    ObjectMoment::Phase(p) => format!("is {p}"),
                    ObjectMoment::Condition(c) => format!("is {c}"),
                    ObjectMoment::Annotation(a) => format!("gets annotation {a}"),
                    ObjectMoment::Created => "is created".into(),
                    ObjectMoment::Deleted => "is deleted".into(),
                    ObjectMoment::Shows => "shows".into(),
                };
                for (k, v) in shows {
                    m.push_str(&format!(" {k}={v}"));
                }
                write!(f, "{object} {m}{}", nth(*n))
            }
            Occurrence::Operation {
                op,
                target_contains,
                phase,
                ok,
                nth: n,
            } => {
                write!(f, "{op} {}", phase.as_str())?;
                if let Some(t) = target_contains {
                    write!(f, " on {t}")?;
                }
                if let Some(ok) = ok {
                    write!(f, " {}", if *ok { "ok" } else { "with an error" })?;
                }
                write!(f, "{}", nth(*n))
            }
            Occurrence::Event {
                reason,
                object,
                message_contains,
                kind,
                nth: n,
            } => {
                write!(f, "event")?;
                if let Some(k) = kind {
                    write!(f, " {}", k.as_str())?;
                }
                if let Some(r) = reason {
                    write!(f, " {r}")?;
                }
                if let Some(o) = object {
                    write!(f, " on {o}")?;
                }
                if let Some(m) = message_contains {
                    write!(f, " containing {m:?}")?;
                }
                write!(f, "{}", nth(*n))
            }
            Occurrence::Dns {
                name,
                resolves,
                nth: n,
            } => {
                let what = if *resolves { "resolves" } else { "is gone" };
                write!(f, "dns {name} {what}{}", nth(*n))
            }
        }
    }
}

/// Follows the log record by record and says when an occurrence happens.
/// Actions' triggers and expectations use the same tracker, so "Bound" means
/// the same thing to both.
#[derive(Clone, Debug)]
pub struct Tracker {
    occurrence: Occurrence,
    /// Whether the object was in the moment's state at its last change.
    inside: bool,
    count: u32,
    /// Occurrences before this instant are not counted.
    from: SimTime,
}

impl Tracker {
    /// A tracker that has seen nothing yet.
    pub fn new(occurrence: Occurrence) -> Self {
        Self::starting_at(occurrence, SimTime::ZERO)
    }

    /// A tracker that counts only occurrences at or after `from` (it still
    /// follows earlier records, to know the state an object is in).
    pub fn starting_at(occurrence: Occurrence, from: SimTime) -> Self {
        Tracker {
            occurrence,
            inside: false,
            count: 0,
            from,
        }
    }

    /// Feeds one record; true if this record is the occurrence's n-th time.
    pub fn observe(&mut self, rec: &Record) -> bool {
        match (&self.occurrence, rec) {
            (
                Occurrence::Object {
                    object,
                    moment,
                    shows,
                    nth,
                },
                Record::Change(c),
            ) if &c.object == object => {
                let alive = c.op != ChangeOp::Deleted;
                let showing = shows.iter().all(|(k, v)| column_matches(&c.columns, k, v));
                let now_inside = showing
                    && match moment {
                        ObjectMoment::Phase(p) => {
                            c.op != ChangeOp::Deleted && c.phase.as_deref() == Some(p)
                        }
                        ObjectMoment::Condition(k) => {
                            c.op != ChangeOp::Deleted && c.conditions.iter().any(|x| x == k)
                        }
                        ObjectMoment::Annotation(a) => {
                            c.op != ChangeOp::Deleted && c.annotations.iter().any(|x| x == a)
                        }
                        ObjectMoment::Created => c.op == ChangeOp::Added,
                        ObjectMoment::Deleted => c.op == ChangeOp::Deleted,
                        ObjectMoment::Shows => alive,
                    };
                let entered = match moment {
                    ObjectMoment::Created | ObjectMoment::Deleted => now_inside,
                    _ => now_inside && !self.inside,
                };
                self.inside = now_inside;
                let counted = entered && c.t >= self.from;
                if counted {
                    self.count += 1;
                }
                counted && self.count == *nth
            }
            (
                Occurrence::Event {
                    reason,
                    object,
                    message_contains,
                    kind,
                    nth,
                },
                Record::Event(e),
            ) => {
                let matches = reason.as_ref().is_none_or(|r| r == &e.reason)
                    && object.as_ref().is_none_or(|o| o == &e.object)
                    && message_contains
                        .as_ref()
                        .is_none_or(|m| e.message.contains(m.as_str()))
                    && kind.is_none_or(|k| k == e.kind)
                    && e.t >= self.from;
                if matches {
                    self.count += 1;
                }
                matches && self.count == *nth
            }
            (
                Occurrence::Operation {
                    op,
                    target_contains,
                    phase,
                    ok,
                    nth,
                },
                Record::Operation(o),
            ) => {
                let matches = o.op == *op
                    && o.phase == *phase
                    && target_contains
                        .as_ref()
                        .is_none_or(|t| o.target.contains(t.as_str()))
                    && ok.is_none_or(|want| o.result.as_ref().is_some_and(|r| r.is_ok() == want))
                    && o.t >= self.from;
                if matches {
                    self.count += 1;
                }
                matches && self.count == *nth
            }
            (
                Occurrence::Dns {
                    name,
                    resolves,
                    nth,
                },
                Record::Dns(d),
            ) => {
                let matches = &d.name == name && d.resolves == *resolves && d.t >= self.from;
                if matches {
                    self.count += 1;
                }
                matches && self.count == *nth
            }
            _ => false,
        }
    }
}

/// True if `columns` has `key` (as the timeline writes it: lower case,
/// spaces as dashes) with `value`.
pub fn column_matches(columns: &[(&'static str, impl AsRef<str>)], key: &str, value: &str) -> bool {
    columns
        .iter()
        .any(|(k, v)| crate::api::column_key(k) == key.to_lowercase() && v.as_ref() == value)
}

/// When the times of an expectation are measured from, and its bounds.
#[derive(Clone, Debug, Default)]
pub struct Timing {
    /// Expected time and tolerance.
    pub at: Option<(SimDuration, SimDuration)>,
    /// No later than.
    pub by: Option<SimDuration>,
    /// No earlier than.
    pub after: Option<SimDuration>,
    /// Origin: an action label; `None` is the start.
    pub from: Option<String>,
}

impl Timing {
    /// True if any bound is set.
    pub fn is_timed(&self) -> bool {
        self.at.is_some() || self.by.is_some() || self.after.is_some()
    }
}

/// What an expectation checks.
#[derive(Clone, Debug)]
pub enum Check {
    /// The occurrence happens (within the timing bounds).
    Happens(Occurrence, Timing),
    /// The occurrence never happens.
    Never(Occurrence),
    /// `first` happens, then `then` happens, strictly later in the log.
    Before(Occurrence, Occurrence),
    /// The state named by the occurrence holds when the run ends.
    AtEnd(Occurrence),
    /// The monthly bill at the end, to the cent.
    Cost {
        /// Every disk.
        total_month: Option<f64>,
        /// Disks bound to claims no pod uses.
        orphaned_month: Option<f64>,
        /// How many such claims.
        orphaned_claims: Option<usize>,
    },
}

/// One expectation.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// Its name, or a description built from the check.
    pub title: String,
    /// For labs: what to try when it is not met.
    pub hint: Option<String>,
    /// What it checks.
    pub check: Check,
    /// Where it is written.
    pub span: Range<usize>,
}
