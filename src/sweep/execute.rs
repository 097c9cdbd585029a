//! Running a sweep: every value's scenario is built and validated first (so a typo fails
//! before minutes of measuring), then each point is an ordinary run through the driver's
//! `session::run_scenario` — the same floor, child processes, measurement and atomic
//! results.json as `esbench run`. A point that fails is recorded and the sweep goes on;
//! Ctrl-C stops after the model being measured and keeps everything measured so far.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::driver::interrupt;
use crate::driver::options::{select_models, RunOptions};
use crate::driver::place::Place;
use crate::driver::session::run_scenario;
use crate::metrics::results::write_atomic;
use crate::scenario::Scenario;

use super::knee;
use super::manifest::{
    point_dir_name, LoadedSweep, PointStatus, Setting, SweepManifest, SweepOptions, UntilKnee,
};
use super::overrides::{absolutise_recording, load_point, Knob};

/// What to sweep and how to run each point.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    pub scenario_path: PathBuf,
    pub knob: Knob,
    /// Knobs held fixed at every point, applied before the swept one.
    pub fixed: Vec<Setting>,
    pub run: RunOptions,
    pub out: PathBuf,
    /// Write each point's HTML report next to its results.json.
    pub point_reports: bool,
    /// The command line, recorded in sweep.json.
    pub command: Vec<String>,
    /// `--until-knee`: grow the sweep by doubling past its last value (None: run the values
    /// given, no more).
    pub until_knee: Option<UntilKnee>,
}

/// One value's scenario, built and validated.
#[derive(Clone, Debug)]
pub struct PreparedPoint {
    pub value: String,
    /// The scenario text with the overrides applied (written as the point's scenario.toml).
    pub text: String,
    pub scenario: Scenario,
    pub models: Vec<String>,
}

/// Builds and validates every point's scenario and model list; nothing runs.
pub fn prepare(plan: &SweepPlan) -> Result<Vec<PreparedPoint>> {
    let key = &plan.knob.key;
    if plan.fixed.iter().any(|f| &f.key == key) {
        bail!("`{key}` is both swept (--set) and held fixed (--with); keep one");
    }
    let mut dirs: Vec<(String, &String)> = Vec::new();
    for v in &plan.knob.values {
        let d = point_dir_name(key, v);
        if let Some((_, other)) = dirs.iter().find(|(x, _)| *x == d) {
            bail!("values `{other}` and `{v}` would share the directory {d}; drop one");
        }
        dirs.push((d, v));
    }
    plan.knob
        .values
        .iter()
        .map(|value| prepare_value(plan, value))
        .collect()
}

