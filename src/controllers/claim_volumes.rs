//! Which volume each claim is bound to, as a controller's watch has shown
//! it, and the claims bound to each volume. With the informer cache's pods
//! by claim ([`ObjectSet::pods_using`]), these are the links the
//! attach/detach controller and the scheduler cache follow to find the pods
//! a change of a claim or a volume concerns, instead of scanning every pod.

use crate::api::{AnyObject, Name, ObjectKey};
use crate::cluster::{AddrMap, ChangeOp, ObjectSet, SmallSet, WatchEvent};

/// The links.
#[derive(Default)]
pub struct ClaimVolumes {
    /// Claim → the volume it is bound to, as last seen. (The maps are only
    /// looked up, never walked: hashed by the names' addresses; the sets
    /// are ordered.)
    claim_volume: AddrMap<ObjectKey, Name>,
    /// Volume → claims bound to it.
    volume_claims: AddrMap<Name, SmallSet<ObjectKey>>,
}

impl ClaimVolumes {
    /// Records a claim change; returns the volume the claim was bound to
    /// before (a change of volume concerns both). Other kinds change
    /// nothing here.
    pub fn observe(&mut self, ev: &WatchEvent) -> Option<Name> {
        let AnyObject::PersistentVolumeClaim(c) = &ev.object else {
            return None;
        };
        let old = self.claim_volume.remove(&ev.key);
        if let Some(o) = &old
            && let Some(set) = self.volume_claims.get_mut(o)
        {
            set.remove(&ev.key);
        }
        let new = &c.spec.volume_name;
        if ev.op != ChangeOp::Deleted && !new.is_empty() {
            self.claim_volume.insert(ev.key.clone(), *new);
            self.volume_claims
                .get_or_insert_with(*new, SmallSet::default)
                .insert(ev.key.clone());
        }
        old
    }

    /// The volume `claim` is bound to.
    pub fn volume_of(&self, claim: &ObjectKey) -> Option<&Name> {
        self.claim_volume.get(claim)
    }

    /// The pods in `cache` that use a claim bound to `volume`.
    pub fn pods_of_volume<'a>(
        &'a self,
        volume: &Name,
        cache: &'a ObjectSet,
    ) -> impl Iterator<Item = &'a ObjectKey> {
        self.volume_claims
            .get(volume)
            .into_iter()
            .flatten()
            .flat_map(|c| cache.pods_using(c))
    }
}
