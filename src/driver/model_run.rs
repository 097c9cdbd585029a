//! One model, start to finish: boards, child, clients, warm-up, measured window, shutdown,
//! and the joins that turn it all into a `ModelResult`.
//!
//! Whatever goes wrong (the child fails to start, crashes mid-run, Ctrl-C), the row keeps
//! what was measured up to that point and says what happened in `status`; the run goes on
//! with the next model.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;

use super::interrupt;
use super::join::{join, BoardRecord, Window};
use crate::bridge::inject::Fault;
use crate::bridge::stats::ServeStats;
use crate::clock::now_ns;
use crate::device::{DeviceConfig, VirtualBoard};
use crate::load::child::{free_ports, ServeChild, ServeCommand};
use crate::load::child_settings::{read_back, ChildSettings};
use crate::load::client::{client_specs, Clients, StopFlag};
use crate::load::floor::{phase_after_frames, probe_alongside, random_phase_ns, ticks_in_window};
use crate::load::http::HttpConn;
use crate::load::pace::ms_to_ns;
use crate::metrics::process::{cpu_row, lifetime_counters, CpuMonitor};
use crate::metrics::results::ModelResult;
use crate::metrics::summary::{new_histogram, record_clamped, Summary};
use crate::scenario::Scenario;

/// Everything needed to run one model.
#[derive(Clone, Debug)]
pub struct ModelPlan {
    pub model: String,
    pub scenario: Scenario,
    /// The scenario file handed to `serve --scenario` (its `[workload]`).
    pub scenario_path: PathBuf,
    pub warmup: Duration,
    pub duration: Duration,
    /// The esbench binary that provides `serve`.
    pub exe: PathBuf,
    /// Where the child writes its statistics (a scratch file).
    pub stats_path: PathBuf,
    /// The child's own timer slack and CPUs (and the floor probe's, which copies them).
    pub settings: ChildSettings,
    /// Faults injected on purpose: the bridge's are passed to `serve`, `freeze` is done here.
    pub faults: Vec<Fault>,
    /// Test hook: SIGKILL the child this long into the measured window.
    pub kill_after: Option<Duration>,
    /// How long the child may take to print its addresses.
    pub ready_timeout: Duration,
}

/// CPU sampling interval: 10 Hz (the issue asks for ≥ 5 Hz).
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How long a child gets to stop after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Runs one model and returns its row; never fails (errors go into `status`).
pub fn run_model(plan: &ModelPlan, bar: &ProgressBar) -> ModelResult {
    let mut row = ModelResult {
        name: plan.model.clone(),
        status: "ok".into(),
        ..ModelResult::default()
    };
    let outcome = match super::remote_run::target() {
        Some(target) => super::remote_run::run_remote(plan, &target, bar, &mut row),
        None => run_model_inner(plan, bar, &mut row),
    };
    if let Err(e) = outcome {
        row.status = if interrupt::interrupted() {
            format!("interrupted by Ctrl-C before measuring ({e:#})")
        } else {
            format!("error: {e:#}")
        };
    }
    row
}

/// How the measured part ended.
enum End {
    Completed,
    Crashed { exit: String, at_ns: u64 },
    Interrupted { at_ns: u64 },
}

