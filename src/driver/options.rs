//! What a run is asked to do (`RunOptions`, `RoundsOptions`) and the limits its durations
//! must keep; read by the session, the rounds and the CLI, importing none of them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::place::Place;
use super::variant::Variant;
use crate::bridge::inject::{parse_all, Fault};
use crate::load::bridge_template::BridgeSpec;
use crate::scenario::{DriverKind, Scenario, SmolBlockOn};

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Models by name; empty = the scenario's list, or every model.
    pub models: Vec<String>,
    /// Measured seconds per model, overriding the scenario.
    pub duration_s: Option<f64>,
    pub quick: bool,
    pub pin: bool,
    /// The esbench binary that provides `serve` (normally this one): every row's child
    /// unless the row names another (see `driver::row::RowChild`), and the CPU floor's.
    pub exe: PathBuf,
    /// Where the models run: here, or on a remote agent (`--target`).
    pub place: Place,
    /// Show progress: a bar when stderr is a terminal, else one plain line per model start
    /// and finish (CI logs and pipes would otherwise show nothing for minutes).
    pub progress: bool,
    /// After each model's measured pass, a separate profiling pass (`--profile`).
    pub profile: bool,
    /// After the timed rounds, the valgrind instruction pass (`--valgrind`).
    pub valgrind: Option<ValgrindRun>,
    /// Faults to inject (`--inject`), on top of the scenario's `run.inject`.
    pub inject: Vec<String>,
    /// The load driver (`--driver`), overriding the scenario's `run.driver`.
    pub driver: Option<DriverKind>,
    /// The clients' send spin margin in µs (`--send-spin-us`), overriding the scenario's
    /// `run.send_spin_us`.
    pub send_spin_us: Option<u64>,
    /// The `smol` model's `block_on` (`--smol-block-on`), overriding the scenario's
    /// `run.smol_block_on`.
    pub smol_block_on: Option<SmolBlockOn>,
    /// External bridges (`--bridge NAME=COMMAND`), measured beside the models as rows of
    /// their own, with the scenario's `[[bridges]]`.
    pub bridges: Vec<BridgeSpec>,
}

/// The valgrind instruction pass of a run (`crate::valgrind`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValgrindRun {
    /// The counted window of each pass, seconds.
    pub window_s: f64,
    /// Passes per row.
    pub passes: u32,
}

impl RunOptions {
    /// The models and measuring options a command line gives, run here by `exe`'s `serve`,
    /// with progress shown and nothing added: no profiling pass, no faults, the scenario's
    /// load driver (`esbench run` sets those, and the place, from its own flags).
    pub(crate) fn new(
        models: Vec<String>,
        duration_s: Option<f64>,
        quick: bool,
        pin: bool,
        exe: PathBuf,
    ) -> RunOptions {
        RunOptions {
            models,
            duration_s,
            quick,
            pin,
            exe,
            place: Place::Local,
            progress: true,
            profile: false,
            valgrind: None,
            inject: Vec::new(),
            driver: None,
            send_spin_us: None,
            smol_block_on: None,
            bridges: Vec::new(),
        }
    }
}

/// Warm-up under `--quick`: long enough for every runtime to start its threads and for the
/// board to stream, short enough for the whole matrix to fit in a minute.
const QUICK_WARMUP_S: f64 = 0.5;
/// Floor probe length: the quick one still gives 160 wake-ups at 25 ms (so its p99 is not
/// just its max), the full one is long enough for a stable p99.9.
const QUICK_FLOOR_S: f64 = 4.0;
const MAX_FLOOR_S: f64 = 10.0;
/// Longest warm-up accepted from a scenario: an hour is already far more than any runtime
/// needs to settle.
pub(crate) const MAX_WARMUP_S: f64 = 3_600.0;

