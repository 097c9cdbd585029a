//! The verdicts: for every model present on both sides and every compared figure, the change
//! (current / baseline), its confidence interval, the same for the figure divided by the floor
//! of its own run, and improved / unchanged / regressed / not judged. This is the one judging
//! path: `esbench check` and the comparison view of `esbench report A B` ([`compare_view`])
//! both come here.
//!
//! When every run on both sides has rounds (`ModelResult::rounds`) and the figure is one a
//! round keeps (CPU %, context switches/s, the p50 and p99 of a latency), it is judged on the
//! rounds: with one run a side and the same rounds on both, paired by round index (the
//! interval of the median of the per-round ratios current / baseline, so a machine that
//! drifted during both runs alike cancels out); otherwise the two intervals of the median over
//! rounds (the change runs from the current low end over the baseline high end to the current
//! high end over the baseline low end). Intervals are the distribution-free order-statistic
//! intervals of `metrics::rounds`; fewer than five values give a range, and a range is "not
//! enough rounds to judge". Rounds carry no floor of their own, so this path does not
//! normalise by the floor: the rounds' interleaving is what protects it from a drifting
//! machine. Without rounds on both sides `check` falls back to what follows (its baseline of
//! several runs keeps working), and the comparison view says "not enough rounds to judge".
//!
//! How the interval is made depends on what there is to resample, per side:
//! - two or more runs: the runs are resampled with replacement and the median taken (the
//!   run-to-run spread is the noise that matters on a shared machine);
//! - one run of a latency figure: the run's HDR histogram is resampled (the percentile of N
//!   draws from it), which only captures sampling noise within the run — the band has to
//!   cover the rest;
//! - one run of a figure without a histogram (CPU %, context switches, the longest stall):
//!   no interval, the point itself, and the band alone decides.
//!
//! The rules, by [`Kind`]:
//! - percentiles, stalls and costs: a regression only when the whole interval lies above
//!   1 + band, the change is larger than `min_abs`, and — for latencies and stalls — the
//!   floor-normalised interval clears the band too. Requiring both makes the rule
//!   conservative: a machine that got slower (or paused) as a whole moves the floor with the
//!   figure, and floor noise can only hide a change, never invent one;
//! - tail percentiles (p90 and up) are judged only when every run on both sides has at least
//!   `tail_min_beyond` samples beyond the percentile: a p99 of 121 polls is one sample from
//!   the maximum, and a stall of the machine moves it by 10-100x between identical runs;
//! - counts a healthy run keeps at zero (failed, skipped and unmatched polls and commands,
//!   the longest run of late watchdog ticks): a regression when the median current run
//!   exceeds the baseline's *worst* run × (1 + band) + `min_abs` (the allowance). No
//!   interval: the baseline's worst run already is the noise, and a healthy bridge does not
//!   lose a command or fail a poll by chance.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::Serialize;

use super::metrics::{kind, metrics, observe, samples_beyond, Kind, MetricDef, RunObs};
use super::stats::{median, percentile_interval, resampled_median, Rng};
use super::thresholds::{Band, Mode, Thresholds};
use crate::metrics::figures::RoundValue;
use crate::metrics::results::Results;
use crate::metrics::rounds::{Interval, MIN_FOR_INTERVAL};
use crate::metrics::status::Status;

/// How the comparison is to be made.
#[derive(Clone, Debug)]
pub struct Options {
    pub thresholds: Thresholds,
    pub mode: Mode,
    /// Treat a baseline model missing from the current runs as a note, not unusable input.
    pub allow_missing_models: bool,
    /// Compare runs measured with different settings (quick and full, other durations or
    /// warm-ups) instead of refusing them as unusable input.
    pub allow_mixed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Unchanged,
    Regressed,
    /// Shown but not judged: a tail percentile with too few samples beyond it, or a figure
    /// whose band says `judge = false`; the row's note says which.
    NotJudged,
    /// Not compared: no data on one side (e.g. no commands in the scenario).
    NoData,
}

