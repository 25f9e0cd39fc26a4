//! The scheduler cache's node usage (kube-scheduler keeps a `NodeInfo` per
//! node up to date from its informers and assumed pods): each pod's
//! contribution — requests, and the CSI volumes it brings to its node — is
//! recomputed when the pod, its claims or their volumes change, or when the
//! pod is assumed or forgotten, instead of summing every pod per cycle.
//! At every cycle it equals that sum over the informer cache.

use super::filters::{NodeUsage, pod_csi_volumes, pod_requests};
use super::scoring::non_zero_requests;
use crate::api::meta::Name;
use crate::api::{AnyObject, ObjectKey, Pod};
use crate::cluster::{ObjectSet, WatchEvent};
use std::collections::{BTreeMap, BTreeSet};

/// What one pod adds to its node.
struct Contribution {
    node: Name,
    requests: (i128, i128),
    non_zero: (i128, i128),
    volumes: Vec<String>,
}

/// Node usage kept current, with what is needed to know whom a change
/// concerns.
#[derive(Default)]
pub struct UsageCache {
    /// The usage: requests per node, CSI volumes per node (counted by how
    /// many pods there bring each, so one pod leaving keeps a shared one).
    pub usage: NodeUsage,
    contributions: BTreeMap<ObjectKey, Contribution>,
    claims: crate::controllers::claim_index::ClaimIndex,
}

impl UsageCache {
    /// Recomputes what pod `key` adds: on its node if bound, else where it is
    /// assumed; nothing once it has finished or is gone.
    pub fn refresh(
        &mut self,
        key: &ObjectKey,
        cache: &ObjectSet,
        assumed: &BTreeMap<ObjectKey, String>,
        driver: &str,
    ) {
        if let Some(old) = self.contributions.remove(key) {
            self.apply(&old, -1);
        }
        let Some(pod) = cache.get::<Pod>(key) else {
            return;
        };
        let node = if !pod.spec.node_name.is_empty() {
            Name::new(&pod.spec.node_name)
        } else if let Some(n) = assumed.get(key) {
            Name::new(n)
        } else {
            return;
        };
        if pod.is_terminal() {
            return;
        }
        let c = Contribution {
            node,
            requests: pod_requests(pod),
            non_zero: non_zero_requests(pod),
            volumes: pod_csi_volumes(pod, cache, driver),
        };
        self.apply(&c, 1);
        self.contributions.insert(key.clone(), c);
    }

    fn apply(&mut self, c: &Contribution, sign: i32) {
        let s = i128::from(sign);
        let entry = self.usage.nodes.entry(c.node).or_default();
        let r = &mut entry.requested;
        r.0 += s * c.requests.0;
        r.1 += s * c.requests.1;
        r.2 = r.2.wrapping_add_signed(sign);
        entry.non_zero.0 += s * c.non_zero.0;
        entry.non_zero.1 += s * c.non_zero.1;
        let volumes = &mut entry.csi_volumes;
        for v in &c.volumes {
            let n = volumes.entry(v.clone()).or_insert(0);
            *n = n.wrapping_add_signed(sign);
            if *n == 0 {
                volumes.remove(v);
            }
        }
    }

    /// A watched change: the pods it may concern are recomputed.
    pub fn on_watch(
        &mut self,
        ev: &WatchEvent,
        cache: &ObjectSet,
        assumed: &BTreeMap<ObjectKey, String>,
        driver: &str,
    ) {
        self.claims.observe(ev);
        let pods: BTreeSet<ObjectKey> = match ev.object.as_ref() {
            AnyObject::Pod(_) => [ev.key.clone()].into(),
            AnyObject::PersistentVolumeClaim(_) => self.claims.pods_of(&ev.key).cloned().collect(),
            AnyObject::PersistentVolume(_) => {
                self.claims.pods_of_volume(&ev.key.name).cloned().collect()
            }
            _ => BTreeSet::new(),
        };
        for p in pods {
            self.refresh(&p, cache, assumed, driver);
        }
    }
}
