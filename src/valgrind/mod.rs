//! The valgrind instruction pass (`esbench run --valgrind`): instructions per handled event,
//! counted by valgrind, for machines without hardware performance counters.
//!
//! Like the profiling pass it runs after the timed rounds, on fresh `serve` children under
//! the scenario's very load (`profile::load::ModelUnderLoad`: its boards and Scratch
//! clients), and never touches the timed figures. Each pass is one child under callgrind
//! ([`callgrind`]): start-up runs uninstrumented, the warm-up instrumented, then the window
//! is counted from `zero` to `dump`, and the events the child handled in between (the three
//! `cpu.us_per_event` divides by) are read from the driver's side at both boundaries.
//!
//! A pass whose child answered fewer than 90 % of its planned polls did not keep up under
//! valgrind (on a loaded machine); it is run once more, since its mix of events, and so its
//! per-event figure, is not the model's.
//!
//! Several passes per row give an interval. Passes go round-robin over the rows (pass k of
//! every row before pass k+1 of any, the order reversed every other pass), so in a paired run
//! side A's and side B's pass k run next to each other and their ratio is judged per pass,
//! as the timed rounds' ratios are per round.

pub(crate) mod callgrind;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::metrics::valgrind::{per_event, window_events, ValgrindPass, ValgrindReport};
use crate::profile::load::{Extra, ModelUnderLoad};
use crate::scenario::Scenario;

/// How long serve may take to listen under valgrind (it translates the binary as it first
/// runs it; at nice 19 on a loaded 2-core machine that takes seconds).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How the pass runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The counted window of each pass.
    pub window: Duration,
    /// Passes per row.
    pub passes: u32,
    /// Uncounted time between the child's start and its window (the scenario's warm-up).
    pub warmup: Duration,
    /// Where callgrind's dump files go (kept: `callgrind_annotate FILE` says which functions
    /// the instructions went to).
    pub out_dir: PathBuf,
}

/// One row to count: a `serve` of an esbench executable.
#[derive(Clone, Debug)]
pub struct Target {
    /// The row's name (`threads`, `threads@B`), also the dump files' stem.
    pub name: String,
    pub exe: PathBuf,
    pub model: String,
    /// Bridge-side faults of the row (`serve --inject`), e.g. side B's `--inject-b`.
    pub inject: Vec<String>,
}

/// Runs `opts.passes` passes of every target, round-robin; returns one report per target,
/// in the targets' order. `progress(done, total, name)` is called before each pass. Never
/// fails: a pass that could not count says why in its `note`.
pub fn run(
    targets: &[Target],
    scenario: &Scenario,
    opts: &Options,
    version: Option<String>,
    progress: &dyn Fn(usize, usize, &str),
) -> Vec<ValgrindReport> {
    let mut reports: Vec<ValgrindReport> = targets
        .iter()
        .map(|_| ValgrindReport {
            tool: callgrind::TOOL.into(),
            version: version.clone(),
            window_s: opts.window.as_secs_f64(),
            ..ValgrindReport::default()
        })
        .collect();
    let total = targets.len() * opts.passes as usize;
    let mut done = 0;
    for k in 0..opts.passes {
        let mut order: Vec<usize> = (0..targets.len()).collect();
        if k % 2 == 1 {
            order.reverse();
        }
        for i in order {
            // Ctrl-C (SIGTERM, SIGHUP): `cli::run` wires the signals to `profile::stop`.
            if crate::profile::stopped() {
                return reports;
            }
            progress(done, total, &targets[i].name);
            let mut pass = one_pass(&targets[i], scenario, opts, k);
            if let Some(lag) = pass.lagging() {
                // A child that did not keep up handled another mix of events: its figure is
                // not the model's. Once more; a second lagging pass is kept with its note.
                reports[i].notes.push(format!("pass {k}: {lag}; run again"));
                progress(done, total, &targets[i].name);
                pass = one_pass(&targets[i], scenario, opts, k);
            }
            if let Some(e) = &pass.note {
                reports[i].notes.push(format!("pass {k}: {e}"));
            }
            reports[i].passes.push(pass);
            done += 1;
        }
    }
    reports
}