/// A change as the ratio current / baseline, with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Change {
    pub ratio: f64,
    pub lo: f64,
    pub hi: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub model: String,
    pub metric: String,
    pub unit: String,
    /// Which rule judged it (`status` rows are `count`-like: a failure is one event).
    pub kind: Kind,
    /// Median of the baseline runs' figures (for counts: the baseline's worst run).
    pub baseline: Option<f64>,
    /// Median of the current runs' figures.
    pub current: Option<f64>,
    /// Confidence interval of each side's figure, when it has one (not for a single run's
    /// point figure or a count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_ci: Option<(f64, f64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_ci: Option<(f64, f64)>,
    /// For counts: the largest current value that passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    pub change: Option<Change>,
    /// The change of the figure divided by the same run's floor (latencies only).
    pub vs_floor: Option<Change>,
    /// How the interval was made: `runs`, `histogram`, `point` (per side when they differ).
    pub method: String,
    pub band: Band,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Row {
    /// A row of `model`'s `metric` with nothing measured or judged yet (no data), which the
    /// judging paths fill in.
    fn unjudged(model: &str, metric: &str, unit: &str, kind: Kind, band: Band) -> Row {
        Row {
            model: model.into(),
            metric: metric.into(),
            unit: unit.into(),
            kind,
            baseline: None,
            current: None,
            baseline_ci: None,
            current_ci: None,
            limit: None,
            change: None,
            vs_floor: None,
            method: String::new(),
            band,
            verdict: Verdict::NoData,
            note: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub mode: Mode,
    pub confidence: f64,
    pub scenario: String,
    pub baseline_files: Vec<PathBuf>,
    pub current_files: Vec<PathBuf>,
    pub rows: Vec<Row>,
    /// Things a reader must not miss but that do not fail the check: a baseline measured on
    /// another machine or by another esbench version.
    pub warnings: Vec<String>,
    /// Things a reader should know (mismatched settings, skipped models, missing floors).
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regressed)
    }

    /// 0 when nothing regressed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.regressions().next().is_some() {
            1
        } else {
            0
        }
    }
}

/// Compares `current` runs against `baseline` runs (each a path and its loaded results).
/// Errors mean unusable input: scenarios or models that do not match, nothing to compare.
pub fn compare(
    baseline: &[(PathBuf, Results)],
    current: &[(PathBuf, Results)],
    opts: &Options,
) -> Result<Outcome> {
    judge(baseline, current, opts, WithoutRounds::Bootstrap)
}

/// What a figure is judged by when one side has no rounds for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithoutRounds {
    /// `esbench check`: today's rule (a bootstrap over runs, or over one run's histogram).
    Bootstrap,
    /// The comparison view of two runs: "not enough rounds to judge". One run a side has no
    /// run-to-run spread, and a histogram bootstrap sees only the noise inside the run, so
    /// any verdict would be a guess.
    NotJudged,
}

/// The comparison view: run `b` against run `a` (`esbench report A B`), by the same rules
/// as `check`, on the rounds only.
pub fn compare_view(
    a: &(PathBuf, Results),
    b: &(PathBuf, Results),
    opts: &Options,
) -> Result<Outcome> {
    judge(
        std::slice::from_ref(a),
        std::slice::from_ref(b),
        opts,
        WithoutRounds::NotJudged,
    )
}

/// A paired run's two sides (`check::paired`): side B against side A by the same rules, on
/// the rounds only — a figure without a per-round interval gets no verdict (the counts of
/// lost work keep their own rule, which needs none).
pub fn compare_paired(
    a: &(PathBuf, Results),
    b: &(PathBuf, Results),
    opts: &Options,
) -> Result<Outcome> {
    judge(
        std::slice::from_ref(a),
        std::slice::from_ref(b),
        opts,
        WithoutRounds::NotJudged,
    )
}