/// Shortest measured window accepted: 15 polls at the default 33 ms; anything shorter
/// holds too few samples for a percentile to mean anything.
pub(crate) const MIN_DURATION_S: f64 = 0.5;
/// Longest accepted: a day. Beyond it a typo (`20000000`) is far likelier than intent, and
/// the histograms and timers are not meant for it.
pub(crate) const MAX_DURATION_S: f64 = 86_400.0;

/// `Ok` when `secs` is a usable measured duration; else why not, naming the accepted range.
pub(crate) fn check_duration_s(secs: f64) -> Result<(), String> {
    let range = format!("the accepted range is {MIN_DURATION_S} s to {MAX_DURATION_S} s (24 h)");
    if secs.is_nan() {
        Err(format!("is not a number of seconds; {range}"))
    } else if secs < MIN_DURATION_S {
        Err(format!(
            "is too short ({secs} s): {range}, e.g. 20, 20s or 1500ms"
        ))
    } else if secs > MAX_DURATION_S {
        Err(format!("is too long ({secs} s): {range}"))
    } else {
        Ok(())
    }
}

/// Warm-up before each model's measured window.
pub(crate) fn warmup_s(s: &Scenario, quick: bool) -> f64 {
    if quick {
        s.run.warmup_s.min(QUICK_WARMUP_S)
    } else {
        s.run.warmup_s
    }
}

/// Length of the floor probe for a run whose models are measured for `duration_s`.
pub(crate) fn floor_s(quick: bool, duration_s: f64) -> f64 {
    if quick {
        QUICK_FLOOR_S
    } else {
        duration_s.min(MAX_FLOOR_S)
    }
}

/// The models a scenario runs: `--models`, else the scenario's `run.models`, else the
/// default run (every model outside the teaching group).
pub fn select_models(opts: &RunOptions, s: &Scenario) -> Result<Vec<String>> {
    let wanted: Vec<String> = if !opts.models.is_empty() {
        opts.models.clone()
    } else if !s.run.models.is_empty() {
        s.run.models.clone()
    } else {
        // The registry minus its teaching group (spinning models run only when named).
        crate::models::default_run()
            .iter()
            .map(|m| m.name.to_string())
            .collect()
    };
    for m in &wanted {
        if crate::models::find(m).is_none() {
            let known: Vec<&str> = crate::models::ALL.iter().map(|m| m.name).collect();
            bail!("unknown model {m:?}; this build has: {}", known.join(", "));
        }
    }
    Ok(wanted)
}

/// CPUs for (driver, child) under `--pin`: the driver on CPU 0, the model on the others.
/// None when there is only one CPU to use.
pub(crate) fn pin_plan() -> Option<(Vec<usize>, Vec<usize>)> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    let cpus: Vec<usize> = (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect();
    if cpus.len() < 2 {
        return None;
    }
    Some((vec![cpus[0]], cpus[1..].to_vec()))
}

/// How the measured time is split into rounds, and the test-only variants run in them.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoundsOptions {
    /// `--rounds`, overriding the scenario's `run.rounds`; neither = the default, fitted to
    /// the duration (see `driver::rounds::shape`).
    pub rounds: Option<u32>,
    /// `--seed` of the per-round shuffle; `None` = a fresh one (recorded either way).
    pub seed: Option<u64>,
    /// Test-only (`--variant`): registered models run again under other names.
    pub variants: Vec<Variant>,
    /// A paired run (`--against OTHER_EXE`): every model twice per round, side A by the
    /// other executable (see `driver::against`).
    pub against: Option<super::against::Against>,
}

/// The faults of a run: the scenario's `run.inject`, then `--inject`. A bad spec is an error
/// naming where it came from.
pub(crate) fn injected_faults(opts: &RunOptions, s: &Scenario, path: &Path) -> Result<Vec<Fault>> {
    let from_scenario = parse_all(&s.run.inject)
        .map_err(|e| anyhow::anyhow!("{}: run.inject: {e}", path.display()))?;
    let from_cli = parse_all(&opts.inject).map_err(|e| anyhow::anyhow!("--inject: {e}"))?;
    Ok(from_scenario.into_iter().chain(from_cli).collect())
}
