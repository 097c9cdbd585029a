//! A whole `esbench run` of one scenario, as a session with one method per phase: `prepare`
//! (options, rows, rounds plan, pinning, notes), `floor` (the idle timer probe), `rounds`
//! (every row's round k before any row's round k+1, each row-round `save`d as it ends),
//! `profile` (the optional profiling pass), `valgrind` (the optional valgrind instruction
//! pass), `cpu_floor`, `paired` (the `--against` section),
//! and `finish`. Results are written
//! after every step, so a crash or Ctrl-C loses nothing already measured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::interrupt;
use super::options::{
    check_duration_s, floor_s, injected_faults, pin_plan, select_models, warmup_s, RoundsOptions,
    RunOptions, MAX_WARMUP_S,
};
use super::progress::{self, Progress, Step};
use super::rounds::Shape;
use super::row::{ModelPlan, Row, RowChild};
use super::row_run::run_model;
use super::test_hooks::{kill_hook, KillHook};
use super::variant::Variant;
use crate::bridge::inject::Fault;
use crate::load::bridge_template::BridgeSpec;
use crate::load::child::set_affinity;
use crate::load::child_settings::ChildSettings;
use crate::load::floor::measure_floor;
use crate::load::pace::ms_to_ns;
use crate::metrics::cpu_floor::floor_multiple;
use crate::metrics::machine::{describe_machine, git_commit, load_note};
use crate::metrics::results::{ModelResult, Results, ScenarioInfo, SCHEMA};
use crate::metrics::rounds::{RoundResult, RoundsPlan};
use crate::scenario::Scenario;

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
    let progress = progress::for_stderr(opts.progress);
    let mut session = Session::prepare(opts, ropts, scenario_path, results_path, &*progress)?;
    session.floor()?;
    session.rounds()?;
    session.profile()?;
    session.valgrind()?;
    session.cpu_floor()?;
    session.paired()?;
    progress.finish();
    session.finish()
}

/// One scenario's run in progress: what was prepared, and what is measured so far.
pub struct Session<'a> {
    opts: &'a RunOptions,
    scenario: Scenario,
    scenario_path: &'a Path,
    results_path: &'a Path,
    progress: &'a dyn Progress,
    /// The rows in table order.
    rows: Vec<Row>,
    shape: Shape,
    plan: RoundsPlan,
    duration_s: f64,
    warmup_s: f64,
    floor_s: f64,
    /// The run's faults (every row's, on top of its own).
    faults: Vec<Fault>,
    settings: ChildSettings,
    kill_hook: Option<KillHook>,
    /// The virtual boards' event loops, reused by every model-round of the run.
    board_loops: crate::device::BoardLoops,
    /// What the results' notes say about the whole run (partial-ness is added on saving).
    notes: Vec<String>,
    results: Results,
    /// Each row's round rows and round figures so far, and its merged row.
    rounds_of: BTreeMap<String, (Vec<ModelResult>, Vec<RoundResult>)>,
    merged: BTreeMap<String, ModelResult>,
    /// The round Ctrl-C (or an interrupted row) stopped the run in.
    stopped_in: Option<usize>,
    /// A paired run's other executable, and the models it pairs.
    against: Option<(super::against::Against, Vec<String>)>,
    /// `valgrind --version`, checked before anything runs when the run has `--valgrind`.
    valgrind_version: Option<String>,
}

/// The measured duration and warm-up a scenario and the options give, checked.
fn durations(opts: &RunOptions, s: &Scenario, path: &Path) -> Result<(f64, f64)> {
    let duration_s = opts.duration_s.unwrap_or_else(|| s.measure_s(opts.quick));
    let warmup_s = warmup_s(s, opts.quick);
    if let Err(why) = check_duration_s(duration_s) {
        let source = match (opts.duration_s, opts.quick) {
            (Some(_), _) => "--duration".to_string(),
            (None, true) => format!("{}: run.quick_duration_s", path.display()),
            (None, false) => format!("{}: run.duration_s", path.display()),
        };
        bail!("the measured duration from {source} {why}");
    }
    if !(0.0..=MAX_WARMUP_S).contains(&warmup_s) {
        bail!(
            "{}: run.warmup_s = {warmup_s} is outside 0 to {MAX_WARMUP_S} s",
            path.display()
        );
    }
    Ok((duration_s, warmup_s))
}