fn judge(
    baseline: &[(PathBuf, Results)],
    current: &[(PathBuf, Results)],
    opts: &Options,
    without: WithoutRounds,
) -> Result<Outcome> {
    let mut notes = Vec::new();
    let scenario = check_scenarios(baseline, current, &mut notes)?;
    check_settings(baseline, current, opts.allow_mixed, &mut notes)?;
    let models = common_models(baseline, current, opts.allow_missing_models, &mut notes)?;
    let mut rows = Vec::new();
    for model in &models {
        compare_model(
            model, baseline, current, opts, without, &mut rows, &mut notes,
        )?;
    }
    let mut shown_only: Vec<&str> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.verdict == Verdict::NotJudged && !r.band.judge)
    {
        if !shown_only.contains(&r.metric.as_str()) {
            shown_only.push(&r.metric);
        }
    }
    if !shown_only.is_empty() {
        notes.push(format!(
            "shown but not judged in {} mode (judge = false): {}",
            format!("{:?}", opts.mode).to_lowercase(),
            shown_only.join(", ")
        ));
    }
    Ok(Outcome {
        mode: opts.mode,
        confidence: opts.thresholds.confidence,
        scenario,
        baseline_files: baseline.iter().map(|(p, _)| p.clone()).collect(),
        current_files: current.iter().map(|(p, _)| p.clone()).collect(),
        rows,
        warnings: Vec::new(),
        notes,
    })
}

/// All runs must come from the same scenario (by name); differing texts or run lengths are
/// allowed but noted, since they change what the figures mean.
fn check_scenarios(
    baseline: &[(PathBuf, Results)],
    current: &[(PathBuf, Results)],
    notes: &mut Vec<String>,
) -> Result<String> {
    let Some((first_path, first)) = baseline.first() else {
        bail!("no baseline results given");
    };
    if current.is_empty() {
        bail!("no current results given");
    }
    let name = &first.scenario.name;
    for (p, r) in baseline.iter().chain(current) {
        if &r.scenario.name != name {
            bail!(
                "scenarios do not match: {} ran {:?} but {} ran {:?}; compare runs of the same scenario",
                first_path.display(),
                name,
                p.display(),
                r.scenario.name
            );
        }
    }
    if baseline
        .iter()
        .chain(current)
        .any(|(_, r)| r.scenario.text != first.scenario.text)
    {
        notes.push(format!(
            "scenario {name:?} has different contents across the runs compared"
        ));
    }
    Ok(name.clone())
}

/// How a run was measured: what decides whether two runs' figures can be compared at all.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Setting {
    quick: bool,
    duration_s: f64,
    warmup_s: f64,
}

impl Setting {
    fn of(r: &Results) -> Setting {
        Setting {
            quick: r.scenario.quick,
            duration_s: r.scenario.duration_s,
            warmup_s: r.scenario.warmup_s,
        }
    }

    fn same(&self, o: &Setting) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0);
        self.quick == o.quick
            && close(self.duration_s, o.duration_s)
            && close(self.warmup_s, o.warmup_s)
    }

    fn describe(&self) -> String {
        format!(
            "{} ({} s measured after {} s warm-up)",
            if self.quick { "quick" } else { "full" },
            self.duration_s,
            self.warmup_s
        )
    }
}

/// The distinct settings of one side, each with its first file and how many runs had it.
fn settings_of(side: &[(PathBuf, Results)]) -> Vec<(Setting, PathBuf, usize)> {
    let mut out: Vec<(Setting, PathBuf, usize)> = Vec::new();
    for (p, r) in side {
        let s = Setting::of(r);
        match out.iter_mut().find(|(o, _, _)| o.same(&s)) {
            Some(e) => e.2 += 1,
            None => out.push((s, p.clone(), 1)),
        }
    }
    out
}

fn describe_side(settings: &[(Setting, PathBuf, usize)]) -> String {
    let one = |(s, p, n): &(Setting, PathBuf, usize)| {
        let files = if *n > 1 {
            format!("{} and {} more", p.display(), n - 1)
        } else {
            p.display().to_string()
        };
        format!("{} in {files}", s.describe())
    };
    match settings {
        [only] => one(only),
        many => format!(
            "a mix: {}",
            many.iter().map(one).collect::<Vec<_>>().join("; ")
        ),
    }
}

