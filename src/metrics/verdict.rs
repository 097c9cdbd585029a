//! Verdicts that respect the intervals: which model is best on a figure, or which models
//! cannot be told apart. Written once, used by the terminal table, `summary.md` and the
//! report (it lives in `metrics/` because the driver's table may not import the report).
//!
//! The rule: rank the eligible models by the median of their per-round values; the lowest is
//! named alone only when its interval (`Interval::of_median`) clears the runner-up's.
//! Otherwise the verdict is the group whose intervals overlap the lowest's: they tie within
//! noise. A model that failed is never crowned, nor a DRIVER-LIMITED one on a figure the
//! driver may have set: its latencies always, its CPU only when the driver was saturated. Results without rounds (one pass per model)
//! have no interval: their lowest value is reported as unjudged, never as a verdict.

use super::figures::{self, AsFigure, Figure};
use super::results::{ModelResult, Results};
use super::rounds::Interval;
pub(crate) use super::rounds::MIN_ROUNDS;

/// One of the headline's questions: the registry figure it ranks on and its words. Defined
/// once for the report's headline and the terminal table's verdict lines.
#[derive(Clone, Copy, Debug)]
pub struct Question {
    pub question: &'static str,
    /// The registry figure it ranks on: its whole-run value, its rounds and its interval.
    pub fig: &'static Figure,
    pub best_word: &'static str,
    /// The figure in the words of the verdict's sentence.
    pub figure: &'static str,
}

/// Lowest CPU % of one core.
pub const CHEAPEST: Question = Question {
    question: "Cheapest in CPU",
    fig: &figures::CPU_PERCENT,
    best_word: "cheapest",
    figure: "CPU",
};
/// Lowest poll latency p99 (the tail a user feels, from the intended send time).
pub(crate) const LOWEST: Question = Question {
    question: "Lowest latency",
    fig: &figures::POLL_LATENCY_P99,
    best_word: "lowest",
    figure: "poll latency p99",
};
/// Smallest poll latency jitter, p99 − p50.
pub(crate) const STEADIEST: Question = Question {
    question: "Steadiest latency",
    fig: &figures::POLL_LATENCY_JITTER,
    best_word: "steadiest",
    figure: "poll latency jitter (p99 − p50)",
};
/// The headline's questions, in order.
pub(crate) const HEADLINE: [Question; 3] = [CHEAPEST, LOWEST, STEADIEST];

impl Question {
    /// The verdict on this question in a run.
    pub fn verdict(&self, r: &Results) -> Verdict {
        verdict(r, self.fig, |m| self.value(r, m))
    }

    /// Row `m`'s whole-run value of the question's figure in run `r`.
    pub(crate) fn value(&self, r: &Results, m: &ModelResult) -> Option<f64> {
        self.fig.of_model(m, r.scenario.duration_s)
    }
}

/// The interval of `figure`'s median over `m`'s ok rounds: the registry's
/// ([`Figure::interval`]); `None` with fewer than [`MIN_ROUNDS`] of them.
pub fn interval(m: &ModelResult, figure: impl AsFigure) -> Option<Interval> {
    figure.as_figure().interval(m)
}

/// One model in a verdict.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub name: String,
    /// The whole-run figure (merged over rounds), for results without rounds.
    pub value: Option<f64>,
    pub interval: Option<Interval>,
    /// Finished ok: it competes.
    pub eligible: bool,
    /// DRIVER-LIMITED: it competes (a better figure is still a better figure) but is never
    /// crowned, since the driver may have set its figures.
    pub limited: bool,
}

/// What can be said about one figure (lower is better).
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// One model whose interval clears every other's (the runner-up's, which is enough:
    /// the runner-up has the next-lowest median).
    Best {
        model: String,
        runner_up: Option<String>,
        /// The model's row is DRIVER-LIMITED: it leads but is not crowned.
        limited: bool,
    },
    /// The models whose intervals overlap the lowest's, lowest median first; `limited`
    /// are those among them that are DRIVER-LIMITED (never starred).
    Tie {
        models: Vec<String>,
        limited: Vec<String>,
    },
    /// No intervals (no rounds, or too few ok ones): the lowest whole-run value, which may
    /// be noise. Ties all count.
    Unjudged { models: Vec<String> },
    /// No eligible model has the figure.
    Nobody,
}

