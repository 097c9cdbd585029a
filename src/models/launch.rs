//! Starting a model: shared by `esbench serve` and by in-process callers (tests, benches).
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

use super::{find, names, BoardEndpoint, ServeContext};
use crate::bridge::serial::open_serial;
use crate::bridge::{net, Board, BridgeConfig, ServeStats, Shutdown};

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
}

impl ServeConfig {
    /// Default bridge settings.
    pub fn new(model: &str, serial: Vec<PathBuf>, listen: SocketAddr) -> ServeConfig {
        ServeConfig {
            model: model.to_string(),
            serial,
            listen,
            bridge: BridgeConfig::default(),
        }
    }
}

/// A model serving in a background thread.
pub struct RunningServe {
    addrs: Vec<SocketAddr>,
    shutdown: Shutdown,
    thread: Option<JoinHandle<anyhow::Result<ServeStats>>>,
}

/// Opens every serial device, binds every listener, and starts the model in a thread. When
/// this returns the sockets accept connections (queued until the model's loop runs).
pub fn start(cfg: &ServeConfig) -> anyhow::Result<RunningServe> {
    let shutdown = Shutdown::new().context("cannot create the shutdown eventfd")?;
    start_with(cfg, shutdown)
}

/// Like [`start`], with a caller-made shutdown signal (e.g. one wired to SIGTERM).
pub fn start_with(cfg: &ServeConfig, shutdown: Shutdown) -> anyhow::Result<RunningServe> {
    let info = find(&cfg.model)
        .with_context(|| format!("unknown model {:?}; available: {}", cfg.model, names()))?;
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
        let board = Arc::new(Board::new(i, cfg.bridge.clone()));
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
        model: info.name,
        boards,
        shutdown: shutdown.clone(),
    };
    let run = info.run;
    let boards: Vec<Arc<Board>> = ctx.boards.iter().map(|e| e.board.clone()).collect();
    let thread = std::thread::Builder::new()
        .name(format!("serve-{}", info.name))
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