/// Runs measured differently — quick against full, or other durations or warm-ups — are
/// refused (unless `allow_mixed`): a percentile of a 4 s window after 0.5 s of warm-up and
/// one of a 20 s window after 2 s are different quantities, so even p50 would be judged on a
/// difference the build did not make.
fn check_settings(
    baseline: &[(PathBuf, Results)],
    current: &[(PathBuf, Results)],
    allow_mixed: bool,
    notes: &mut Vec<String>,
) -> Result<()> {
    let (b, c) = (settings_of(baseline), settings_of(current));
    let all_same = b.len() == 1 && c.len() == 1 && b[0].0.same(&c[0].0);
    if all_same {
        return Ok(());
    }
    let what = format!(
        "the baseline is {}, the current runs are {}",
        describe_side(&b),
        describe_side(&c)
    );
    if allow_mixed {
        notes.push(format!(
            "runs measured differently were compared anyway (--allow-mixed): {what}; \
             changes are only indicative"
        ));
        return Ok(());
    }
    let quick = |side: &[(Setting, PathBuf, usize)]| -> Option<bool> {
        let q = side[0].0.quick;
        side.iter().all(|(s, _, _)| s.quick == q).then_some(q)
    };
    let fix = match (quick(&b), quick(&c)) {
        (Some(true), Some(false)) => {
            "re-run the current side with `esbench run --quick`, as the baseline was made \
             (or compare against a baseline of full runs)"
        }
        (Some(false), Some(true)) => {
            "re-run the current side without --quick, as the baseline was made \
             (or compare against a baseline of quick runs)"
        }
        _ => {
            "re-run so that every run uses the same --quick / --duration and the same \
             scenario [run] settings"
        }
    };
    bail!(
        "runs measured differently cannot be compared: {what}. Windows of different lengths \
         after different warm-ups give different percentiles whatever the build; {fix}. \
         --allow-mixed compares them anyway"
    )
}

/// Models on both sides, in baseline order.
fn common_models(
    baseline: &[(PathBuf, Results)],
    current: &[(PathBuf, Results)],
    allow_missing: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<String>> {
    let mut base: Vec<String> = Vec::new();
    for (_, r) in baseline {
        for m in &r.models {
            if !base.contains(&m.name) {
                base.push(m.name.clone());
            }
        }
    }
    let cur: BTreeSet<&str> = current
        .iter()
        .flat_map(|(_, r)| r.models.iter().map(|m| m.name.as_str()))
        .collect();
    let missing: Vec<&String> = base.iter().filter(|m| !cur.contains(m.as_str())).collect();
    let new: Vec<&&str> = cur
        .iter()
        .filter(|m| !base.iter().any(|b| b == **m))
        .collect();
    if !new.is_empty() {
        notes.push(format!("not in the baseline, not compared: {new:?}"));
    }
    let common: Vec<String> = base
        .iter()
        .filter(|m| cur.contains(m.as_str()))
        .cloned()
        .collect();
    if common.is_empty() {
        bail!(
            "models do not match: the baseline has {base:?}, the current runs have {cur:?}; nothing to compare"
        );
    }
    if !missing.is_empty() {
        if !allow_missing {
            bail!(
                "models do not match: {missing:?} are in the baseline but in none of the current runs \
                 (pass --allow-missing-models to compare the rest)"
            );
        }
        notes.push(format!("in the baseline only, not compared: {missing:?}"));
    }
    Ok(common)
}

/// The runs of one side in which `model` ran to the end ("ok"), and the failures.
fn ok_runs<'a>(
    side: &'a [(PathBuf, Results)],
    model: &str,
) -> (Vec<&'a Results>, Vec<(PathBuf, Status)>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (p, r) in side {
        if let Some(m) = r.model(model) {
            if m.is_ok() {
                ok.push(r);
            } else {
                failed.push((p.clone(), m.status.clone()));
            }
        }
    }
    (ok, failed)
}

