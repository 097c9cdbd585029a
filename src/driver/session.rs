//! A whole `esbench run`: the floor, then every model in turn (never two at once), saving
//! results after each step so that a crash or Ctrl-C loses nothing already measured.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::interrupt;
use super::model_run::{run_model, ModelPlan};
use super::variant::Variant;
use crate::bridge::inject::{parse_all, Fault};
use crate::load::child::set_affinity;
use crate::load::child_settings::ChildSettings;
use crate::load::floor::measure_floor;
use crate::load::pace::ms_to_ns;
use crate::metrics::cpu_floor::floor_multiple;
use crate::metrics::machine::{describe_machine, git_commit, load_note};
use crate::metrics::results::{ModelResult, Results, ScenarioInfo, SCHEMA};
use crate::metrics::rounds::{RoundResult, RoundsPlan};
use crate::scenario::{DriverKind, Scenario};

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Models by name; empty = the scenario's list, or every model.
    pub models: Vec<String>,
    /// Measured seconds per model, overriding the scenario.
    pub duration_s: Option<f64>,
    pub quick: bool,
    pub pin: bool,
    /// The esbench binary that provides `serve` (normally this one).
    pub exe: PathBuf,
    /// Show progress: a bar when stderr is a terminal, else one plain line per model start
    /// and finish (CI logs and pipes would otherwise show nothing for minutes).
    pub progress: bool,
    /// After each model's measured pass, a separate profiling pass (`--profile`).
    pub profile: bool,
    /// Faults to inject (`--inject`), on top of the scenario's `run.inject`.
    pub inject: Vec<String>,
    /// The load driver (`--driver`), overriding the scenario's `run.driver`.
    pub driver: Option<DriverKind>,
}

