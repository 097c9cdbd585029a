//! The scenario schema and its defaults (the classroom workload: one board, one client).

use super::error::ScenarioError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One benchmark scenario, loaded from TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub boards: Boards,
    pub clients: Clients,
    pub workload: Workload,
    pub run: RunSettings,
    /// External bridges (the user's own programs) measured beside the models, one row each
    /// (`[[bridges]]`; see docs/bridges.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bridges: Vec<BridgeEntry>,
    /// The file it came from (`None` when built from a string).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The scenario text exactly as read, kept so results can reproduce the run.
    #[serde(skip)]
    pub text: String,
}

/// One `[[bridges]]` entry: a program of the user's, run as a model row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeEntry {
    /// The row's name (letters, digits, `-`, `_`, `.`; not a built-in model's).
    pub name: String,
    /// The command template (`{serial}`, `{port}`, `{host}`, …; no shell unless written).
    pub command: String,
    /// Directory to start it in, relative to the scenario file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Extra environment; values are never written to results.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: std::collections::BTreeMap<String, String>,
    /// Seconds it may take to answer its first `/poll` (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_timeout: Option<f64>,
}

/// Where the stream comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The seeded board model (`source::synth`).
    #[default]
    Synth,
    /// A recording made with `esbench record` (`boards.recording`).
    Replay,
}

/// The simulated boards, one virtual Esplora (pty) each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Boards {
    pub count: u32,
    pub source: SourceKind,
    /// Seed of board 0; board `i` uses `seed + i` so boards differ but runs repeat.
    pub seed: u64,
    /// Replay file; relative paths are relative to the scenario file.
    pub recording: Option<PathBuf>,
    pub frame_period_ms: f64,
    /// Split frames into USB-packet-like chunks instead of one write per frame.
    pub chunking: bool,
    /// Periodic stalls followed by the sketch's catch-up burst.
    pub bursts: Option<Bursts>,
    /// How long the stream freezes after each numeric command (the sketch's `parseInt`
    /// timeout); 0 turns the effect off.
    pub command_freeze_ms: u64,
    /// Probability that any one byte is replaced by a random byte.
    pub corrupt_rate: f64,
    /// Probability that any one byte is lost.
    pub drop_rate: f64,
}

/// A stall of `stall_ms` every `every_s` seconds; the frames due meanwhile come back to back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bursts {
    pub every_s: f64,
    pub stall_ms: u64,
}

/// The Scratch clients polling each board's bridge over HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Clients {
    pub per_board: u32,
    pub poll_period_ms: f64,
    pub commands: Vec<CommandPattern>,
}

/// A command block run by every client: `paths` are requested in turn, one every `every_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandPattern {
    pub paths: Vec<String>,
    pub every_ms: f64,
}

/// Extra work the bridge does, to show how each model copes with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    /// CPU busy-work per decoded frame, in µs.
    pub frame_work_us: u64,
    /// CPU busy-work per `/poll` answer, in µs.
    pub poll_work_us: u64,
    /// A *blocking* sleep inside the poll handler, in µs: the classic mistake under a
    /// cooperative scheduler.
    pub blocking_sleep_us: u64,
    pub watchdog_period_ms: f64,
    /// After this long without a frame the bridge reports `_problem` to Scratch.
    pub silent_after_ms: u64,
    /// End numeric commands with `\n` (the bridge's default): the v1 sketch's `parseInt`
    /// then returns at once. `false` sends esp4s's exact bytes, and the board freezes its
    /// stream for its parseInt timeout after every command (`boards.command_freeze_ms`).
    pub command_terminator: bool,
}

/// How long to measure, and which models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSettings {
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Measured seconds per model with `--quick`.
    pub quick_duration_s: f64,
    /// Model names; empty means the default run (every model but the teaching ones).
    pub models: Vec<String>,
    /// Timer slack (ns) the model's process is started with, set explicitly so it never
    /// inherits the driver's 1 ns; the kernel's default, 50 µs, unless a scenario says so.
    pub model_timer_slack_ns: u64,
    /// Faults injected on purpose (`esbench run --inject`, see `bridge::inject`); such a
    /// run is recorded as injected, never as a real measurement.
    pub inject: Vec<String>,
    /// How the load driver runs its virtual boards and Scratch clients (`--driver` on `run`
    /// and `sweep` overrides it); the model under test is the same either way.
    pub driver: DriverKind,
    /// Interleaved rounds each model's measured time is split into (`esbench run --rounds`
    /// overrides it); absent = the run's default, fitted to the duration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// How long before each send deadline the load driver stops sleeping and spins on the
    /// clock, in µs (0 = plain sleeps); `esbench run --send-spin-us` overrides it. See
    /// `load::pace` and docs/instrument.md.
    pub send_spin_us: u64,
    /// Which `block_on` drives the `smol` model's executor (`esbench run --smol-block-on`
    /// overrides it); no other model reads it. See `models::on_smol`.
    pub smol_block_on: SmolBlockOn,
}

/// The `block_on` under which the `smol` model runs its executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmolBlockOn {
    /// `smol::block_on` (async-io's): the main thread waits in the reactor while idle.
    #[default]
    AsyncIo,
    /// `smol::future::block_on` (futures-lite's): the main thread only parks; async-io's
    /// own thread alone drives the reactor (the variant of docs/model-costs.md).
    FuturesLite,
}

impl SmolBlockOn {
    /// The name a scenario, `--smol-block-on` and the results use.
    pub fn name(self) -> &'static str {
        match self {
            SmolBlockOn::AsyncIo => "async-io",
            SmolBlockOn::FuturesLite => "futures-lite",
        }
    }

    /// Parses `async-io` or `futures-lite` (the `--smol-block-on` flags).
    pub fn parse(text: &str) -> Result<SmolBlockOn, String> {
        match text.trim() {
            "async-io" => Ok(SmolBlockOn::AsyncIo),
            "futures-lite" => Ok(SmolBlockOn::FuturesLite),
            other => Err(format!(
                "unknown block_on {other:?}: expected \"async-io\" (the default) or \"futures-lite\""
            )),
        }
    }
}

