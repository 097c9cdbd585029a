//! The knee: per model, the first swept value at which it stops coping, by one stated rule,
//! and the last value before it at which it still coped.
//!
//! "Coping" is judged from what a Scratch project would notice, on the whole measured window
//! of the point (histograms merged over rounds):
//!
//! - the model **failed** (crashed, stopped answering): broken;
//! - **polls skipped > 1 % of slots**: the client's previous poll was still out when the next
//!   one was due, so the project saw a stale value for a whole period;
//! - **polls failed > 1 % of those sent**: errors and timeouts;
//! - **poll latency p99 > the poll period**: one poll in a hundred is answered after the next
//!   should have left — the model answers slower than it is asked;
//! - **ingest latency p99 > the frame period** (synthetic boards): the bridge parses a frame
//!   later than the next one arrives, so the serial line backs up.
//!
//! A p99 is only used with at least [`MIN_SAMPLES`] samples (one or more beyond it). A point
//! whose driver could have set the verdict ([`driver_limits_knee`]: its CPUs saturated, or a
//! send error p99 above half the poll period) is not judged at all: the load the model saw
//! was not the load planned, and part of its lateness is the driver's.

use serde::Serialize;

use crate::metrics::driver_health::{MIN_SEND_SAMPLES, SATURATED_CPU_SHARE};
use crate::metrics::results::ModelResult;
use crate::scenario::{Scenario, SourceKind};

use super::manifest::{LoadedPoint, LoadedSweep};

/// Share of a client's slots skipped above which the model no longer copes.
pub(crate) const MAX_SKIPPED_SHARE: f64 = 0.01;
/// Share of sent polls that failed above which the model no longer copes.
pub(crate) const MAX_FAILED_SHARE: f64 = 0.01;
/// Fewest samples a p99 rule is applied on.
pub(crate) const MIN_SAMPLES: u64 = 100;

/// The rule, in the words every output prints.
pub const RULE: &str = "a model stops coping at the first value where it failed, or polls \
skipped > 1 % of slots, or polls failed > 1 % of those sent, or poll latency p99 > the poll \
period, or (synthetic boards) ingest latency p99 > the frame period; a p99 needs ≥ 100 \
samples; points where the driver saturated or its send error p99 exceeds half the poll period are not judged";

/// How one model did at one point.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", content = "why", rename_all = "snake_case")]
pub(crate) enum Verdict {
    Copes,
    /// Stopped coping; every rule that fired, with its figures.
    Broke(Vec<String>),
    /// Not judged (driver-limited, not measured, interrupted, too few samples): why.
    Unjudged(String),
}

/// The periods a point's rules compare against, from the scenario the point ran.
pub(crate) struct Periods {
    poll_us: f64,
    frame_us: Option<f64>,
}

pub(crate) fn periods(point: &LoadedPoint) -> Option<Periods> {
    let r = point.results.as_ref()?;
    let s = Scenario::from_str_named(&r.scenario.text, &r.scenario.path).ok()?;
    Some(Periods {
        poll_us: s.clients.poll_period_ms * 1e3,
        frame_us: (s.boards.source == SourceKind::Synth).then_some(s.boards.frame_period_ms * 1e3),
    })
}

fn counter(m: &ModelResult, k: &str) -> u64 {
    m.counters.get(k).copied().unwrap_or(0)
}

/// The verdict for `model` at point `p`.
pub(crate) fn verdict(sweep: &LoadedSweep, p: usize, model: &str) -> Verdict {
    let point = &sweep.points[p];
    let Some(m) = point.results.as_ref().and_then(|r| r.model(model)) else {
        return Verdict::Unjudged("not measured".into());
    };
    if m.status.is_interrupted() {
        return Verdict::Unjudged("interrupted".into());
    }
    if !m.is_ok() {
        return Verdict::Broke(vec![format!("failed: {}", m.status)]);
    }
    let Some(per) = periods(point) else {
        return Verdict::Unjudged("the point's scenario cannot be read back".into());
    };
    if let Some(why) = driver_limits_knee(m, &per) {
        return Verdict::Unjudged(format!("driver-limited: {why}"));
    }
    judge(m, &per)
}

