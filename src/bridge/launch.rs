//! Starting a model: shared by `esbench serve` and by in-process callers (tests, benches),
//! and the contract between the bridge and a model ([`ServeContext`], [`BoardEndpoint`],
//! [`StatsHandle`]). The model itself is looked up in the registry (`models::start`) and
//! passed in as a [`ModelRun`], so the bridge never names a model.
//!
//! ```no_run
//! use esbench::models::{start, ServeConfig};
//! let cfg = ServeConfig::new("tokio", vec!["/dev/pts/7".into()], "127.0.0.1:0".parse().unwrap());
//! let running = start(&cfg)?;              // listening once this returns
//! let addr = running.addrs()[0];           // board 0's HTTP address
//! // ... poll http://{addr}/poll ...
//! let stats = running.stop()?;             // triggers shutdown, joins, returns the stats
//! # anyhow::Ok(())
//! ```
//!
//! The model runs in a background thread of the calling process; for measurements the
//! driver should still run `esbench serve` as a child process (one model per process).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;

use std::fs::File;
use std::net::TcpListener;

use super::serial::open_serial;
use super::{net, BoardState, BridgeConfig, ServeStats, Shutdown};
/// The `smol` model's choice of `block_on`, a scenario setting handed to the model through
/// [`ServeContext`] (models read it from here: they import the bridge, not the scenario).
pub use crate::scenario::SmolBlockOn;

/// A model's entry point: serves until `ctx.shutdown` fires, then returns the statistics.
pub type ModelRun = fn(ServeContext) -> anyhow::Result<ServeStats>;

/// Everything a model needs to serve: one endpoint per board and the shutdown signal.
pub struct ServeContext {
    /// The model's name (goes into [`ServeStats::model`]).
    pub model: &'static str,
    pub boards: Vec<BoardEndpoint>,
    /// Fires on SIGTERM/SIGINT (`esbench serve`) or [`RunningServe::stop`].
    pub shutdown: Shutdown,
    /// `serve --smol-block-on`: read by the `smol` model only.
    pub smol_block_on: SmolBlockOn,
}

/// One board: its shared state, its serial device and its listening socket.
pub struct BoardEndpoint {
    pub board: Arc<BoardState>,
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
    boards: Vec<Arc<BoardState>>,
}

impl StatsHandle {
    /// The statistics of every board, plus the model's runtime facts: `facts` (a JSON
    /// object, or null for none) with `threads_before_shutdown` added — the count the model
    /// took with [`process_threads`] while its runtime still ran.
    pub fn collect(
        &self,
        threads_before_shutdown: Option<usize>,
        mut facts: serde_json::Value,
    ) -> ServeStats {
        facts["threads_before_shutdown"] = serde_json::json!(threads_before_shutdown);
        ServeStats {
            model: self.model.to_string(),
            boards: self.boards.iter().map(|b| b.stats()).collect(),
            runtime: Some(facts),
        }
    }

    /// The end every async model shares, once its runtime returned `served` (what serving
    /// until shutdown ended in): counts the threads while the runtime still exists, then
    /// runs `teardown` (which ends the runtime, dropping every task and with them every
    /// socket and fd, and returns the runtime's facts), then collects.
    pub fn finish(
        &self,
        served: anyhow::Result<()>,
        teardown: impl FnOnce() -> anyhow::Result<serde_json::Value>,
    ) -> anyhow::Result<ServeStats> {
        let threads = process_threads();
        let facts = teardown();
        served?;
        Ok(self.collect(threads, facts?))
    }
}

/// Threads in this process right now (in-process callers count their own threads too).
pub fn process_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

/// What to serve and how.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Model name (see `models::ALL`).
    pub model: String,
    /// One serial device per board.
    pub serial: Vec<PathBuf>,
    /// Board 0's address; board i listens on port + i (port 0: any free port per board).
    pub listen: SocketAddr,
    pub bridge: BridgeConfig,
    /// Which `block_on` the `smol` model runs under (`serve --smol-block-on`); other models
    /// ignore it.
    pub smol_block_on: SmolBlockOn,
}

impl ServeConfig {
    /// Default bridge settings.
    pub fn new(model: &str, serial: Vec<PathBuf>, listen: SocketAddr) -> ServeConfig {
        ServeConfig {
            model: model.to_string(),
            serial,
            listen,
            bridge: BridgeConfig::default(),
            smol_block_on: SmolBlockOn::default(),
        }
    }
}

