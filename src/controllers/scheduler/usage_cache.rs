//! The scheduler cache's node usage (kube-scheduler keeps a `NodeInfo` per
//! node up to date from its informers and assumed pods): each pod's
//! contribution — requests, and the CSI volumes it brings to its node — is
//! recomputed when the pod, its claims or their volumes change, or when the
//! pod is assumed or forgotten, instead of summing every pod per cycle.
//! At every cycle it equals that sum over the informer cache.

use super::filters::{CsiVolumeId, NodeUsage, pod_csi_volumes, pod_requests};
use super::scoring::non_zero_requests;
use crate::api::meta::Name;
use crate::api::pod::PodSpec;
use crate::api::{AnyObject, ObjectKey, Pod};
use crate::cluster::{ChangeOp, ObjectSet, WatchEvent};
use std::collections::BTreeSet;
use std::sync::Arc;

/// What one pod adds to its node.
struct Contribution {
    node: Name,
    requests: (i128, i128),
    non_zero: (i128, i128),
    volumes: Vec<CsiVolumeId>,
    /// The spec it was computed from (held, so its address is not reused
    /// while it stands for this contribution).
    spec: Arc<PodSpec>,
}

impl PartialEq for Contribution {
    /// Alike when they add the same: the spec they came from aside.
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
            && self.requests == other.requests
            && self.non_zero == other.non_zero
            && self.volumes == other.volumes
    }
}

/// Node usage kept current, with what is needed to know whom a change
/// concerns.
#[derive(Default)]
pub struct UsageCache {
    /// The usage: requests per node, CSI volumes per node (counted by how
    /// many pods there bring each, so one pod leaving keeps a shared one).
    pub usage: NodeUsage,
    /// Only looked up by pod, never walked: hashed.
    contributions: crate::cluster::AddrMap<ObjectKey, Contribution>,
    claims: crate::controllers::claim_volumes::ClaimVolumes,
    /// Nodes whose usage changed since [`UsageCache::drain_touched`].
    touched: Vec<Name>,
}

impl UsageCache {
    /// Recomputes what pod `key` adds: on its node if bound, else where it is
    /// assumed; nothing once it has finished or is gone.
    pub fn refresh(
        &mut self,
        key: &ObjectKey,
        cache: &ObjectSet,
        assumed: &super::Assumed,
        driver: &str,
    ) {
        let new = self.contribution(key, cache, assumed, driver);
        // Most changes of a pod (its status) leave what it adds alone; the
        // contribution then stands for the new spec (and lets the old one
        // go: keeping it held a spec per pod, and the next status write
        // would not be recognised as one).
        match (self.contributions.get_mut(key), new.as_ref()) {
            (Some(old), Some(new)) if *old == *new => {
                old.spec = Arc::clone(&new.spec);
                return;
            }
            (None, None) => return,
            _ => {}
        }
        if let Some(old) = self.contributions.remove(key) {
            self.apply(&old, -1);
        }
        if let Some(c) = new {
            self.apply(&c, 1);
            self.contributions.insert(key.clone(), c);
        }
    }

    /// Debug builds: the kept usage equals the sum over the informer cache
    /// and the assumed pods, what it stands in for (a node whose pods all
    /// left may keep an empty entry).
    #[cfg(debug_assertions)]
    pub fn assert_current(&self, cache: &ObjectSet, assumed: &super::Assumed, driver: &str) {
        let mut fresh = UsageCache::default();
        for pod in cache.list::<Pod>() {
            let key = pod.metadata.key();
            if let Some(c) = fresh.contribution(&key, cache, assumed, driver) {
                fresh.apply(&c, 1);
            }
        }
        let empty = super::filters::NodeEntry::default();
        let names: BTreeSet<Name> = self.usage.names().chain(fresh.usage.names()).collect();
        for n in names {
            assert_eq!(
                self.usage.of(n).unwrap_or(&empty),
                fresh.usage.of(n).unwrap_or(&empty),
                "the scheduler's usage of node {n} drifted from its cache"
            );
        }
    }