/// The rounds a run is split into: `--rounds`, else the scenario's, else the default.
fn shape_of(
    ropts: &RoundsOptions,
    s: &Scenario,
    path: &Path,
    quick: bool,
    (duration_s, warmup_s): (f64, f64),
) -> Result<Shape> {
    let paired = ropts.against.is_some();
    let requested = match (ropts.rounds, s.run.rounds) {
        (Some(n), _) => Some((n, "--rounds".to_string())),
        (None, Some(n)) => Some((n, format!("{}: run.rounds", path.display()))),
        (None, None) => None,
    };
    super::rounds::shape(
        requested.as_ref().map(|(n, from)| (*n, from.as_str())),
        (quick, paired),
        duration_s,
        warmup_s,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The rows of a run: each model, started by `exe`'s `serve` (a paired run: twice, side A
/// by the other executable, see `driver::against`), then the test variants and the external
/// bridges; names must be unique.
fn rows_of(
    models: &[String],
    variants: &[Variant],
    bridges: &[BridgeSpec],
    exe: &Path,
    against: Option<&super::against::Against>,
) -> Result<Vec<Row>> {
    let serve = |model: &str| RowChild::Serve {
        exe: exe.to_path_buf(),
        model: model.to_string(),
    };
    let plain = |m: &String| Row {
        name: m.clone(),
        child: serve(m),
        faults: Vec::new(),
    };
    let rows: Vec<Row> = match against {
        Some(a) => a.rows(models, exe),
        None => models.iter().map(plain).collect(),
    }
    .into_iter()
    .chain(variants.iter().map(|v| Row {
        name: v.name.clone(),
        child: serve(&v.model),
        faults: v.faults.clone(),
    }))
    .chain(bridges.iter().map(|b| Row {
        name: b.name.clone(),
        child: RowChild::Bridge(b.clone()),
        faults: Vec::new(),
    }))
    .collect();
    if let Some(dup) = rows.iter().enumerate().find_map(|(i, a)| {
        rows[..i]
            .iter()
            .any(|b| b.name == a.name)
            .then_some(&a.name)
    }) {
        bail!("two rows would be named {dup:?}: give each --variant its own name");
    }
    Ok(rows)
}

/// Under `--pin`, pins the driver (threads started from now on inherit it) and returns the
/// models' CPUs, noting either in `notes`.
fn pin(opts: &RunOptions, notes: &mut Vec<String>) -> Result<Option<Vec<usize>>> {
    if !opts.pin {
        return Ok(None);
    }
    let Some((driver, child)) = pin_plan() else {
        notes.push("--pin ignored: only one CPU available".into());
        return Ok(None);
    };
    set_affinity(0, &driver).context("cannot pin the driver")?;
    notes.push(format!(
        "pinned: driver on CPU {driver:?}, models on CPUs {child:?}"
    ));
    Ok(Some(child))
}

/// The notes that say a run is a check of the machinery, not a measurement.
fn injected_notes(variants: &[Variant], faults: &[Fault]) -> Vec<String> {
    let mut notes = Vec::new();
    if !variants.is_empty() {
        let specs: Vec<String> = variants.iter().map(Variant::spec).collect();
        notes.push(format!(
            "TEST VARIANTS ({}): models run again under other names to check the verdicts; \
             not a measurement of the models",
            specs.join(", ")
        ));
    }
    if !faults.is_empty() {
        let specs: Vec<String> = faults.iter().map(|f| f.to_string()).collect();
        notes.push(format!(
            "INJECTED FAULTS ({}): this run checks the measuring machinery, it is not a \
             measurement of the models",
            specs.join(", ")
        ));
    }
    notes
}

impl<'a> Session<'a> {
    /// Phase 1: reads the scenario and options into rows, a rounds plan and child settings,
    /// pins under `--pin`, and starts the results with the run's notes. Nothing is measured.
    pub fn prepare(
        opts: &'a RunOptions,
        ropts: &RoundsOptions,
        scenario_path: &'a Path,
        results_path: &'a Path,
        progress: &'a dyn Progress,
    ) -> Result<Session<'a>> {
        let mut notes: Vec<String> = load_note().into_iter().collect();
        notes.extend(opts.place.notes());
        let mut s = Scenario::load(scenario_path)?;
        s.run.driver = opts.driver.unwrap_or(s.run.driver);
        s.run.send_spin_us = opts.send_spin_us.unwrap_or(s.run.send_spin_us);
        s.run.smol_block_on = opts.smol_block_on.unwrap_or(s.run.smol_block_on);
        let models = select_models(opts, &s)?;
        let (duration_s, warmup_s) = durations(opts, &s, scenario_path)?;
        let shape = shape_of(ropts, &s, scenario_path, opts.quick, (duration_s, warmup_s))?;
        if ropts.against.is_some() && !opts.place.is_local() {
            bail!(
                "--against cannot be combined with --target: the agent serves with its own \
                 build, not OTHER_EXE"
            );
        }
        let bridges = super::bridge_rows::bridges_of(&opts.bridges, &s)?;
        if !bridges.is_empty() && !matches!(opts.place, super::place::Place::Local) {
            bail!("external bridges (--bridge, [[bridges]]) run only on this machine, not with --target");
        }
        let rows = rows_of(
            &models,
            &ropts.variants,
            &bridges,
            &opts.exe,
            ropts.against.as_ref(),
        )?;
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let seed = ropts.seed.unwrap_or_else(super::rounds::fresh_seed);
        let plan = RoundsPlan {
            count: shape.count,
            seed,
            order: super::rounds::orders(&names, shape.count, seed),
            round_s: shape.round_s,
        };
        let faults = injected_faults(opts, &s, scenario_path)?;
        // A missing valgrind is said before anything is measured, not after the rounds.
        let valgrind_version = match opts.valgrind {
            Some(_) => Some(super::valgrind_pass::check(opts)?),
            None => None,
        };
        // The model's process gets its own settings; the driver's threads keep theirs.
        let settings = ChildSettings {
            timer_slack_ns: s.run.model_timer_slack_ns,
            cpus: pin(opts, &mut notes)?,
        };
        notes.extend(injected_notes(&ropts.variants, &faults));
        if let Some(a) = &ropts.against {
            notes.push(a.note(&opts.exe));
        }
        let results = Results {
            schema: SCHEMA.into(),
            injected: faults
                .iter()
                .map(|f| f.to_string())
                .chain(ropts.variants.iter().map(Variant::spec))
                .chain(ropts.against.iter().flat_map(|a| a.injected()))
                .collect(),
            rounds: Some(plan.clone()),
            model_timer_slack_ns: Some(settings.timer_slack_ns),
            settings: Some(crate::metrics::results::Settings {
                send_spin_us: s.run.send_spin_us,
                smol_block_on: s.run.smol_block_on.name().into(),
            }),
            esbench_version: env!("CARGO_PKG_VERSION").into(),
            started_unix: unix_now(),
            commit: git_commit(),
            build: Some(crate::build_info::this()),
            machine: describe_machine(),
            target_machine: opts.place.target_machine(),
            scenario: ScenarioInfo {
                name: s.name.clone(),
                path: scenario_path.display().to_string(),
                text: s.text_for_results(),
                duration_s,
                warmup_s: shape.warmup_s,
                quick: opts.quick,
            },
            ..Results::default()
        };
        Ok(Session {
            opts,
            scenario: s,
            scenario_path,
            results_path,
            progress,
            rows,
            shape,
            plan,
            duration_s,
            warmup_s,
            floor_s: floor_s(opts.quick, duration_s),
            faults,
            settings,
            kill_hook: kill_hook(),
            board_loops: crate::device::BoardLoops::default(),
            notes,
            results,
            rounds_of: BTreeMap::new(),
            merged: BTreeMap::new(),
            stopped_in: None,
            against: ropts.against.clone().map(|a| (a, models)),
            valgrind_version,
        })
    }

    /// Phase 2: the idle timer floor, before any model; saved with the run's plan.
    pub fn floor(&mut self) -> Result<()> {
        let s = &self.scenario;
        let shape = (self.shape.count, self.shape.round_s);
        let (rows, seed) = (self.rows.len(), self.plan.seed);
        self.progress
            .run_starts(&s.name, self.floor_s, rows, shape, seed);
        self.results.floor = measure_floor(
            Duration::from_nanos(ms_to_ns(s.workload.watchdog_period_ms)),
            Duration::from_nanos(ms_to_ns(s.clients.poll_period_ms)),
            Duration::from_secs_f64(self.floor_s),
            &self.settings,
            s.run.send_spin_us * 1_000,
            interrupt::interrupted,
        );
        self.progress.floor_done();
        self.save(0)
    }

    /// Phase 3: the rounds, in the plan's orders, until done or interrupted.
    pub fn rounds(&mut self) -> Result<()> {
        let orders = self.plan.order.clone();
        for (k, order) in orders.iter().enumerate() {
            for (pos, name) in order.iter().enumerate() {
                if interrupt::interrupted() {
                    self.stopped_in = Some(k);
                    return Ok(());
                }
                let interrupted = self.round_of_row(k, pos, name)?;
                if interrupted {
                    self.stopped_in = Some(k);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Round `k` of row `name` (at `pos` in that round's order): run, merged into the row's
    /// figures, saved. True when Ctrl-C stopped it.
    fn round_of_row(&mut self, k: usize, pos: usize, name: &str) -> Result<bool> {
        let row = self
            .rows
            .iter()
            .find(|r| r.name == name)
            .expect("the orders hold the run's rows");
        let n = self.rows.len();
        let step = Step {
            round: k,
            rounds: self.shape.count as usize,
            i: pos,
            n,
        };
        let (warmup_s, round_s) = (self.shape.warmup_s, self.shape.round_s);
        self.progress.row_starts(&step, name, warmup_s, round_s);
        let plan = self.model_plan(row, k);
        let mut result = run_model(&self.opts.place, &plan, self.progress);
        result.name = name.to_string();
        let (start_mono, start_unix) = window_start(&result);
        let round = super::rounds::round_of(&result, k as u32, pos as u32, start_mono, start_unix);
        self.progress.row_done(&step, &result);
        let interrupted = result.status.is_interrupted();
        let (rows, rr) = self.rounds_of.entry(name.to_string()).or_default();
        result.window_start_ns = None;
        rows.push(result);
        rr.push(round);
        // Only this row changed: merge it alone (a merge re-encodes every histogram).
        let merged = super::rounds::merge(name, rows, rr.clone());
        self.merged.insert(name.to_string(), merged);
        self.results.models = self
            .rows
            .iter()
            .filter_map(|r| self.merged.get(&r.name).cloned())
            .collect();
        self.save(k * n + pos + 1)?;
        Ok(interrupted)
    }

    /// The plan of round `k` of `row`.
    fn model_plan(&self, row: &Row, k: usize) -> ModelPlan {
        let stats_dir = self.stats_dir();
        ModelPlan {
            child: row.child.clone(),
            scenario: self.scenario.clone(),
            scenario_path: self.scenario_path.to_path_buf(),
            warmup: Duration::from_secs_f64(self.shape.warmup_s),
            duration: Duration::from_secs_f64(self.shape.round_s),
            stats_path: stats_dir.join(format!(".serve-stats-{}.json", row.name)),
            settings: self.settings.clone(),
            faults: self.faults.iter().chain(&row.faults).cloned().collect(),
            kill_after: KillHook::after(&self.kill_hook, &row.name, k),
            ready_timeout: Duration::from_secs(30),
            board_loops: self.board_loops.clone(),
        }
    }

    /// Writes the results with the run's notes, saying how many of the model-rounds are
    /// measured while that is not all of them.
    fn save(&mut self, done: usize) -> Result<()> {
        let all = self.rows.len() * self.shape.count as usize;
        self.results.notes.clone_from(&self.notes);
        if done < all {
            self.results
                .notes
                .push(format!("partial: {done} of {all} model rounds measured"));
        }
        self.results.save(self.results_path)
    }

    /// Phase 4 (`--profile`): a separate pass per row on a fresh serve child, after all its
    /// rounds; it only fills `row.profile`, never the measured figures (see `esbench::profile`).
    pub fn profile(&mut self) -> Result<()> {
        if !self.opts.profile {
            return Ok(());
        }
        let stats_dir = self.stats_dir();
        let n = self.rows.len();
        for (i, row) in self.rows.iter().enumerate() {
            if interrupt::interrupted() {
                break;
            }
            let Some(result) = self.results.models.iter_mut().find(|m| m.name == row.name) else {
                continue;
            };
            // Only an esbench `serve` child has the profiling pass's knobs.
            let Some(exe) = row.child.serve_exe() else {
                continue;
            };
            self.progress.profiling(i, n, &row.name);
            result.profile = Some(crate::profile::profiling_pass(
                exe,
                row.child.model(),
                &self.scenario,
                &stats_dir.join("profile"),
                Duration::from_secs_f64(self.duration_s.clamp(1.0, 10.0)),
                Duration::from_secs_f64(self.warmup_s.max(1.0)),
            ));
        }
        self.results.save(self.results_path)
    }

    /// Phase 4b (`--valgrind`): the valgrind instruction pass over every row that is an
    /// esbench `serve`, after all rounds; it only fills `row.valgrind` (`crate::valgrind`).
    pub fn valgrind(&mut self) -> Result<()> {
        let Some(v) = self.opts.valgrind else {
            return Ok(());
        };
        if interrupt::interrupted() {
            return Ok(());
        }
        let pass = super::valgrind_pass::Pass {
            run: v,
            warmup_s: self.warmup_s.max(1.0),
            out_dir: self.stats_dir().join("valgrind"),
            version: self.valgrind_version.clone(),
        };
        let faults = &self.faults;
        let reports = pass.run(&self.rows, faults, &self.scenario, self.progress);
        for (name, report) in reports {
            if let Some(m) = self.results.models.iter_mut().find(|m| m.name == name) {
                m.valgrind = Some(report);
            }
        }
        self.results.save(self.results_path)
    }

    /// Phase 5: the CPU floor, after the models (same run, same CPUs as the models), so it
    /// neither lengthens the wait before the first model nor disturbs the idle timer floor.
    /// Only when the models ran here: elsewhere it would be the driver's machine's floor.
    pub fn cpu_floor(&mut self) -> Result<()> {
        if interrupt::interrupted() || self.results.models.is_empty() || !self.opts.place.is_local()
        {
            return Ok(());
        }
        self.progress.cpu_floor(self.floor_s);
        let cpus = self.settings.cpus.as_deref();
        let (s, exe) = (&self.scenario, &self.opts.exe);
        let floor = &mut self.results.floor;
        super::cpu_floor::record_in(floor, exe, s, self.floor_s, cpus, &mut self.notes);
        let floor_cpu = self.results.floor.cpu_percent;
        for row in &mut self.results.models {
            row.cpu.floor_multiple = floor_multiple(row.cpu.percent, floor_cpu);
        }
        self.results.notes.clone_from(&self.notes);
        self.results.save(self.results_path)
    }

    /// Phase 6 (`--against`): the `paired` section, from the merged rows of both sides.
    pub fn paired(&mut self) -> Result<()> {
        let Some((a, models)) = &self.against else {
            return Ok(());
        };
        self.results.paired = Some(a.section(&self.results, models, &self.opts.exe));
        self.results.save(self.results_path)
    }

    /// Phase 7: after Ctrl-C (SIGTERM, SIGHUP), says where the run stopped; returns the results.
    pub fn finish(mut self) -> Result<Results> {
        if interrupt::interrupted() {
            let count = self.shape.count;
            self.notes.push(format!(
                "{} in round {} of {count}: {} of {} rows have rounds",
                interrupt::status(),
                self.stopped_in.map_or(count as usize, |k| k + 1),
                self.results.models.len(),
                self.rows.len(),
            ));
            self.results.notes.clone_from(&self.notes);
            self.results.save(self.results_path)?;
        }
        Ok(self.results)
    }

    /// Where the children's scratch files go: beside results.json.
    fn stats_dir(&self) -> PathBuf {
        self.results_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(1_795_873_879), "20261128-135119");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
    }
}
