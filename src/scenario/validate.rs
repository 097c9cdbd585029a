//! Checks serde cannot express: ranges, and fields that only make sense together.
//!
//! Every number has a lower *and* an upper bound, named in the message: a period of
//! `1e-9` ms would never let a run end, and a hundred thousand clients abort the driver
//! (one thread each) before anything is measured. The bounds are far beyond any classroom.

use super::schema::{Scenario, SourceKind};
use std::path::Path;

/// Most boards one run simulates (one pty and one listening port each): 1,024, the scale
/// the event-driven load driver (`run.driver = "events"`) is built and measured for.
pub const MAX_BOARDS: u32 = 1_024;
/// Most Scratch clients per board.
pub const MAX_CLIENTS_PER_BOARD: u32 = 1_000;
/// Most client threads in a run: boards × clients × (1 poll loop + one per command block).
pub const MAX_CLIENT_THREADS: u64 = 2_048;
/// Most command blocks per client.
pub const MAX_COMMAND_BLOCKS: usize = 16;
/// Shortest period of any schedule (frames, polls, commands, watchdog), in ms.
pub const MIN_PERIOD_MS: f64 = 1.0;
/// Longest period of any schedule, in ms (a minute).
pub const MAX_PERIOD_MS: f64 = 60_000.0;
/// Longest busy work or blocking sleep per frame or poll, in µs (one second).
pub const MAX_WORK_US: u64 = 1_000_000;
/// Longest measured window or warm-up, in s (a day).
pub const MAX_RUN_S: f64 = 86_400.0;
/// Longest freeze, stall or silence threshold, in ms (an hour).
pub const MAX_HOLD_MS: u64 = 3_600_000;
/// Longest command path and scenario name, in bytes.
pub const MAX_PATH_BYTES: usize = 1_024;
pub const MAX_NAME_BYTES: usize = 100;

/// A failed check: the dotted field path and what is wrong with it.
pub(super) type Invalid = (String, String);

fn positive(field: &str, v: f64) -> Result<(), Invalid> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be a positive number, got {v}"),
        ))
    }
}

/// A number in `[lo, hi]` (NaN and infinities are refused).
fn within(field: &str, v: f64, lo: f64, hi: f64, unit: &str) -> Result<(), Invalid> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be between {lo} and {hi}{unit}, got {v}"),
        ))
    }
}

fn period_ms(field: &str, v: f64) -> Result<(), Invalid> {
    within(field, v, MIN_PERIOD_MS, MAX_PERIOD_MS, " ms")
}

fn at_most(field: &str, v: u64, max: u64, unit: &str) -> Result<(), Invalid> {
    if v <= max {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be at most {max}{unit}, got {v}"),
        ))
    }
}

/// A name shown in tables and reports: one non-empty line of printable text.
fn one_line_name(field: &str, v: &str) -> Result<(), Invalid> {
    let bad = |why: &str| Err((field.to_string(), format!("{why}, got {v:?}")));
    if v.trim().is_empty() {
        return bad("must not be empty");
    }
    if v.len() > MAX_NAME_BYTES {
        return bad(&format!("must be at most {MAX_NAME_BYTES} bytes"));
    }
    if v.chars().any(char::is_control) {
        return bad("must be one line without control characters");
    }
    Ok(())
}

/// A request path the clients send verbatim in the request line: printable ASCII, no
/// spaces (a CR/LF or space would let a scenario inject headers or requests on the wire).
fn request_path(field: &str, p: &str) -> Result<(), Invalid> {
    let bad = |why: &str| Err((field.to_string(), format!("{p:?} {why}")));
    if !p.starts_with('/') {
        return bad("must start with '/'");
    }
    if p.len() > MAX_PATH_BYTES {
        return bad(&format!("is longer than {MAX_PATH_BYTES} bytes"));
    }
    if let Some(c) = p.chars().find(|c| !c.is_ascii_graphic()) {
        return bad(&format!(
            "contains {c:?}; only printable ASCII without spaces is allowed (percent-encode the rest)"
        ));
    }
    Ok(())
}

fn probability(field: &str, v: f64) -> Result<(), Invalid> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be between 0 and 1, got {v}"),
        ))
    }
}

