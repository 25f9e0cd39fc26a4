//! What the cloud bills each month for the disks that exist when a run
//! ends, and how much of it pays for orphaned claims: bound claims no pod
//! mounts (kept after a StatefulSet scale-down, say) and released volumes.

use super::pricing::Pricing;
use crate::api::persistent_volume::VolumePhase;
use crate::api::{ObjectKey, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass};
use crate::cluster::{AddrMap, Store};
use std::collections::BTreeMap;

/// Why a volume is paid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// A pod uses its claim.
    InUse,
    /// Bound to a claim no pod uses.
    Orphaned,
    /// No claim any more (Released, Available or Failed).
    Unclaimed,
}

impl Use {
    /// As the report prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Use::InUse => "in use",
            Use::Orphaned => "orphaned",
            Use::Unclaimed => "unclaimed",
        }
    }
}

/// One disk's monthly cost.
#[derive(Clone, Debug)]
pub struct VolumeBill {
    /// The PV.
    pub pv: String,
    /// Its claim, `namespace/name`, if bound.
    pub claim: String,
    /// The volume type priced.
    pub volume_type: String,
    /// Capacity in GiB.
    pub gib: f64,
    /// Per month; `None` when the type has no price.
    pub monthly: Option<f64>,
    /// Why it is paid for.
    pub usage: Use,
}

/// The month's bill.
#[derive(Clone, Debug)]
pub struct Bill {
    /// Where the prices come from.
    pub source: String,
    /// Every disk of the profile's driver, by PV name.
    pub volumes: Vec<VolumeBill>,
}

impl Bill {
    /// What the disks that exist at the end cost per month.
    pub fn of(store: &Store, pricing: &Pricing, driver: &str) -> Bill {
        let mut volumes = Vec::new();
        let in_use = claims_in_use(store);
        let no_parameters = BTreeMap::new();
        for pv in store.list::<PersistentVolume>() {
            if pv.spec.csi.as_ref().is_none_or(|c| c.driver != driver) {
                continue;
            }
            let gib = pv
                .spec
                .capacity
                .get("storage")
                .map_or(0.0, |q| q.value() as f64 / (1u64 << 30) as f64);
            let parameters = store
                .get::<StorageClass>(&ObjectKey::cluster(&pv.spec.storage_class_name))
                .map_or(&no_parameters, |c| &c.parameters);
            let volume_type = parameters
                .get("type")
                .cloned()
                .unwrap_or_else(|| pricing.default_type.clone());
            let claim = pv
                .spec
                .claim_ref
                .as_ref()
                .filter(|_| pv.status.phase == VolumePhase::Bound)
                .map(|c| ObjectKey {
                    namespace: c.namespace,
                    name: c.name,
                });
            let usage = match &claim {
                None => Use::Unclaimed,
                Some(k) if in_use.contains_key(k) => Use::InUse,
                Some(k) if store.get::<PersistentVolumeClaim>(k).is_some() => Use::Orphaned,
                Some(_) => Use::Unclaimed,
            };
            volumes.push(VolumeBill {
                pv: pv.metadata.name.to_string(),
                claim: claim.map(|k| k.to_string()).unwrap_or_default(),
                volume_type,
                gib,
                monthly: pricing.volume_monthly(parameters, gib),
                usage,
            });
        }
        Bill {
            source: pricing.source.clone(),
            volumes,
        }
    }

    /// Per month, every disk.
    pub fn total(&self) -> f64 {
        // A fold from +0.0: an empty f64 sum is -0.0, which prints "$-0.00".
        self.volumes
            .iter()
            .filter_map(|v| v.monthly)
            .fold(0.0, |a, b| a + b)
    }

    /// Per month, disks bound to claims no pod uses.
    pub fn orphaned(&self) -> f64 {
        self.volumes
            .iter()
            .filter(|v| v.usage == Use::Orphaned)
            .filter_map(|v| v.monthly)
            .fold(0.0, |a, b| a + b)
    }

    /// How many claims no pod uses.
    pub fn orphaned_claims(&self) -> usize {
        self.volumes
            .iter()
            .filter(|v| v.usage == Use::Orphaned)
            .count()
    }
}

/// The claims pods that are not finished use (one pass over the pods, not
/// one per disk), only looked up: hashed by the names' addresses.
fn claims_in_use(store: &Store) -> AddrMap<ObjectKey, ()> {
    let mut in_use = AddrMap::default();
    for claim in (store.list::<Pod>())
        .filter(|p| !p.is_terminal())
        .flat_map(|p| p.claim_keys())
    {
        in_use.insert(claim, ());
    }
    in_use
}