fn compare_model(
    model: &str,
    baseline: &[(PathBuf, Results)],
    current: &[(PathBuf, Results)],
    opts: &Options,
    without: WithoutRounds,
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let (base_ok, base_failed) = ok_runs(baseline, model);
    let (cur_ok, cur_failed) = ok_runs(current, model);
    for (p, status) in &base_failed {
        notes.push(format!(
            "{model}: baseline run {} failed ({status}); left out",
            p.display()
        ));
    }
    if base_ok.is_empty() {
        notes.push(format!(
            "{model}: failed in every baseline run, not compared"
        ));
        return Ok(());
    }
    if !cur_failed.is_empty() {
        // A model that used to finish and now fails is the worst regression there is.
        let (p, status) = &cur_failed[0];
        let band = opts.thresholds.band(opts.mode, model, "status");
        rows.push(Row {
            verdict: Verdict::Regressed,
            note: Some(format!(
                "failed in {} of {} current runs (e.g. {}: {status})",
                cur_failed.len(),
                cur_failed.len() + cur_ok.len(),
                p.display()
            )),
            ..Row::unjudged(model, "status", "", Kind::Count, band)
        });
        if cur_ok.is_empty() {
            return Ok(());
        }
    }
    for def in metrics() {
        // An optional pass's figure (valgrind) that neither side ran has no row at all.
        let has = |runs: &[&Results]| {
            runs.iter()
                .filter_map(|r| r.model(model))
                .any(|m| def.of_model(m, 0.0).is_some())
        };
        if def.from_separate_pass() && !has(&base_ok) && !has(&cur_ok) {
            continue;
        }
        rows.push(compare_metric(
            model, def, &base_ok, &cur_ok, opts, without, notes,
        )?);
    }
    Ok(())
}

fn series(def: &MetricDef, runs: &[&Results], model: &str) -> Result<Vec<RunObs>> {
    let mut out = Vec::new();
    for r in runs {
        let m = r
            .model(model)
            .expect("ok_runs only keeps runs with the model");
        if let Some(o) = observe(def, r, m)? {
            out.push(o);
        }
    }
    Ok(out)
}

/// One side's statistic: its point estimate and its bootstrap distribution.
struct Estimate {
    point: f64,
    boot: Vec<f64>,
    method: &'static str,
}

/// Estimates one side. `normalised` divides each figure by its run's floor; `None` when a
/// run lacks the floor.
fn estimate(
    runs: &[RunObs],
    normalised: bool,
    iterations: usize,
    rng: &mut Rng,
) -> Option<Estimate> {
    let values: Vec<f64> = runs
        .iter()
        .map(|r| match (normalised, &r.floor) {
            (false, _) => Some(r.figure.value),
            (true, Some(f)) if f.value > 0.0 => Some(r.figure.value / f.value),
            (true, _) => None,
        })
        .collect::<Option<_>>()?;
    let point = median(&values);
    if runs.len() >= 2 {
        let mut scratch = Vec::with_capacity(values.len());
        let boot = (0..iterations)
            .map(|_| resampled_median(&values, rng, &mut scratch))
            .collect();
        return Some(Estimate {
            point,
            boot,
            method: "runs",
        });
    }
    let run = &runs[0];
    let Some((hist, q)) = &run.figure.hist else {
        return Some(Estimate {
            point,
            boot: vec![point; iterations],
            method: "point",
        });
    };
    let floor_hist = if normalised {
        run.floor.as_ref().and_then(|f| f.hist.as_ref())
    } else {
        None
    };
    let boot = (0..iterations)
        .map(|_| {
            let v = hist.resampled_quantile(*q, rng) as f64;
            match floor_hist {
                Some((fh, fq)) => v / (fh.resampled_quantile(*fq, rng).max(1) as f64),
                None => v,
            }
        })
        .collect();
    Some(Estimate {
        point,
        boot,
        method: "histogram",
    })
}

fn ratio(c: f64, b: f64) -> f64 {
    if b == 0.0 {
        if c == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    } else {
        c / b
    }
}

fn change(b: &Estimate, c: &Estimate, confidence: f64) -> Change {
    let mut ratios: Vec<f64> = b
        .boot
        .iter()
        .zip(&c.boot)
        .map(|(b, c)| ratio(*c, *b))
        .collect();
    let (lo, hi) = percentile_interval(&mut ratios, confidence);
    Change {
        ratio: ratio(c.point, b.point),
        lo,
        hi,
    }
}