/// A model serving in a background thread.
pub struct RunningServe {
    addrs: Vec<SocketAddr>,
    shutdown: Shutdown,
    thread: Option<JoinHandle<anyhow::Result<ServeStats>>>,
}

/// Opens every serial device, binds every listener, and starts the model `run` (called
/// `name`; `cfg.model` is what the caller looked up) in a thread, with `shutdown` as its
/// stop signal. When this returns the sockets accept connections (queued until the model's
/// loop runs).
pub fn start_model(
    name: &'static str,
    run: ModelRun,
    cfg: &ServeConfig,
    shutdown: Shutdown,
) -> anyhow::Result<RunningServe> {
    anyhow::ensure!(
        !cfg.serial.is_empty(),
        "at least one serial device is needed"
    );
    let listeners = net::bind_boards(cfg.listen, cfg.serial.len())?;
    let mut boards = Vec::new();
    let mut addrs = Vec::new();
    for (i, (path, listener)) in cfg.serial.iter().zip(listeners).enumerate() {
        let serial = open_serial(path)
            .with_context(|| format!("cannot open serial device {}", path.display()))?;
        let board = Arc::new(BoardState::new(i, cfg.bridge.clone()));
        board.serial_opened(&serial)?;
        let addr = listener.local_addr()?;
        board.set_port(addr.port());
        addrs.push(addr);
        boards.push(BoardEndpoint {
            board,
            serial_path: path.clone(),
            serial,
            listener,
        });
    }
    let ctx = ServeContext {
        model: name,
        boards,
        shutdown: shutdown.clone(),
        smol_block_on: cfg.smol_block_on,
    };
    let boards: Vec<Arc<BoardState>> = ctx.boards.iter().map(|e| e.board.clone()).collect();
    let thread = std::thread::Builder::new()
        .name(format!("serve-{name}"))
        .spawn(move || {
            let result = run(ctx);
            for b in &boards {
                b.detach_serial();
            }
            result
        })?;
    Ok(RunningServe {
        addrs,
        shutdown,
        thread: Some(thread),
    })
}

impl RunningServe {
    /// The HTTP address of each board, in `serial` order.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The signal that stops the model.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Waits for the model to end by itself (after the shutdown signal fired elsewhere).
    pub fn wait(mut self) -> anyhow::Result<ServeStats> {
        let t = self.thread.take().expect("joined once");
        match t.join() {
            Ok(r) => r,
            Err(_) => anyhow::bail!("the model thread panicked"),
        }
    }

    /// Stops the model and returns its statistics.
    pub fn stop(self) -> anyhow::Result<ServeStats> {
        self.shutdown.trigger();
        self.wait()
    }
}

impl Drop for RunningServe {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.shutdown.trigger();
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn handle() -> StatsHandle {
        let board = Arc::new(BoardState::new(0, BridgeConfig::default()));
        StatsHandle {
            model: "test-model",
            boards: vec![board],
        }
    }

    #[test]
    fn collect_adds_the_thread_count_to_the_models_facts() {
        let facts = serde_json::json!({"executor": "x"});
        let s = handle().collect(Some(3), facts);
        assert_eq!((s.model.as_str(), s.boards.len()), ("test-model", 1));
        let want = serde_json::json!({"executor": "x", "threads_before_shutdown": 3});
        assert_eq!(s.runtime, Some(want));
        let none = handle().collect(None, serde_json::Value::Null);
        let want = serde_json::json!({"threads_before_shutdown": null});
        assert_eq!(none.runtime, Some(want));
    }

    #[test]
    fn finish_tears_down_even_when_serving_failed_and_reports_the_failure() {
        let torn_down = Cell::new(false);
        let teardown = || {
            torn_down.set(true);
            Ok(serde_json::json!({}))
        };
        let e = handle().finish(Err(anyhow::anyhow!("no reactor")), teardown);
        assert!(torn_down.get(), "the runtime is ended whatever serving did");
        assert_eq!(e.unwrap_err().to_string(), "no reactor");
        let s = handle().finish(Ok(()), || Ok(serde_json::json!({"k": 1})));
        let runtime = s.unwrap().runtime.unwrap();
        assert_eq!(runtime["k"], 1);
        assert!(runtime["threads_before_shutdown"].as_u64().unwrap() >= 1);
    }
}
