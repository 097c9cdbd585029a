//! The esp4s-compatible bridge, written once and runtime-agnostic.
//!
//! Everything a model must not change lives here: the per-board state and frame processing
//! (`board`, `processing`), the HTTP codec and connection state machine (`http`, `conn`),
//! the Scratch/Snap! routes (`routes`), the watchdog schedule (`watchdog`), serial opening
//! (`serial`) and the reconnect policy (`reconnect`), the accept-error policy (`accept`),
//! the runtime adapters that differ only in their types (`adapters`),
//! the loops every model runs — generic over an async runtime's waits (`async_tasks`,
//! `conn_loop`) or with blocking syscalls (`blocking`, `fd_wait`) — sockets (`net`) and the open connections (`open_conns`), the
//! serve start-up (`launch`), the shutdown signal (`shutdown`) and the self-statistics
//! (`stats`). A model (see `crate::models`) only decides how to wait on the serial fd, the
//! sockets and the timers. Nothing in here imports a runtime.

pub(crate) mod accept;
pub(crate) mod adapters;
pub(crate) mod async_tasks;
pub(crate) mod blocking;
pub(crate) mod board;
pub(crate) mod config;
pub mod conn;
pub(crate) mod conn_loop;
pub(crate) mod fd_wait;
pub mod http;
pub(crate) mod inject;
pub(crate) mod launch;
pub(crate) mod net;
pub(crate) mod open_conns;
pub(crate) mod processing;
pub(crate) mod reconnect;
pub mod routes;
pub(crate) mod serial;
pub(crate) mod shutdown;
pub(crate) mod stats;
pub(crate) mod watchdog;

pub(crate) use board::BoardState;
pub(crate) use config::BridgeConfig;
pub use conn::{Connection, Handler};
pub(crate) use shutdown::Shutdown;
pub use stats::{BoardStats, ServeStats};
