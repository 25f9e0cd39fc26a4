//! Scenario files: the TOML schema, loading with located errors, the
//! validated model, and checking expectations against a run.

pub mod check;
pub mod diag;
pub mod generate;
pub mod load;
pub mod manifest;
pub mod model;
pub mod schema;

pub use check::{ExpectationResult, Outcome, RunView, check_all};
pub use diag::InputError;
pub use load::{LoadError, load_file, load_str};
pub use model::{
    Action, ActionKind, Check, Expectation, Occurrence, Scenario, Timing, Tracker, When,
};
