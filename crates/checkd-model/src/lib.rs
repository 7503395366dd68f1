//! The check model: what a check *is* and what a run of it *produces*.
//!
//! This crate holds plain data and pure functions: the [`State`] with its explicit worst-state
//! order, [`Metric`]s with Checkmk levels, [`ServiceResult`]s and the [`RunRecord`] that the
//! store caches for every (check, environment), the [`combine`] logic that folds partial
//! results into one service, the resolved [`plan::Plan`] the config loader produces, and the
//! result logic: how a run's [`Outcome`] folds into the record ([`apply`]) and what a record
//! shows right now ([`serve`]).
//!
//! It deliberately does no IO, reads no clock (every time is an argument) and knows no YAML,
//! HTTP or Checkmk syntax: the config crate builds the plan, the datasource crate fetches and
//! evaluates, the scheduler times and keeps the runs, the checkmk crate renders.

mod combine;
mod metric;
mod outcome;
pub mod placement;
pub mod plan;
pub mod probe;
mod record;
mod schedule;
mod secret;
pub mod serve;
mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use combine::{combine, Combined, Partial};
pub use metric::{format_number, Levels, Metric};
pub use outcome::{apply, Outcome};
pub use record::{JobKey, RunRecord, ServiceResult, SoftFailure, Unavailable};
pub use secret::Secret;
pub use state::State;