/// How the load driver runs its virtual boards and Scratch clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// One thread per board and per client connection: simple, but thousands of threads at
    /// a thousand boards, competing with the model for the CPUs. Kept to compare against.
    Threads,
    /// A small fixed set of event-loop threads (epoll and timerfd) for all boards and all
    /// clients, whatever their number. The default: at one board it is at least as punctual
    /// and as cheap as `Threads` (docs/instrument.md), and it does not grow with the load.
    #[default]
    Events,
}

impl DriverKind {
    /// The name a scenario and `--driver` use.
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Threads => "threads",
            DriverKind::Events => "events",
        }
    }

    /// Parses `threads` or `events` (the `--driver` flag).
    pub fn parse(text: &str) -> Result<DriverKind, String> {
        match text.trim() {
            "threads" => Ok(DriverKind::Threads),
            "events" => Ok(DriverKind::Events),
            other => Err(format!(
                "unknown driver {other:?}: expected \"threads\" or \"events\""
            )),
        }
    }
}

/// The load driver's send spin margin unless the scenario says otherwise (µs), chosen with
/// `examples/pace_margin.rs` (see `load::pace`).
pub const DEFAULT_SEND_SPIN_US: u64 = 200;
/// The longest send spin margin a scenario or `--send-spin-us` may ask for (µs).
pub const MAX_SEND_SPIN_US: u64 = 10_000;

/// The timer slack a model's process gets unless the scenario says otherwise: the kernel's
/// default (50 µs), so the model runs as it would when deployed.
pub const DEFAULT_MODEL_TIMER_SLACK_NS: u64 = 50_000;

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "classroom".to_string(),
            description: "One Esplora, one Scratch project polling it (the original workload)"
                .to_string(),
            boards: Boards::default(),
            clients: Clients::default(),
            workload: Workload::default(),
            run: RunSettings::default(),
            bridges: Vec::new(),
            path: None,
            text: String::new(),
        }
    }
}

impl Default for Boards {
    fn default() -> Self {
        Boards {
            count: 1,
            source: SourceKind::Synth,
            seed: 1,
            recording: None,
            frame_period_ms: 25.0,
            chunking: false,
            bursts: None,
            command_freeze_ms: 0,
            corrupt_rate: 0.0,
            drop_rate: 0.0,
        }
    }
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            per_board: 1,
            poll_period_ms: 33.0,
            commands: vec![CommandPattern {
                paths: vec!["/leds/Red/100".to_string(), "/leds/Red/0".to_string()],
                every_ms: 1000.0,
            }],
        }
    }
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            frame_work_us: 0,
            poll_work_us: 0,
            blocking_sleep_us: 0,
            watchdog_period_ms: 25.0,
            silent_after_ms: 500,
            command_terminator: true,
        }
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            warmup_s: 2.0,
            duration_s: 20.0,
            quick_duration_s: 4.0,
            models: Vec::new(),
            model_timer_slack_ns: DEFAULT_MODEL_TIMER_SLACK_NS,
            inject: Vec::new(),
            driver: DriverKind::default(),
            rounds: None,
            send_spin_us: DEFAULT_SEND_SPIN_US,
            smol_block_on: SmolBlockOn::default(),
        }
    }
}

impl Scenario {
    /// Reads, parses and validates a scenario file. A relative `boards.recording` is
    /// resolved against the file's directory and must exist.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        let mut s = Self::parse(&text, &path.display().to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(rec) = &s.boards.recording {
            let resolved = base.join(rec);
            if let Some(problem) = super::validate::recording_problem(&resolved) {
                return Err(ScenarioError::at_field(
                    &text,
                    &path.display().to_string(),
                    "boards.recording",
                    problem,
                ));
            }
            s.boards.recording = Some(resolved);
        }
        for b in &mut s.bridges {
            if let Some(dir) = &b.cwd {
                b.cwd = Some(base.join(dir));
            }
        }
        s.path = Some(path.to_path_buf());
        Ok(s)
    }

    /// Parses and validates scenario text; `name` stands for the file in error messages.
    /// Relative recording paths are left as written (there is no file to be relative to).
    pub fn from_str_named(text: &str, name: &str) -> Result<Scenario, ScenarioError> {
        Self::parse(text, name)
    }

    fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let mut s: Scenario =
            toml::from_str(text).map_err(|e| ScenarioError::from_toml(text, file, &e))?;
        s.text = text.to_string();
        s.validate()
            .map_err(|(field, msg)| ScenarioError::at_field(text, file, &field, msg))?;
        Ok(s)
    }

    /// The scenario text for a results file: as read, unless a bridge has environment
    /// variables, whose values may be secrets: then the scenario re-written without them
    /// (comments are lost, the values say they were not recorded).
    pub fn text_for_results(&self) -> String {
        if self.bridges.iter().all(|b| b.env.is_empty()) {
            return self.text.clone();
        }
        let mut safe = self.clone();
        for b in &mut safe.bridges {
            for v in b.env.values_mut() {
                *v = "(not recorded)".into();
            }
        }
        toml::to_string(&safe).unwrap_or_else(|_| "(not recorded: it holds bridge env)".into())
    }

    /// Measured seconds per model, honouring `--quick`.
    pub fn measure_s(&self, quick: bool) -> f64 {
        if quick {
            self.run.quick_duration_s
        } else {
            self.run.duration_s
        }
    }
}