/// Why the driver, not the model, could have set this point's knee verdict, or `None`.
///
/// A row's DRIVER-LIMITED mark compares the send error with the model's own poll p99, which
/// is right for reading that p99 but far too strict for the knee: a 300 µs send error beside a
/// 500 µs p99 says nothing about whether polls stay under a 33 ms period. For the knee the
/// driver limits a point when it saturated its CPUs, or when its send error p99 is more than
/// half the rule's own threshold (the poll period), so it alone could have crossed it.
pub(crate) fn driver_limits_knee(m: &ModelResult, per: &Periods) -> Option<String> {
    let d = &m.driver;
    let mut why = Vec::new();
    let cpus = d.cpus.max(1) as f64;
    if d.cpu_percent >= SATURATED_CPU_SHARE * 100.0 * cpus {
        why.push(format!(
            "driver CPU {:.0} % of {} CPU(s) is saturated",
            d.cpu_percent, d.cpus
        ));
    }
    let s = &d.send_error;
    if s.count >= MIN_SEND_SAMPLES && 2.0 * s.p99 as f64 > per.poll_us {
        why.push(format!(
            "send error p99 {} µs is more than half the poll period {} µs",
            s.p99, per.poll_us
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Why the driver was the limit, at one point, for every model of `open` (the ok models
/// still without a knee), one reason each; `None` while the point judged one of them, or
/// when none is open. `--until-knee` stops growing then: a larger value would only measure
/// the driver.
pub(crate) fn driver_limits_all(open: &[&ModelResult], per: &Periods) -> Option<Vec<String>> {
    let why: Vec<String> = (open.iter())
        .filter_map(|m| driver_limits_knee(m, per).map(|w| format!("{}: {w}", m.name)))
        .collect();
    (!open.is_empty() && why.len() == open.len()).then_some(why)
}

fn judge(m: &ModelResult, per: &Periods) -> Verdict {
    let mut why = Vec::new();
    let sent = counter(m, "polls_sent");
    let skipped = counter(m, "polls_skipped");
    let slots = sent + skipped;
    if slots > 0 && skipped as f64 > MAX_SKIPPED_SHARE * slots as f64 {
        why.push(format!(
            "polls skipped {:.1} % of {slots} slots",
            100.0 * skipped as f64 / slots as f64
        ));
    }
    let failed = counter(m, "polls_failed");
    if sent > 0 && failed as f64 > MAX_FAILED_SHARE * sent as f64 {
        why.push(format!(
            "polls failed {:.1} % of {sent} sent",
            100.0 * failed as f64 / sent as f64
        ));
    }
    let poll = &m.poll_latency;
    if poll.count >= MIN_SAMPLES && poll.p99 as f64 > per.poll_us {
        why.push(format!(
            "poll p99 {} µs > poll period {} µs",
            poll.p99, per.poll_us
        ));
    }
    let ingest = &m.ingest_latency;
    if let Some(frame_us) = per.frame_us {
        if ingest.count >= MIN_SAMPLES && ingest.p99 as f64 > frame_us {
            why.push(format!(
                "ingest p99 {} µs > frame period {frame_us} µs",
                ingest.p99
            ));
        }
    }
    if !why.is_empty() {
        Verdict::Broke(why)
    } else if poll.count < MIN_SAMPLES {
        Verdict::Unjudged(format!(
            "{} poll samples, fewer than {MIN_SAMPLES} for a p99",
            poll.count
        ))
    } else {
        Verdict::Copes
    }
}

/// One model's knee across the sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Knee {
    pub model: String,
    /// The first value at which the model stopped coping, and why.
    pub knee: Option<String>,
    pub why: Vec<String>,
    /// The last value before the knee (or the last overall, without a knee) at which it
    /// coped.
    pub before: Option<String>,
    /// True when a value between `before` and `knee` was not judged, so `before` is not the
    /// step right before the knee.
    pub gap_before_knee: bool,
    /// Values not judged, with why (driver-limited, too few samples, ...).
    pub unjudged: Vec<(String, String)>,
}

impl Knee {
    /// One line: `knee at 64 (poll p99 …); copes at 32`.
    pub fn describe(&self) -> String {
        let before = match &self.before {
            Some(b) if self.gap_before_knee => {
                format!("last coped at {b} (values between not judged)")
            }
            Some(b) => format!("copes at {b}"),
            None => "no judged value before it".into(),
        };
        match &self.knee {
            Some(k) => format!("knee at {k} ({}); {before}", self.why.join("; ")),
            None => match (&self.before, self.unjudged.first()) {
                (Some(b), _) => format!("no knee: copes at every judged value up to {b}"),
                (None, Some((v, why))) => format!(
                    "no value judged ({v}: {why}{})",
                    if self.unjudged.len() > 1 {
                        format!("; {} more", self.unjudged.len() - 1)
                    } else {
                        String::new()
                    }
                ),
                (None, None) => "no value judged".into(),
            },
        }
    }
}

/// The knee of every model of the sweep, in legend order.
pub fn knees(sweep: &LoadedSweep) -> Vec<Knee> {
    sweep
        .models()
        .into_iter()
        .map(|model| knee(sweep, &model))
        .collect()
}

/// The knee of `model`.
pub(crate) fn knee(sweep: &LoadedSweep, model: &str) -> Knee {
    let mut k = Knee {
        model: model.to_string(),
        knee: None,
        why: Vec::new(),
        before: None,
        gap_before_knee: false,
        unjudged: Vec::new(),
    };
    let mut gap = false;
    for (p, point) in sweep.points.iter().enumerate() {
        match verdict(sweep, p, model) {
            Verdict::Copes => {
                k.before = Some(point.value.clone());
                gap = false;
            }
            Verdict::Broke(why) => {
                k.knee = Some(point.value.clone());
                k.why = why;
                k.gap_before_knee = gap && k.before.is_some();
                break;
            }
            Verdict::Unjudged(why) => {
                gap = true;
                if point.results.is_some() {
                    k.unjudged.push((point.value.clone(), why));
                }
            }
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::status::Status;
    use crate::metrics::summary::{new_histogram, record_clamped, Summary};

    fn constant(us: u64, n: u64) -> Summary {
        let mut h = new_histogram();
        for _ in 0..n {
            record_clamped(&mut h, us);
        }
        Summary::from_histogram(&h)
    }

    fn row(poll_p99_us: u64, sent: u64, skipped: u64) -> ModelResult {
        let mut m = ModelResult {
            status: Status::Ok,
            poll_latency: constant(poll_p99_us, sent + skipped),
            ..ModelResult::default()
        };
        m.counters.insert("polls_sent".into(), sent);
        m.counters.insert("polls_skipped".into(), skipped);
        m
    }

    const PER: Periods = Periods {
        poll_us: 33_000.0,
        frame_us: Some(25_000.0),
    };

    #[test]
    fn growth_stops_for_the_driver_only_when_it_limits_every_open_model() {
        let mut late = row(2_000, 500, 0);
        late.name = "threads".into();
        late.driver.send_error = constant(20_000, 500); // more than half the 33 ms period
        let mut judged = row(2_000, 500, 0);
        judged.name = "coop".into();
        judged.driver.send_error = constant(300, 500);
        assert_eq!(driver_limits_all(&[&late, &judged], &PER), None);
        let why = driver_limits_all(&[&late], &PER).expect("the only open model is limited");
        assert_eq!(why.len(), 1);
        assert!(why[0].starts_with("threads: send error p99"), "{why:?}");
        assert_eq!(
            driver_limits_all(&[], &PER),
            None,
            "nothing open: not the driver"
        );
    }

    #[test]
    fn each_rule_fires_on_its_own_and_names_its_figures() {
        assert_eq!(judge(&row(2_000, 500, 0), &PER), Verdict::Copes);
        // 5 of 500 slots is exactly 1 %: still copes; 6 is over.
        assert_eq!(judge(&row(2_000, 495, 5), &PER), Verdict::Copes);
        let Verdict::Broke(why) = judge(&row(2_000, 494, 6), &PER) else {
            panic!()
        };
        assert_eq!(why, ["polls skipped 1.2 % of 500 slots"]);
        let Verdict::Broke(why) = judge(&row(40_000, 500, 0), &PER) else {
            panic!()
        };
        assert_eq!(why.len(), 1);
        assert!(why[0].starts_with("poll p99 400"), "{why:?}");
        assert!(why[0].ends_with("µs > poll period 33000 µs"), "{why:?}");
        let mut m = row(2_000, 500, 0);
        m.counters.insert("polls_failed".into(), 20);
        assert!(matches!(judge(&m, &PER), Verdict::Broke(w) if w[0].contains("failed 4.0 %")));
        let mut m = row(2_000, 500, 0);
        m.ingest_latency = constant(30_000, 200);
        assert!(matches!(judge(&m, &PER), Verdict::Broke(w) if w[0].contains("ingest p99")));
        let replay = Periods {
            frame_us: None,
            ..PER
        };
        assert_eq!(judge(&m, &replay), Verdict::Copes);
    }

    #[test]
    fn a_p99_on_too_few_samples_is_not_judged() {
        assert!(
            matches!(judge(&row(90_000, 50, 0), &PER), Verdict::Unjudged(w) if w.contains("50 poll samples"))
        );
        // A share rule needs no p99 and still fires.
        assert!(matches!(
            judge(&row(2_000, 40, 10), &PER),
            Verdict::Broke(_)
        ));
    }
}