    /// What pod `key` adds now, if anything.
    fn contribution(
        &self,
        key: &ObjectKey,
        cache: &ObjectSet,
        assumed: &super::Assumed,
        driver: &str,
    ) -> Option<Contribution> {
        let pod = cache.get::<Pod>(key)?;
        let node = if !pod.spec.node_name.is_empty() {
            pod.spec.node_name
        } else {
            *assumed.get(key)?
        };
        if pod.is_terminal() {
            return None;
        }
        Some(Contribution {
            node,
            requests: pod_requests(pod),
            non_zero: non_zero_requests(pod),
            volumes: pod_csi_volumes(pod, cache, driver),
            spec: Arc::clone(&pod.spec),
        })
    }

    /// The nodes whose usage changed since the last call (perhaps
    /// repeated).
    pub fn drain_touched(&mut self) -> impl Iterator<Item = Name> + '_ {
        self.touched.drain(..)
    }

    fn apply(&mut self, c: &Contribution, sign: i32) {
        self.touched.push(c.node);
        let s = i128::from(sign);
        let entry = self.usage.entry(c.node);
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
        assumed: &super::Assumed,
        driver: &str,
    ) {
        self.claims.observe(ev);
        let pods: BTreeSet<ObjectKey> = match &ev.object {
            // A bound pod changed (not deleted) with the same spec, still
            // running, adds what it added: its node and requests are in the
            // spec, and its claims' changes come as their own events. Most
            // pod events are status writes of that kind.
            AnyObject::Pod(p)
                if ev.op == ChangeOp::Modified
                    && !p.spec.node_name.is_empty()
                    && !p.is_terminal()
                    && self
                        .contributions
                        .get(&ev.key)
                        .is_some_and(|c| Arc::ptr_eq(&c.spec, &p.spec)) =>
            {
                BTreeSet::new()
            }
            AnyObject::Pod(_) => [ev.key.clone()].into(),
            AnyObject::PersistentVolumeClaim(_) => cache.pods_using(&ev.key).cloned().collect(),
            AnyObject::PersistentVolume(_) => (self.claims.pods_of_volume(&ev.key.name, cache))
                .cloned()
                .collect(),
            _ => BTreeSet::new(),
        };
        for p in pods {
            self.refresh(&p, cache, assumed, driver);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: &str, phase: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": "p", "namespace": "default" },
            "spec": {
                "nodeName": node,
                "containers": [{
                    "name": "c",
                    "image": "app:1",
                    "resources": { "requests": { "cpu": "500m" } },
                }],
            },
            "status": { "phase": phase },
        }))
        .expect("a pod")
    }

    fn event(cache: &mut ObjectSet, pod: Pod, op: ChangeOp) -> WatchEvent {
        let key = pod.metadata.key();
        let object = AnyObject::from(pod);
        cache.put_keyed(&key, object.clone());
        WatchEvent {
            kind: crate::api::Kind::Pod,
            key,
            op,
            object,
            resource_version: 1,
            number: None,
        }
    }

    /// A status write with an equal spec leaves the usage as it is and the
    /// contribution standing for the pod's current spec (not the one it
    /// was first computed from); a new node moves the usage.
    #[test]
    fn a_status_write_keeps_the_usage_and_follows_the_spec() {
        let (mut cache, mut usage) = (ObjectSet::default(), UsageCache::default());
        let assumed = super::super::Assumed::default();
        let key = ObjectKey::new("default", "p");
        let ev = event(&mut cache, pod("n1", "Pending"), ChangeOp::Added);
        usage.on_watch(&ev, &cache, &assumed, "d");
        let n1 = Name::new("n1");
        assert_eq!(usage.usage.of(n1).map(|e| e.requested.0), Some(500));
        // Same content, a new spec allocation, a new status.
        let ev = event(&mut cache, pod("n1", "Running"), ChangeOp::Modified);
        usage.on_watch(&ev, &cache, &assumed, "d");
        let AnyObject::Pod(now) = &ev.object else {
            unreachable!()
        };
        assert!(Arc::ptr_eq(&usage.contributions[&key].spec, &now.spec));
        assert_eq!(usage.usage.of(n1).map(|e| e.requested), Some((500, 0, 1)));
        // Moved (a new spec): counted on the new node only.
        let ev = event(&mut cache, pod("n2", "Running"), ChangeOp::Modified);
        usage.on_watch(&ev, &cache, &assumed, "d");
        assert_eq!(usage.usage.of(n1).map(|e| e.requested), Some((0, 0, 0)));
        let n2 = Name::new("n2");
        assert_eq!(usage.usage.of(n2).map(|e| e.requested), Some((500, 0, 1)));
    }
}
