//! Object metadata, object keys and references shared by every kind.

use super::labels::Labels;
use crate::cluster::diff::Diff;
use crate::engine::SimTime;
use serde::{Deserialize, Serialize};
use std::fmt;
use ustr::Ustr;

/// Every kind storsim models.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Diff,
)]
pub enum Kind {
    /// A worker node.
    Node,
    /// A StorageClass (cluster-scoped).
    StorageClass,
    /// A PersistentVolume (cluster-scoped).
    PersistentVolume,
    /// A PersistentVolumeClaim.
    PersistentVolumeClaim,
    /// A Pod.
    Pod,
    /// A StatefulSet.
    StatefulSet,
    /// A VolumeAttachment (cluster-scoped).
    VolumeAttachment,
    /// A VolumeSnapshotClass (cluster-scoped).
    VolumeSnapshotClass,
    /// A VolumeSnapshot.
    VolumeSnapshot,
    /// A VolumeSnapshotContent (cluster-scoped).
    VolumeSnapshotContent,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 10] = [
        Kind::Node,
        Kind::StorageClass,
        Kind::PersistentVolume,
        Kind::PersistentVolumeClaim,
        Kind::Pod,
        Kind::StatefulSet,
        Kind::VolumeAttachment,
        Kind::VolumeSnapshotClass,
        Kind::VolumeSnapshot,
        Kind::VolumeSnapshotContent,
    ];

    /// The kind's place in [`Kind::ALL`], for tables with a slot per kind.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The kind's name as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Node => "Node",
            Kind::StorageClass => "StorageClass",
            Kind::PersistentVolume => "PersistentVolume",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::Pod => "Pod",
            Kind::StatefulSet => "StatefulSet",
            Kind::VolumeAttachment => "VolumeAttachment",
            Kind::VolumeSnapshotClass => "VolumeSnapshotClass",
            Kind::VolumeSnapshot => "VolumeSnapshot",
            Kind::VolumeSnapshotContent => "VolumeSnapshotContent",
        }
    }

    /// The resource name (lower-case plural), as API errors spell it:
    /// `pods "web-1" already exists`.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Node => "nodes",
            Kind::StorageClass => "storageclasses.storage.k8s.io",
            Kind::PersistentVolume => "persistentvolumes",
            Kind::PersistentVolumeClaim => "persistentvolumeclaims",
            Kind::Pod => "pods",
            Kind::StatefulSet => "statefulsets.apps",
            Kind::VolumeAttachment => "volumeattachments.storage.k8s.io",
            Kind::VolumeSnapshotClass => "volumesnapshotclasses.snapshot.storage.k8s.io",
            Kind::VolumeSnapshot => "volumesnapshots.snapshot.storage.k8s.io",
            Kind::VolumeSnapshotContent => "volumesnapshotcontents.snapshot.storage.k8s.io",
        }
    }

    /// Parses a kind name; accepts the API name and kubectl's short names.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "Node" | "node" | "no" => Kind::Node,
            "StorageClass" | "storageclass" | "sc" => Kind::StorageClass,
            "PersistentVolume" | "persistentvolume" | "pv" => Kind::PersistentVolume,
            "PersistentVolumeClaim" | "persistentvolumeclaim" | "pvc" => {
                Kind::PersistentVolumeClaim
            }
            "Pod" | "pod" | "po" => Kind::Pod,
            "StatefulSet" | "statefulset" | "sts" => Kind::StatefulSet,
            "VolumeAttachment" | "volumeattachment" => Kind::VolumeAttachment,
            "VolumeSnapshotClass" | "volumesnapshotclass" | "vsclass" | "vsclasses" => {
                Kind::VolumeSnapshotClass
            }
            "VolumeSnapshot" | "volumesnapshot" | "vs" => Kind::VolumeSnapshot,
            "VolumeSnapshotContent" | "volumesnapshotcontent" | "vsc" => {
                Kind::VolumeSnapshotContent
            }
            _ => return None,
        })
    }

    /// Cluster-scoped kinds have no namespace.
    pub fn namespaced(self) -> bool {
        matches!(
            self,
            Kind::PersistentVolumeClaim | Kind::Pod | Kind::StatefulSet | Kind::VolumeSnapshot
        )
    }
}

