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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::http::Response;
use super::processing::busy_work;
/// The fault specs and their parsing live with the scenario (a scenario's `run.inject` is
/// validated there); the bridge only acts on them.
pub use crate::scenario::fault::{parse_all, Fault};

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
        n.is_multiple_of(every)
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
            ("timer-late=2h", "between 0 and 1 h"),
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
