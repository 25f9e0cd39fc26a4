//! The scheduler cache's node usage (kube-scheduler keeps a `NodeInfo` per
//! node up to date from its informers and assumed pods): each pod's
//! contribution — requests, and the CSI volumes it brings to its node — is
//! recomputed when the pod, its claims or their volumes change, or when the
//! pod is assumed or forgotten, instead of summing every pod per cycle.
//! At every cycle it equals that sum over the informer cache.

use super::filters::{NodeUsage, pod_csi_volumes, pod_requests};
use super::scoring::non_zero_requests;
use crate::api::{AnyObject, ObjectKey, Pod};
use crate::cluster::{ChangeOp, ObjectSet, WatchEvent};
use std::collections::{BTreeMap, BTreeSet};

/// What one pod adds to its node.
struct Contribution {
    node: String,
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
    claim_pods: BTreeMap<ObjectKey, BTreeSet<ObjectKey>>,
    claim_volume: BTreeMap<ObjectKey, String>,
    volume_claims: BTreeMap<String, BTreeSet<ObjectKey>>,
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
            pod.spec.node_name.clone()
        } else if let Some(n) = assumed.get(key) {
            n.clone()
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
        let e = self
            .usage
            .requested
            .entry(c.node.clone())
            .or_insert((0, 0, 0));
        e.0 += s * c.requests.0;
        e.1 += s * c.requests.1;
        e.2 = e.2.wrapping_add_signed(sign);
        let e = self.usage.non_zero.entry(c.node.clone()).or_insert((0, 0));
        e.0 += s * c.non_zero.0;
        e.1 += s * c.non_zero.1;
        let volumes = self.usage.csi_volumes.entry(c.node.clone()).or_default();
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
        let gone = ev.op == ChangeOp::Deleted;
        let pods: BTreeSet<ObjectKey> = match ev.object.as_ref() {
            AnyObject::Pod(p) => {
                for c in p.claim_names() {
                    let claim = ObjectKey::new(&p.metadata.namespace, c);
                    let users = self.claim_pods.entry(claim).or_default();
                    if gone {
                        users.remove(&ev.key);
                    } else {
                        users.insert(ev.key.clone());
                    }
                }
                [ev.key.clone()].into()
            }
            AnyObject::PersistentVolumeClaim(c) => {
                if let Some(old) = self.claim_volume.remove(&ev.key)
                    && let Some(set) = self.volume_claims.get_mut(&old)
                {
                    set.remove(&ev.key);
                }
                if !gone && !c.spec.volume_name.is_empty() {
                    self.claim_volume
                        .insert(ev.key.clone(), c.spec.volume_name.clone());
                    self.volume_claims
                        .entry(c.spec.volume_name.clone())
                        .or_default()
                        .insert(ev.key.clone());
                }
                self.claim_pods.get(&ev.key).cloned().unwrap_or_default()
            }
            AnyObject::PersistentVolume(_) => self
                .volume_claims
                .get(&ev.key.name)
                .into_iter()
                .flatten()
                .filter_map(|c| self.claim_pods.get(c))
                .flatten()
                .cloned()
                .collect(),
            _ => BTreeSet::new(),
        };
        for p in pods {
            self.refresh(&p, cache, assumed, driver);
        }
    }
}
