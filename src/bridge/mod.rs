//! The esp4s-compatible bridge, written once and runtime-agnostic.
//!
//! Everything a model must not change lives here: the per-board state and frame processing
//! (`board`, `processing`), the HTTP codec and connection state machine (`http`, `conn`),
//! the Scratch/Snap! routes (`routes`), the watchdog schedule (`watchdog`), serial opening
//! and reconnect policy (`serial`), sockets (`net`), the shutdown signal (`shutdown`) and
//! the self-statistics (`stats`). A model (see `crate::models`) only decides how to wait on
//! the serial fd, the sockets and the timers. Nothing in here imports a runtime.

pub mod board;
pub mod config;
pub mod conn;
pub mod http;
pub mod inject;
pub mod net;
pub mod processing;
pub mod routes;
pub mod serial;
pub mod shutdown;
pub mod stats;
pub mod watchdog;

pub use board::Board;
pub use config::BridgeConfig;
pub use conn::{Connection, Handler};
pub use shutdown::Shutdown;
pub use stats::{BoardStats, ServeStats};
