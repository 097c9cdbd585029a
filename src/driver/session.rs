//! A whole `esbench run`: the floor, then every model in turn (never two at once), saving
//! results after each step so that a crash or Ctrl-C loses nothing already measured.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::floor::measure_floor;
use super::interrupt;
use super::model_run::{run_model, ModelPlan};
use crate::bridge::inject::{parse_all, Fault};
use crate::load::child::set_affinity;
use crate::load::child_settings::ChildSettings;
use crate::load::pace::ms_to_ns;
use crate::metrics::cpu_floor::floor_multiple;
use crate::metrics::machine::{describe_machine, git_commit, load_note};
use crate::metrics::results::{ModelResult, Results, ScenarioInfo, SCHEMA};
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

/// Runs one scenario on its models and writes `results_path` after the floor and after every
/// model. Returns the final results (possibly partial when interrupted).
pub fn run_scenario(
    opts: &RunOptions,
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
        injected: faults.iter().map(|f| f.to_string()).collect(),
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
            warmup_s,
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
            "{}: floor: {floor_s:.0} s timer probe, then {} model(s)…",
            s.name,
            models.len()
        );
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    results.floor = measure_floor(
        Duration::from_nanos(ms_to_ns(s.workload.watchdog_period_ms)),
        Duration::from_nanos(ms_to_ns(s.clients.poll_period_ms)),
        Duration::from_secs_f64(floor_s),
        &settings,
    );
    bar.disable_steady_tick();
    results.notes.clone_from(&notes);
    results
        .notes
        .push(format!("partial: 0 of {} models measured", models.len()));
    results.save(results_path)?;

    let stats_dir = results_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let kill_hook = kill_hook();
    for (i, model) in models.iter().enumerate() {
        if interrupt::interrupted() {
            break;
        }
        bar.set_prefix(format!("{model} {}/{}", i + 1, models.len()));
        if plain {
            eprintln!(
                "{}",
                start_line(i, models.len(), model, warmup_s, duration_s)
            );
        }
        let plan = ModelPlan {
            model: model.clone(),
            scenario: s.clone(),
            scenario_path: scenario_path.to_path_buf(),
            warmup: Duration::from_secs_f64(warmup_s),
            duration: Duration::from_secs_f64(duration_s),
            exe: opts.exe.clone(),
            stats_path: stats_dir.join(format!(".serve-stats-{model}.json")),
            settings: settings.clone(),
            faults: faults.clone(),
            kill_after: kill_hook
                .as_ref()
                .filter(|(m, _)| m == model)
                .map(|(_, d)| *d),
            ready_timeout: Duration::from_secs(30),
        };
        let mut row = run_model(&plan, &bar);
        // --profile: a separate pass on a fresh serve child, after the measured one; it only
        // fills `row.profile`, never the measured figures (see `esbench::profile`).
        if opts.profile && !interrupt::interrupted() {
            bar.set_message("profiling pass (separate child, not measured)");
            if plain {
                eprintln!(
                    "[{}/{}] {model}: profiling pass (separate child, not measured)…",
                    i + 1,
                    models.len()
                );
            }
            row.profile = Some(crate::profile::profiling_pass(
                &opts.exe,
                model,
                &s,
                &stats_dir.join("profile"),
                Duration::from_secs_f64(duration_s.clamp(1.0, 10.0)),
                Duration::from_secs_f64(warmup_s.max(1.0)),
            ));
        }
        if plain {
            eprintln!("{}", finish_line(i, models.len(), &row));
        } else {
            bar.println(format!(
                "{:>14}: {} (CPU {:.2} %, poll p50 {} µs)",
                row.name,
                if row.is_ok() {
                    "ok"
                } else {
                    row.status.as_str()
                },
                row.cpu.percent,
                row.poll_latency.p50
            ));
        }
        results.models.push(row);
        results.notes.clone_from(&notes);
        if results.models.len() < models.len() {
            results.notes.push(format!(
                "partial: {} of {} models measured",
                results.models.len(),
                models.len()
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
    bar.finish_and_clear();
    if interrupt::interrupted() {
        notes.push(format!(
            "interrupted by Ctrl-C: {} of {} models measured",
            results.models.len(),
            models.len()
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

/// The plain progress line for model `i` (0-based) of `n` starting.
pub fn start_line(i: usize, n: usize, model: &str, warmup_s: f64, duration_s: f64) -> String {
    format!(
        "[{}/{n}] {model}: warm-up {warmup_s} s, measuring {duration_s} s…",
        i + 1
    )
}

/// The plain progress line for model `i` (0-based) of `n` done: its headline figures, or why
/// it failed (a failed row may hold partial figures; the table shows them).
pub fn finish_line(i: usize, n: usize, row: &ModelResult) -> String {
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
    format!("[{}/{n}] {}: {what}", i + 1, row.name)
}

/// The crash test hook: `ESBENCH_TEST_KILL=<model>:<seconds>` makes the driver SIGKILL that
/// model's child this many seconds into its measured window.
fn kill_hook() -> Option<(String, Duration)> {
    let v = std::env::var("ESBENCH_TEST_KILL").ok()?;
    let (m, s) = v.split_once(':')?;
    Some((m.to_string(), Duration::from_secs_f64(s.parse().ok()?)))
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
        assert_eq!(
            start_line(2, 9, "tokio", 0.5, 20.0),
            "[3/9] tokio: warm-up 0.5 s, measuring 20 s…"
        );
        let mut row = ModelResult {
            name: "tokio".into(),
            status: "ok".into(),
            ..ModelResult::default()
        };
        row.cpu.percent = 0.7;
        row.poll_latency.p50 = 201;
        assert_eq!(
            finish_line(2, 9, &row),
            "[3/9] tokio: done (CPU 0.70 %, poll p50 201 µs)"
        );
        row.status = "crashed: serve signal 9 (SIGKILL)".into();
        assert_eq!(
            finish_line(2, 9, &row),
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
