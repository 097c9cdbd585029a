//! Fabricated but realistic `Results` for tests and for developing the report before real
//! runs exist. Samples come from a seeded generator, so a fixture is the same every time;
//! nothing here is ever presented as a measurement (the scenario and notes say so).

use crate::metrics::status::Status;
use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::metrics::results::{
    Cpu, CpuSample, Floor, Machine, ModelResult, Results, ScenarioInfo, SCHEMA,
};
use crate::metrics::summary::{new_histogram, record_clamped, Summary};
use crate::rng::Rng;

/// Model names used by the fixtures: the default run of the model registry, in its order
/// (`models::default_run()`; this room may not import the registry, so
/// `tests/it/fixture_models.rs` holds the two equal).
pub const FIXTURE_MODELS: [&str; 9] = [
    "threads",
    "tokio",
    "tokio-current",
    "async-std",
    "smol",
    "coop",
    "coop-v2",
    "coop-fastio",
    "rayon",
];

/// Shape of one fabricated latency distribution, in microseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// Median.
    pub median_us: f64,
    /// Log-normal spread (0.3 = steady, 1.0 = jittery).
    pub sigma: f64,
    /// Probability of a spike, and the spike size.
    pub spike_p: f64,
    pub spike_us: f64,
}

/// `n` samples of `shape` in an HDR histogram.
pub(crate) fn fabricate_histogram(rng: &mut Rng, shape: Shape, n: usize) -> Histogram<u64> {
    let mut h = new_histogram();
    for _ in 0..n {
        let mut v = shape.median_us * (shape.sigma * rng.normal()).exp();
        if rng.unit() < shape.spike_p {
            v += shape.spike_us * (0.5 + rng.unit());
        }
        record_clamped(&mut h, v.round().max(1.0) as u64);
    }
    h
}

fn summary(rng: &mut Rng, shape: Shape, n: usize) -> Summary {
    Summary::from_histogram(&fabricate_histogram(rng, shape, n))
}

fn shape(median_us: f64, sigma: f64, spike_p: f64, spike_us: f64) -> Shape {
    Shape {
        median_us,
        sigma,
        spike_p,
        spike_us,
    }
}

