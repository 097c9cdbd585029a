//! Rounds of a run: how many and how long, the shuffled model order of each, and how one
//! model's rounds become its single row.
//!
//! A model measured in one pass cannot be told from the minute it ran in. So the session
//! splits each model's measured time into N rounds, runs every model's round k before any
//! model's round k+1 in an order shuffled per round, and merges a model's rounds back into one
//! row here: histograms merged (every sample kept), counters summed, CPU over the sum of the
//! windows. The per-round figures go into `ModelResult::rounds`, where the intervals of the
//! table and the headline come from (`metrics::rounds::Interval`).

use std::collections::BTreeMap;

use crate::metrics::driver_health::judge;
use crate::metrics::results::{CpuSample, ModelResult};
use crate::metrics::rounds::{RoundFigure, RoundResult};
use crate::metrics::status::Status;
use crate::metrics::summary::{new_histogram, Summary};

/// Rounds of a full run: six is the fewest whose [min, max] holds the median with at least
/// 95 % (1 − 2/2⁶ = 96.9 %; five give 93.8 %), so a default run judges with a real interval.
pub const DEFAULT_ROUNDS: u32 = 6;
/// Rounds under `--quick`: three, shown as a range; more would push the smoke run past a
/// minute (each round is a fresh child with its own warm-up).
pub const QUICK_ROUNDS: u32 = 3;
/// Rounds of a paired run (`--against`) when none are asked for, `--quick` or not, cut to what
/// the duration holds: in a paired run the noise left in a round's ratio B/A is the child's
/// own (where its code and data landed, which core it woke on), not the round's length —
/// measured on the 2-core VM, the per-round CPU ratio's SD stayed at 0.09-0.16 with no steady
/// trend from 0.5 to 6.7 s rounds (docs/ci-gate.md, "How long each side must run") — so the
/// interval of the median narrows with the number of rounds, and 24 give [x(7), x(18)] at 97 %.
pub const PAIRED_ROUNDS: u32 = 24;
/// Most rounds accepted: beyond this a typo is likelier than intent.
pub const MAX_ROUNDS: u32 = 1_000;
/// Shortest measured round: the same floor as a whole measured window.
pub const MIN_ROUND_S: f64 = super::options::MIN_DURATION_S;
/// Least warm-up of a round in a full run: every runtime has started its threads and the
/// board has streamed twenty frames by then. The scenario's warm-up is spread over the
/// rounds down to this, so rounds cost only their extra start-ups, not N warm-ups.
pub const MIN_ROUND_WARMUP_S: f64 = 0.5;
/// Warm-up of a round under `--quick` (at most the scenario's): a dozen frames and the
/// clients connected; enough for a smoke run, and it keeps three rounds under a minute.
pub const QUICK_ROUND_WARMUP_S: f64 = 0.3;

/// How a run is split: `count` rounds of `round_s` measured seconds, each after `warmup_s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub count: u32,
    pub round_s: f64,
    pub warmup_s: f64,
}

/// The rounds of a run whose models are measured `duration_s` in all after a scenario
/// warm-up of `warmup_s`. `requested` is an explicit count with where it came from
/// (`--rounds`, `run.rounds`), which must fit; without one the default is cut to what the
/// duration holds. Errors name the source, the value and the limit.
pub fn shape(
    requested: Option<(u32, &str)>,
    (quick, paired): (bool, bool),
    duration_s: f64,
    warmup_s: f64,
) -> Result<Shape, String> {
    let fits = ((duration_s / MIN_ROUND_S).floor() as u32).max(1);
    let count = match requested {
        Some((n, from)) => {
            if n == 0 || n > MAX_ROUNDS {
                return Err(format!("{from} = {n} is outside 1 to {MAX_ROUNDS} rounds"));
            }
            if n > fits {
                return Err(format!(
                    "{from} = {n} splits {duration_s} s of measured time into rounds of \
                     {:.3} s, shorter than the {MIN_ROUND_S} s a round needs: give at most \
                     {fits} rounds or a longer duration",
                    duration_s / f64::from(n)
                ));
            }
            n
        }
        None if paired => PAIRED_ROUNDS.min(fits),
        None => (if quick { QUICK_ROUNDS } else { DEFAULT_ROUNDS }).min(fits),
    };
    let warmup = if count == 1 {
        warmup_s
    } else if quick {
        warmup_s.min(QUICK_ROUND_WARMUP_S)
    } else {
        (warmup_s / f64::from(count))
            .max(MIN_ROUND_WARMUP_S)
            .min(warmup_s)
    };
    Ok(Shape {
        count,
        round_s: duration_s / f64::from(count),
        warmup_s: warmup,
    })
}

