//! One file per real component, named as Kubernetes names it. Controllers
//! never call each other: like the real ones they meet only in the store,
//! learn of changes through watches (delivered after the profile's
//! propagation delay) and act when their own timers fire.

pub mod pv_controller;
pub mod pv_protection;
pub mod pvc_protection;
pub mod settings;
pub mod workqueue;

pub use settings::ComponentSettings;

use crate::api::Kind;
use crate::cluster::{Store, WatchEvent};
use crate::engine::SimTime;

/// A control-plane component.
pub trait Controller {
    /// The component name Events carry as their source.
    fn name(&self) -> &'static str;
    /// Kinds whose changes this controller is told about.
    fn watches(&self) -> &'static [Kind];
    /// A watched change arrived (after the propagation delay). Usually this
    /// only queues work; the work runs in [`Controller::on_wake`].
    fn on_watch(&mut self, event: &WatchEvent, store: &Store, now: SimTime);
    /// The controller's wake time came: do the work that is due.
    fn on_wake(&mut self, store: &mut Store, now: SimTime);
    /// When the controller next wants to run, if at all. Nothing pending
    /// means no timer, so an idle cluster costs nothing.
    fn next_wake(&self) -> Option<SimTime>;
    /// Human lines about work still pending, for runs stopped by a bound.
    fn pending(&self, store: &Store) -> Vec<String>;
}

/// The controllers of a run, in a fixed order.
pub fn all(settings: &ComponentSettings) -> Vec<Box<dyn Controller>> {
    vec![
        Box::new(pv_controller::PvController::new(
            settings.pv_controller.clone(),
        )),
        Box::new(pvc_protection::PvcProtectionController::default()),
        Box::new(pv_protection::PvProtectionController::default()),
    ]
}
