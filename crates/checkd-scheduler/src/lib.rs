//! The scheduler: runs every (check, environment) of the plan when it is due — every
//! `cache_for` with a per-job splay, or at its cron times — with a timeout per run and
//! concurrency bounded globally and per datasource, and keeps the latest record of each job
//! on the [`Board`] and in the store.
//!
//! Time comes from `tokio::time` through `checkd_clock`, so tests run with paused time.
//! It deliberately does not fetch (checkd-datasource does), render (checkd-checkmk) or
//! decide what a record looks like to Checkmk (`checkd_model::serve`).

mod board;
mod executor;
pub mod fleet;
mod grid;
mod loop_;
mod stats;
mod timetable;

pub use board::{Board, Slot};
pub use executor::{Executor, Runner};
pub use fleet::{Fleet, FleetView, Member};
pub use loop_::Scheduler;
pub use stats::{Stats, StatsSnapshot, RUN_DURATION_BUCKETS_S};