/// The model order of each round, shuffled from `seed` by the project's seeded generator
/// (`crate::rng`, whose stream for a seed is fixed by its algorithm), so a seed gives the
/// same orders with every build; the orders themselves are recorded in `RoundsPlan` too.
pub fn orders(models: &[String], count: u32, seed: u64) -> Vec<Vec<String>> {
    let mut rng = crate::rng::Rng::new(seed);
    (0..count)
        .map(|_| {
            let mut o = models.to_vec();
            // Fisher–Yates, from the back.
            for i in (1..o.len()).rev() {
                o.swap(i, rng.index(i + 1));
            }
            o
        })
        .collect()
}

/// A seed for a run that was not given one.
pub fn fresh_seed() -> u64 {
    fastrand::u64(..)
}

/// Measured seconds of a finished round's row (its CPU window; the plan's for a row that
/// never reached the window).
fn window_s(row: &ModelResult) -> f64 {
    row.counters
        .get("cpu_window_ms")
        .map_or(0.0, |&ms| ms as f64 / 1e3)
}

/// The per-round figures of one round's row.
pub fn round_of(
    row: &ModelResult,
    index: u32,
    position: u32,
    start_mono_ns: u64,
    start_unix: f64,
) -> RoundResult {
    let w = window_s(row);
    let figures: BTreeMap<String, RoundFigure> = row
        .metrics()
        .iter()
        .map(|(k, s)| (*k, *s))
        .chain([("staleness_excess_frames", &row.staleness_excess_frames)])
        .filter(|(_, s)| s.count > 0)
        .map(|(k, s)| {
            (
                k.to_string(),
                RoundFigure {
                    count: s.count,
                    p50: s.p50,
                    p99: s.p99,
                    max: s.max,
                },
            )
        })
        .collect();
    RoundResult {
        index,
        position,
        start_mono_ns,
        start_unix,
        duration_s: w,
        status: row.status.clone(),
        cpu_percent: row.cpu.percent,
        context_switches_per_s: if w > 0.0 {
            (row.cpu.vcsw + row.cpu.ivcsw) as f64 / w
        } else {
            0.0
        },
        figures,
        max_rss_kib: row.cpu.max_rss_kib,
        threads: row.cpu.threads,
        driver_limited: row.driver.limited,
        vcsw: Some(row.cpu.vcsw),
        syscalls: row
            .cpu
            .syscalls_read
            .zip(row.cpu.syscalls_write)
            .map(|(r, w)| r + w),
        instructions: row.cpu.instructions,
    }
}

/// One summary from the histograms of `parts` (a part without one adds nothing).
fn merge_summaries<'a>(parts: impl Iterator<Item = &'a Summary>) -> Summary {
    let mut h = new_histogram();
    for s in parts {
        if let Ok(other) = s.histogram() {
            // Same bounds on both sides, so `add` cannot fail for want of range.
            let _ = h.add(&other);
        }
    }
    Summary::from_histogram(&h)
}

/// Counters that hold a largest value, not a count: merged by max.
fn is_max_counter(key: &str) -> bool {
    key.contains("longest") || key.ends_with("_max")
}

