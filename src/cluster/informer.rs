//! A controller's informer cache: the objects it watches, as of the watch
//! events it has received. Controllers decide from this view — which lags the
//! API server by the watch delay, as a real informer's does — and write
//! through the API server.

use super::objects::ObjectSet;
use super::store::WatchEvent;
use crate::cluster::ChangeOp;
use std::ops::Deref;

/// The cache.
#[derive(Default, Clone)]
pub struct Informer {
    objects: ObjectSet,
}

impl Informer {
    /// An empty cache; `indexed` keeps the indexes of [`ObjectSet::indexed`]
    /// for a controller that asks the questions they answer.
    pub fn new(indexed: bool) -> Self {
        Informer {
            objects: if indexed {
                ObjectSet::indexed()
            } else {
                ObjectSet::default()
            },
        }
    }

    /// Applies a delivered watch event.
    pub fn apply(&mut self, ev: &WatchEvent) {
        match ev.op {
            ChangeOp::Deleted => self.objects.remove(ev.kind, &ev.key),
            _ => self.objects.put_keyed(&ev.key, ev.object.clone()),
        }
    }

    /// Puts the result of the controller's own write into its cache, as
    /// controllers that keep their own cache do (the PV controller's
    /// `storeClaimUpdate` / `storeVolumeUpdate`).
    pub fn own_write(&mut self, obj: std::sync::Arc<crate::api::AnyObject>) {
        self.objects.put_shared(obj);
    }
}

impl Informer {
    /// Drops an object the controller itself removed.
    pub fn forget(&mut self, kind: crate::api::Kind, key: &crate::api::ObjectKey) {
        self.objects.remove(kind, key);
    }
}

impl Deref for Informer {
    type Target = ObjectSet;
    fn deref(&self) -> &ObjectSet {
        &self.objects
    }
}
