//! Checkmk agent output: rendering it, and validating it.
//!
//! [`AgentOutput`] writes the text Checkmk reads from an agent: the `<<<check_mk>>>` header,
//! `<<<local:sep(0)>>>` sections with one local-check line per service, and piggyback blocks
//! (`<<<<host>>>>` … `<<<<>>>>`) for the environments' hosts. Whatever it is given, it never
//! writes a line Checkmk would misread, by construction: the line writers take only a
//! [`LocalLine`] or a [`WatchpostLine`], whose parts ([`ServiceName`], [`Summary`],
//! [`Details`], [`Metrics`]) sanitise their input when they are made (see [`LocalCheck`] for
//! the exact rules), and lines rendered ahead ([`LocalLines`], [`WatchpostLines`], which a
//! scrape reuses while a result is unchanged) can only be filled by those writers. On request
//! it also writes watchpost's
//! `<<<watchpost>>>` section (base64 JSON lines, see [`watchpost`]) for teams migrating from
//! watchpost. [`validate::validate_agent_output`] is the strict reader the rest of the project
//! tests its output and spool files with. The grammar both follow is
//! `shared/docs/checkmk-output.md`.
//!
//! This crate deliberately does no IO and decides nothing: it does not choose states, which
//! results to show, stand-ins for missing or stale results, or where the text goes. The check
//! model (`checkd-model`, its `serve` module) decides what a service shows; the scheduler and
//! the daemon decide when to render and deliver it over HTTP, to spool files or to stdout.

mod names;
mod parts;
mod render;
pub mod validate;
pub mod watchpost;

pub use names::{
    coerce_host_name, validate_host_name, validate_metric_name, validate_service_name,
    MAX_HOST_NAME_CHARS,
};
pub use parts::{Details, Metrics, ServiceName, Summary};
pub use render::{render_local_check, AgentOutput, Cached, LocalCheck, LocalLine, LocalLines};
pub use watchpost::{
    watchpost_json, watchpost_line, WatchpostLine, WatchpostLines, WatchpostService,
    WATCHPOST_HEADER,
};