/// One row from a model's rounds (`rows[i]` is round `rounds[i].index`): every histogram
/// merged, counters summed, CPU over the sum of the windows, the status the first failed
/// round's (naming the round), and `rounds` filled. `name` is the row's name.
pub fn merge(name: &str, rows: &[ModelResult], rounds: Vec<RoundResult>) -> ModelResult {
    let mut m = ModelResult {
        name: name.to_string(),
        status: Status::Ok,
        ..ModelResult::default()
    };
    if let Some(first) = rows.first() {
        m.timerslack_ns = first.timerslack_ns;
        m.cpus_allowed.clone_from(&first.cpus_allowed);
        m.nice = first.nice;
        m.driver.driver.clone_from(&first.driver.driver);
    }
    // An external bridge's row: its command and accounting are the same every round; the
    // conformance notes are every round's.
    m.external = rows.iter().find_map(|r| r.external.clone()).map(|mut e| {
        for n in rows
            .iter()
            .filter_map(|r| r.external.as_ref())
            .flat_map(|x| &x.conformance_notes)
        {
            if !e.conformance_notes.contains(n) {
                e.conformance_notes.push(n.clone());
            }
        }
        e
    });
    // A remote row's clock join: the round whose join is least certain speaks for the row
    // (its ± bounds every round's), with all rounds' exchanges counted.
    m.clock_join = rows
        .iter()
        .filter_map(|r| r.clock_join.as_ref())
        .max_by_key(|j| j.uncertainty_us)
        .cloned()
        .map(|mut j| {
            j.exchanges = rows
                .iter()
                .filter_map(|r| r.clock_join.as_ref())
                .map(|j| j.exchanges)
                .sum();
            j
        });
    for (k, (_, merged)) in m.named_summaries_mut().into_iter().enumerate() {
        *merged = merge_summaries(rows.iter().map(|r| r.named_summaries()[k].1));
    }
    m.driver.send_error = merge_summaries(rows.iter().map(|r| &r.driver.send_error));
    let (mut cpu_s, mut wall_s, mut driver_cpu_s) = (0.0, 0.0, 0.0);
    let mut series: Vec<CpuSample> = Vec::new();
    for r in rows {
        let w = window_s(r);
        for s in &r.cpu.series {
            series.push(CpuSample {
                t_s: wall_s + s.t_s,
                percent: s.percent,
            });
        }
        cpu_s += r.cpu.user_s + r.cpu.sys_s;
        driver_cpu_s += r.driver.cpu_percent / 100.0 * w;
        wall_s += w;
        m.cpu.user_s += r.cpu.user_s;
        m.cpu.sys_s += r.cpu.sys_s;
        m.cpu.vcsw += r.cpu.vcsw;
        m.cpu.ivcsw += r.cpu.ivcsw;
        m.cpu.max_rss_kib = m.cpu.max_rss_kib.max(r.cpu.max_rss_kib);
        m.cpu.threads = m.cpu.threads.max(r.cpu.threads);
        for (k, v) in &r.counters {
            let e = m.counters.entry(k.clone()).or_insert(0);
            *e = if is_max_counter(k) {
                (*e).max(*v)
            } else {
                *e + v
            };
        }
        m.driver.user_s += r.driver.user_s;
        m.driver.sys_s += r.driver.sys_s;
        m.driver.threads = m.driver.threads.max(r.driver.threads);
        m.driver.cpus = m.driver.cpus.max(r.driver.cpus);
        m.driver.spin_margin_us = m.driver.spin_margin_us.max(r.driver.spin_margin_us);
        if r.runtime.is_some() {
            m.runtime.clone_from(&r.runtime);
        }
    }
    m.cpu.series = series;
    // Counted totals stay counted only when every round counted them.
    let all = |f: fn(&ModelResult) -> Option<u64>| -> Option<u64> { rows.iter().map(f).sum() };
    m.cpu.syscalls_read = all(|r| r.cpu.syscalls_read);
    m.cpu.syscalls_write = all(|r| r.cpu.syscalls_write);
    m.cpu.instructions = all(|r| r.cpu.instructions);
    m.cpu.instructions_note = rows.iter().find_map(|r| r.cpu.instructions_note.clone());
    if wall_s > 0.0 {
        m.cpu.percent = cpu_s / wall_s * 100.0;
        m.driver.cpu_percent = driver_cpu_s / wall_s * 100.0;
    }
    m.timer_floor_phase_us = median_of(rows.iter().filter_map(|r| r.timer_floor_phase_us));
    m.watchdog_phase_us = median_of(rows.iter().filter_map(|r| r.watchdog_phase_us));
    // The same rule as a single pass, on the merged figures.
    let poll = m.poll_latency.clone();
    judge(&mut m.driver, &poll);
    let n = rounds.len();
    if let Some(bad) = rounds.iter().find(|r| !r.is_ok()) {
        let ok = rounds.iter().filter(|r| r.is_ok()).count();
        m.status = Status::InRound {
            status: Box::new(bad.status.clone()),
            round: bad.index + 1,
            of: n as u32,
            ok: ok as u32,
        };
    }
    m.rounds = rounds;
    m
}

