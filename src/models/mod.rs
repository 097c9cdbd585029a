//! The concurrency models: one file per model, each holding only what differs — how it
//! spawns, how it waits on the serial fd, the sockets and the timers, and how it shuts
//! down. The bridge itself (`crate::bridge`) is shared and identical under every model,
//! including its loops: the serial reader with its reconnect policy, the watchdog, the
//! accept loop with its one error policy, and the connection loop with its lingering close
//! (`bridge::async_tasks` and `bridge::conn_loop` for async runtimes, `bridge::blocking`
//! for threads).
//!
//! Adding a model is one file plus one line in [`ALL`] (and, for a model that demonstrates a
//! mistake, one in [`TEACHING`]): write
//! `pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats>` that takes
//! `let stats = ctx.stats_handle()`, serves every `BoardEndpoint` until `ctx.shutdown`
//! fires, releases every socket and fd, and returns its statistics with its own runtime
//! facts. An async model implements `bridge::async_tasks::AsyncSerial` for its serial fd and
//! gets `AsyncAccept` and `ConnSocket` for its sockets from the `bridge::adapters` macros;
//! it spawns each board's tasks (`BoardEndpoint::into_tasks`) and `accept_task`, a
//! `serve_connection` per accepted socket, with its own timer, and ends with
//! `stats.finish(..)`. A thread model uses `bridge::blocking::Threads` and ends with
//! `Threads::finish`.
//!
//! A model that is a variant of another (`tokio-current` of `tokio`; `coop-v2`,
//! `coop-fastio` and `coop-spin` of `coop`) calls that model's `serve` with what differs
//! (the runtime it built, the poll policy, the serial wait); apart from a variant calling
//! its base, no model imports another.
//!
//! The *teaching* group ([`TEACHING`]) holds models written wrong on purpose, to show a
//! mistake by measurement (the original esp4s's polling loop). They are in the registry, so
//! `--models` and `run.models` select them and every conformance test covers them, but they
//! stay out of the default run ([`default_run`]): each one costs a core for its whole window.

use crate::bridge::launch::{start_model, ModelRun};
use crate::bridge::Shutdown;

#[cfg(feature = "async-std-model")]
pub(crate) mod on_async_std;
pub(crate) mod on_coop;
pub(crate) mod on_coop_fastio;
pub(crate) mod on_coop_spin;
pub(crate) mod on_coop_v2;
pub(crate) mod on_esp4s_threads;
pub(crate) mod on_rayon;
pub(crate) mod on_smol;
pub(crate) mod on_threads;
pub(crate) mod on_tokio;
pub(crate) mod on_tokio_current;

pub use crate::bridge::launch::{
    process_threads, BoardEndpoint, RunningServe, ServeConfig, ServeContext, SmolBlockOn,
    StatsHandle,
};

/// One concurrency model, as listed by `esbench models`.
#[derive(Clone, Copy)]
pub struct ModelInfo {
    /// CLI/results name; the module is `on_` + the name with `-` as `_`.
    pub name: &'static str,
    /// One line for `esbench models` and the report.
    pub description: &'static str,
    /// Serves until `ctx.shutdown` fires, then returns the statistics.
    pub run: ModelRun,
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
    on_threads::INFO,
    on_tokio::INFO,
    on_tokio_current::INFO,
    #[cfg(feature = "async-std-model")]
    on_async_std::INFO,
    on_smol::INFO,
    on_coop::INFO,
    on_coop_v2::INFO,
    on_coop_fastio::INFO,
    on_rayon::INFO,
    on_esp4s_threads::INFO,
    on_coop_spin::INFO,
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
pub static TEACHING: &[Teaching] = &[on_esp4s_threads::TEACHING, on_coop_spin::TEACHING];

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
pub(crate) fn names() -> String {
    ALL.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// Starts the model `cfg.model` in a background thread (see `bridge::launch`): listening
/// once this returns; [`RunningServe::stop`] ends it and returns its statistics.
pub fn start(cfg: &ServeConfig) -> anyhow::Result<RunningServe> {
    use anyhow::Context;
    let shutdown = Shutdown::new().context("cannot create the shutdown eventfd")?;
    start_with(cfg, shutdown)
}

/// Like [`start`], with a caller-made shutdown signal (e.g. one wired to SIGTERM).
pub(crate) fn start_with(cfg: &ServeConfig, shutdown: Shutdown) -> anyhow::Result<RunningServe> {
    let info = find(&cfg.model)
        .ok_or_else(|| anyhow::anyhow!("unknown model {:?}; available: {}", cfg.model, names()))?;
    start_model(info.name, info.run, cfg, shutdown)
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
