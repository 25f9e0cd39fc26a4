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
use crate::backend::{CallId, Profile, Reply, Request};
use crate::cluster::{Store, WatchEvent};
use crate::engine::{SimDuration, SimTime};

/// What a controller's handler can reach: the clock, the API server, the
/// backend profile (driver, sidecar timers) and the CSI driver / cloud, which
/// it calls asynchronously.
pub struct Ctx<'a> {
    /// Now.
    pub now: SimTime,
    /// The API server.
    pub store: &'a mut Store,
    /// The backend profile in force.
    pub profile: &'a Profile,
    calls: Vec<(CallId, Request, Option<SimDuration>)>,
    next_call: &'a mut CallId,
}

impl<'a> Ctx<'a> {
    /// A context at `now`; `next_call` numbers the calls it makes.
    pub fn new(
        now: SimTime,
        store: &'a mut Store,
        profile: &'a Profile,
        next_call: &'a mut CallId,
    ) -> Self {
        Ctx {
            now,
            store,
            profile,
            calls: Vec::new(),
            next_call,
        }
    }

    /// Calls the driver or the cloud. The reply comes later through
    /// [`Controller::on_reply`], or as DeadlineExceeded after `timeout`.
    pub fn call(&mut self, request: Request, timeout: Option<SimDuration>) -> CallId {
        let id = *self.next_call;
        *self.next_call += 1;
        self.calls.push((id, request, timeout));
        id
    }

    /// The calls made during this handler, for the simulation to run.
    pub fn take_calls(&mut self) -> Vec<(CallId, Request, Option<SimDuration>)> {
        std::mem::take(&mut self.calls)
    }
}

/// A control-plane component.
pub trait Controller {
    /// The component name Events carry as their source.
    fn name(&self) -> &'static str;
    /// Kinds whose changes this controller is told about.
    fn watches(&self) -> &'static [Kind];
    /// A watched change arrived (after the propagation delay). Usually this
    /// only queues work; the work runs in [`Controller::on_wake`].
    fn on_watch(&mut self, event: &WatchEvent, cx: &mut Ctx<'_>);
    /// The controller's wake time came: do the work that is due.
    fn on_wake(&mut self, cx: &mut Ctx<'_>);
    /// A call this controller made has returned.
    fn on_reply(&mut self, reply: &Reply, cx: &mut Ctx<'_>) {
        let _ = (reply, cx);
    }
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