/// Builds and validates the scenario of one value of the knob.
pub fn prepare_value(plan: &SweepPlan, value: &str) -> Result<PreparedPoint> {
    let path = &plan.scenario_path;
    let base = Scenario::load(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let text = absolutise_recording(&base.text, dir)?;
    let name = path.display().to_string();
    let mut sets: Vec<(String, String)> = plan
        .fixed
        .iter()
        .map(|s| (s.key.clone(), s.value.clone()))
        .collect();
    sets.push((plan.knob.key.clone(), value.to_string()));
    let (text, scenario) = load_point(&text, &name, &sets)?;
    let models = select_models(&plan.run, &scenario)?;
    Ok(PreparedPoint {
        value: value.to_string(),
        text,
        scenario,
        models,
    })
}

/// Checks that an `--until-knee` sweep can double: its values are positive integers in
/// ascending order.
pub fn check_doubling(knob: &Knob) -> Result<u64> {
    let mut last = 0u64;
    for v in &knob.values {
        let n: u64 = v.replace('_', "").parse().map_err(|_| {
            anyhow::anyhow!(
                "--until-knee doubles the swept value, so {}={v} must be a whole number \
                 (e.g. --set boards.count=1,2,4)",
                knob.key
            )
        })?;
        if n == 0 || n <= last {
            bail!(
                "--until-knee needs positive values in ascending order, got {}={}",
                knob.key,
                knob.values.join(",")
            );
        }
        last = n;
    }
    Ok(last)
}

/// Roughly how long the sweep takes, in seconds: per point a floor probe, then per model
/// its warm-up, measured window and start/stop.
pub fn estimate_s(plan: &SweepPlan, points: &[PreparedPoint]) -> f64 {
    points
        .iter()
        .map(|p| {
            let s = &p.scenario;
            let measured = plan
                .run
                .duration_s
                .unwrap_or_else(|| s.measure_s(plan.run.quick));
            let warmup = crate::driver::options::warmup_s(s, plan.run.quick);
            let floor = crate::driver::options::floor_s(plan.run.quick, measured);
            floor + p.models.len() as f64 * (warmup + measured + 1.0)
        })
        .sum()
}

/// How a sweep ended.
pub struct Outcome {
    pub manifest: SweepManifest,
    pub interrupted: bool,
}

impl Outcome {
    /// The process exit code, as `esbench run` gives it: 0 all ok, 3 a point or a model
    /// failed, 130/143/129 interrupted by Ctrl-C/SIGTERM/SIGHUP.
    pub fn exit_code(&self, sweep_dir: &Path) -> i32 {
        if self.interrupted {
            return interrupt::exit_code();
        }
        let loaded = super::manifest::LoadedSweep::load(self.manifest.clone(), sweep_dir);
        let all_ok = loaded.points.iter().all(|p| {
            p.status == PointStatus::Done
                && p.results
                    .as_ref()
                    .is_some_and(|r| r.models.iter().all(|m| m.is_ok()))
        });
        if all_ok {
            0
        } else {
            3
        }
    }
}

/// Runs every prepared point in order, rewriting `<out>/sweep.json` after each one.
pub fn run(plan: &SweepPlan, points: &[PreparedPoint]) -> Result<Outcome> {
    let out = &plan.out;
    let manifest_path = out.join("sweep.json");
    if manifest_path.exists() {
        bail!(
            "{} already holds a sweep; choose another --out (or finish it with --resume, \
             re-render it with --from)",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let values: Vec<String> = points.iter().map(|p| p.value.clone()).collect();
    let mut manifest = SweepManifest::new(
        &plan.scenario_path.display().to_string(),
        &plan.knob.key,
        &values,
        &plan.fixed,
    );
    manifest.command = plan.command.clone();
    manifest.options = SweepOptions {
        models: plan.run.models.clone(),
        quick: plan.run.quick,
        duration_s: plan.run.duration_s,
        pin: plan.run.pin,
        point_reports: plan.point_reports,
    };
    manifest.until_knee = plan.until_knee.clone();
    manifest.save(&manifest_path)?;
    run_points(plan, points, manifest, &manifest_path)
}

/// The plan that resumes `manifest` (found in `dir`): same scenario, knob, fixed knobs and
/// run options as the sweep that wrote it, its models run at `place` (`--target` is given
/// again on resuming, as the token is never recorded).
pub fn resume_plan(manifest: &SweepManifest, dir: &Path, exe: PathBuf, place: Place) -> SweepPlan {
    let o = &manifest.options;
    SweepPlan {
        scenario_path: PathBuf::from(&manifest.scenario),
        knob: Knob {
            key: manifest.key.clone(),
            values: manifest.values.clone(),
        },
        fixed: manifest.fixed.clone(),
        // A sweep's `--driver` is one of its fixed settings (`run.driver`), not a run option.
        run: RunOptions {
            place,
            ..RunOptions::new(o.models.clone(), o.duration_s, o.quick, o.pin, exe)
        },
        out: dir.to_path_buf(),
        point_reports: o.point_reports,
        command: manifest.command.clone(),
        until_knee: manifest.until_knee.clone(),
    }
}

/// Runs the points of an existing sweep that are not done (failed, interrupted, not run),
/// keeping the done ones as they are.
pub fn resume(
    plan: &SweepPlan,
    points: &[PreparedPoint],
    mut manifest: SweepManifest,
) -> Result<Outcome> {
    let manifest_path = plan.out.join("sweep.json");
    manifest.notes.retain(|n| !n.starts_with("interrupted"));
    let todo = manifest
        .points
        .iter()
        .filter(|p| p.status != PointStatus::Done)
        .count();
    manifest
        .notes
        .push(format!("resumed: {todo} point(s) not done were run again"));
    manifest.save(&manifest_path)?;
    run_points(plan, points, manifest, &manifest_path)
}

/// Runs one point and records how it ended in `manifest` (the caller saves it).
fn run_one(
    plan: &SweepPlan,
    point: &PreparedPoint,
    i: usize,
    n: usize,
    manifest: &mut SweepManifest,
) {
    let out = &plan.out;
    let dir_name = point_dir_name(&plan.knob.key, &point.value);
    let dir = out.join(&dir_name);
    let scenario_file = dir.join("scenario.toml");
    let results_path = dir.join("results.json");
    let rel = format!("{dir_name}/results.json");
    crate::outln!(
        "\n[{}/{n}] {}={} ({})",
        i + 1,
        plan.knob.key,
        point.value,
        point.models.join(", ")
    );
    let entry = &mut manifest.points[i];
    // A resumed point starts clean: its old error and results no longer describe it.
    entry.status = PointStatus::NotRun;
    entry.error = None;
    entry.results = None;
    let header = format!(
        "# esbench sweep point: {}={} (from {})\n",
        plan.knob.key,
        point.value,
        plan.scenario_path.display()
    );
    if let Err(e) = write_atomic(&scenario_file, format!("{header}{}", point.text).as_bytes()) {
        entry.status = PointStatus::Failed;
        entry.error = Some(format!("{e:#}"));
        return;
    }
    match run_scenario(&plan.run, &scenario_file, &results_path) {
        Ok(results) => {
            entry.status = if interrupt::interrupted() {
                PointStatus::Interrupted
            } else {
                PointStatus::Done
            };
            entry.results = Some(rel);
            for m in &results.models {
                crate::outln!(
                    "  {:>14}: {} (CPU {:.2} %, poll p99 {} µs, watchdog p99 {} µs)",
                    m.name,
                    m.status,
                    m.cpu.percent,
                    m.poll_latency.p99,
                    m.watchdog_lateness.p99
                );
            }
            if plan.point_reports {
                if let Err(e) =
                    crate::report::write_report(&[(results_path.clone(), results)], &dir)
                {
                    crate::errln!("warning: no report for this point: {e:#}");
                }
            }
        }
        Err(e) => {
            crate::errln!(
                "point {}={} failed, going on: {e:#}",
                plan.knob.key,
                point.value
            );
            entry.status = PointStatus::Failed;
            entry.error = Some(format!("{e:#}"));
            if results_path.is_file() {
                entry.results = Some(rel);
            }
        }
    }
}

/// What an `--until-knee` sweep does once its points so far are measured.
enum Step {
    /// Not an `--until-knee` sweep, or it stopped already.
    Done,
    Stop(String),
    Run(Box<PreparedPoint>),
}

/// Whether to grow the sweep by one doubled value, and why not: every model has broken,
/// the driver was the limit for every model still without a knee, the last point failed, or the next value is above the limit,
/// refused by the scenario, or would end past the wall-time limit.
fn next_step(plan: &SweepPlan, manifest: &SweepManifest, points: &[PreparedPoint]) -> Step {
    let Some(u) = &manifest.until_knee else {
        return Step::Done;
    };
    if u.stopped.is_some() {
        return Step::Done;
    }
    let key = &plan.knob.key;
    let sweep = LoadedSweep::load(manifest.clone(), &plan.out);
    let (Some(last), Some(last_point)) = (sweep.points.last(), points.last()) else {
        return Step::Stop("no value to start from".into());
    };
    let mut models = last_point.models.clone();
    for m in sweep.models() {
        if !models.contains(&m) {
            models.push(m);
        }
    }
    let knees: Vec<knee::Knee> = models.iter().map(|m| knee::knee(&sweep, m)).collect();
    if knees.iter().all(|k| k.knee.is_some()) {
        let list: Vec<String> = (knees.iter())
            .map(|k| format!("{} at {}", k.model, k.knee.as_deref().unwrap_or("?")))
            .collect();
        return Step::Stop(format!("every model has broken ({})", list.join(", ")));
    }
    if last.status == PointStatus::Failed || last.results.is_none() {
        return Step::Stop(format!(
            "the point {key}={} failed ({}), so a larger one would too",
            last.value,
            last.problem.as_deref().unwrap_or("no results")
        ));
    }
    if let Some(r) = &last.results {
        // The models still without a knee that this point could judge. The sweep grows while
        // one of them was judged here; it stops when the driver was the limit for all of
        // them, since a larger value would then only measure the driver. (A model the driver
        // limits goes on being run: its later points are marked and not judged.)
        let open: Vec<_> = (knees.iter())
            .filter(|k| k.knee.is_none())
            .filter_map(|k| r.model(&k.model))
            .filter(|m| m.is_ok())
            .collect();
        let limited =
            super::knee::periods(last).and_then(|per| super::knee::driver_limits_all(&open, &per));
        if let Some(limited) = limited {
            return Step::Stop(format!(
                "the driver was the limit at {key}={} for every model still without a knee ({}): a \
                 larger value would measure the driver, not the models",
                last.value,
                limited.join("; ")
            ));
        }
    }
    let Ok(last_n) = last.value.replace('_', "").parse::<u64>() else {
        return Step::Stop(format!(
            "the last value {} is not a whole number",
            last.value
        ));
    };
    let next = last_n.saturating_mul(2);
    if next > u.max_value {
        return Step::Stop(format!(
            "the next value {key}={next} is above the limit --max-value {}",
            u.max_value
        ));
    }
    let point = match prepare_value(plan, &next.to_string()) {
        Ok(p) => p,
        Err(e) => return Step::Stop(format!("the next value {key}={next} is refused: {e:#}")),
    };
    let estimate = estimate_s(plan, std::slice::from_ref(&point));
    if u.elapsed_s + estimate > u.max_wall_s {
        return Step::Stop(format!(
            "the next point {key}={next} (about {estimate:.0} s) would pass --max-wall {:.0} s \
             ({:.0} s measured so far)",
            u.max_wall_s, u.elapsed_s
        ));
    }
    Step::Run(Box::new(point))
}

fn run_points(
    plan: &SweepPlan,
    points: &[PreparedPoint],
    mut manifest: SweepManifest,
    manifest_path: &Path,
) -> Result<Outcome> {
    let mut points = points.to_vec();
    let mut i = 0;
    loop {
        if interrupt::interrupted() {
            break;
        }
        if i == points.len() {
            match next_step(plan, &manifest, &points) {
                Step::Done => break,
                Step::Stop(why) => {
                    crate::outln!("\n--until-knee stops: {why}");
                    if let Some(u) = manifest.until_knee.as_mut() {
                        u.stopped = Some(why);
                    }
                    manifest.save(manifest_path)?;
                    break;
                }
                Step::Run(next) => {
                    crate::outln!(
                        "\n--until-knee: not every model has broken; next {}={}",
                        plan.knob.key,
                        next.value
                    );
                    manifest.push_value(&next.value);
                    points.push(*next);
                    manifest.save(manifest_path)?;
                }
            }
        }
        if manifest.points[i].status != PointStatus::Done {
            let started = crate::clock::now_ns();
            run_one(plan, &points[i], i, points.len(), &mut manifest);
            if let Some(u) = manifest.until_knee.as_mut() {
                u.elapsed_s += crate::clock::now_ns().saturating_sub(started) as f64 / 1e9;
            }
            manifest.save(manifest_path)?;
        }
        i += 1;
    }
    let n = points.len();
    let interrupted = interrupt::interrupted();
    if interrupted {
        let done = manifest
            .points
            .iter()
            .filter(|p| p.status != PointStatus::NotRun)
            .count();
        manifest.notes.push(format!(
            "{}: {done} of {n} points attempted",
            interrupt::status()
        ));
        manifest.save(manifest_path)?;
    }
    Ok(Outcome {
        manifest,
        interrupted,
    })
}
