//! Generating the load a model is measured under, used by `run`, `sweep` and `profile` alike:
//! the virtual boards of a run, the `esbench serve` child and its settings, the Scratch clients (threads or event loops)
//! and their HTTP, absolute-deadline pacing, `/poll` parsing, the route-to-command table,
//! the meter of the driver's own CPU, and the plain-timer floor probe (run by the driver and,
//! beside the model on the device, by the remote agent).
//!
//! It sits below both `driver/` (which orchestrates measured runs) and `profile/` (which
//! needs a model under load to sample), so neither keeps its own copy of the load side.

pub(crate) mod boards;
pub(crate) mod bridge_template;
pub(crate) mod cgroup;
pub(crate) mod child;
pub(crate) mod child_settings;
pub mod client;
pub mod client_events;
pub(crate) mod client_threads;
pub(crate) mod conform;
pub(crate) mod external;
pub(crate) mod floor;
pub(crate) mod health;
pub mod http;
pub mod pace;
pub mod pollbody;
pub(crate) mod routes;