fn run_model_inner(plan: &ModelPlan, bar: &ProgressBar, row: &mut ModelResult) -> Result<()> {
    let s = &plan.scenario;
    bar.set_message(format!("{}: starting boards", plan.model));
    let mut boards = Vec::new();
    for i in 0..s.boards.count {
        let b = VirtualBoard::start(DeviceConfig::from_scenario(s, i))
            .with_context(|| format!("cannot start virtual board {i}"))?;
        boards.push(b);
    }
    let base = free_ports(boards.len())?;
    let _ = std::fs::remove_file(&plan.stats_path);
    let cmd = ServeCommand {
        exe: plan.exe.clone(),
        model: plan.model.clone(),
        serials: boards.iter().map(|b| b.path().to_path_buf()).collect(),
        listen: SocketAddr::from(([127, 0, 0, 1], base)),
        scenario: Some(plan.scenario_path.clone()),
        stats_out: plan.stats_path.clone(),
        settings: plan.settings.clone(),
        inject: plan
            .faults
            .iter()
            .filter(|f| f.is_bridge_side())
            .map(|f| f.to_string())
            .collect(),
    };
    bar.set_message(format!("{}: starting serve", plan.model));
    let spawned_ns = now_ns();
    let mut child = ServeChild::spawn(&cmd, plan.ready_timeout)?;
    wait_until_answering(&mut child, plan.ready_timeout)?;

    // The plan: warm-up, then the measured window; clients run through both.
    let t0 = now_ns() + 20_000_000;
    let win_start = t0 + plan.warmup.as_nanos() as u64;
    let win_end = win_start + plan.duration.as_nanos() as u64;
    let specs = client_specs(s, &child.addrs);
    let stop = StopFlag::new();
    let clients = Clients::start(&specs, t0, win_end, stop.clone())?;
    // The floor under this model's load, over the same measured window, with the model's
    // settings and a random phase against the frames (see load::floor).
    let floor_probe = {
        let stop = stop.clone();
        let settings = plan.settings.clone();
        let period_ns = ms_to_ns(s.workload.watchdog_period_ms);
        let start = win_start + random_phase_ns(period_ns);
        std::thread::Builder::new()
            .name("floor-alongside".into())
            .spawn(move || {
                let _ = settings.apply_to_calling_thread();
                let period = Duration::from_nanos(period_ns);
                probe_alongside(period, start, win_end, || {
                    stop.is_stopped() || interrupt::interrupted()
                })
            })
            .context("cannot start the floor probe thread")?
    };

    bar.set_message(format!("{}: warm-up", plan.model));
    let mut end = watch(
        &mut child,
        &clients,
        win_start,
        &mut Hooks::default(),
        (t0, win_end),
        bar,
    )?;
    let (mut monitor, mut driver_meter) = (None, None);
    if matches!(end, End::Completed) {
        monitor = Some(CpuMonitor::start(child.pid, SAMPLE_EVERY)?);
        driver_meter = super::health::DriverMeter::start().ok();
        // What the child really runs with, read while it is being measured.
        let seen = read_back(child.pid);
        row.timerslack_ns = seen.timerslack_ns;
        row.cpus_allowed = seen.cpus_allowed;
        row.nice = seen.nice;
        bar.set_message(format!("{}: measuring", plan.model));
        let mut hooks = Hooks {
            kill_at: plan.kill_after.map(|d| win_start + d.as_nanos() as u64),
            freeze: plan.faults.iter().find_map(|f| match *f {
                Fault::Freeze { length, at } => {
                    let from = win_start + at.as_nanos() as u64;
                    Some((from, from + length.as_nanos() as u64))
                }
                _ => None,
            }),
            ..Hooks::default()
        };
        end = watch(
            &mut child,
            &clients,
            win_end,
            &mut hooks,
            (t0, win_end),
            bar,
        )?;
        if hooks.frozen {
            child.freeze(false);
        }
    }
    let measured_end = match &end {
        End::Completed => win_end,
        End::Crashed { at_ns, .. } | End::Interrupted { at_ns } => (*at_ns).max(win_start),
    };
    stop.stop();
    let window_cpu = monitor.map(CpuMonitor::finish).unwrap_or_default();
    let driver_meter = driver_meter.map(super::health::DriverMeter::stop);
    bar.set_message(format!("{}: stopping", plan.model));
    let (exit, rusage, killed) = child.stop(STOP_GRACE)?;
    let lifetime_wall_s = (now_ns() - spawned_ns) as f64 / 1e9;
    let joined = clients.join();
    let floor_ticks = floor_probe.join().unwrap_or_default();

    let records: Vec<BoardRecord> = boards
        .iter()
        .map(|b| BoardRecord {
            frames: b.frame_times(),
            commands: b
                .commands()
                .into_iter()
                .map(|(t, c)| {
                    let mut bytes = Vec::new();
                    c.encode(&mut bytes);
                    (t, bytes)
                })
                .collect(),
        })
        .collect();
    let mut device_counters: BTreeMap<String, u64> = BTreeMap::new();
    for b in boards {
        if let Ok(st) = b.stop() {
            *device_counters
                .entry("board_frames_written".into())
                .or_default() += st.frames_written;
            *device_counters
                .entry("board_frames_dropped".into())
                .or_default() += st.frames_dropped;
        }
    }

    let window = Window {
        start_ns: win_start,
        end_ns: measured_end,
    };
    let fig = join(&joined.logs, &records, window);
    row.window_start_ns = Some(win_start);
    fig.store_latencies(row);
    row.timer_floor =
        Summary::from_histogram(&ticks_in_window(&floor_ticks, win_start, measured_end));
    let frames_0 = frame_times(&records);
    row.timer_floor_phase_us = phase_after_frames(
        floor_ticks
            .iter()
            .map(|t| t.0)
            .filter(|&d| window.contains(d)),
        &frames_0,
    );
    if let Some(m) = driver_meter {
        row.driver = m.health(&row.driver_error, &row.poll_latency);
    }
    row.counters = fig.counters;
    row.counters.extend(device_counters);
    row.cpu = cpu_row(&window_cpu, Some(&rusage));
    for (k, v) in lifetime_counters(&window_cpu, Some(&rusage), lifetime_wall_s) {
        row.counters.insert(k.into(), v);
    }

    let stats = read_stats(plan);
    if let Ok(stats) = &stats {
        merge_serve_stats(row, stats, &records, window);
    }

    row.status = match end {
        End::Crashed { exit, at_ns } => format!(
            "crashed: serve {exit} {}{}",
            describe_when(at_ns, win_start),
            child.stderr_note()
        ),
        End::Interrupted { at_ns } => {
            format!("interrupted by Ctrl-C {}", describe_when(at_ns, win_start))
        }
        End::Completed if killed => {
            format!("error: serve did not stop within {STOP_GRACE:?} of SIGTERM and was killed")
        }
        End::Completed if !exit.success() => {
            format!("error: serve ended with {exit}{}", child.stderr_note())
        }
        End::Completed => match stats {
            Ok(_) => "ok".into(),
            Err(e) => format!("error: {e:#}"),
        },
    };
    joined.mark(row);
    Ok(())
}