impl fmt::Display for Kind {
    // `pad`, not `write_str`: a width (`{:<22}`) pads it as it pads a str.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Namespace and name: how the store indexes an object of a given kind.
/// Cluster-scoped objects have an empty namespace.
#[derive(Clone, Debug, Eq, Serialize, Deserialize, Diff)]
pub struct ObjectKey {
    /// Namespace, empty for cluster-scoped kinds.
    pub namespace: Name,
    /// Object name.
    pub name: Name,
}

/// A name in a key: interned, so a key is copied without allocating and
/// compared for equality by pointer. It reads, prints and serialises as the
/// string it stands for (`{:?}` too: messages quote names with it).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Diff)]
#[serde(transparent)]
pub struct Name(Ustr);

/// Read as a `String` is (so a mistake in a scenario is reported as for a
/// string field: "expected a string"), then interned.
impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Name::new(&s))
    }
}

impl Name {
    /// The interned copy of `s`.
    pub fn new(s: &str) -> Self {
        Name(Ustr::from(s))
    }

    /// `s` interned, reusing `prev` when it already stands for `s` (a
    /// status write that keeps a condition's words interns nothing), and
    /// the shared empty name for "".
    pub fn reusing(prev: Option<Name>, s: &str) -> Self {
        match prev {
            Some(p) if p == s => p,
            _ if s.is_empty() => Name::default(),
            _ => Name::new(s),
        }
    }

    /// `s` if it was ever interned, without interning it: a lookup of an
    /// object by a name made up on the spot (every stored object's name
    /// is interned, so a string never interned names no object) adds no
    /// string to the interner, which keeps every string for the rest of
    /// the process.
    pub fn existing(s: &str) -> Option<Self> {
        Ustr::from_existing(s).map(Name)
    }

    /// The string.
    pub fn as_str(&self) -> &'static str {
        self.0.as_str()
    }

    /// Whether it is the empty string: the one interned empty string, so
    /// a compare of addresses, without reading the string's length (a
    /// load from the interner, rarely in cache in a large fleet, where
    /// every pod's node name is asked this).
    pub fn is_empty(&self) -> bool {
        *self == Name::default()
    }
}

/// The strings' byte order, as `String`s order (maps keyed by names list
/// in the order they did when keyed by strings).
impl Ord for Name {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        ustr_cmp(*self, *other)
    }
}

impl PartialOrd for Name {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name::new(&s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name::new(s)
    }
}

/// An interned name is taken as it is.
impl From<&Name> for Name {
    fn from(n: &Name) -> Self {
        *n
    }
}

/// The empty name (a cluster-scoped key's namespace), interned once.
impl Default for Name {
    fn default() -> Self {
        static EMPTY: std::sync::LazyLock<Name> = std::sync::LazyLock::new(|| Name::new(""));
        *EMPTY
    }
}

impl Name {
    /// The interned string's address: equal names have equal addresses, so
    /// a lookup-only map may hash it without reading the string (hashing a
    /// name reads its interned header, which a walk over thousands of
    /// names misses in cache). It differs run to run: never order, walk or
    /// print anything by it.
    pub fn addr(self) -> usize {
        self.0.as_char_ptr() as usize
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for Name {
    // `pad`, not `write_str`: a width (`{:<22}`) pads it as it pads a str.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.0.as_str())
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self == other.0.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.0.as_str()
    }
}

impl ObjectKey {
    /// Whether `key` falls under this key taken as a prefix: the same
    /// namespace, and a name that starts with this name.
    pub fn contains(&self, key: &ObjectKey) -> bool {
        key.namespace == self.namespace && key.name.starts_with(self.name.as_str())
    }

