//! Remote mode: the bridge measured on the device it will run on, driven from another
//! machine (see docs/remote.md).
//!
//! `agent` is the device side (`esbench agent`), `client` the driver's end of the control
//! connection, `wire` the line-delimited JSON both speak, `access` the token and the
//! allow-list, `gate` the limits on connections that have not shown the token yet,
//! `clock_sync` the join of the two monotonic clocks with its error bar, `test_hooks` the
//! agent's test-only hooks (only with the `test-hooks` feature).

pub(crate) mod access;
pub(crate) mod agent;
pub(crate) mod client;
pub(crate) mod clock_sync;
pub(crate) mod gate;
pub(crate) mod test_hooks;
pub(crate) mod wire;

pub use client::{AgentLink, Target};
