//! Synthetic results with known distributions, for testing the statistics (and trying
//! `esbench check` without running anything). Nothing here is ever mistaken for a measurement:
//! the machine is called `synthetic` and a note says so.

use super::stats::Rng;
use crate::metrics::results::{Cpu, Floor, ModelResult, Results, ScenarioInfo, SCHEMA};
use crate::metrics::status::Status;
use crate::metrics::summary::{new_histogram, record_clamped, Summary};

/// What to fabricate for one model: multipliers on the typical figures (1.0 = typical).
#[derive(Clone, Debug)]
pub struct FakeModel {
    pub name: String,
    /// Multiplies every latency of this model.
    pub latency: f64,
    /// Multiplies only poll latency (e.g. an injected per-poll cost).
    pub poll: f64,
    /// CPU % of one core.
    pub cpu_percent: f64,
    /// Number of command-latency samples (0 = the scenario sent no commands).
    pub commands: u64,
    /// A stall of the model (µs) inside the window: one poll that waited that long, and the
    /// watchdog ticks it covered missed in a row (like a SIGSTOP of the model).
    pub stall_us: Option<u64>,
    /// Counters set on top of the healthy ones (all zero), e.g. `("polls_failed", 6)`.
    pub counters: Vec<(&'static str, u64)>,
}

impl FakeModel {
    pub fn typical(name: &str) -> FakeModel {
        FakeModel {
            name: name.into(),
            latency: 1.0,
            poll: 1.0,
            cpu_percent: 1.5,
            commands: 20,
            stall_us: None,
            counters: Vec::new(),
        }
    }
}

/// `n` samples of `base + exponential(mean)`, everything scaled by `scale`.
fn summary(rng: &mut Rng, n: u64, base: f64, mean: f64, scale: f64) -> Summary {
    let mut h = new_histogram();
    for _ in 0..n {
        let v = (base + mean * -rng.open_unit().ln()) * scale;
        record_clamped(&mut h, v as u64);
    }
    Summary::from_histogram(&h)
}

/// The counters `check` judges, as a healthy run has them.
pub(crate) const HEALTHY_COUNTERS: [&str; 6] = [
    "polls_failed",
    "polls_skipped",
    "commands_failed",
    "commands_unmatched",
    "seq_unmatched",
    "watchdog_longest_late_run",
];

/// Watchdog period of the fabricated runs (the default scenario's 25 ms), µs.
const WATCHDOG_PERIOD_US: u64 = 25_000;

/// `s` with one more sample of `us`.
fn with_sample(s: &Summary, us: u64) -> Summary {
    let mut h = s.histogram().expect("fabricated histograms decode");
    record_clamped(&mut h, us);
    Summary::from_histogram(&h)
}

/// One fabricated run: seed decides the samples, `machine` scales every latency and the
/// floor alike (a slower machine), `models` what each model looks like.
pub fn fake_run(seed: u64, machine: f64, models: &[FakeModel]) -> Results {
    fake_run_paused(seed, machine, models, None)
}

/// [`fake_run`] on a machine that paused as a whole for `pause_us` during every model's
/// window: the models stall and so does the timer floor measured beside each of them.
pub fn fake_run_paused(
    seed: u64,
    machine: f64,
    models: &[FakeModel],
    pause_us: Option<u64>,
) -> Results {
    let mut rng = Rng::new(seed);
    let floor = Floor {
        timer_lateness: summary(&mut rng, 800, 50.0, 20.0, machine),
        driver_error: summary(&mut rng, 600, 20.0, 10.0, machine),
        ..Floor::default()
    };
    let models = models
        .iter()
        .map(|m| {
            let s = machine * m.latency;
            let jitter = 1.0 + 0.05 * (rng.open_unit() - 0.5);
            let stall = m.stall_us.max(pause_us);
            let mut counters: std::collections::BTreeMap<String, u64> = HEALTHY_COUNTERS
                .iter()
                .map(|c| (c.to_string(), 0))
                .collect();
            let mut poll_latency = summary(&mut rng, 600, 250.0, 80.0, s * m.poll);
            let mut timer_floor = summary(&mut rng, 160, 50.0, 20.0, machine);
            if let Some(us) = stall {
                poll_latency = with_sample(&poll_latency, us);
                counters.insert(
                    "watchdog_longest_late_run".into(),
                    us / WATCHDOG_PERIOD_US - 1,
                );
            }
            if let Some(us) = pause_us {
                timer_floor = with_sample(&timer_floor, us);
            }
            for (k, v) in &m.counters {
                counters.insert(k.to_string(), *v);
            }
            ModelResult {
                name: m.name.clone(),
                status: Status::Ok,
                cpu: Cpu {
                    user_s: m.cpu_percent * 0.2 * 0.7 * jitter,
                    sys_s: m.cpu_percent * 0.2 * 0.3 * jitter,
                    percent: m.cpu_percent * jitter,
                    vcsw: (1600.0 * jitter) as u64,
                    ivcsw: (40.0 * jitter) as u64,
                    max_rss_kib: 4000,
                    threads: 2,
                    series: Vec::new(),
                    ..Cpu::default()
                },
                poll_latency,
                timer_floor,
                counters,
                staleness: summary(&mut rng, 600, 500.0, 12_000.0, s),
                ingest_latency: summary(&mut rng, 800, 150.0, 60.0, s),
                command_latency: summary(&mut rng, m.commands, 400.0, 150.0, s),
                watchdog_lateness: summary(&mut rng, 800, 80.0, 30.0, s),
                ..Default::default()
            }
        })
        .collect();
    Results {
        schema: SCHEMA.into(),
        esbench_version: env!("CARGO_PKG_VERSION").into(),
        machine: crate::metrics::results::Machine {
            hostname: "synthetic".into(),
            ..Default::default()
        },
        scenario: ScenarioInfo {
            name: "synthetic".into(),
            duration_s: 20.0,
            warmup_s: 2.0,
            ..Default::default()
        },
        floor,
        models,
        notes: vec!["fabricated by esbench::check::fixtures, not a measurement".into()],
        ..Default::default()
    }
}