    /// A key for a namespaced object. Names already interned are taken as
    /// they are (a `&Name` is copied, not looked up in the interner again:
    /// controllers make keys from their objects' names on every event).
    pub fn new(namespace: impl Into<Name>, name: impl Into<Name>) -> Self {
        ObjectKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// A key for the cluster-scoped object `name`, already interned.
    pub fn cluster_named(name: Name) -> Self {
        ObjectKey {
            namespace: Name::default(),
            name,
        }
    }

    /// A key for a cluster-scoped object (as [`ObjectKey::new`] takes
    /// names).
    pub fn cluster(name: impl Into<Name>) -> Self {
        ObjectKey {
            namespace: Name::default(),
            name: name.into(),
        }
    }
}

/// Namespace, then name, byte by byte — the derived order. Written out
/// because keys are compared more than anything else (every map of the
/// store, the informers and the controllers is keyed by them) and are
/// short, alike in their first bytes and mostly in one namespace: an
/// inline comparison beats a call to `memcmp` per field.
impl Ord for ObjectKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        ustr_cmp(self.namespace, other.namespace).then_with(|| ustr_cmp(self.name, other.name))
    }
}

/// Interned strings are equal when they are the same string in the
/// cache: two pointer compares.
impl PartialEq for ObjectKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.namespace == other.namespace
    }
}

/// From the strings' hashes, computed once when they were interned.
impl std::hash::Hash for ObjectKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.namespace.hash(state);
        self.name.hash(state);
    }
}

impl PartialOrd for ObjectKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The strings' order; the same string (one entry of the cache) at once.
#[inline]
fn ustr_cmp(a: Name, b: Name) -> std::cmp::Ordering {
    if a == b {
        std::cmp::Ordering::Equal
    } else {
        short_cmp(a.as_str().as_bytes(), b.as_str().as_bytes())
    }
}

/// Lexicographic byte order, eight bytes at a time (big-endian words
/// compare as their bytes do).
#[inline]
fn short_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_be_bytes(a[i..i + 8].try_into().expect("eight bytes"));
        let y = u64::from_be_bytes(b[i..i + 8].try_into().expect("eight bytes"));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

impl ObjectKey {
    /// Appends the key as it prints (`ns/name`, or `name`), without the
    /// formatting machinery: the watch fan-out builds a stream key from it
    /// for every event.
    pub fn push_to(&self, out: &mut String) {
        if !self.namespace.is_empty() {
            out.push_str(&self.namespace);
            out.push('/');
        }
        out.push_str(&self.name);
    }
}

impl fmt::Display for ObjectKey {
    /// `ns/name` like Kubernetes' cache keys; just `name` when cluster-scoped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// A kind plus key: one object anywhere in the cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Diff)]
pub struct ObjectRef {
    /// The object's kind.
    pub kind: Kind,
    /// Its namespace and name.
    pub key: ObjectKey,
}

impl ObjectRef {
    /// A reference to `kind` `key`.
    pub fn new(kind: Kind, key: ObjectKey) -> Self {
        ObjectRef { kind, key }
    }

