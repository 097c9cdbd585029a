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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::http::Response;
use super::processing::busy_work;

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
    } else if ns % 1_000_000_000 == 0 || (ns >= 1_000_000_000 && ns % 1_000_000 == 0) {
        format!("{}s", d.as_secs_f64())
    } else if ns % 1_000_000 == 0 {
        format!("{}ms", ns / 1_000_000)
    } else if ns % 1_000 == 0 {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// A duration with its unit: `1.5s`, `100ms`, `50us` (or `µs`), `250ns`. A unit is
/// required: a bare number in a fault spec is too easy to misread.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, scale) = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
    ]
    .iter()
    .find_map(|(unit, scale)| t.strip_suffix(unit).map(|n| (n, *scale)))
    .ok_or_else(|| format!("{t:?} needs a unit: ns, us, ms or s (e.g. 100ms)"))?;
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{t:?} is not a duration (e.g. 1.5s, 100ms, 50us)"))?;
    if !v.is_finite() || v < 0.0 || v * scale > 3_600.0 {
        return Err(format!("{t:?} must be between 0 and 1 h"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

/// Parses every spec; the first bad one is the error.
pub fn parse_all(specs: &[String]) -> Result<Vec<Fault>, String> {
    specs.iter().map(|s| Fault::parse(s)).collect()
}

/// The bridge's injections from `serve --inject` specs; a driver-side fault (`freeze`) is
/// refused, since a bridge cannot stop itself.
pub fn bridge_side(specs: &[String]) -> Result<Injections, String> {
    let faults = parse_all(specs)?;
    if let Some(f) = faults.iter().find(|f| !f.is_bridge_side()) {
        return Err(format!(
            "fault {f} is carried out by the driver (`esbench run --inject`), not by serve"
        ));
    }
    Ok(Injections::from_faults(&faults))
}

/// The bridge-side faults of one run, as the bridge configuration carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Injections {
    pub poll_delay: Option<Duration>,
    pub drop_command_every: Option<u64>,
    pub fail_poll_basis_points: Option<u64>,
    pub timer_late: Option<Duration>,
    pub frame_cpu: Option<Duration>,
}

impl Injections {
    /// The bridge-side faults among `faults` (a later spec of the same kind wins; the driver's
    /// `freeze` is left out).
    pub fn from_faults(faults: &[Fault]) -> Injections {
        let mut i = Injections::default();
        for f in faults {
            match *f {
                Fault::Freeze { .. } => {}
                Fault::PollDelay(d) => i.poll_delay = Some(d),
                Fault::DropCommand(n) => i.drop_command_every = Some(n),
                Fault::FailPoll { basis_points } => i.fail_poll_basis_points = Some(basis_points),
                Fault::TimerLate(d) => i.timer_late = Some(d),
                Fault::FrameCpu(d) => i.frame_cpu = Some(d),
            }
        }
        i
    }

    pub fn is_empty(&self) -> bool {
        *self == Injections::default()
    }
}

/// One board's injector: the faults plus the counters that make "every Nth" exact.
#[derive(Debug, Default)]
pub struct Injector {
    faults: Injections,
    polls: AtomicU64,
    commands: AtomicU64,
}

impl Injector {
    pub fn new(faults: &Injections) -> Injector {
        Injector {
            faults: faults.clone(),
            ..Injector::default()
        }
    }

    /// Hook at the start of `/poll`: the careless blocking sleep, then `Some(500 answer)`
    /// for a poll chosen to fail. Poll n (1-based) fails when `⌊n·p⌋` steps up, so exactly
    /// that share fails, evenly spread (5 % = polls 20, 40, …).
    pub fn before_poll(&self) -> Option<Response> {
        if let Some(d) = self.faults.poll_delay {
            std::thread::sleep(d);
        }
        let bp = self.faults.fail_poll_basis_points?;
        let n = self.polls.fetch_add(1, Ordering::Relaxed) + 1;
        let fails = (n * bp) / 10_000 > ((n - 1) * bp) / 10_000;
        fails.then(|| Response::text(500, "injected failure (fail-poll)\n"))
    }

    /// Hook before a command is written: true when this one (the Nth, 2Nth, …) is to be
    /// answered as if sent but never written.
    pub fn drop_command(&self) -> bool {
        let Some(every) = self.faults.drop_command_every else {
            return false;
        };
        let n = self.commands.fetch_add(1, Ordering::Relaxed) + 1;
        n % every == 0
    }

    /// Hook per frame ingested: the injected busy CPU.
    pub fn frame_cpu(&self) {
        if let Some(d) = self.faults.frame_cpu {
            busy_work(d.as_micros() as u64);
        }
    }

    /// How much the watchdog oversleeps each deadline.
    pub fn timer_late(&self) -> Duration {
        self.faults.timer_late.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_parses_and_prints_back_the_same() {
        for (spec, fault) in [
            (
                "freeze=1.5s@1s",
                Fault::Freeze {
                    length: Duration::from_millis(1500),
                    at: Duration::from_secs(1),
                },
            ),
            (
                "poll-delay=100ms",
                Fault::PollDelay(Duration::from_millis(100)),
            ),
            ("drop-command=10", Fault::DropCommand(10)),
            ("fail-poll=5%", Fault::FailPoll { basis_points: 500 }),
            ("timer-late=1ms", Fault::TimerLate(Duration::from_millis(1))),
            ("frame-cpu=50us", Fault::FrameCpu(Duration::from_micros(50))),
        ] {
            assert_eq!(Fault::parse(spec), Ok(fault), "{spec}");
            assert_eq!(fault.to_string(), spec);
            assert_eq!(Fault::parse(&fault.to_string()), Ok(fault));
        }
        assert_eq!(
            Fault::parse("fail-poll=2.5"),
            Ok(Fault::FailPoll { basis_points: 250 })
        );
        assert_eq!(
            Fault::parse("frame-cpu=50µs"),
            Ok(Fault::FrameCpu(Duration::from_micros(50)))
        );
        assert!(!Fault::parse("freeze=1s@0s").unwrap().is_bridge_side());
        assert_eq!(
            Fault::parse("freeze=1500ms@0.25s").unwrap().to_string(),
            "freeze=1.5s@250ms"
        );
        assert!(bridge_side(&["freeze=1s@1s".into()])
            .unwrap_err()
            .contains("carried out by the driver"));
        assert_eq!(
            bridge_side(&["poll-delay=2ms".into(), "drop-command=3".into()]),
            Ok(Injections {
                poll_delay: Some(Duration::from_millis(2)),
                drop_command_every: Some(3),
                ..Injections::default()
            })
        );
        assert!(Fault::parse("poll-delay=1ms").unwrap().is_bridge_side());
    }

    #[test]
    fn bad_specs_say_which_and_why() {
        for (spec, says) in [
            ("poll-delay", "no '='"),
            ("poll-delay=100", "needs a unit"),
            ("poll-delay=0ms", "more than zero"),
            ("poll-delay=fast", "needs a unit"),
            ("poll-delay=fasts", "not a duration"),
            ("freeze=1s", "LENGTH@START"),
            ("drop-command=0", "whole number"),
            ("drop-command=x", "whole number"),
            ("fail-poll=0%", "above 0 %"),
            ("fail-poll=150%", "up to 100 %"),
            ("explode=1s", "unknown fault \"explode\""),
            ("timer-late=7200s", "between 0 and 1 h"),
            ("timer-late=2h", "needs a unit"),
        ] {
            let e = Fault::parse(spec).unwrap_err();
            assert!(e.contains(spec) || e.contains(says), "{spec}: {e}");
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn fail_poll_hits_exactly_its_share_evenly() {
        let i = Injector::new(&Injections::from_faults(&[
            Fault::parse("fail-poll=5%").unwrap()
        ]));
        let failed: Vec<u64> = (1..=100)
            .filter(|_| i.before_poll().is_some_and(|r| r.status == 500))
            .collect();
        assert_eq!(failed, [20, 40, 60, 80, 100]);
        let third = Injector::new(&Injections::from_faults(&[
            Fault::parse("fail-poll=30%").unwrap()
        ]));
        let n = (0..1000).filter(|_| third.before_poll().is_some()).count();
        assert_eq!(n, 300);
    }

    #[test]
    fn drop_command_drops_every_nth_only() {
        let i = Injector::new(&Injections::from_faults(&[
            Fault::parse("drop-command=10").unwrap()
        ]));
        let dropped: Vec<u64> = (1..=35).filter(|_| i.drop_command()).collect();
        assert_eq!(dropped, [10, 20, 30]);
        let none = Injector::new(&Injections::default());
        assert!((0..100).all(|_| !none.drop_command()));
        assert!(none.before_poll().is_none());
        assert_eq!(none.timer_late(), Duration::ZERO);
    }

    #[test]
    fn poll_delay_blocks_for_at_least_its_length() {
        let i = Injector::new(&Injections {
            poll_delay: Some(Duration::from_millis(20)),
            ..Injections::default()
        });
        let t = std::time::Instant::now();
        assert!(i.before_poll().is_none());
        assert!(t.elapsed() >= Duration::from_millis(20));
    }
}