impl RunOptions {
    /// The models and measuring options a command line gives, run by `exe`'s `serve`, with
    /// progress shown and nothing added: no profiling pass, no faults, the scenario's load
    /// driver (`esbench run` sets those from its own flags).
    pub fn new(
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
            progress: true,
            profile: false,
            inject: Vec::new(),
            driver: None,
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
const MAX_WARMUP_S: f64 = 3_600.0;

/// Shortest measured window accepted: 15 polls at the default 33 ms; anything shorter
/// holds too few samples for a percentile to mean anything.
pub const MIN_DURATION_S: f64 = 0.5;
/// Longest accepted: a day. Beyond it a typo (`20000000`) is far likelier than intent, and
/// the histograms and timers are not meant for it.
pub const MAX_DURATION_S: f64 = 86_400.0;

/// `Ok` when `secs` is a usable measured duration; else why not, naming the accepted range.
pub fn check_duration_s(secs: f64) -> Result<(), String> {
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
pub fn warmup_s(s: &Scenario, quick: bool) -> f64 {
    if quick {
        s.run.warmup_s.min(QUICK_WARMUP_S)
    } else {
        s.run.warmup_s
    }
}

/// Length of the floor probe for a run whose models are measured for `duration_s`.
pub fn floor_s(quick: bool, duration_s: f64) -> f64 {
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
pub fn pin_plan() -> Option<(Vec<usize>, Vec<usize>)> {
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
pub struct RoundsOptions {
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

/// One row of the run: its name, the registered model its child runs and its own faults.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    model: String,
    faults: Vec<Fault>,
    /// The executable whose `serve` the row's child runs.
    exe: PathBuf,
}

/// Runs one scenario on its models in the default rounds (see [`run_scenario_with`]).
pub fn run_scenario(
    opts: &RunOptions,
    scenario_path: &Path,
    results_path: &Path,
) -> Result<Results> {
    run_scenario_with(opts, &RoundsOptions::default(), scenario_path, results_path)
}

/// Runs one scenario on its models in interleaved rounds (every model's round k before any
/// model's round k+1, the order shuffled per round) and writes `results_path` after the
/// floor and after every round of every model. Returns the final results (possibly partial
/// when interrupted).
pub fn run_scenario_with(
    opts: &RunOptions,
    ropts: &RoundsOptions,
    scenario_path: &Path,
    results_path: &Path,
) -> Result<Results> {
    let mut notes: Vec<String> = load_note().into_iter().collect();
    notes.extend(super::remote_run::notes());
    let mut s = Scenario::load(scenario_path)?;
    s.run.driver = opts.driver.unwrap_or(s.run.driver);
    let models = select_models(opts, &s)?;
    let duration_s = opts.duration_s.unwrap_or_else(|| s.measure_s(opts.quick));
    let warmup_s = warmup_s(&s, opts.quick);
    if let Err(why) = check_duration_s(duration_s) {
        let source = match (opts.duration_s, opts.quick) {
            (Some(_), _) => "--duration".to_string(),
            (None, true) => format!("{}: run.quick_duration_s", scenario_path.display()),
            (None, false) => format!("{}: run.duration_s", scenario_path.display()),
        };
        bail!("the measured duration from {source} {why}");
    }
    if !(0.0..=MAX_WARMUP_S).contains(&warmup_s) {
        bail!(
            "{}: run.warmup_s = {warmup_s} is outside 0 to {MAX_WARMUP_S} s",
            scenario_path.display()
        );
    }

    let requested = match (ropts.rounds, s.run.rounds) {
        (Some(n), _) => Some((n, "--rounds".to_string())),
        (None, Some(n)) => Some((n, format!("{}: run.rounds", scenario_path.display()))),
        (None, None) => None,
    };
    let shape = super::rounds::shape(
        requested.as_ref().map(|(n, from)| (*n, from.as_str())),
        opts.quick,
        duration_s,
        warmup_s,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let plain_rows: Vec<Entry> = match &ropts.against {
        Some(a) => a
            .rows(&models, &opts.exe)
            .into_iter()
            .map(|r| Entry {
                name: r.name,
                model: r.model,
                faults: r.faults,
                exe: r.exe,
            })
            .collect(),
        None => models
            .iter()
            .map(|m| Entry {
                name: m.clone(),
                model: m.clone(),
                faults: Vec::new(),
                exe: opts.exe.clone(),
            })
            .collect(),
    };
    let entries: Vec<Entry> = plain_rows
        .into_iter()
        .chain(ropts.variants.iter().map(|v| Entry {
            name: v.name.clone(),
            model: v.model.clone(),
            faults: v.faults.clone(),
            exe: opts.exe.clone(),
        }))
        .collect();
    let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    if let Some(dup) = names
        .iter()
        .enumerate()
        .find_map(|(i, a)| names[..i].contains(a).then_some(a))
    {
        bail!("two rows would be named {dup:?}: give each --variant its own name");
    }
    let seed = ropts.seed.unwrap_or_else(super::rounds::fresh_seed);
    let plan = RoundsPlan {
        count: shape.count,
        seed,
        order: super::rounds::orders(&names, shape.count, seed),
        round_s: shape.round_s,
    };

    let faults = injected_faults(opts, &s, scenario_path)?;
    let mut child_cpus = None;
    if opts.pin {
        match pin_plan() {
            Some((driver, child)) => {
                // Threads started from now on (floor, boards, clients) inherit this.
                set_affinity(0, &driver).context("cannot pin the driver")?;
                notes.push(format!(
                    "pinned: driver on CPU {driver:?}, models on CPUs {child:?}"
                ));
                child_cpus = Some(child);
            }
            None => notes.push("--pin ignored: only one CPU available".into()),
        }
    }

    // The model's process gets its own settings; the driver's threads keep theirs.
    let settings = ChildSettings {
        timer_slack_ns: s.run.model_timer_slack_ns,
        cpus: child_cpus.clone(),
    };
    if !ropts.variants.is_empty() {
        let specs: Vec<String> = ropts.variants.iter().map(Variant::spec).collect();
        notes.push(format!(
            "TEST VARIANTS ({}): models run again under other names to check the verdicts; \
             not a measurement of the models",
            specs.join(", ")
        ));
    }
    if let Some(a) = &ropts.against {
        notes.push(a.note(&opts.exe));
    }
    if !faults.is_empty() {
        let specs: Vec<String> = faults.iter().map(|f| f.to_string()).collect();
        notes.push(format!(
            "INJECTED FAULTS ({}): this run checks the measuring machinery, it is not a \
             measurement of the models",
            specs.join(", ")
        ));
    }
    let mut results = Results {
        schema: SCHEMA.into(),
        injected: faults
            .iter()
            .map(|f| f.to_string())
            .chain(ropts.variants.iter().map(Variant::spec))
            .chain(ropts.against.iter().flat_map(|a| a.injected()))
            .collect(),
        rounds: Some(plan.clone()),
        model_timer_slack_ns: Some(settings.timer_slack_ns),
        esbench_version: env!("CARGO_PKG_VERSION").into(),
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        commit: git_commit(),
        machine: describe_machine(),
        target_machine: super::remote_run::target_machine(),
        scenario: ScenarioInfo {
            name: s.name.clone(),
            path: scenario_path.display().to_string(),
            text: s.text.clone(),
            duration_s,
            warmup_s: shape.warmup_s,
            quick: opts.quick,
        },
        ..Results::default()
    };

    // indicatif draws nothing when stderr is not a terminal; plain lines stand in for it.
    let plain = opts.progress && !std::io::stderr().is_terminal();
    let bar = if opts.progress && !plain {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );

    let floor_s = floor_s(opts.quick, duration_s);
    bar.set_prefix(s.name.clone());
    bar.set_message(format!("floor: {floor_s:.0} s timer probe"));
    if plain {
        eprintln!(
            "{}: floor: {floor_s:.0} s timer probe, then {} model(s) in {} round(s) of {} s \
             (seed {seed})…",
            s.name,
            entries.len(),
            shape.count,
            secs(shape.round_s)
        );
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    results.floor = measure_floor(
        Duration::from_nanos(ms_to_ns(s.workload.watchdog_period_ms)),
        Duration::from_nanos(ms_to_ns(s.clients.poll_period_ms)),
        Duration::from_secs_f64(floor_s),
        &settings,
        interrupt::interrupted,
    );
    bar.disable_steady_tick();
    results.notes.clone_from(&notes);
    results.notes.push(format!(
        "partial: 0 of {} model rounds measured",
        entries.len() * shape.count as usize
    ));
    results.save(results_path)?;

    let stats_dir = results_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let kill_hook = kill_hook();
    let n = entries.len();
    let mut rounds_of: BTreeMap<String, (Vec<ModelResult>, Vec<RoundResult>)> = BTreeMap::new();
    let mut merged: BTreeMap<String, ModelResult> = BTreeMap::new();
    let mut stopped_in = None;
    'rounds: for (k, order) in plan.order.iter().enumerate() {
        for (pos, name) in order.iter().enumerate() {
            if interrupt::interrupted() {
                stopped_in = Some(k);
                break 'rounds;
            }
            let entry = entries
                .iter()
                .find(|e| &e.name == name)
                .expect("the orders hold the run's rows");
            let step = Step {
                round: k,
                rounds: shape.count as usize,
                i: pos,
                n,
            };
            bar.set_prefix(format!("{} {}", step.tag(), name));
            if plain {
                eprintln!("{}", start_line(&step, name, shape.warmup_s, shape.round_s));
            }
            let model_plan = ModelPlan {
                model: entry.model.clone(),
                scenario: s.clone(),
                scenario_path: scenario_path.to_path_buf(),
                warmup: Duration::from_secs_f64(shape.warmup_s),
                duration: Duration::from_secs_f64(shape.round_s),
                exe: entry.exe.clone(),
                stats_path: stats_dir.join(format!(".serve-stats-{name}.json")),
                settings: settings.clone(),
                faults: faults.iter().chain(&entry.faults).cloned().collect(),
                kill_after: kill_hook
                    .as_ref()
                    .filter(|h| &h.model == name && h.round == k)
                    .map(|h| h.after),
                ready_timeout: Duration::from_secs(30),
            };
            let mut row = run_model(&model_plan, &bar);
            row.name = name.clone();
            let (start_mono, start_unix) = window_start(&row);
            let round = super::rounds::round_of(&row, k as u32, pos as u32, start_mono, start_unix);
            if plain {
                eprintln!("{}", finish_line(&step, &row));
            } else {
                bar.println(format!(
                    "{:>14} {}: {} (CPU {:.2} %, poll p50 {} µs)",
                    row.name,
                    step.tag(),
                    if row.is_ok() {
                        "ok"
                    } else {
                        row.status.as_str()
                    },
                    row.cpu.percent,
                    row.poll_latency.p50
                ));
            }
            let interrupted = row.status.starts_with("interrupted");
            let (rows, rr) = rounds_of.entry(name.clone()).or_default();
            row.window_start_ns = None;
            rows.push(row);
            rr.push(round);
            // Only this row changed: merge it alone (a merge re-encodes every histogram).
            merged.insert(name.clone(), super::rounds::merge(name, rows, rr.clone()));
            results.models = entries
                .iter()
                .filter_map(|e| merged.get(&e.name).cloned())
                .collect();
            results.notes.clone_from(&notes);
            let done = k * n + pos + 1;
            if done < n * shape.count as usize {
                results.notes.push(format!(
                    "partial: {done} of {} model rounds measured",
                    n * shape.count as usize
                ));
            }
            results.save(results_path)?;
            if interrupted {
                stopped_in = Some(k);
                break 'rounds;
            }
        }
    }
    // --profile: a separate pass per model on a fresh serve child, after all its rounds; it
    // only fills `row.profile`, never the measured figures (see `esbench::profile`).
    if opts.profile {
        for (i, entry) in entries.iter().enumerate() {
            if interrupt::interrupted() {
                break;
            }
            let Some(row) = results.models.iter_mut().find(|m| m.name == entry.name) else {
                continue;
            };
            bar.set_message("profiling pass (separate child, not measured)");
            if plain {
                eprintln!(
                    "[{}/{n}] {}: profiling pass (separate child, not measured)…",
                    i + 1,
                    entry.name
                );
            }
            row.profile = Some(crate::profile::profiling_pass(
                &entry.exe,
                &entry.model,
                &s,
                &stats_dir.join("profile"),
                Duration::from_secs_f64(duration_s.clamp(1.0, 10.0)),
                Duration::from_secs_f64(warmup_s.max(1.0)),
            ));
        }
        results.save(results_path)?;
    }
    // The CPU floor after the models (same run, same CPUs as the models), so it neither
    // lengthens the wait before the first model nor disturbs the idle timer floor.
    // Not in remote mode: it would be the driver's machine's floor, not the device's.
    if !interrupt::interrupted()
        && !results.models.is_empty()
        && super::remote_run::target().is_none()
    {
        bar.set_message(format!("CPU floor: {floor_s:.0} s floor child"));
        let cpus = child_cpus.as_deref();
        super::cpu_floor::record_in(&mut results.floor, &opts.exe, &s, floor_s, cpus, &mut notes);
        for row in &mut results.models {
            row.cpu.floor_multiple = floor_multiple(row.cpu.percent, results.floor.cpu_percent);
        }
        results.notes.clone_from(&notes);
        results.save(results_path)?;
    }
    if let Some(a) = &ropts.against {
        results.paired = Some(a.section(&results, &models, &opts.exe));
        results.save(results_path)?;
    }
    bar.finish_and_clear();
    if interrupt::interrupted() {
        notes.push(format!(
            "interrupted by Ctrl-C in round {} of {}: {} of {n} rows have rounds",
            stopped_in.map_or(shape.count as usize, |k| k + 1),
            shape.count,
            results.models.len(),
        ));
        results.notes.clone_from(&notes);
        results.save(results_path)?;
    }
    Ok(results)
}

/// The faults of a run: the scenario's `run.inject`, then `--inject`. A bad spec is an error
/// naming where it came from.
fn injected_faults(opts: &RunOptions, s: &Scenario, path: &Path) -> Result<Vec<Fault>> {
    let from_scenario = parse_all(&s.run.inject)
        .map_err(|e| anyhow::anyhow!("{}: run.inject: {e}", path.display()))?;
    let from_cli = parse_all(&opts.inject).map_err(|e| anyhow::anyhow!("--inject: {e}"))?;
    Ok(from_scenario.into_iter().chain(from_cli).collect())
}

/// Where a run is: round `round` of `rounds`, row `i` of `n` in that round's order (0-based).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub round: usize,
    pub rounds: usize,
    pub i: usize,
    pub n: usize,
}

impl Step {
    /// `[3/9]` for a run of one round, `[round 2/6, 3/9]` otherwise.
    pub fn tag(&self) -> String {
        if self.rounds == 1 {
            format!("[{}/{}]", self.i + 1, self.n)
        } else {
            format!(
                "[round {}/{}, {}/{}]",
                self.round + 1,
                self.rounds,
                self.i + 1,
                self.n
            )
        }
    }
}

/// Seconds for people: `3.33`, `20`, `0.5`.
pub fn secs(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    format!("{r}")
}

/// The plain progress line for a round of a model starting.
pub fn start_line(step: &Step, model: &str, warmup_s: f64, duration_s: f64) -> String {
    format!(
        "{} {model}: warm-up {} s, measuring {} s…",
        step.tag(),
        secs(warmup_s),
        secs(duration_s)
    )
}

/// The plain progress line for a round of a model done: its figures, or why it failed (a
/// failed row may hold partial figures; the table shows them).
pub fn finish_line(step: &Step, row: &ModelResult) -> String {
    let figures = format!(
        "CPU {:.2} %, poll p50 {} µs",
        row.cpu.percent, row.poll_latency.p50
    );
    let what = if row.is_ok() {
        format!("done ({figures})")
    } else if row.status.starts_with("interrupted") {
        row.status.clone()
    } else if row.status.starts_with("partial") {
        format!("{} ({figures})", row.status)
    } else {
        format!("failed: {}", row.status)
    };
    format!("{} {}: {what}", step.tag(), row.name)
}

/// A round row's measured-window start: on the monotonic clock, and the same instant on the
/// wall clock (from now on both clocks, so the two agree to within the microseconds between
/// the two reads). A row that never reached its window gives now.
fn window_start(row: &ModelResult) -> (u64, f64) {
    let mono_now = crate::clock::now_ns();
    let wall_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let start = row.window_start_ns.unwrap_or(mono_now).min(mono_now);
    (start, wall_now - (mono_now - start) as f64 / 1e9)
}

/// The crash test hook: `ESBENCH_TEST_KILL=<model>:<seconds>[@<round>]` makes the driver
/// SIGKILL that model's child this many seconds into its measured window, in that round
/// (1-based; the first by default).
struct KillHook {
    model: String,
    after: Duration,
    /// 0-based.
    round: usize,
}

fn kill_hook() -> Option<KillHook> {
    let v = std::env::var("ESBENCH_TEST_KILL").ok()?;
    let (m, rest) = v.split_once(':')?;
    let (s, round) = match rest.split_once('@') {
        Some((s, r)) => (s, r.parse::<usize>().ok()?.checked_sub(1)?),
        None => (rest, 0),
    };
    Some(KillHook {
        model: m.to_string(),
        after: Duration::from_secs_f64(s.parse().ok()?),
        round,
    })
}

/// `reports/<UTC timestamp>` for a run without `--out`.
pub fn default_out_dir() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from(super::latest::REPORTS_DIR).join(utc_stamp(secs))
}

/// `YYYYMMDD-HHMMSS` (UTC) for seconds since the Unix epoch.
pub fn utc_stamp(secs: u64) -> String {
    match jiff::Timestamp::from_second(secs.try_into().unwrap_or(i64::MAX)) {
        Ok(t) => t.strftime("%Y%m%d-%H%M%S").to_string(),
        Err(_) => format!("unix-{secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_progress_lines() {
        let one = Step {
            round: 0,
            rounds: 1,
            i: 2,
            n: 9,
        };
        assert_eq!(
            start_line(&one, "tokio", 0.5, 20.0),
            "[3/9] tokio: warm-up 0.5 s, measuring 20 s…"
        );
        let six = Step {
            round: 1,
            rounds: 6,
            ..one
        };
        assert_eq!(
            start_line(&six, "tokio", 0.5, 20.0 / 6.0),
            "[round 2/6, 3/9] tokio: warm-up 0.5 s, measuring 3.33 s…"
        );
        let mut row = ModelResult {
            name: "tokio".into(),
            status: "ok".into(),
            ..ModelResult::default()
        };
        row.cpu.percent = 0.7;
        row.poll_latency.p50 = 201;
        assert_eq!(
            finish_line(&one, &row),
            "[3/9] tokio: done (CPU 0.70 %, poll p50 201 µs)"
        );
        row.status = "crashed: serve signal 9 (SIGKILL)".into();
        assert_eq!(
            finish_line(&one, &row),
            "[3/9] tokio: failed: crashed: serve signal 9 (SIGKILL)"
        );
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(1_795_873_879), "20261128-135119");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
    }
}
