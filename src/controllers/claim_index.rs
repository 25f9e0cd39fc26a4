//! Who uses which claim, and which volume each claim is bound to, as a
//! controller's watch has shown them: the links the attach/detach
//! controller and the scheduler cache follow to find what a change of a
//! pod, a claim or a volume concerns, instead of scanning every object.

use crate::api::{AnyObject, Name, ObjectKey};
use crate::cluster::{AddrMap, ChangeOp, SmallSet, WatchEvent};

/// The links.
#[derive(Default)]
pub struct ClaimIndex {
    /// Claim → pods that use it. (The outer maps are only looked up, never
    /// walked: hashed by the names' addresses; the sets are ordered.)
    claim_pods: AddrMap<ObjectKey, SmallSet<ObjectKey>>,
    /// Claim → the volume it is bound to, as last seen.
    claim_volume: AddrMap<ObjectKey, Name>,
    /// Volume → claims bound to it.
    volume_claims: AddrMap<Name, SmallSet<ObjectKey>>,
}

impl ClaimIndex {
    /// Records a pod or claim change. For a claim, returns the volume it
    /// was bound to before (a change of volume concerns both).
    pub fn observe(&mut self, ev: &WatchEvent) -> Option<Name> {
        let gone = ev.op == ChangeOp::Deleted;
        match ev.object.as_ref() {
            AnyObject::Pod(p) => {
                for claim in p.claim_keys() {
                    if gone {
                        if let Some(users) = self.claim_pods.get_mut(&claim) {
                            users.remove(&ev.key);
                        }
                    } else {
                        self.claim_pods
                            .get_or_insert_with(claim, SmallSet::default)
                            .insert(ev.key.clone());
                    }
                }
                None
            }
            AnyObject::PersistentVolumeClaim(c) => {
                let old = self.claim_volume.remove(&ev.key);
                if let Some(o) = &old
                    && let Some(set) = self.volume_claims.get_mut(o)
                {
                    set.remove(&ev.key);
                }
                let new = &c.spec.volume_name;
                if !gone && !new.is_empty() {
                    self.claim_volume.insert(ev.key.clone(), *new);
                    self.volume_claims
                        .get_or_insert_with(*new, SmallSet::default)
                        .insert(ev.key.clone());
                }
                old
            }
            _ => None,
        }
    }

    /// The volume `claim` is bound to.
    pub fn volume_of(&self, claim: &ObjectKey) -> Option<&Name> {
        self.claim_volume.get(claim)
    }

    /// The pods that use `claim`.
    pub fn pods_of(&self, claim: &ObjectKey) -> impl Iterator<Item = &ObjectKey> {
        self.claim_pods.get(claim).into_iter().flatten()
    }

    /// The pods that use a claim bound to `volume`.
    pub fn pods_of_volume<'a>(&'a self, volume: &Name) -> impl Iterator<Item = &'a ObjectKey> {
        self.volume_claims
            .get(volume)
            .into_iter()
            .flatten()
            .flat_map(|c| self.pods_of(c))
    }
}