pub(super) fn describe_when(at_ns: u64, win_start: u64) -> String {
    if at_ns < win_start {
        format!(
            "during warm-up ({:.1} s before the window)",
            (win_start - at_ns) as f64 / 1e9
        )
    } else {
        format!(
            "{:.1} s into the measured window",
            (at_ns - win_start) as f64 / 1e9
        )
    }
}

/// What `watch` does to the child at given instants: the crash test hook (SIGKILL) and the
/// injected freeze (SIGSTOP, then SIGCONT), and whether each has happened.
#[derive(Default)]
struct Hooks {
    kill_at: Option<u64>,
    killed: bool,
    /// `(SIGSTOP at, SIGCONT at)`.
    freeze: Option<(u64, u64)>,
    frozen: bool,
    thawed: bool,
}

impl Hooks {
    /// Acts on whatever is due at `now`; returns the next instant something is due.
    fn act(&mut self, child: &ServeChild, now: u64) -> Option<u64> {
        if let Some(k) = self.kill_at.filter(|_| !self.killed) {
            if now >= k {
                child.kill_now();
                self.killed = true;
            }
        }
        if let Some((stop_at, cont_at)) = self.freeze {
            if !self.frozen && !self.thawed && now >= stop_at {
                child.freeze(true);
                self.frozen = true;
            }
            if self.frozen && now >= cont_at {
                child.freeze(false);
                self.frozen = false;
                self.thawed = true;
            }
        }
        let kill = self.kill_at.filter(|_| !self.killed);
        let freeze = self
            .freeze
            .and_then(|(a, b)| match (self.frozen, self.thawed) {
                (false, false) => Some(a),
                (true, _) => Some(b),
                _ => None,
            });
        kill.into_iter().chain(freeze).min()
    }
}