impl Scenario {
    /// Every table's bounds, in the file's order; the first field out of bounds is the error.
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        one_line_name("name", &self.name)?;
        self.validate_bridges()?;
        self.validate_boards()?;
        self.validate_clients()?;
        self.validate_workload()?;
        self.validate_run()
    }

    fn validate_bridges(&self) -> Result<(), Invalid> {
        for (i, b) in self.bridges.iter().enumerate() {
            let ok_name = !b.name.is_empty()
                && b.name.len() <= 64
                && b.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok_name {
                return Err((
                    "bridges.name".into(),
                    format!("{:?}: use 1 to 64 letters, digits, '-', '_' or '.'", b.name),
                ));
            }
            if self.bridges[..i].iter().any(|o| o.name == b.name) {
                return Err(("bridges.name".into(), format!("{:?} appears twice", b.name)));
            }
            if b.command.trim().is_empty() {
                return Err(("bridges.command".into(), "must not be empty".into()));
            }
            if let Some(t) = b.ready_timeout {
                within("bridges.ready_timeout", t, 0.1, 600.0, " s")?;
            }
        }
        Ok(())
    }

    fn validate_boards(&self) -> Result<(), Invalid> {
        let b = &self.boards;
        if b.count == 0 || b.count > MAX_BOARDS {
            return Err((
                "boards.count".into(),
                format!("must be between 1 and {MAX_BOARDS}, got {}", b.count),
            ));
        }
        if b.source == SourceKind::Replay && b.recording.is_none() {
            return Err((
                "boards.recording".into(),
                "source = \"replay\" needs a recording file".into(),
            ));
        }
        period_ms("boards.frame_period_ms", b.frame_period_ms)?;
        if let Some(bursts) = &b.bursts {
            within(
                "boards.bursts.every_s",
                bursts.every_s,
                MIN_PERIOD_MS / 1_000.0,
                MAX_RUN_S,
                " s",
            )?;
            if bursts.stall_ms == 0 {
                return Err(("boards.bursts.stall_ms".into(), "must be at least 1".into()));
            }
            at_most(
                "boards.bursts.stall_ms",
                bursts.stall_ms,
                MAX_HOLD_MS,
                " ms",
            )?;
        }
        at_most(
            "boards.command_freeze_ms",
            b.command_freeze_ms,
            MAX_HOLD_MS,
            " ms",
        )?;
        probability("boards.corrupt_rate", b.corrupt_rate)?;
        probability("boards.drop_rate", b.drop_rate)?;
        Ok(())
    }

    fn validate_clients(&self) -> Result<(), Invalid> {
        let b = &self.boards;
        let c = &self.clients;
        if c.per_board == 0 || c.per_board > MAX_CLIENTS_PER_BOARD {
            return Err((
                "clients.per_board".into(),
                format!(
                    "must be between 1 and {MAX_CLIENTS_PER_BOARD}, got {}",
                    c.per_board
                ),
            ));
        }
        period_ms("clients.poll_period_ms", c.poll_period_ms)?;
        if c.commands.len() > MAX_COMMAND_BLOCKS {
            return Err((
                "clients.commands".into(),
                format!(
                    "at most {MAX_COMMAND_BLOCKS} command blocks, got {}",
                    c.commands.len()
                ),
            ));
        }
        for p in &c.commands {
            period_ms("clients.commands.every_ms", p.every_ms)?;
            if p.paths.is_empty() {
                return Err((
                    "clients.commands.paths".into(),
                    "needs at least one path".into(),
                ));
            }
            for path in &p.paths {
                request_path("clients.commands.paths", path)?;
            }
        }
        let threads = u64::from(b.count) * u64::from(c.per_board) * (1 + c.commands.len() as u64);
        if threads > MAX_CLIENT_THREADS {
            return Err((
                "clients.per_board".into(),
                format!(
                    "{} boards × {} clients × (1 poll + {} command blocks) = {threads} client \
                     threads, more than the limit of {MAX_CLIENT_THREADS}",
                    b.count,
                    c.per_board,
                    c.commands.len()
                ),
            ));
        }
        Ok(())
    }

    fn validate_workload(&self) -> Result<(), Invalid> {
        let w = &self.workload;
        period_ms("workload.watchdog_period_ms", w.watchdog_period_ms)?;
        at_most(
            "workload.frame_work_us",
            w.frame_work_us,
            MAX_WORK_US,
            " µs",
        )?;
        at_most("workload.poll_work_us", w.poll_work_us, MAX_WORK_US, " µs")?;
        at_most(
            "workload.blocking_sleep_us",
            w.blocking_sleep_us,
            MAX_WORK_US,
            " µs",
        )?;
        at_most(
            "workload.silent_after_ms",
            w.silent_after_ms,
            MAX_HOLD_MS,
            " ms",
        )?;
        Ok(())
    }

    fn validate_run(&self) -> Result<(), Invalid> {
        let r = &self.run;
        within("run.warmup_s", r.warmup_s, 0.0, MAX_RUN_S, " s")?;
        positive("run.duration_s", r.duration_s)?;
        within("run.duration_s", r.duration_s, 0.0, MAX_RUN_S, " s")?;
        positive("run.quick_duration_s", r.quick_duration_s)?;
        within(
            "run.quick_duration_s",
            r.quick_duration_s,
            0.0,
            MAX_RUN_S,
            " s",
        )?;
        if let Some(m) = r.models.iter().find(|m| m.trim().is_empty()) {
            return Err(("run.models".into(), format!("empty model name {m:?}")));
        }
        if !(1..=1_000_000_000).contains(&r.model_timer_slack_ns) {
            let got = r.model_timer_slack_ns;
            return Err((
                "run.model_timer_slack_ns".into(),
                format!("must be 1 to 1e9, got {got}"),
            ));
        }
        if r.send_spin_us > super::MAX_SEND_SPIN_US {
            return Err((
                "run.send_spin_us".into(),
                format!(
                    "must be 0 to {} µs (0 = plain sleeps), got {}",
                    super::MAX_SEND_SPIN_US,
                    r.send_spin_us
                ),
            ));
        }
        super::fault::parse_all(&r.inject).map_err(|e| ("run.inject".into(), e))?;
        if let Some(n) = r.rounds.filter(|n| !(1..=MAX_ROUNDS).contains(n)) {
            return Err((
                "run.rounds".into(),
                format!("must be 1 to {MAX_ROUNDS} rounds, got {n}"),
            ));
        }
        Ok(())
    }
}

/// Most rounds a scenario may ask for (the driver's own limit is the same).
pub const MAX_ROUNDS: u32 = 1_000;

/// Why the replay recording at `path` cannot be used, if it cannot: it is read and parsed
/// during validation, so a missing, foreign or corrupt file is a scenario error (exit 2)
/// before anything runs, not a failure after the floor measurement.
pub(super) fn recording_problem(path: &Path) -> Option<String> {
    if !path.exists() {
        return Some(format!("recording {} does not exist", path.display()));
    }
    match crate::source::recording::Recording::read(path) {
        Err(e) => Some(format!("{e:#}")),
        Ok(rec) if rec.byte_count() == 0 => Some(format!(
            "recording {} holds no stream bytes, so a replay would stream nothing",
            path.display()
        )),
        Ok(_) => None,
    }
}