impl Verdict {
    /// The models a ★ goes to: the best, or a tie group that does not hold every eligible
    /// model (when all tie nobody stands out), or the unjudged lowest likewise.
    pub(crate) fn starred(&self, eligible: usize) -> Vec<String> {
        match self {
            Verdict::Best {
                model,
                limited: false,
                ..
            } => vec![model.clone()],
            Verdict::Tie { models, limited } if models.len() < eligible => models
                .iter()
                .filter(|m| !limited.contains(m))
                .cloned()
                .collect(),
            Verdict::Unjudged { models } if models.len() < eligible => models.clone(),
            _ => Vec::new(),
        }
    }

    /// True when every one of the `eligible` models (two or more) ties: nobody separates.
    pub(crate) fn all_tie(&self, eligible: usize) -> bool {
        matches!(self, Verdict::Tie { models, .. } if eligible > 1 && models.len() >= eligible)
    }

    /// [`Verdict::sentence`] for a headline: a tie of every model says so in words instead
    /// of listing them all ("no model separates on poll latency p99 on this machine").
    pub(crate) fn headline_sentence(
        &self,
        eligible: usize,
        best_word: &str,
        figure: &str,
    ) -> String {
        if self.all_tie(eligible) {
            let all = if eligible == 2 {
                "both".to_string()
            } else {
                format!("all {eligible}")
            };
            format!("no model separates on {figure} on this machine: {all} tie within noise")
        } else {
            self.sentence(best_word, figure)
        }
    }

    /// The names the verdict is about, in words: `threads`, or `threads, coop and coop-v2`.
    pub(crate) fn who(&self) -> String {
        match self {
            Verdict::Best { model, .. } => model.clone(),
            Verdict::Tie { models, .. } | Verdict::Unjudged { models } => and_list(models),
            Verdict::Nobody => "nobody".into(),
        }
    }