/// Waits until `until_ns`, watching for the child's death and Ctrl-C, carrying out the
/// `hooks` on time, and moving the progress bar (position in ms since `plan.0`, length to
/// `plan.1`).
fn watch(
    child: &mut ServeChild,
    clients: &Clients,
    until_ns: u64,
    hooks: &mut Hooks,
    (t0, plan_end): (u64, u64),
    bar: &ProgressBar,
) -> Result<End> {
    bar.set_length((plan_end - t0) / 1_000_000);
    loop {
        let now = now_ns();
        bar.set_position(now.saturating_sub(t0) / 1_000_000);
        if let Some(exit) = child.exited()? {
            return Ok(End::Crashed {
                exit: exit.to_string(),
                at_ns: now,
            });
        }
        if interrupt::interrupted() {
            return Ok(End::Interrupted { at_ns: now });
        }
        if now >= until_ns || (until_ns == plan_end && clients.finished()) {
            return Ok(End::Completed);
        }
        let next = hooks.act(child, now).unwrap_or(until_ns).min(until_ns);
        std::thread::sleep(Duration::from_nanos(
            next.saturating_sub(now).min(50_000_000),
        ));
    }
}

/// Board 0's frame write times, sorted: the schedule phases are measured against.
pub(super) fn frame_times(records: &[BoardRecord]) -> Vec<u64> {
    let mut t: Vec<u64> = records
        .first()
        .map(|r| r.frames.iter().map(|f| f.1).collect())
        .unwrap_or_default();
    t.sort_unstable();
    t
}

