//! The concurrency models: one file per model, each holding only what differs — how it
//! waits on the serial fd, the sockets and the timers, and how it shuts down. The bridge
//! itself (`crate::bridge`) is shared and identical under every model.
//!
//! Adding a model is one file plus one line in [`ALL`] (and, for a model that demonstrates a
//! mistake, one in [`TEACHING`]): write
//! `pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats>` that takes
//! `let stats = ctx.stats_handle()`, serves every [`BoardEndpoint`] until `ctx.shutdown`
//! fires, releases every socket and fd, and returns `stats.collect(json!({...}))` with its
//! own runtime facts. Per endpoint it must:
//! - read `serial` (already open, raw, non-blocking) and pass the bytes to
//!   `board.ingest`; on [`crate::bridge::serial::ReadOutcome::Gone`] call `board.serial_lost`,
//!   then retry `bridge::serial::open_serial(&serial_path)` after
//!   `bridge::serial::Backoff::next_delay()` (runtime timer, no blocking) and on success call
//!   `board.note_reconnect()` and `board.serial_opened(&file)`;
//! - run the watchdog: sleep until `board.watchdog_sleep()` has passed, call
//!   `board.watchdog_tick()`, repeat;
//! - accept on `listener` (bound, blocking mode: switch it to the runtime's kind) and per
//!   connection feed bytes to a `bridge::Connection` with the board as handler, write its
//!   output, close when `should_close()` and the output is flushed or the peer hung up.
//!
//! Shared helper modules (not models): `blocking_io` (threads, rayon, esp4s-threads),
//! `tokio_family` (tokio, tokio-current) and `async_io_family` (smol, async-std).
//!
//! The *teaching* group ([`TEACHING`]) holds models written wrong on purpose, to show a
//! mistake by measurement (the original esp4s's polling loop). They are in the registry, so
//! `--models` and `run.models` select them and every conformance test covers them, but they
//! stay out of the default run ([`default_run`]): each one costs a core for its whole window.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use crate::bridge::{Board, ServeStats, Shutdown};

mod async_io_family;
#[cfg(feature = "async-std-model")]
pub mod async_std;
mod blocking_io;
pub mod coop;
pub mod coop_fastio;
pub mod coop_spin;
pub mod coop_v2;
pub mod esp4s_threads;
pub mod launch;
pub mod rayon;
pub mod smol;
pub mod threads;
pub mod tokio;
pub mod tokio_current;
mod tokio_family;

pub use launch::{start, RunningServe, ServeConfig};

/// One concurrency model, as listed by `esbench models`.
#[derive(Clone, Copy)]
pub struct ModelInfo {
    /// CLI/results name; also the module file name with `-` as `_`.
    pub name: &'static str,
    /// One line for `esbench models` and the report.
    pub description: &'static str,
    /// Serves until `ctx.shutdown` fires, then returns the statistics.
    pub run: fn(ServeContext) -> anyhow::Result<ServeStats>,
}

impl std::fmt::Debug for ModelInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelInfo")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish()
    }
}

/// Every model this build has, in the order reports list them.
pub static ALL: &[ModelInfo] = &[
    threads::INFO,
    tokio::INFO,
    tokio_current::INFO,
    #[cfg(feature = "async-std-model")]
    async_std::INFO,
    smol::INFO,
    coop::INFO,
    coop_v2::INFO,
    coop_fastio::INFO,
    rayon::INFO,
    esp4s_threads::INFO,
    coop_spin::INFO,
];

/// A model that is in the registry to demonstrate a mistake, with what it demonstrates.
#[derive(Clone, Copy, Debug)]
pub struct Teaching {
    /// Its name in [`ALL`].
    pub name: &'static str,
    /// One line for `esbench models`: why it is here and why it is not in the default run.
    pub reason: &'static str,
}

/// The teaching group: in [`ALL`], never in [`default_run`].
pub static TEACHING: &[Teaching] = &[esp4s_threads::TEACHING, coop_spin::TEACHING];

/// What `name` teaches, when it is a teaching model.
pub fn teaching(name: &str) -> Option<&'static Teaching> {
    TEACHING.iter().find(|t| t.name == name)
}

/// The models a run measures when none are named: every model of [`ALL`] outside the
/// teaching group, in registry order.
pub fn default_run() -> Vec<&'static ModelInfo> {
    ALL.iter().filter(|m| teaching(m.name).is_none()).collect()
}

/// The model called `name`.
pub fn find(name: &str) -> Option<&'static ModelInfo> {
    ALL.iter().find(|m| m.name == name)
}

/// All model names, comma-separated (for error messages).
pub fn names() -> String {
    ALL.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// Everything a model needs to serve: one endpoint per board and the shutdown signal.
pub struct ServeContext {
    /// The model's name (goes into [`ServeStats::model`]).
    pub model: &'static str,
    pub boards: Vec<BoardEndpoint>,
    /// Fires on SIGTERM/SIGINT (`esbench serve`) or [`RunningServe::stop`].
    pub shutdown: Shutdown,
}

/// One board: its shared state, its serial device and its listening socket.
pub struct BoardEndpoint {
    pub board: Arc<Board>,
    /// Where to reopen the device after it vanished.
    pub serial_path: PathBuf,
    /// The device, already opened by `bridge::serial::open_serial` (non-blocking, raw) and
    /// announced to the board with `serial_opened`.
    pub serial: File,
    /// Bound and listening (blocking mode).
    pub listener: TcpListener,
}

impl ServeContext {
    /// A handle for collecting the statistics after the endpoints were moved into tasks.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            model: self.model,
            boards: self.boards.iter().map(|e| e.board.clone()).collect(),
        }
    }
}

/// Collects [`ServeStats`] at the end of a run.
#[derive(Clone)]
pub struct StatsHandle {
    model: &'static str,
    boards: Vec<Arc<Board>>,
}

impl StatsHandle {
    /// The statistics of every board, plus the model's free-form `runtime` extras (by
    /// convention an object; `threads_before_shutdown` from [`process_threads`]).
    pub fn collect(&self, runtime: serde_json::Value) -> ServeStats {
        ServeStats {
            model: self.model.to_string(),
            boards: self.boards.iter().map(|b| b.stats()).collect(),
            runtime: Some(runtime),
        }
    }
}

/// Threads in this process right now (in-process callers count their own threads too).
pub fn process_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teaching_models_are_registered_and_kept_out_of_the_default_run() {
        assert!(!TEACHING.is_empty());
        let default: Vec<&str> = default_run().iter().map(|m| m.name).collect();
        for t in TEACHING {
            assert!(find(t.name).is_some(), "{} is not in ALL", t.name);
            assert!(
                !default.contains(&t.name),
                "{} is in the default run",
                t.name
            );
            assert!(!t.reason.is_empty());
        }
        assert_eq!(default.len() + TEACHING.len(), ALL.len());
        let mut names: Vec<&str> = ALL.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "model names must be unique");
    }
}
