//! `esbench serve`: runs the bridge for real under one model.

pub(crate) mod scratch_files;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::bridge::conn::ServeLimits;
use crate::bridge::{BridgeConfig, ServeStats, Shutdown};
use crate::fd_limit::raise_nofile_limit;
use crate::models::ServeConfig;

/// Run the Esplora-to-Scratch bridge under one concurrency model (the system under test).
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench serve                                        # the Esplora on /dev/ttyACM0, like esp4s
  esbench serve /dev/ttyACM1                           # the port as esp4s takes it
  esbench serve --model smol --serial /dev/pts/5 --serial /dev/pts/6 --listen 127.0.0.1:6000
  esbench serve --model tokio --serial /dev/pts/5 --scenario scenarios/heavy-frame.toml --stats-out stats.json

Board i is served on the --listen port + i. Each serial device must exist and be a terminal
(a board's /dev/ttyACM*, or the pty `esbench device` prints); anything else is refused at
start-up. A device that disappears later (unplugged) is reopened with backoff. One
`listening ADDR` line per board is printed once the sockets accept, then where the Scratch 2
extension and the Snap! blocks are. SIGTERM or Ctrl-C stops it, prints the statistics and
writes them to --stats-out. See docs/serve.md.")]
pub struct ServeArgs {
    /// Concurrency model (see `esbench models`).
    #[arg(long, default_value = "threads")]
    pub model: String,
    /// Serial device of a board, as esp4s takes it (several for several boards; default
    /// /dev/ttyACM0).
    #[arg(value_name = "SERIAL", conflicts_with = "serial")]
    pub ports: Vec<PathBuf>,
    /// Serial device of a board (repeat for several boards); the same as the positional form.
    #[arg(long = "serial", value_name = "SERIAL")]
    pub serial: Vec<PathBuf>,
    /// Address of board 0; board i listens on port + i.
    #[arg(long, default_value = "127.0.0.1:50209")]
    pub listen: SocketAddr,
    /// Scenario file whose `[workload]` section sets the per-frame/per-poll work, the blocking
    /// sleep, the watchdog period and the silence threshold.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Write the statistics as JSON here (atomically) at shutdown.
    #[arg(long)]
    pub stats_out: Option<PathBuf>,
    /// Send numeric commands exactly as esp4s does, without the trailing `\n`; the v1
    /// sketch then waits its 1 s parseInt timeout after each one, freezing the stream.
    #[arg(long)]
    pub no_command_terminator: bool,
    /// Faults to inject (see `bridge::inject`); `esbench run --inject` passes them on.
    #[arg(long, hide = true)]
    pub inject: Vec<String>,
    /// A request whose head is not complete this long after its first byte is answered 408
    /// and its connection closed (slowloris guard).
    #[arg(long, value_name = "MS", default_value_t = ServeLimits::default().header_timeout.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: u64,
    /// A connection with no request in progress that sends nothing this long is closed.
    #[arg(long, value_name = "S", default_value_t = ServeLimits::default().idle_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_s: u64,
    /// Open connections at most (all boards together); one more is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = ServeLimits::default().max_connections as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// The `block_on` the smol model runs its executor under: `async-io` (smol's own) or
    /// `futures-lite` (docs/model-costs.md); other models ignore it. `esbench run` passes the
    /// scenario's `run.smol_block_on` (or its own `--smol-block-on`) here.
    #[arg(long, value_name = "NAME", default_value = "async-io",
          value_parser = crate::scenario::SmolBlockOn::parse)]
    pub smol_block_on: crate::scenario::SmolBlockOn,
}

/// Where esp4s looks for its board when no port is given.
pub const DEFAULT_SERIAL: &str = "/dev/ttyACM0";

impl ServeArgs {
    /// The serial devices, positional or `--serial`, else esp4s's default.
    pub fn serial_devices(&self) -> Vec<PathBuf> {
        match (self.ports.is_empty(), self.serial.is_empty()) {
            (false, _) => self.ports.clone(),
            (true, false) => self.serial.clone(),
            (true, true) => vec![PathBuf::from(DEFAULT_SERIAL)],
        }
    }
}