/// Waits until every board's HTTP port answers a request (any answer will do).
fn wait_until_answering(child: &mut ServeChild, timeout: Duration) -> Result<()> {
    let deadline = now_ns() + timeout.as_nanos() as u64;
    for addr in child.addrs.clone() {
        let mut conn = HttpConn::new(addr, Duration::from_secs(2));
        loop {
            if conn.get("/poll", || {}).is_ok() {
                break;
            }
            if let Some(exit) = child.exited()? {
                anyhow::bail!(
                    "serve exited before answering ({exit}){}",
                    child.stderr_note()
                );
            }
            if now_ns() > deadline {
                anyhow::bail!("serve did not answer on {addr} within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

fn read_stats(plan: &ModelPlan) -> Result<ServeStats> {
    let text = std::fs::read(&plan.stats_path)
        .with_context(|| format!("serve wrote no statistics to {}", plan.stats_path.display()))?;
    let _ = std::fs::remove_file(&plan.stats_path);
    serde_json::from_slice(&text).context("serve's statistics file is not valid ServeStats JSON")
}

/// Adds what the bridge measured about itself: watchdog lateness, frame inter-arrival,
/// counters, and ingest latency (its parse times joined with the boards' write times).
///
/// Every figure is kept to the measured window `w`, like the driver's own: a watchdog tick
/// counts when its scheduled deadline is in the window, an inter-arrival gap when its later
/// frame arrived in it. A stats file without the tick log (an older bridge) or without the
/// ingest log falls back to the bridge's whole-life summaries and says so in the
/// `watchdog_whole_life` / `interarrival_whole_life` counters (boards affected).
pub(super) fn merge_serve_stats(
    row: &mut ModelResult,
    stats: &ServeStats,
    boards: &[BoardRecord],
    w: Window,
) {
    let mut watchdog = new_histogram();
    let mut inter = new_histogram();
    let mut ingest = new_histogram();
    let mut longest_late_run = None; // worst board; absent without tick logs
    let mut add = |k: &str, v: u64| *row.counters.entry(k.to_string()).or_insert(0) += v;
    for k in [
        "ingest_negative",
        "ingest_unmatched",
        "ingest_log_dropped",
        "watchdog_log_dropped",
    ] {
        add(k, 0);
    }
    for (i, b) in stats.boards.iter().enumerate() {
        match &b.watchdog_log {
            Some(log) => {
                record_ticks_in_window(&mut watchdog, log, w);
                let run = crate::bridge::watchdog::longest_late_run(log, |t| w.contains(t));
                longest_late_run = Some(longest_late_run.unwrap_or(0).max(run));
            }
            None => {
                merge_into(&mut watchdog, &b.watchdog_lateness);
                add("watchdog_whole_life", 1);
            }
        }
        if b.ingest.is_empty() && b.frames_accepted > 0 {
            merge_into(&mut inter, &b.frame_interarrival);
            add("interarrival_whole_life", 1);
        } else {
            record_gaps_in_window(&mut inter, &b.ingest, w);
        }
        add("ingest_log_dropped", b.ingest_log_dropped);
        add("watchdog_log_dropped", b.watchdog_log_dropped);
        add("frames_accepted", b.frames_accepted);
        add("frames_rejected", b.frames_rejected);
        add("frames_coalesced", b.coalesced);
        add("serve_polls", b.polls);
        add("serve_commands", b.commands);
        add("commands_rejected", b.commands_rejected);
        add("serial_reconnects", b.reconnects);
        for (reason, n) in &b.rejected_by_reason {
            add(&format!("rejected_{reason}"), *n);
        }
        let written: std::collections::HashMap<u32, u64> = boards
            .get(i)
            .map(|r| r.frames.iter().copied().collect())
            .unwrap_or_default();
        for &(seq, parsed_ns) in &b.ingest {
            match written.get(&seq) {
                Some(&wr) if w.contains(wr) => {
                    if parsed_ns < wr {
                        // The board stamps just before the write that completes the
                        // frame, so this cannot happen unless the clocks disagree; it is
                        // counted (and recorded as the histogram's floor, 1 µs) so a
                        // broken join or clock shows up instead of vanishing.
                        add("ingest_negative", 1);
                    }
                    record_clamped(&mut ingest, parsed_ns.saturating_sub(wr) / 1_000);
                }
                Some(_) => {}
                None => add("ingest_unmatched", 1),
            }
        }
    }
    if let Some(n) = longest_late_run {
        row.counters.insert("watchdog_longest_late_run".into(), n);
    }
    row.watchdog_lateness = Summary::from_histogram(&watchdog);
    if let Some(log) = stats.boards.first().and_then(|b| b.watchdog_log.as_ref()) {
        row.watchdog_phase_us = phase_after_frames(
            log.iter().map(|t| t.0).filter(|&d| w.contains(d)),
            &frame_times(boards),
        );
    }
    row.frame_interarrival = Summary::from_histogram(&inter);
    row.ingest_latency = Summary::from_histogram(&ingest);
    row.runtime = stats.runtime.clone();
}

/// Records the lateness (µs) of each logged watchdog tick whose deadline is in `w`.
fn record_ticks_in_window(h: &mut Histogram<u64>, log: &[(u64, u64)], w: Window) {
    for &(due_ns, late_us) in log {
        if w.contains(due_ns) {
            record_clamped(h, late_us);
        }
    }
}

/// Records the gap (µs) before each frame that arrived in `w`, from the bridge's
/// arrival-ordered `(seq, arrival ns)` log; the gap into the window's first frame counts.
fn record_gaps_in_window(h: &mut Histogram<u64>, arrivals: &[(u32, u64)], w: Window) {
    for pair in arrivals.windows(2) {
        let (prev, next) = (pair[0].1, pair[1].1);
        if w.contains(next) {
            record_clamped(h, next.saturating_sub(prev) / 1_000);
        }
    }
}

fn merge_into(h: &mut Histogram<u64>, s: &Summary) {
    if let Ok(other) = s.histogram() {
        let _ = h.add(&other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::stats::BoardStats;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    /// A whole-life summary of `n` samples of `us`, distinct from anything windowed.
    fn whole_life(us: u64, n: u64) -> Summary {
        let mut h = new_histogram();
        for _ in 0..n {
            record_clamped(&mut h, us);
        }
        Summary::from_histogram(&h)
    }

    fn window() -> Window {
        Window {
            start_ns: 10 * S,
            end_ns: 20 * S,
        }
    }

    fn near(got: u64, want: u64) -> bool {
        got.abs_diff(want) <= want / 500 + 1
    }

    #[test]
    fn only_ticks_and_frames_inside_the_window_are_counted() {
        let board = BoardStats {
            frames_accepted: 7,
            watchdog_lateness: whole_life(777, 100),
            frame_interarrival: whole_life(888, 100),
            watchdog_log: Some(vec![
                (9 * S, 50_000),      // before: a start-up stall
                (10 * S - 1, 40_000), // due just before the window, late into it
                (10 * S, 2_000),      // first deadline inside
                (15 * S, 3_000),
                (20 * S - 1, 2_000), // last inside
                (20 * S, 60_000),    // the window's end is exclusive
                (25 * S, 70_000),    // after
            ]),
            ingest: vec![
                (1, 5 * S),
                (2, 9 * S),
                (3, 10 * S + 500 * MS), // 1.5 s gap, its later frame inside: counted
                (4, 10 * S + 525 * MS),
                (5, 10 * S + 550 * MS),
                (6, 19 * S + 550 * MS), // 9 s gap (a stall inside the window)
                (7, 21 * S),            // after
            ],
            ingest_log_dropped: 3,
            watchdog_log_dropped: 4,
            ..BoardStats::default()
        };
        let stats = ServeStats {
            model: "threads".into(),
            boards: vec![board.clone(), board],
            runtime: None,
        };
        let mut row = ModelResult::default();
        merge_serve_stats(&mut row, &stats, &[], window());

        let wd = &row.watchdog_lateness;
        assert_eq!(wd.count, 6, "three ticks in the window, two boards");
        assert!(near(wd.max, 3_000), "max {}", wd.max);
        assert!(near(wd.p50, 2_000), "p50 {}", wd.p50);
        let fi = &row.frame_interarrival;
        assert_eq!(fi.count, 8, "four gaps end in the window, two boards");
        assert!(near(fi.p50, 25_000), "p50 {}", fi.p50);
        assert!(near(fi.max, 9_000_000), "max {}", fi.max);
        assert!(
            fi.histogram().unwrap().count_between(1_000_000, 2_000_000) == 2,
            "the gap into the window's first frame is counted"
        );

        let c = &row.counters;
        assert_eq!(c["ingest_log_dropped"], 6);
        assert_eq!(c["watchdog_log_dropped"], 8);
        assert_eq!(
            c["watchdog_longest_late_run"], 0,
            "no tick is a period late"
        );
        assert_eq!(c["frames_accepted"], 14);
        assert!(!c.contains_key("watchdog_whole_life"));
        assert!(!c.contains_key("interarrival_whole_life"));
    }

    #[test]
    fn stats_without_logs_fall_back_to_whole_life_and_say_so() {
        let old = BoardStats {
            frames_accepted: 40,
            watchdog_lateness: whole_life(777, 100),
            frame_interarrival: whole_life(25_000, 39),
            ..BoardStats::default()
        };
        let stats = ServeStats {
            model: "threads".into(),
            boards: vec![old],
            runtime: None,
        };
        let mut row = ModelResult::default();
        merge_serve_stats(&mut row, &stats, &[], window());
        assert_eq!(row.watchdog_lateness.count, 100);
        assert!(near(row.watchdog_lateness.p50, 777));
        assert_eq!(row.frame_interarrival.count, 39);
        assert_eq!(row.counters["watchdog_whole_life"], 1);
        assert_eq!(row.counters["interarrival_whole_life"], 1);
        assert_eq!(row.counters["ingest_log_dropped"], 0);
    }

    #[test]
    fn a_tick_log_with_nothing_in_the_window_gives_an_empty_figure_not_the_whole_life() {
        let b = BoardStats {
            watchdog_lateness: whole_life(777, 100),
            watchdog_log: Some(vec![(S, 777)]),
            ..BoardStats::default()
        };
        let stats = ServeStats {
            model: "threads".into(),
            boards: vec![b],
            runtime: None,
        };
        let mut row = ModelResult::default();
        merge_serve_stats(&mut row, &stats, &[], window());
        assert_eq!(row.watchdog_lateness.count, 0);
        assert_eq!(row.frame_interarrival.count, 0);
        assert!(!row.counters.contains_key("watchdog_whole_life"));
        assert!(!row.counters.contains_key("interarrival_whole_life"));
    }
}
