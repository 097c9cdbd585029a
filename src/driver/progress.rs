//! How a run shows where it is: a small observer the session and the per-model flow tell
//! what they are doing, with three ways to show it — a bar on a terminal (indicatif), one
//! plain line per step when stderr is not a terminal (CI logs, pipes), or nothing.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::metrics::results::ModelResult;
use crate::metrics::status::StatusKind;

/// What a run reports as it goes. Every method has a default that shows nothing.
pub trait Progress {
    /// The run starts with its floor probe of `floor_s`, then `rows` rows in `rounds` rounds
    /// of `round_s` seconds each, in orders shuffled from `seed`.
    fn run_starts(
        &self,
        _scenario: &str,
        _floor_s: f64,
        _rows: usize,
        _shape: (u32, f64),
        _seed: u64,
    ) {
    }
    /// The floor probe is done.
    fn floor_done(&self) {}
    /// A row's round starts.
    fn row_starts(&self, _step: &Step, _name: &str, _warmup_s: f64, _round_s: f64) {}
    /// What the current row is doing now ("tokio: warm-up").
    fn phase(&self, _what: &str) {}
    /// How far the current row's timeline is: `at_ms` of `len_ms`.
    fn position(&self, _at_ms: u64, _len_ms: u64) {}
    /// A row's round is done: its figures or why it failed.
    fn row_done(&self, _step: &Step, _row: &ModelResult) {}
    /// Row `i` of `n` gets its profiling pass.
    fn profiling(&self, _i: usize, _n: usize, _name: &str) {}
    /// Pass `done + 1` of `total` of the valgrind instruction pass, on row `name`.
    fn valgrind_pass(&self, _done: usize, _total: usize, _name: &str) {}
    /// The CPU floor child runs for `floor_s`.
    fn cpu_floor(&self, _floor_s: f64) {}
    /// The run is over.
    fn finish(&self) {}
}

/// The observer `RunOptions::progress` asks for: a bar when stderr is a terminal, plain
/// lines when not (indicatif draws nothing there), nothing when progress is off.
pub fn for_stderr(progress: bool) -> Box<dyn Progress> {
    if !progress {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::new())
    } else {
        Box::new(Plain)
    }
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {}

/// One line on stderr per run start, row start and finish, and profiling pass.
pub struct Plain;

impl Progress for Plain {
    fn run_starts(&self, scenario: &str, floor_s: f64, rows: usize, shape: (u32, f64), seed: u64) {
        let (count, round_s) = shape;
        crate::errln!(
            "{scenario}: floor: {floor_s:.0} s timer probe, then {rows} model(s) in {count} \
             round(s) of {} s (seed {seed})…",
            secs(round_s)
        );
    }

    fn row_starts(&self, step: &Step, name: &str, warmup_s: f64, round_s: f64) {
        crate::errln!("{}", start_line(step, name, warmup_s, round_s));
    }

    fn row_done(&self, step: &Step, row: &ModelResult) {
        crate::errln!("{}", finish_line(step, row));
    }

    fn profiling(&self, i: usize, n: usize, name: &str) {
        crate::errln!(
            "[{}/{n}] {name}: profiling pass (separate child, not measured)…",
            i + 1
        );
    }

    fn valgrind_pass(&self, done: usize, total: usize, name: &str) {
        crate::errln!(
            "[{}/{total}] {name}: valgrind instruction pass (separate child, not timed)…",
            done + 1
        );
    }
}

/// A terminal progress bar: the row and round as its prefix, the phase as its message, the
/// row's timeline as its position, and one line printed above it per finished round.
pub struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        Bar(bar)
    }
}

impl Progress for Bar {
    fn run_starts(&self, scenario: &str, floor_s: f64, _: usize, _: (u32, f64), _: u64) {
        self.0.set_prefix(scenario.to_string());
        self.0
            .set_message(format!("floor: {floor_s:.0} s timer probe"));
        self.0.enable_steady_tick(Duration::from_millis(200));
    }

    fn floor_done(&self) {
        self.0.disable_steady_tick();
    }

    fn row_starts(&self, step: &Step, name: &str, _: f64, _: f64) {
        self.0.set_prefix(format!("{} {}", step.tag(), name));
    }

    fn phase(&self, what: &str) {
        self.0.set_message(what.to_string());
    }

    fn position(&self, at_ms: u64, len_ms: u64) {
        self.0.set_length(len_ms);
        self.0.set_position(at_ms);
    }

    fn row_done(&self, step: &Step, row: &ModelResult) {
        self.0.println(format!(
            "{:>14} {}: {} (CPU {:.2} %, poll p50 {} µs)",
            row.name,
            step.tag(),
            row.status,
            row.cpu.percent,
            row.poll_latency.p50
        ));
    }

    fn profiling(&self, _: usize, _: usize, _: &str) {
        self.0
            .set_message("profiling pass (separate child, not measured)");
    }

    fn valgrind_pass(&self, done: usize, total: usize, name: &str) {
        self.0.set_message(format!(
            "valgrind pass {}/{total}: {name} (separate child, not timed)",
            done + 1
        ));
    }

    fn cpu_floor(&self, floor_s: f64) {
        self.0
            .set_message(format!("CPU floor: {floor_s:.0} s floor child"));
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
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
    } else if row.status.is_interrupted() {
        row.status.to_string()
    } else if row.status.kind() == StatusKind::Partial {
        format!("{} ({figures})", row.status)
    } else {
        format!("failed: {}", row.status)
    };
    format!("{} {}: {what}", step.tag(), row.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::status::Status;

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
            status: Status::Ok,
            ..ModelResult::default()
        };
        row.cpu.percent = 0.7;
        row.poll_latency.p50 = 201;
        assert_eq!(
            finish_line(&one, &row),
            "[3/9] tokio: done (CPU 0.70 %, poll p50 201 µs)"
        );
        row.status = Status::Crashed("serve signal 9 (SIGKILL)".into());
        assert_eq!(
            finish_line(&one, &row),
            "[3/9] tokio: failed: crashed: serve signal 9 (SIGKILL)"
        );
    }
}