    /// Parses `Kind/name` (namespace `default` for namespaced kinds) or
    /// `Kind/namespace/name`.
    pub fn parse(s: &str) -> Result<ObjectRef, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let kind_hint =
            "write `Kind/name` or `Kind/namespace/name`, e.g. `PersistentVolumeClaim/data`";
        let kind = Kind::parse(parts[0]).ok_or_else(|| {
            format!(
                "`{}` is not a kind storsim knows ({}); {kind_hint}",
                parts[0],
                Kind::ALL.map(|k| k.as_str()).join(", ")
            )
        })?;
        let key = match (parts.len(), kind.namespaced()) {
            (2, true) if !parts[1].is_empty() => ObjectKey::new("default", parts[1]),
            (2, false) if !parts[1].is_empty() => ObjectKey::cluster(parts[1]),
            (3, true) if !parts[1].is_empty() && !parts[2].is_empty() => {
                ObjectKey::new(parts[1], parts[2])
            }
            (3, false) => {
                return Err(format!("{kind} is cluster-scoped: write `{kind}/name`"));
            }
            _ => return Err(format!("`{s}` is not an object reference; {kind_hint}")),
        };
        Ok(ObjectRef { kind, key })
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind/name` in the default namespace, `Kind/ns/name` elsewhere.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.namespace.is_empty() || self.key.namespace == "default" {
            write!(f, "{}/{}", self.kind, self.key.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.key.namespace, self.key.name)
        }
    }
}

/// A reference from one object to its owner (garbage collection, StatefulSets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerReference {
    /// Owner kind.
    pub kind: Name,
    /// Owner name.
    pub name: Name,
    /// Owner UID.
    pub uid: Name,
    /// True for the managing controller.
    #[serde(default)]
    pub controller: bool,
}

/// The metadata every object carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// Object name.
    pub name: Name,
    /// Namespace; empty for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub namespace: Name,
    /// Deterministic UID derived from the object's identity.
    #[serde(default, skip_serializing_if = "Name::is_empty")]
    pub uid: Name,
    /// Store revision of the last write.
    #[serde(default)]
    pub resource_version: u64,
    /// When the object was created.
    #[serde(default)]
    pub creation_timestamp: SimTime,
    /// Set when deletion was requested and finalizers still hold the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<SimTime>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub annotations: Labels,
    /// Finalizers that hold the object after deletion is requested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<Name>,
    /// Owners.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
}

impl ObjectMeta {
    /// The store key of this object (a copy: its names are interned).
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            namespace: self.namespace,
            name: self.name,
        }
    }

    /// True if `key` is present among the annotations.
    pub fn has_annotation(&self, key: &str) -> bool {
        self.annotations.contains_key(key)
    }

    /// The value of annotation `key`, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get_str(key)
    }
}

/// Key/value and set-based label selectors (`matchLabels`, `matchExpressions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// All of these labels must be present with these values.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub match_labels: Labels,
    /// All of these expressions must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    /// Label key.
    pub key: String,
    /// In, NotIn, Exists or DoesNotExist.
    pub operator: SelectorOperator,
    /// Values for In and NotIn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Operators of label selectors and node selector requirements.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Diff)]
pub enum SelectorOperator {
    /// Label value is one of the values.
    In,
    /// Label absent or value not among the values.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
    /// Label value, as an integer, is greater (node selectors only).
    Gt,
    /// Label value, as an integer, is less (node selectors only).
    Lt,
}

impl SelectorOperator {
    /// Evaluates the requirement `key op values` against `labels`
    /// (k8s.io/apimachinery labels.Requirement.Matches).
    pub fn matches(self, labels: &Labels, key: &str, values: &[String]) -> bool {
        let v = labels.get_str(key);
        match self {
            SelectorOperator::In => v.is_some_and(|v| values.iter().any(|x| x == v)),
            SelectorOperator::NotIn => v.is_none_or(|v| values.iter().all(|x| x != v)),
            SelectorOperator::Exists => v.is_some(),
            SelectorOperator::DoesNotExist => v.is_none(),
            SelectorOperator::Gt | SelectorOperator::Lt => match (v, values.first()) {
                (Some(v), Some(bound)) => self.compares(v, bound),
                _ => false,
            },
        }
    }