/// One fabricated model row. `cost` scales CPU, `jitter` scales latency spread, so rows differ
/// the way real models do (rayon spins, tokio rounds timers up, coop is cheap).
pub(crate) fn fabricate_model(
    rng: &mut Rng,
    name: &str,
    index: usize,
    duration_s: f64,
) -> ModelResult {
    let (cpu, wd_median, jitter) = match name {
        "threads" => (0.9, 130.0, 0.5),
        "tokio" => (1.4, 1400.0, 0.25),
        "tokio-current" => (0.8, 1300.0, 0.25),
        "async-std" => (1.6, 160.0, 0.6),
        "smol" => (0.7, 110.0, 0.45),
        "rayon" => (18.0, 140.0, 0.7),
        "coop" => (0.5, 120.0, 0.4),
        _ => (0.6 + 0.1 * index as f64, 150.0 + 10.0 * index as f64, 0.5),
    };
    // Run-to-run variation, as on a shared machine.
    let cpu = cpu * (1.0 + 0.08 * rng.normal()).max(0.5);
    let polls = (duration_s * 1000.0 / 33.0) as usize;
    let frames = (duration_s * 1000.0 / 25.0) as usize;
    let commands = duration_s as usize;
    let poll_latency = summary(
        rng,
        shape(180.0 + 20.0 * index as f64, jitter, 0.004, 3000.0),
        polls,
    );
    let staleness = summary(rng, shape(12_500.0, 0.45, 0.002, 8000.0), polls);
    let ingest_latency = summary(rng, shape(90.0, jitter, 0.003, 2000.0), frames);
    let command_latency = summary(rng, shape(400.0, jitter, 0.02, 2000.0), commands.max(1));
    let watchdog_lateness = summary(rng, shape(wd_median, jitter, 0.003, 2500.0), frames);
    let frame_interarrival = summary(rng, shape(25_000.0, 0.02, 0.001, 10_000.0), frames);
    let driver_error = summary(rng, shape(60.0, 0.5, 0.001, 1000.0), polls);
    // Its own generator, so adding it left every other fabricated figure as it was.
    let mut floor_rng = Rng::new(0xF100_u64 ^ index as u64);
    let timer_floor = summary(&mut floor_rng, shape(70.0, 0.3, 0.002, 1500.0), frames);
    // The same for the poll views and the staleness excess added later.
    let mut poll_rng = Rng::new(0x9011_u64 ^ index as u64);
    let poll_service = summary(
        &mut poll_rng,
        shape(120.0 + 20.0 * index as f64, jitter, 0.004, 3000.0),
        polls,
    );
    let staleness_excess = summary(&mut poll_rng, shape(40.0, 0.5, 0.01, 25_000.0), polls);

    let mut series = Vec::new();
    let mut t = 0.0;
    while t <= duration_s {
        let wobble = 1.0 + 0.25 * rng.normal();
        series.push(CpuSample {
            t_s: t,
            percent: (cpu * wobble).max(0.0),
        });
        t += 0.2;
    }
    let wall = duration_s;
    let user_s = cpu / 100.0 * wall * 0.6;
    let sys_s = cpu / 100.0 * wall * 0.4;
    let mut counters = BTreeMap::new();
    counters.insert("frames_accepted".to_string(), frames as u64);
    counters.insert("frames_rejected".to_string(), (rng.unit() * 4.0) as u64);
    counters.insert("frames_coalesced".to_string(), (rng.unit() * 20.0) as u64);
    counters.insert("polls".to_string(), polls as u64);
    ModelResult {
        name: name.to_string(),
        status: Status::Ok,
        cpu: Cpu {
            user_s,
            sys_s,
            percent: cpu,
            vcsw: (frames as f64 * (2.0 + index as f64 * 0.3)) as u64,
            ivcsw: (rng.unit() * 40.0) as u64,
            max_rss_kib: 4000 + 900 * index as u64,
            threads: match name {
                "threads" => 6,
                "tokio" | "async-std" => 4,
                "rayon" => 3,
                _ => 1,
            },
            series,
            ..Cpu::default()
        },
        poll_answered: poll_latency.clone(),
        poll_latency,
        poll_service,
        staleness,
        staleness_excess,
        staleness_excess_frames: Summary::default(),
        ingest_latency,
        command_latency,
        watchdog_lateness,
        frame_interarrival,
        driver_error,
        timer_floor,
        timer_floor_phase_us: Some(11_000 + 1_000 * index as u64),
        watchdog_phase_us: Some(3_000 + 1_000 * index as u64),
        timerslack_ns: Some(50_000),
        cpus_allowed: Some("0-1".into()),
        nice: Some(0),
        counters,
        runtime: None,
        profile: None,
        ..ModelResult::default()
    }
}

/// A whole fabricated run: the default run's models, a floor, a machine and a scenario text.
pub fn fabricate_results(seed: u64) -> Results {
    fabricate_results_with(seed, &FIXTURE_MODELS, 6.0)
}