    /// One sentence: `threads is cheapest on CPU, clear of coop`, `threads, coop and coop-v2
    /// tie on CPU within noise`, or the unjudged lowest with why it is not a verdict.
    pub(crate) fn sentence(&self, best_word: &str, figure: &str) -> String {
        const NOT_CROWNED: &str = "DRIVER-LIMITED, so not crowned";
        match self {
            Verdict::Best {
                model,
                runner_up,
                limited,
            } => {
                let clear = runner_up
                    .as_ref()
                    .map(|r| format!(", its interval clear of {r}'s"))
                    .unwrap_or_default();
                let lim = if *limited {
                    format!(" ({NOT_CROWNED})")
                } else {
                    String::new()
                };
                format!("{model} is {best_word} on {figure}{clear}{lim}")
            }
            Verdict::Tie { models, limited } => {
                let lim = if limited.is_empty() {
                    String::new()
                } else if limited.len() == models.len() {
                    " (all DRIVER-LIMITED, so none crowned)".to_string()
                } else {
                    format!(" ({} {NOT_CROWNED})", and_list(limited))
                };
                format!("{} tie on {figure} within noise{lim}", and_list(models))
            }
            Verdict::Unjudged { models } => format!(
                "{} lowest on {figure} in one pass (no rounds, no interval: not a verdict)",
                and_list(models)
            ),
            Verdict::Nobody => format!("no model that finished ok has {figure}"),
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The verdict on candidates (lower is better).
pub(crate) fn judge(cands: &[Candidate]) -> Verdict {
    let eligible: Vec<&Candidate> = cands
        .iter()
        .filter(|c| c.eligible && (c.value.is_some() || c.interval.is_some()))
        .collect();
    if eligible.is_empty() {
        return Verdict::Nobody;
    }
    let with: Option<Vec<(&Candidate, Interval)>> = eligible
        .iter()
        .map(|c| c.interval.map(|i| (*c, i)))
        .collect();
    let Some(mut ranked) = with else {
        // Someone has no interval: nothing can be judged, only the lowest value shown.
        let values: Vec<(&Candidate, f64)> = eligible
            .iter()
            .filter(|c| !c.limited)
            .filter_map(|c| c.value.map(|v| (*c, v)))
            .collect();
        let Some(low) = values.iter().map(|(_, v)| *v).reduce(f64::min) else {
            return Verdict::Nobody;
        };
        return Verdict::Unjudged {
            models: values
                .iter()
                .filter(|(_, v)| *v == low)
                .map(|(c, _)| c.name.clone())
                .collect(),
        };
    };
    ranked.sort_by(|a, b| {
        a.1.mid.total_cmp(&b.1.mid).then(
            a.0.value
                .unwrap_or(0.0)
                .total_cmp(&b.0.value.unwrap_or(0.0)),
        )
    });
    let (best, bi) = ranked[0];
    match ranked.get(1) {
        None => Verdict::Best {
            model: best.name.clone(),
            runner_up: None,
            limited: best.limited,
        },
        Some((second, si)) if bi.hi < si.lo => Verdict::Best {
            model: best.name.clone(),
            runner_up: Some(second.name.clone()),
            limited: best.limited,
        },
        Some(_) => {
            let group: Vec<&Candidate> = ranked
                .iter()
                .filter(|(_, i)| !bi.separates_from(i))
                .map(|(c, _)| *c)
                .collect();
            Verdict::Tie {
                models: group.iter().map(|c| c.name.clone()).collect(),
                limited: group
                    .iter()
                    .filter(|c| c.limited)
                    .map(|c| c.name.clone())
                    .collect(),
            }
        }
    }
}

/// Whether a row competes: it finished ok (a DRIVER-LIMITED row competes but is never
/// crowned).
pub(crate) fn eligible(m: &ModelResult) -> bool {
    m.is_ok()
}

/// Whether row `m` of run `r` competes for the run's verdicts: it is eligible and, in a
/// paired run (`esbench run --against`), it is side B's. Side A is the other build: B
/// against A is judged on the per-round ratios (`check --paired`), never by two unpaired
/// intervals, so a build measured against itself cannot be crowned over itself.
pub(crate) fn competes(r: &Results, m: &ModelResult) -> bool {
    eligible(m)
        && !r
            .paired
            .as_ref()
            .is_some_and(|p| p.models.iter().any(|pm| pm.a_row == m.name))
}

/// The candidates of `figure` in a run, with the whole-run value from `value`.
pub(crate) fn candidates(
    r: &Results,
    figure: impl AsFigure,
    value: impl Fn(&ModelResult) -> Option<f64>,
) -> Vec<Candidate> {
    let figure = figure.as_figure();
    r.models
        .iter()
        .map(|m| Candidate {
            name: m.name.clone(),
            value: value(m),
            interval: figure.interval(m),
            eligible: competes(r, m),
            limited: limits(m, figure),
        })
        .collect()
}

/// Whether the driver may have set row `m`'s `figure`. A late send is part of every
/// latency, so a row DRIVER-LIMITED for any reason is in doubt on its latencies; but the
/// model's own process figures (`cpu.*`) are not made of the driver's lateness, and are in
/// doubt only when the driver was saturated and may not have delivered the planned load.
fn limits(m: &ModelResult, figure: &Figure) -> bool {
    if figure.is_process() {
        m.driver.saturated()
    } else {
        m.driver.limited
    }
}

/// The verdict on `figure` in a run.
pub(crate) fn verdict(
    r: &Results,
    figure: impl AsFigure,
    value: impl Fn(&ModelResult) -> Option<f64>,
) -> Verdict {
    // A paired run of one model has a single competitor: nothing to crown.
    if r.paired.is_some() && eligible_count(r) < 2 {
        return Verdict::Nobody;
    }
    judge(&candidates(r, figure, value))
}

/// The rows a ★ goes to on `figure`. In a run with rounds a figure without intervals
/// (p99.9, counters) gets none: its lowest value is not a verdict there. Results from before
/// rounds keep the lowest value starred, and say so in their captions.
pub fn stars(
    r: &Results,
    figure: impl AsFigure,
    value: impl Fn(&ModelResult) -> Option<f64>,
) -> Vec<String> {
    let v = verdict(r, figure, value);
    if matches!(v, Verdict::Unjudged { .. }) && has_rounds(r) {
        return Vec::new();
    }
    v.starred(eligible_count(r))
}

/// True when some row of the run was measured in rounds.
pub(crate) fn has_rounds(r: &Results) -> bool {
    r.models.iter().any(|m| m.rounds.len() >= MIN_ROUNDS)
}

/// An interval in a table cell: `±0.02` for an interval, `[0.61–0.66]` for a range.
pub(crate) fn compact(i: &Interval, fmt: impl Fn(f64) -> String) -> String {
    if i.is_range {
        format!("[{}–{}]", fmt(i.lo), fmt(i.hi))
    } else {
        format!("±{}", fmt(i.half_width()))
    }
}

/// How many rows may be crowned in a run.
pub(crate) fn eligible_count(r: &Results) -> usize {
    r.models.iter().filter(|m| competes(r, m)).count()
}

/// `a / b` with its interval, `3.7× (3.1–4.4×)`, or just `3.7×` without intervals: the
/// interval runs from the lowest of `a` over the highest of `b` to the other way round.
pub(crate) fn ratio_text(a: f64, b: f64, ai: Option<&Interval>, bi: Option<&Interval>) -> String {
    if b <= 0.0 {
        return "–".into();
    }
    let x = a / b;
    match (ai, bi) {
        (Some(ai), Some(bi)) => match Interval::ratio(ai, bi) {
            Some((_, lo, hi)) => format!("{}× ({}–{}×)", sig(x), sig(lo), sig(hi)),
            None => format!("{}×", sig(x)),
        },
        _ => format!("{}×", sig(x)),
    }
}

/// A ratio with two significant digits past 10, one decimal below.
fn sig(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// An interval in words for people (`±` is the table's): `median of 6 rounds 0.63, its
/// 96 % interval 0.61–0.66`, or `median of 3 rounds 0.63, their range 0.61–0.66`.
pub(crate) fn interval_words(i: &Interval, fmt: impl Fn(f64) -> String) -> String {
    if i.is_range {
        format!(
            "median of {} rounds {}, their range {}–{}",
            i.n,
            fmt(i.mid),
            fmt(i.lo),
            fmt(i.hi)
        )
    } else {
        format!(
            "median of {} rounds {}, its {:.0} % interval {}–{}",
            i.n,
            fmt(i.mid),
            (i.coverage * 100.0).floor(),
            fmt(i.lo),
            fmt(i.hi)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(name: &str, values: &[f64]) -> Candidate {
        Candidate {
            name: name.into(),
            value: Interval::of_median(values).map(|i| i.mid),
            interval: if values.len() >= MIN_ROUNDS {
                Interval::of_median(values)
            } else {
                None
            },
            eligible: true,
            limited: false,
        }
    }

    #[test]
    fn a_single_best_only_when_its_interval_clears_the_runner_up() {
        let clear = [
            cand("slow", &[3.0, 3.1, 3.2, 3.3, 3.4, 3.5]),
            cand("fast", &[1.0, 1.1, 1.2, 1.3, 1.4, 1.5]),
        ];
        assert_eq!(
            judge(&clear),
            Verdict::Best {
                model: "fast".into(),
                runner_up: Some("slow".into()),
                limited: false,
            }
        );
        let overlap = [
            cand("a", &[1.0, 1.1, 1.2, 1.3, 1.4, 2.0]),
            cand("b", &[1.9, 2.0, 2.1, 2.2, 2.3, 2.4]),
            cand("c", &[5.0, 5.1, 5.2, 5.3, 5.4, 5.5]),
        ];
        let v = judge(&overlap);
        assert_eq!(
            v,
            Verdict::Tie {
                models: vec!["a".into(), "b".into()],
                limited: vec![],
            }
        );
        assert_eq!(
            v.sentence("cheapest", "CPU"),
            "a and b tie on CPU within noise"
        );
        assert_eq!(v.starred(3), ["a", "b"]);
        assert!(
            v.starred(2).is_empty(),
            "when everyone ties nobody stands out"
        );
    }

    #[test]
    fn the_same_values_under_two_names_tie() {
        let v = [1.0, 1.2, 0.9, 1.1, 1.05, 0.95];
        assert!(matches!(
            judge(&[cand("threads", &v), cand("threads-again", &v)]),
            Verdict::Tie { .. }
        ));
    }

    #[test]
    fn a_late_driver_puts_latencies_in_doubt_and_only_a_saturated_one_the_cpu() {
        let mut m = ModelResult::default();
        m.driver.cpus = 2;
        m.driver.cpu_percent = 3.0;
        m.driver.limited = true; // by its send error alone
        assert!(limits(&m, &figures::POLL_LATENCY_P99));
        assert!(!limits(&m, &figures::CPU_PERCENT));
        assert!(!limits(&m, &figures::CPU_CTX_SWITCHES_PER_S));
        assert!(!limits(&m, CHEAPEST.fig));
        assert!(limits(&m, LOWEST.fig));
        assert!(limits(&m, STEADIEST.fig));
        m.driver.cpu_percent = 185.0; // 92.5 % of two CPUs
        assert!(limits(&m, &figures::CPU_PERCENT));
        m.driver.limited = false;
        assert!(
            !limits(&m, &figures::POLL_LATENCY_P99),
            "limited is the judge's word"
        );
    }

    #[test]
    fn failed_and_driver_limited_rows_are_never_crowned() {
        let mut fast = cand("fast", &[1.0, 1.1, 1.2, 1.3, 1.4, 1.5]);
        fast.eligible = false;
        let slow = cand("slow", &[3.0, 3.1, 3.2, 3.3, 3.4, 3.5]);
        let v = judge(&[fast.clone(), slow.clone()]);
        assert_eq!(
            v,
            Verdict::Best {
                model: "slow".into(),
                runner_up: None,
                limited: false,
            }
        );
        // A DRIVER-LIMITED row still competes: it keeps a worse model from the crown, and
        // gets none itself.
        fast.eligible = true;
        fast.limited = true;
        let v = judge(&[fast.clone(), slow.clone()]);
        assert!(matches!(v, Verdict::Best { limited: true, .. }), "{v:?}");
        assert!(v.starred(2).is_empty());
        assert!(v
            .sentence("cheapest", "CPU")
            .contains("DRIVER-LIMITED, so not crowned"));
        let near = cand("near", &[1.2, 1.3, 1.4, 1.5, 1.6, 1.7]);
        let v = judge(&[fast, near, slow]);
        assert_eq!(v.starred(3), ["near"], "{v:?}");
        assert!(
            v.sentence("cheapest", "CPU")
                .contains("(fast DRIVER-LIMITED"),
            "{v:?}"
        );
    }

    /// A row of `cpu.len()` ok rounds with these CPU figures.
    fn row(name: &str, cpu: &[f64]) -> ModelResult {
        use crate::metrics::rounds::RoundResult;
        use crate::metrics::status::Status;
        ModelResult {
            name: name.into(),
            status: Status::Ok,
            rounds: cpu
                .iter()
                .enumerate()
                .map(|(k, &c)| RoundResult {
                    index: k as u32,
                    status: Status::Ok,
                    cpu_percent: c,
                    ..RoundResult::default()
                })
                .collect(),
            ..ModelResult::default()
        }
    }

    #[test]
    fn a_paired_run_crowns_only_among_side_b_and_never_a_build_over_itself() {
        use crate::metrics::paired::{Paired, PairedModel};
        // Side A far below side B in every round: unpaired, A's interval clears B's.
        let a = row("threads@A", &[1.0, 1.1, 1.0, 1.05, 1.0, 1.1]);
        let b = row("threads@B", &[2.0, 2.1, 2.0, 2.05, 2.0, 2.1]);
        let c = row("coop@B", &[3.0, 3.1, 3.0, 3.05, 3.0, 3.1]);
        let ca = row("coop@A", &[3.0, 3.1, 3.0, 3.05, 3.0, 3.1]);
        let mut r = Results {
            models: vec![a.clone(), b.clone()],
            ..Results::default()
        };
        assert!(
            matches!(
                verdict(&r, figures::CPU_PERCENT, |m| Some(m.cpu.percent)),
                Verdict::Best { .. }
            ),
            "unpaired, the lower row is crowned"
        );
        r.paired = Some(Paired {
            models: vec![PairedModel::of("threads", &a, &b)],
            ..Paired::default()
        });
        let v = verdict(&r, figures::CPU_PERCENT, |m| Some(m.cpu.percent));
        assert_eq!(v, Verdict::Nobody, "one model paired: nobody to crown");
        assert!(stars(&r, figures::CPU_PERCENT, |m| Some(m.cpu.percent)).is_empty());
        // Two models: only the B rows compete, so threads@A (the lowest) is never crowned.
        r.models.extend([ca.clone(), c.clone()]);
        r.paired
            .as_mut()
            .unwrap()
            .models
            .push(PairedModel::of("coop", &ca, &c));
        match verdict(&r, figures::CPU_PERCENT, |m| Some(m.cpu.percent)) {
            Verdict::Best {
                model, runner_up, ..
            } => {
                assert_eq!(model, "threads@B");
                assert_eq!(runner_up.as_deref(), Some("coop@B"));
            }
            v => panic!("expected threads@B crowned over coop@B, got {v:?}"),
        }
        assert_eq!(eligible_count(&r), 2);
    }

    #[test]
    fn one_pass_results_are_unjudged_not_crowned() {
        let v = judge(&[cand("a", &[2.0]), cand("b", &[1.0]), cand("c", &[1.0])]);
        assert_eq!(
            v,
            Verdict::Unjudged {
                models: vec!["b".into(), "c".into()]
            }
        );
        assert!(v.sentence("cheapest", "CPU").contains("not a verdict"));
        assert_eq!(judge(&[]), Verdict::Nobody);
    }

    #[test]
    fn ratios_carry_the_interval_of_both_figures() {
        let a = Interval::of_median(&[6.0, 8.0, 10.0]).unwrap();
        let b = Interval::of_median(&[1.0, 2.0, 4.0]).unwrap();
        assert_eq!(ratio_text(8.0, 2.0, Some(&a), Some(&b)), "4.0× (1.5–10×)");
        assert_eq!(ratio_text(8.0, 2.0, None, Some(&b)), "4.0×");
        assert_eq!(
            and_list(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }

    #[test]
    fn a_tie_of_every_model_is_said_in_words() {
        let names = |n: usize| (0..n).map(|i| format!("m{i}")).collect::<Vec<_>>();
        let all = Verdict::Tie {
            models: names(9),
            limited: vec![],
        };
        assert!(all.all_tie(9));
        assert_eq!(
            all.headline_sentence(9, "lowest", "poll latency p99"),
            "no model separates on poll latency p99 on this machine: all 9 tie within noise"
        );
        let some = Verdict::Tie {
            models: names(3),
            limited: vec![],
        };
        assert!(!some.all_tie(9));
        assert!(some
            .headline_sentence(9, "lowest", "CPU")
            .starts_with("m0, m1 and m2 tie on CPU"));
    }
}