pub fn exec(args: ServeArgs) -> anyhow::Result<i32> {
    if crate::models::find(&args.model).is_none() {
        anyhow::bail!(
            "unknown model {:?}; available: {}",
            args.model,
            crate::models::names()
        );
    }
    let mut bridge = match &args.scenario {
        Some(p) => bridge_config_from_scenario(p)?,
        None => BridgeConfig::default(),
    };
    if args.no_command_terminator {
        bridge.command_terminator = false;
    }
    bridge.inject = crate::bridge::inject::bridge_side(&args.inject).map_err(anyhow::Error::msg)?;
    bridge.limits = ServeLimits {
        header_timeout: std::time::Duration::from_millis(args.header_timeout_ms),
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout_s),
        max_connections: args.max_connections as usize,
    };
    let serial = args.serial_devices();
    for path in &serial {
        check_serial_device(path)?;
    }
    // A thousand idle Scratch clients need more than the default 1024 fds.
    let _ = raise_nofile_limit();
    let shutdown = Shutdown::new().context("cannot create the shutdown eventfd")?;
    shutdown
        .trigger_on_signals()
        .context("cannot install the SIGTERM/SIGINT handlers")?;
    let cfg = ServeConfig {
        model: args.model.clone(),
        serial,
        listen: args.listen,
        bridge,
        smol_block_on: args.smol_block_on,
    };
    let running = crate::models::start_with(&cfg, shutdown)?;
    {
        // Best effort: a reader that stops after the first line (`| head -1`) must not take
        // the bridge down; an output error ends the printing, not the serving.
        let mut out = std::io::stdout().lock();
        let _ = (|| -> std::io::Result<()> {
            for addr in running.addrs() {
                writeln!(out, "listening {addr}")?;
            }
            scratch_files::print_locations(&mut out, running.addrs())?;
            out.flush()
        })();
    }
    let stats = running.wait()?;
    print_stats(&stats);
    if let Some(path) = &args.stats_out {
        let json = serde_json::to_vec_pretty(&stats)?;
        if let Err(e) = crate::metrics::results::write_atomic(path, &json) {
            // The model ran; the file the driver asked for could not be written (a full disk
            // under --out): a code of its own, so the row does not blame the model.
            crate::errln!("esbench: error: {e:#}");
            return Ok(crate::load::child::EXIT_STATS_UNWRITTEN);
        }
    }
    Ok(0)
}

/// Refuses, at start-up, a `--serial` path that is missing or is not a terminal (e.g.
/// `/dev/null`, a regular file): the bridge would read end-of-file from it at once and
/// "reconnect" twenty times a second forever. Only start-up is this strict: a device that
/// vanishes *later* (a board unplugged mid-run) is reopened with backoff by the models.
pub fn check_serial_device(path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "serial device {shown} does not exist: plug the board in (it shows up as \
             /dev/ttyACM0 or similar) or start a virtual one with `esbench device`"
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot open serial device {shown}")),
    };
    if meta.is_dir() {
        anyhow::bail!("serial device {shown} is a directory, not a terminal");
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .with_context(|| format!("cannot open serial device {shown}"))?;
    if !std::io::IsTerminal::is_terminal(&file) {
        anyhow::bail!(
            "{shown} is not a terminal: --serial needs the board's serial device \
             (e.g. /dev/ttyACM0) or a pseudo-terminal from `esbench device`"
        );
    }
    Ok(())
}

/// The scenario's `[workload]` as the bridge needs it.
pub fn bridge_config_from_scenario(path: &std::path::Path) -> anyhow::Result<BridgeConfig> {
    let s = crate::scenario::Scenario::load(path)
        .with_context(|| format!("cannot load scenario {}", path.display()))?;
    Ok(BridgeConfig::from_workload(&s.workload))
}

fn print_stats(stats: &ServeStats) {
    crate::outln!("model {}", stats.model);
    for (i, b) in stats.boards.iter().enumerate() {
        crate::outln!(
            "board {i}: frames {} accepted, {} rejected, {} coalesced; polls {}; commands {} ({} rejected); reconnects {}",
            b.frames_accepted,
            b.frames_rejected,
            b.coalesced,
            b.polls,
            b.commands,
            b.commands_rejected,
            b.reconnects
        );
        let w = &b.watchdog_lateness;
        crate::outln!(
            "board {i}: watchdog lateness µs p50 {} p99 {} p99.9 {} max {} ({} ticks)",
            w.p50,
            w.p99,
            w.p999,
            w.max,
            w.count
        );
    }
}