/// Like [`fabricate_results`] with chosen models and measured duration.
pub fn fabricate_results_with(seed: u64, models: &[&str], duration_s: f64) -> Results {
    let mut rng = Rng::new(seed);
    let floor = Floor {
        timer_lateness: summary(&mut rng, shape(70.0, 0.4, 0.002, 400.0), 2000),
        driver_error: summary(&mut rng, shape(55.0, 0.5, 0.002, 600.0), 2000),
        ..Floor::default()
    };
    let models = models
        .iter()
        .enumerate()
        .map(|(i, m)| fabricate_model(&mut rng, m, i, duration_s))
        .collect();
    Results {
        schema: SCHEMA.into(),
        esbench_version: env!("CARGO_PKG_VERSION").into(),
        started_unix: 1_795_000_000.0 + seed as f64 * 3600.0,
        commit: Some(format!("{:040x}", 0xabc0_u64 + seed)),
        build: None,
        machine: Machine {
            hostname: "fixture-host".into(),
            os: "Debian GNU/Linux 13".into(),
            kernel: "6.12.0".into(),
            cpu_model: "Fabricated CPU @ 2.0GHz".into(),
            logical_cores: 2,
            physical_cores: Some(1),
            memory_kib: 4_000_000,
        },
        scenario: ScenarioInfo {
            name: "fixture".into(),
            path: "scenarios/fixture.toml".into(),
            text: "name = \"fixture\"\ndescription = \"fabricated test data <not a measurement>\"\n\n[run]\nduration_s = 6\n".into(),
            duration_s,
            warmup_s: 1.0,
            quick: false,
        },
        floor,
        models,
        notes: vec!["fabricated fixture: not a measurement".into()],
        injected: Vec::new(),
        model_timer_slack_ns: Some(50_000),
        settings: None,
        rounds: None,
        target_machine: None,
        paired: None,
    }
}

/// Gives every model of `r` `n` fabricated rounds (interleaved in a seeded order, as
/// `esbench run --rounds` records them) whose figures scatter around the model's whole-run
/// figures: CPU and context switches by ±`spread` (relative, normal), each latency summary's
/// p50 and p99 likewise. Also records the plan in `r.rounds`. For tests of everything that
/// judges by rounds; never a measurement.
pub fn add_rounds(r: &mut Results, n: u32, seed: u64, spread: f64) {
    use crate::metrics::rounds::{RoundFigure, RoundResult, RoundsPlan};
    let mut rng = Rng::new(seed ^ 0x5EED_0F20_u64);
    let round_s = r.scenario.duration_s / n.max(1) as f64;
    let names: Vec<String> = r.models.iter().map(|m| m.name.clone()).collect();
    let mut order = Vec::new();
    for k in 0..n {
        let mut o = names.clone();
        // Fisher–Yates from the seeded generator.
        for i in (1..o.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            o.swap(i, j);
        }
        for m in &mut r.models {
            let position = o.iter().position(|x| *x == m.name).unwrap_or(0) as u32;
            let mut wobble = |v: f64| (v * (1.0 + spread * rng.normal())).max(0.0);
            let csw = crate::metrics::figures::context_switches_per_s(m, r.scenario.duration_s)
                .unwrap_or(0.0);
            let mut figures = BTreeMap::new();
            for (key, s) in m.metrics() {
                if s.count == 0 {
                    continue;
                }
                let p50 = wobble(s.p50 as f64).round() as u64;
                let p99 = (wobble(s.p99 as f64).round() as u64).max(p50);
                figures.insert(
                    key.to_string(),
                    RoundFigure {
                        count: s.count / n.max(1) as u64,
                        p50,
                        p99,
                        max: p99,
                    },
                );
            }
            let slot = (k as usize * names.len() + position as usize) as f64;
            m.rounds.push(RoundResult {
                index: k,
                position,
                start_mono_ns: (slot * round_s * 1e9) as u64,
                start_unix: r.started_unix + slot * round_s,
                duration_s: round_s,
                status: Status::Ok,
                cpu_percent: wobble(m.cpu.percent),
                context_switches_per_s: wobble(csw),
                figures,
                ..Default::default()
            });
        }
        order.push(o);
    }
    r.rounds = Some(RoundsPlan {
        count: n,
        seed,
        order,
        round_s,
    });
}

/// Multiplies model `name`'s CPU (whole run and every round) by `factor`: a model made
/// costlier on purpose, for tests that a judgement sees it.
pub fn scale_cpu(r: &mut Results, name: &str, factor: f64) {
    for m in r.models.iter_mut().filter(|m| m.name == name) {
        m.cpu.percent *= factor;
        for k in &mut m.rounds {
            k.cpu_percent *= factor;
        }
    }
}