    /// `Gt` / `Lt` on a label value and the requirement's bound, both
    /// integers (false otherwise, and for the other operators).
    pub fn compares(self, value: &str, bound: &str) -> bool {
        match (value.parse::<i64>(), bound.parse::<i64>()) {
            (Ok(v), Ok(b)) if self == SelectorOperator::Gt => v > b,
            (Ok(v), Ok(b)) if self == SelectorOperator::Lt => v < b,
            _ => false,
        }
    }
}

impl LabelSelector {
    /// True if `labels` satisfy every requirement. An empty selector matches all.
    pub fn matches(&self, labels: &Labels) -> bool {
        labels.contains_all(&self.match_labels)
            && self
                .match_expressions
                .iter()
                .all(|r| r.operator.matches(labels, &r.key, &r.values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A lookup finds a name only once it has been interned, and interns
    /// nothing itself.
    #[test]
    fn an_existing_name_is_found_and_a_new_one_not_made() {
        let s = "storsim-test-a-string-no-object-has";
        assert_eq!(Name::existing(s), None);
        assert_eq!(Name::existing(s), None, "the first lookup interned it");
        let made = Name::new(s);
        assert_eq!(Name::existing(s), Some(made));
        assert_eq!(Name::existing(s).map(Name::addr), Some(made.addr()));
    }

    /// What the reports print in columns pads to the column's width as a
    /// str does (a reason once printed unpadded and pushed a table's
    /// columns left).
    #[test]
    fn printed_values_take_a_width() {
        use crate::api::Quantity;
        use crate::backend::operations::Operation;
        use crate::cluster::log::Text;
        use crate::engine::SimTime;
        assert_eq!(format!("{:<12}|", Name::from("Reason")), "Reason      |");
        assert_eq!(format!("{:<12}|", Text::from("message")), "message     |");
        assert_eq!(format!("{:>6}|", Kind::Pod), "   Pod|");
        assert_eq!(format!("{:<10}|", SimTime(1500)), "T+1.500s  |");
        assert_eq!(
            format!("{:<6}|", Quantity::parse("10Gi").unwrap()),
            "10Gi  |"
        );
        let op = Operation::CreateVolume;
        assert_eq!(format!("{op:<14}|"), "CreateVolume  |");
    }

    proptest! {
        /// The written-out order and equality are those of (namespace,
        /// name) as strings, for names alike in long prefixes and of any
        /// length, however the names were interned.
        #[test]
        fn key_order_is_the_order_of_namespace_then_name(
            a in "(default|kube-system|)/[a-z0-9-]{0,24}",
            b in "(default|kube-system|)/[a-z0-9-]{0,24}",
        ) {
            let (sa, sb) = (
                a.split_once('/').expect("a slash"),
                b.split_once('/').expect("a slash"),
            );
            let (x, y) = (ObjectKey::new(sa.0, sa.1), ObjectKey::new(sb.0, sb.1));
            prop_assert_eq!(x.cmp(&y), sa.cmp(&sb));
            prop_assert_eq!(x == y, sa == sb);
            prop_assert_eq!(x.cmp(&ObjectKey::new(sa.0, sa.1)), std::cmp::Ordering::Equal);
            prop_assert_eq!(x.name.as_str(), sa.1);
            // Names alone order as their strings: maps keyed by them list
            // in the order they did when keyed by `String`s.
            prop_assert_eq!(x.name.cmp(&y.name), sa.1.cmp(sb.1));
        }
    }

    #[test]
    fn reusing_keeps_the_name_that_already_says_it() {
        let prev = Name::new("ContainersReady");
        assert_eq!(Name::reusing(Some(prev), "ContainersReady"), prev);
        assert_eq!(Name::reusing(Some(prev), "Ready"), Name::new("Ready"));
        assert_eq!(Name::reusing(None, "Ready"), Name::new("Ready"));
        assert!(Name::reusing(Some(prev), "").is_empty());
    }

    #[test]
    fn only_the_empty_string_is_an_empty_name() {
        let built = String::from_utf8(vec![]).expect("utf-8");
        assert!(Name::new(&built).is_empty());
        assert!(Name::default().is_empty());
        let parsed: Name = serde_json::from_str("\"\"").expect("a string");
        assert!(parsed.is_empty());
        assert!(!Name::new(" ").is_empty());
        assert!(!Name::new("node-1").is_empty());
    }

    #[test]
    fn a_kinds_index_is_its_place_in_all() {
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i, "{k:?}");
        }
    }

    #[test]
    fn interned_names_print_and_serialise_as_their_strings() {
        let k = ObjectKey::new("default", "data-web-0");
        assert_eq!(
            format!("{:?} {}", k.name, k.name),
            "\"data-web-0\" data-web-0"
        );
        assert_eq!(
            serde_json::to_string(&k).expect("json"),
            r#"{"namespace":"default","name":"data-web-0"}"#
        );
        assert_eq!(ObjectKey::cluster("pv-1").namespace, "");
    }

    #[test]
    fn keys_sharing_a_long_prefix_order_by_the_first_differing_byte() {
        let k = |n: &str| ObjectKey::new("default", n);
        assert!(k("data-fleet-123-data-fleet-123-4") < k("data-fleet-123-data-fleet-123-5"));
        assert!(k("data-fleet-123-data-fleet-123") < k("data-fleet-123-data-fleet-123-0"));
        assert!(k("web-10") < k("web-9"));
        assert!(ObjectKey::new("a", "z") < ObjectKey::new("b", "a"));
    }
}