/// One pass of one target: a fresh child under callgrind, warm-up, the counted window.
pub fn one_pass(t: &Target, scenario: &Scenario, opts: &Options, index: u32) -> ValgrindPass {
    match count(t, scenario, opts, index) {
        Ok(p) => p,
        Err(e) => ValgrindPass::failed(index, format!("{e:#}")),
    }
}

fn count(
    t: &Target,
    scenario: &Scenario,
    opts: &Options,
    index: u32,
) -> anyhow::Result<ValgrindPass> {
    use anyhow::{bail, Context};
    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("cannot create {}", opts.out_dir.display()))?;
    let out = opts.out_dir.join(format!(
        "callgrind-{}-{index}.out",
        crate::profile::file_safe(&t.name)
    ));
    for n in 0..=2 {
        let _ = std::fs::remove_file(if n == 0 {
            out.clone()
        } else {
            callgrind::dump_file(&out, n)
        });
    }
    let extra = Extra {
        inject: t.inject.clone(),
        wrapper: callgrind::wrapper(&out),
        ready_timeout: Some(READY_TIMEOUT),
    };
    let target =
        ModelUnderLoad::start_with(&t.exe, &t.model, scenario, &extra).with_context(|| {
            format!(
                "`{} serve --model {}` under valgrind",
                t.exe.display(),
                t.model
            )
        })?;
    let pid = target.pid();
    // Instrumented from the warm-up on, so the translation that switching it on forces
    // (valgrind re-translates every block) is over before the window: the window runs at
    // one speed throughout, and its start is a plain `zero`.
    callgrind::monitor(pid, "instrumentation on").map_err(anyhow::Error::msg)?;
    crate::profile::sleep(opts.warmup);
    if !Path::new(&format!("/proc/{pid}")).exists() {
        bail!("serve under valgrind exited during warm-up");
    }
    let boundary = |command: &str| -> anyhow::Result<_> {
        let before = target.events();
        callgrind::monitor(pid, command).map_err(anyhow::Error::msg)?;
        Ok((before, target.events(), Instant::now()))
    };
    let (b0, a0, t0) = boundary("zero")?;
    let whole = crate::profile::sleep(opts.window);
    let (b1, a1, t1) = boundary("dump")?;
    let stopped = target.stop();
    let text = std::fs::read_to_string(callgrind::dump_file(&out, 1))
        .with_context(|| format!("callgrind wrote no dump next to {}", out.display()))?;
    let instructions = callgrind::parse_totals(&text).map_err(anyhow::Error::msg)?;
    // The dump at exit holds what ran after the window: not ours.
    let _ = std::fs::remove_file(&out);
    let (events, in_flight) = window_events((&b0, &a0), (&b1, &a1));
    let window_s = t1.duration_since(t0).as_secs_f64();
    let clients = scenario.boards.count as f64 * f64::from(scenario.clients.per_board);
    let mut pass = ValgrindPass {
        index,
        instructions: Some(instructions),
        events: Some(events),
        events_in_flight: in_flight,
        window_s,
        polls_planned: (clients * window_s * 1e3 / scenario.clients.poll_period_ms) as u64,
        per_event: per_event(Some(instructions), Some(&events)),
        dump: Some(callgrind::dump_file(&out, 1).display().to_string()),
        note: None,
    };
    pass.note = pass.lagging();
    if !whole {
        pass.note = Some("the window was cut short (interrupted): no figure".into());
        pass.per_event = None;
    } else if let Err(e) = stopped {
        // Counted already; a child that did not stop cleanly is said, not discarded.
        let more = pass
            .note
            .take()
            .map(|n| format!("; {n}"))
            .unwrap_or_default();
        pass.note = Some(format!("stopping serve after the window: {e:#}{more}"));
    }
    Ok(pass)
}
