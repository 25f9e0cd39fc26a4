//! The endpoints of headless services, as cluster DNS sees them: a pod
//! with a hostname and subdomain (a StatefulSet pod under its governing
//! service) gets `<hostname>.<subdomain>.<namespace>.svc.cluster.local` while
//! it is Ready, and loses it when it is not (publishNotReadyAddresses off).

use super::{Controller, Ctx};
use crate::api::{AnyObject, Kind, ObjectKey, Pod};
use crate::cluster::{AddrMap, ChangeOp, Store, WatchEvent};
use crate::engine::SimTime;

/// Event source.
pub const SOURCE: &str = "endpoint-controller";

/// The controller.
#[derive(Default)]
pub struct Endpoints {
    /// Pods whose DNS record is published: only asked about, so hashed
    /// (by the names' addresses).
    published: AddrMap<ObjectKey, ()>,
}

/// Whether the pod has a DNS name (a hostname and a subdomain).
fn has_dns_name(pod: &Pod) -> bool {
    !pod.spec.hostname.is_empty() && !pod.spec.subdomain.is_empty()
}

/// The DNS name of a pod with a hostname and subdomain.
pub fn dns_name(pod: &Pod) -> Option<String> {
    has_dns_name(pod).then(|| {
        format!(
            "{}.{}.{}.svc.cluster.local",
            pod.spec.hostname, pod.spec.subdomain, pod.metadata.namespace
        )
    })
}

impl Controller for Endpoints {
    fn name(&self) -> &'static str {
        SOURCE
    }

    fn process(&self) -> &'static str {
        super::CONTROLLER_MANAGER
    }

    fn watches(&self) -> &'static [Kind] {
        &[Kind::Pod]
    }

    fn on_watch(&mut self, ev: &WatchEvent, cx: &mut Ctx<'_>) {
        let AnyObject::Pod(pod) = &ev.object else {
            return;
        };
        if !has_dns_name(pod) {
            return;
        }
        // The name is written out only when the record changes, not on
        // every status update of every pod.
        let ready = ev.op != ChangeOp::Deleted && pod.healthy();
        let changed = if ready {
            self.published.insert(ev.key.clone(), ()).is_none()
        } else {
            self.published.remove(&ev.key).is_some()
        };
        if changed && let Some(name) = dns_name(pod) {
            cx.store.record_dns(name, ready);
        }
    }

    fn on_wake(&mut self, _cx: &mut Ctx<'_>) {}

    fn next_wake(&self) -> Option<SimTime> {
        None
    }

    fn pending(&self, _store: &Store) -> Vec<String> {
        Vec::new()
    }
}
