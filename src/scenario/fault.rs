//! Known faults, injected on purpose, so the measuring machinery can be checked from outside
//! (does a 1.5 s freeze show up as 1.5 s? is a lost command counted?) and the gate's power
//! measured. Never used by a real run: every injected spec is recorded in results.json
//! (`injected`) and shown wherever its figures are.
//!
//! One spec per fault, `NAME=VALUE`:
//! - `freeze=1.5s@1s`: the driver SIGSTOPs the model 1 s into the measured window and
//!   SIGCONTs it 1.5 s later (driver side only);
//! - `poll-delay=100ms`: a plain blocking sleep in the bridge before each `/poll` answer;
//! - `drop-command=10`: every 10th command is answered normally but never written;
//! - `fail-poll=5%`: that share of `/poll` requests is answered 500 (5 % = every 20th);
//! - `timer-late=1ms`: the watchdog sleeps that much past each deadline;
//! - `frame-cpu=50us`: that much busy CPU per frame ingested.
//!
//! Everything the bridge does about them lives here; the board calls in through one-line
//! hooks. Deterministic by design (every Nth, never random) so a test can say exactly how
//! many requests were hit.

use std::fmt;
use std::time::Duration;

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGSTOP the model `at` into the measured window, SIGCONT it `length` later.
    Freeze { length: Duration, at: Duration },
    /// Blocking sleep before answering each `/poll`.
    PollDelay(Duration),
    /// Every `n`th command is answered but not written to the serial port.
    DropCommand(u64),
    /// This share of `/poll` requests, in hundredths of a percent (500 = 5 %), is answered 500.
    FailPoll { basis_points: u64 },
    /// The watchdog oversleeps each deadline by this much.
    TimerLate(Duration),
    /// Busy CPU per frame ingested.
    FrameCpu(Duration),
}

impl Fault {
    /// Parses one spec, e.g. `poll-delay=100ms`; the error names the spec and what is wrong.
    pub fn parse(spec: &str) -> Result<Fault, String> {
        let spec = spec.trim();
        let usage = "expected one of freeze=1.5s@1s, poll-delay=100ms, drop-command=10, \
                     fail-poll=5%, timer-late=1ms, frame-cpu=50us";
        let Some((name, value)) = spec.split_once('=') else {
            return Err(format!("fault {spec:?} has no '=': {usage}"));
        };
        let bad = |why: String| Err(format!("fault {spec:?}: {why}"));
        let positive = |text: &str| match parse_duration(text) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(format!("fault {spec:?}: {text:?} must be more than zero")),
            Err(e) => Err(format!("fault {spec:?}: {e}")),
        };
        match name.trim() {
            "freeze" => {
                let Some((length, at)) = value.split_once('@') else {
                    return bad("needs LENGTH@START, e.g. freeze=1.5s@1s".into());
                };
                let length = positive(length)?;
                let at = parse_duration(at).map_err(|e| format!("fault {spec:?}: {e}"))?;
                Ok(Fault::Freeze { length, at })
            }
            "poll-delay" => Ok(Fault::PollDelay(positive(value)?)),
            "timer-late" => Ok(Fault::TimerLate(positive(value)?)),
            "frame-cpu" => Ok(Fault::FrameCpu(positive(value)?)),
            "drop-command" => match value.trim().parse::<u64>() {
                Ok(n) if n >= 1 => Ok(Fault::DropCommand(n)),
                _ => bad(format!(
                    "{value:?} is not a whole number ≥ 1 (every Nth command is dropped)"
                )),
            },
            "fail-poll" => {
                let pct = value.trim().strip_suffix('%').unwrap_or(value.trim());
                match pct.trim().parse::<f64>() {
                    Ok(p) if p > 0.0 && p <= 100.0 => Ok(Fault::FailPoll {
                        basis_points: (p * 100.0).round().max(1.0) as u64,
                    }),
                    _ => bad(format!(
                        "{value:?} is not a share above 0 % and up to 100 %"
                    )),
                }
            }
            other => bad(format!("unknown fault {other:?}; {usage}")),
        }
    }

    /// True for the faults the bridge (the `serve` child) carries out; `freeze` is the
    /// driver's.
    pub fn is_bridge_side(&self) -> bool {
        !matches!(self, Fault::Freeze { .. })
    }
}

impl fmt::Display for Fault {
    /// The canonical spec, which [`Fault::parse`] reads back to the same fault.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Freeze { length, at } => {
                write!(f, "freeze={}@{}", show(*length), show(*at))
            }
            Fault::PollDelay(d) => write!(f, "poll-delay={}", show(*d)),
            Fault::DropCommand(n) => write!(f, "drop-command={n}"),
            Fault::FailPoll { basis_points } => {
                write!(f, "fail-poll={}%", *basis_points as f64 / 100.0)
            }
            Fault::TimerLate(d) => write!(f, "timer-late={}", show(*d)),
            Fault::FrameCpu(d) => write!(f, "frame-cpu={}", show(*d)),
        }
    }
}

/// `1.5s`, `100ms`, `50us`, `250ns`: the largest unit that keeps the value whole (or a
/// decimal of seconds), so the canonical spec reads like what people write.
fn show(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        "0s".into()
    } else if ns.is_multiple_of(1_000_000_000)
        || (ns >= 1_000_000_000 && ns.is_multiple_of(1_000_000))
    {
        format!("{}s", d.as_secs_f64())
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// A duration with its unit (`crate::units::parse_duration_with_unit`: `1.5s`, `100ms`,
/// `50us`, …), at most an hour. A unit is required: a bare number in a fault spec is too easy
/// to misread.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = crate::units::parse_duration_with_unit(text)?;
    if d > Duration::from_secs(3_600) {
        return Err(format!("{:?} must be between 0 and 1 h", text.trim()));
    }
    Ok(d)
}

/// Parses every spec; the first bad one is the error.
pub fn parse_all(specs: &[String]) -> Result<Vec<Fault>, String> {
    specs.iter().map(|s| Fault::parse(s)).collect()
}
