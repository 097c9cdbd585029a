//! Remote mode: the bridge measured on the device it will run on, driven from another
//! machine (see docs/remote.md).
//!
//! `agent` is the device side (`esbench agent`), `client` the driver's end of the control
//! connection, `wire` the line-delimited JSON both speak, `access` the token and the
//! allow-list, `gate` the limits on connections that have not shown the token yet,
//! `clock_sync` the join of the two monotonic clocks with its error bar, `test_hooks` the
//! agent's test-only hooks (only with the `test-hooks` feature).

pub mod access;
pub mod agent;
pub mod client;
pub mod clock_sync;
pub mod gate;
pub mod test_hooks;
pub mod wire;

pub use client::{AgentLink, Target};