/// A seed per (model, metric), so a row's interval does not depend on which rows came first.
fn row_seed(seed: u64, model: &str, metric: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in model.bytes().chain([b'/']).chain(metric.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn interval(boot: &[f64], confidence: f64) -> (f64, f64) {
    percentile_interval(&mut boot.to_vec(), confidence)
}

/// The row's verdict when a side has no data for the figure (or it cannot be measured at
/// all); true when that settles the row.
fn settled_without_data(
    row: &mut Row,
    def: &MetricDef,
    not_measured: bool,
    base_empty: bool,
    cur_empty: bool,
) -> bool {
    if not_measured {
        // An external bridge's self-statistics: never a figure, so never judged, never 0.
        row.note = Some("not measured: an external bridge cannot report it".into());
        return true;
    }
    if def.from_separate_pass() && (base_empty || cur_empty) {
        // Not a regression: the other side did not run the optional pass.
        row.verdict = Verdict::NotJudged;
        row.note = Some(format!(
            "the {} has no valgrind pass (esbench run --valgrind)",
            if base_empty {
                "baseline"
            } else {
                "current run"
            }
        ));
        return true;
    }
    if base_empty {
        row.note = Some(if kind(def) == Kind::Count {
            "not recorded in the baseline (made before this counter existed?)".into()
        } else {
            "no data in the baseline".into()
        });
        return true;
    }
    if cur_empty {
        // The baseline measured it and the current runs did not: something stopped working
        // (e.g. commands no longer answered).
        row.verdict = Verdict::Regressed;
        row.note = Some("measured in the baseline, no data in the current runs".into());
        return true;
    }
    false
}

fn compare_metric(
    model: &str,
    def: &MetricDef,
    base_runs: &[&Results],
    cur_runs: &[&Results],
    opts: &Options,
    without: WithoutRounds,
    notes: &mut Vec<String>,
) -> Result<Row> {
    let t = &opts.thresholds;
    let band = t.band(opts.mode, model, def.key);
    let base = series(def, base_runs, model)?;
    let cur = series(def, cur_runs, model)?;
    let values = |side: &[RunObs]| side.iter().map(|o| o.figure.value).collect::<Vec<_>>();
    let mut row = Row {
        baseline: (!base.is_empty()).then(|| median(&values(&base))),
        current: (!cur.is_empty()).then(|| median(&values(&cur))),
        ..Row::unjudged(model, def.key, def.unit.symbol(), kind(def), band)
    };
    let not_measured = base_runs.iter().chain(cur_runs).any(|r| {
        r.models
            .iter()
            .any(|m| m.name == model && m.not_measured(def.key))
    });
    if settled_without_data(&mut row, def, not_measured, base.is_empty(), cur.is_empty()) {
        return Ok(row);
    }
    if kind(def) == Kind::Count {
        judge_count(&mut row, &values(&base), &values(&cur));
        return Ok(row);
    }
    match (
        round_values(def, base_runs, model),
        round_values(def, cur_runs, model),
    ) {
        // `check` judges on rounds only when both sides have enough of them for an interval;
        // with fewer (a --quick run has 3) a range would leave even a gross regression "not
        // judged", so it falls back to the runs' own figures below. The comparison view says
        // "not enough rounds" instead.
        (Some(b), Some(c)) if without == WithoutRounds::NotJudged || rounds_enough(&b, &c) => {
            judge_rounds(&mut row, def, &b, &c, t);
            return Ok(row);
        }
        (b, c) if without == WithoutRounds::NotJudged => {
            row.verdict = Verdict::NotJudged;
            row.method = "rounds".into();
            row.note = Some(not_enough_rounds(def, b.is_some(), c.is_some()));
            return Ok(row);
        }
        _ => {}
    }
    let mut rng = Rng::new(row_seed(t.seed, model, def.key));
    let n = t.iterations;
    let (b, c) = (
        estimate(&base, false, n, &mut rng).expect("raw figures always estimate"),
        estimate(&cur, false, n, &mut rng).expect("raw figures always estimate"),
    );
    row.method = if b.method == c.method {
        b.method.to_string()
    } else {
        format!("{}/{}", b.method, c.method)
    };
    if b.method != "point" {
        row.baseline_ci = Some(interval(&b.boot, t.confidence));
    }
    if c.method != "point" {
        row.current_ci = Some(interval(&c.boot, t.confidence));
    }
    let raw = change(&b, &c, t.confidence);
    row.change = Some(raw);
    if def.has_floor() {
        match (
            estimate(&base, true, n, &mut rng),
            estimate(&cur, true, n, &mut rng),
        ) {
            (Some(bf), Some(cf)) => row.vs_floor = Some(change(&bf, &cf, t.confidence)),
            _ => {
                let note = "no floor measurement in some run: judged on raw figures only";
                if !notes.iter().any(|n| n == note) {
                    notes.push(note.into());
                }
            }
        }
    }
    if !band.judge {
        row.verdict = Verdict::NotJudged;
        row.note = Some("judge = false in the thresholds".into());
        return Ok(row);
    }
    let fewest_beyond = |_| base.iter().chain(&cur).filter_map(|o| o.beyond).min();
    if thin_tail(&mut row, def, t, "run", fewest_beyond) {
        return Ok(row);
    }
    row.verdict = band_verdict(&band, &raw, row.vs_floor.as_ref(), c.point - b.point);
    Ok(row)
}

/// The band rule shared by every path: a regression when the whole interval of the change
/// lies above 1 + band, the change is larger than `min_abs`, and — when there is one — the
/// floor-normalised interval clears the band too; an improvement symmetrically.
fn band_verdict(band: &Band, raw: &Change, vs_floor: Option<&Change>, delta: f64) -> Verdict {
    let up = 1.0 + band.band;
    let clears_up = |ch: &Change| ch.lo > up;
    let clears_down = |ch: &Change| ch.hi < 1.0 / up;
    if clears_up(raw) && delta > band.min_abs && vs_floor.is_none_or(clears_up) {
        Verdict::Regressed
    } else if clears_down(raw) && -delta > band.min_abs && vs_floor.is_none_or(clears_down) {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

/// One side's rounds of a figure: per run, its ok rounds as (index, value). `None` when the
/// figure is not one rounds keep, or some run of the side has no round that gives it.
fn round_values(
    def: &MetricDef,
    runs: &[&Results],
    model: &str,
) -> Option<Vec<Vec<(u32, RoundValue)>>> {
    if !def.judged_on_rounds() {
        return None;
    }
    let mut out = Vec::new();
    for r in runs {
        let m = r.model(model)?;
        let v = def.indexed_values(m);
        if v.is_empty() {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

/// Both sides have at least `MIN_FOR_INTERVAL` ok rounds in all, so judging on rounds gives
/// an interval, not a range.
fn rounds_enough(b: &[Vec<(u32, RoundValue)>], c: &[Vec<(u32, RoundValue)>]) -> bool {
    let n = |side: &[Vec<(u32, RoundValue)>]| side.iter().map(Vec::len).sum::<usize>();
    n(b) >= MIN_FOR_INTERVAL && n(c) >= MIN_FOR_INTERVAL
}

/// Why a figure of the comparison view is not judged.
fn not_enough_rounds(def: &MetricDef, base: bool, cur: bool) -> String {
    if !def.judged_on_rounds() {
        return "not enough rounds to judge: rounds keep only CPU, context switches and \
                latency p50/p99"
            .into();
    }
    let which = match (base, cur) {
        (false, false) => "neither run has rounds",
        (false, true) => "the first run has no rounds",
        _ => "the second run has no rounds",
    };
    format!("not enough rounds to judge: {which}")
}

/// Leaves a tail figure (p99 and beyond) not judged when the sparsest run or round (`unit`)
/// has fewer than `t.tail_min_beyond` samples beyond its quantile: with so few, the
/// "percentile" is a handful of samples. `fewest_beyond` counts them for the quantile (`None`
/// counts as 0). True when the row was so marked.
fn thin_tail(
    row: &mut Row,
    def: &MetricDef,
    t: &Thresholds,
    unit: &str,
    fewest_beyond: impl FnOnce(f64) -> Option<u64>,
) -> bool {
    let (true, Some(q)) = (def.is_tail(), def.quantile()) else {
        return false;
    };
    let fewest = fewest_beyond(q).unwrap_or(0);
    if fewest >= t.tail_min_beyond {
        return false;
    }
    row.verdict = Verdict::NotJudged;
    row.note = Some(format!(
        "{fewest} sample{} beyond p{} in the sparsest {unit}, {} needed",
        if fewest == 1 { "" } else { "s" },
        q * 100.0,
        t.tail_min_beyond
    ));
    true
}

/// Judges a figure on the rounds of both sides (see the module's doc).
fn judge_rounds(
    row: &mut Row,
    def: &MetricDef,
    base: &[Vec<(u32, RoundValue)>],
    cur: &[Vec<(u32, RoundValue)>],
    t: &Thresholds,
) {
    row.vs_floor = None;
    row.method = "rounds".into();
    let fewest_beyond = |q| {
        let samples = base
            .iter()
            .chain(cur)
            .flatten()
            .filter_map(|(_, v)| v.samples);
        samples.map(|n| samples_beyond(n, q)).min()
    };
    if thin_tail(row, def, t, "round", fewest_beyond) {
        return;
    }
    let pooled = |side: &[Vec<(u32, RoundValue)>]| -> Vec<f64> {
        side.iter().flatten().map(|(_, v)| v.value).collect()
    };
    let (Some(bi), Some(ci)) = (
        Interval::of_median(&pooled(base)),
        Interval::of_median(&pooled(cur)),
    ) else {
        row.verdict = Verdict::NoData;
        row.note = Some("no finite per-round values".into());
        return;
    };
    row.baseline = Some(bi.mid);
    row.current = Some(ci.mid);
    row.baseline_ci = Some((bi.lo, bi.hi));
    row.current_ci = Some((ci.lo, ci.hi));
    let indices = |side: &[(u32, RoundValue)]| side.iter().map(|(k, _)| *k).collect::<Vec<_>>();
    let paired = base.len() == 1 && cur.len() == 1 && indices(&base[0]) == indices(&cur[0]);
    let (change, n, is_range) = if paired {
        let ratios: Vec<f64> = base[0]
            .iter()
            .zip(&cur[0])
            .map(|((_, b), (_, c))| ratio(c.value, b.value))
            .collect();
        match Interval::of_median(&ratios) {
            Some(i) => (
                Change {
                    ratio: i.mid,
                    lo: i.lo,
                    hi: i.hi,
                },
                i.n,
                i.is_range,
            ),
            None => {
                row.verdict = Verdict::NoData;
                row.note = Some("no finite per-round ratios".into());
                return;
            }
        }
    } else {
        (
            Change {
                ratio: ratio(ci.mid, bi.mid),
                lo: ratio(ci.lo, bi.hi),
                hi: ratio(ci.hi, bi.lo),
            },
            bi.n.min(ci.n),
            bi.is_range || ci.is_range,
        )
    };
    // The valgrind pass's figure is judged on its passes, the same way.
    let unit = if def.from_separate_pass() {
        "passes"
    } else {
        "rounds"
    };
    row.method = if paired {
        format!("{unit}, paired ({n})")
    } else {
        format!("{unit} ({}/{})", bi.n, ci.n)
    };
    row.change = Some(change);
    if !row.band.judge {
        row.verdict = Verdict::NotJudged;
        row.note = Some("judge = false in the thresholds".into());
        return;
    }
    if is_range {
        row.verdict = Verdict::NotJudged;
        row.note = Some(format!(
            "not enough {unit} to judge: {n} give a range, not an interval \
             ({MIN_FOR_INTERVAL} needed)"
        ));
        return;
    }
    row.verdict = band_verdict(&row.band, &change, None, ci.mid - bi.mid);
}

/// The count rule: the median current run against the baseline's worst run plus the
/// allowance (`worst × (1 + band) + min_abs`). An improvement is the baseline's median
/// clearing the current one by the same margin.
fn judge_count(row: &mut Row, base: &[f64], cur: &[f64]) {
    let worst = base.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let now = median(cur);
    let limit = worst * (1.0 + row.band.band) + row.band.min_abs;
    row.baseline = Some(worst);
    row.current = Some(now);
    row.limit = Some(limit);
    row.method = "count".into();
    row.verdict = if !row.band.judge {
        row.note = Some("judge = false in the thresholds".into());
        Verdict::NotJudged
    } else if now > limit {
        Verdict::Regressed
    } else if median(base) > now * (1.0 + row.band.band) + row.band.min_abs {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
}