/// The rounds' median µs (`metrics::rounds::median`, the mean of the middle two for an even
/// count, rounded to the µs).
fn median_of(values: impl Iterator<Item = u64>) -> Option<u64> {
    let v: Vec<f64> = values.map(|x| x as f64).collect();
    crate::metrics::rounds::median(&v).map(|m| m.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::record_clamped;

    fn row(poll_us: u64, n: u64, cpu_s: f64, window_ms: u64) -> ModelResult {
        let mut h = new_histogram();
        for _ in 0..n {
            record_clamped(&mut h, poll_us);
        }
        let mut m = ModelResult {
            name: "threads".into(),
            status: Status::Ok,
            poll_latency: Summary::from_histogram(&h),
            ..ModelResult::default()
        };
        m.cpu.user_s = cpu_s;
        m.cpu.vcsw = 10;
        m.cpu.percent = cpu_s / (window_ms as f64 / 1e3) * 100.0;
        m.counters.insert("cpu_window_ms".into(), window_ms);
        m.counters.insert("watchdog_longest_late_run".into(), n);
        m
    }

    #[test]
    fn a_paired_run_defaults_to_more_rounds_than_its_duration_cuts() {
        // 20 s per side: 24 rounds of 0.83 s; --quick's 4 s hold only 8 of 0.5 s.
        assert_eq!(shape(None, (false, true), 20.0, 2.0).unwrap().count, 24);
        assert_eq!(shape(None, (true, true), 4.0, 0.5).unwrap().count, 8);
        // An explicit count still wins.
        assert_eq!(
            shape(Some((6, "--rounds")), (false, true), 20.0, 2.0)
                .unwrap()
                .count,
            6
        );
    }

    #[test]
    fn the_default_count_fits_the_duration_and_an_explicit_one_must() {
        let s = shape(None, (false, false), 20.0, 2.0).unwrap();
        assert_eq!((s.count, s.warmup_s), (6, 0.5));
        assert!((s.round_s - 20.0 / 6.0).abs() < 1e-12);
        let q = shape(None, (true, false), 4.0, 0.5).unwrap();
        assert_eq!((q.count, q.warmup_s), (3, 0.3));
        // A short window gets fewer rounds by default, never one under 0.5 s.
        assert_eq!(shape(None, (true, false), 1.0, 0.5).unwrap().count, 2);
        assert_eq!(shape(None, (false, false), 0.5, 2.0).unwrap().count, 1);
        assert_eq!(shape(None, (false, false), 0.5, 2.0).unwrap().warmup_s, 2.0);
        // A long warm-up is spread over the rounds, down to the least a round needs.
        assert_eq!(
            shape(None, (false, false), 60.0, 12.0).unwrap().warmup_s,
            2.0
        );
        assert_eq!(
            shape(Some((4, "--rounds")), (false, false), 20.0, 0.2)
                .unwrap()
                .warmup_s,
            0.2
        );
        let e = shape(Some((10, "--rounds")), (true, false), 4.0, 0.5).unwrap_err();
        assert!(
            e.contains("--rounds = 10") && e.contains("at most 8 rounds"),
            "{e}"
        );
        let e = shape(Some((0, "run.rounds")), (false, false), 20.0, 2.0).unwrap_err();
        assert!(e.contains("run.rounds = 0 is outside 1 to 1000"), "{e}");
    }

    #[test]
    fn orders_are_shuffles_reproduced_by_their_seed() {
        let models: Vec<String> = (0..9).map(|i| format!("m{i}")).collect();
        let a = orders(&models, 6, 42);
        assert_eq!(a, orders(&models, 6, 42));
        assert_ne!(a, orders(&models, 6, 43));
        for o in &a {
            let mut s = o.clone();
            s.sort();
            assert_eq!(s, models, "each round runs every model once");
        }
        assert!(a.windows(2).any(|w| w[0] != w[1]), "the order changes");
    }

    #[test]
    fn a_seed_gives_the_same_orders_with_every_build() {
        // From crate::rng's SplitMix64 stream, which no crate update changes.
        let models: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let got: Vec<String> = orders(&models, 3, 7).iter().map(|o| o.concat()).collect();
        // Round 1 by hand: draws 7191…, 3096…, 16616… give indices 1, 0, 1 (Fisher–Yates).
        assert_eq!(got, ["cdab", "dabc", "dcab"]);
    }

    #[test]
    fn merging_keeps_every_sample_and_takes_cpu_over_the_windows() {
        let rows = [row(100, 30, 0.02, 2_000), row(300, 10, 0.06, 2_000)];
        let rounds: Vec<RoundResult> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| round_of(r, i as u32, 0, 1_000 * i as u64, 0.0))
            .collect();
        assert_eq!(rounds[1].figures["poll_latency"].p50, 300);
        assert_eq!(rounds[0].context_switches_per_s, 5.0);
        let m = merge("threads", &rows, rounds);
        assert!(m.is_ok());
        assert_eq!(m.poll_latency.count, 40);
        assert_eq!(m.poll_latency.p50, 100);
        assert!((m.cpu.percent - 2.0).abs() < 1e-9, "{}", m.cpu.percent);
        assert_eq!(m.counters["cpu_window_ms"], 4_000);
        assert_eq!(
            m.counters["watchdog_longest_late_run"], 30,
            "a max, not a sum"
        );
        assert_eq!(m.cpu.vcsw, 20);
        assert_eq!(m.rounds.len(), 2);
    }

    #[test]
    fn a_failed_round_names_itself_in_the_status() {
        let mut bad = row(100, 5, 0.01, 700);
        bad.status =
            Status::Crashed("serve signal 9 (SIGKILL) 0.7 s into the measured window".into());
        let rows = [row(100, 30, 0.02, 2_000), bad, row(100, 30, 0.02, 2_000)];
        let rounds = rows
            .iter()
            .enumerate()
            .map(|(i, r)| round_of(r, i as u32, 1, 0, 0.0))
            .collect();
        let m = merge("smol", &rows, rounds);
        assert!(
            m.status.to_string().starts_with("crashed: serve signal 9"),
            "{}",
            m.status
        );
        assert!(
            m.status
                .to_string()
                .contains("(round 2 of 3; 2 round(s) ok)"),
            "{}",
            m.status
        );
        assert_eq!(
            m.poll_latency.count, 65,
            "the failed round's samples are kept"
        );
        assert!(!m.rounds[1].is_ok());
    }
}
