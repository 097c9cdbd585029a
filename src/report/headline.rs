//! The three answers the report exists for: which model is cheapest in CPU, which has the
//! lowest latency and which the steadiest, each with its figure and its ratio to the floor.
//!
//! Definitions (also printed in "how to read this"):
//! - cheapest: lowest CPU % of one core, against the costliest model that finished ("N× less
//!   than …") and, when the run measured one, the CPU floor ("N× the CPU floor").
//! - lowest latency: lowest poll latency p99 (the tail a user feels, measured from the
//!   intended send time), compared with the driver's own send-error p99.
//! - steadiest: smallest poll latency jitter, p99 − p50, compared with the same spread of the
//!   machine's timer lateness (what the kernel alone adds).
//!
//! Only models whose status is `ok` and whose row is not DRIVER-LIMITED compete, and a single
//! model is named only when its interval over the rounds clears the runner-up's; otherwise
//! the card names the group that ties within noise (`metrics::verdict`). Every figure carries
//! its interval, and the ratio to the costliest carries the interval of the ratio.

use crate::metrics::results::{ModelResult, Results};
use crate::metrics::verdict::{self, Question, Verdict, CHEAPEST, LOWEST, STEADIEST};
use crate::render::format::{esc, ratio, sig3, us};

/// One headline answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    pub question: &'static str,
    /// The model named, or the group that ties (`threads, coop and coop-v2`).
    pub model: String,
    /// The figure, for people, with its interval over the rounds.
    pub figure: String,
    /// The comparison with the reference, for people (`3.1× the floor …`).
    pub versus: String,
    /// The verdict in one sentence (`… tie on CPU within noise`); empty for the picks that
    /// are observations, not rankings ("What the run shows").
    pub verdict: String,
}

fn ok_models(r: &Results) -> impl Iterator<Item = &ModelResult> {
    r.models.iter().filter(|m| m.is_ok())
}

fn spread(p50: u64, p99: u64) -> u64 {
    p99.saturating_sub(p50)
}

/// % of one core.
fn show_pct(v: f64) -> String {
    format!("{} %", sig3(v))
}

fn show_us(v: f64) -> String {
    us(v.max(0.0).round() as u64)
}

/// The named model(s) of a verdict and the one whose figures the card shows (the lowest).
fn named(v: &Verdict, eligible: usize) -> Option<(String, String)> {
    if v.all_tie(eligible) {
        // The card still shows the figures of the lowest median, as for any tie.
        if let Verdict::Tie { models, .. } = v {
            let first = models.first()?.clone();
            let all = if eligible == 2 {
                "both".to_string()
            } else {
                format!("all {eligible}")
            };
            return Some((format!("no model separates ({all} tie)"), first));
        }
    }
    match v {
        Verdict::Best {
            model,
            limited: true,
            ..
        } => Some((
            format!("{model} (DRIVER-LIMITED: not crowned)"),
            model.clone(),
        )),
        Verdict::Best { model, .. } => Some((model.clone(), model.clone())),
        Verdict::Tie { models, .. } | Verdict::Unjudged { models } => {
            Some((v.who(), models.first()?.clone()))
        }
        Verdict::Nobody => None,
    }
}

/// `0.63 % (0.61–0.66 %, 96 % interval of the median over 6 rounds)`, or without rounds the
/// whole-run figure and "one pass".
fn figure_text(q: &Question, r: &Results, m: &ModelResult, show: fn(f64) -> String) -> String {
    let whole = q.value(r, m).map(show).unwrap_or_else(|| "–".into());
    match q.fig.interval(m) {
        Some(i) => format!(
            "{whole} over the run; {}",
            verdict::interval_words(&i, show)
        ),
        None => format!("{whole} (one pass: no interval)"),
    }
}

/// The headline picks; an answer is missing when no ok model has the figure.
pub fn picks(r: &Results) -> Vec<Pick> {
    let mut out = Vec::new();
    let eligible = crate::metrics::verdict::eligible_count(r);
    let v = CHEAPEST.verdict(r);
    if let Some((who, shown)) = named(&v, eligible) {
        let m = r.model(&shown).expect("a verdict names a row of the run");
        // Against the costliest ok row, with the interval of the ratio when both have one.
        let worst = ok_models(r).max_by(|a, b| a.cpu.percent.total_cmp(&b.cpu.percent));
        let floor = match r.floor.cpu_percent {
            Some(f) if f > 0.0 => {
                format!("{}× the CPU floor ({} %)", sig3(m.cpu.percent / f), sig3(f))
            }
            _ => "no CPU floor was measured".into(),
        };
        let versus = match worst {
            Some(w) if w.name != m.name && m.cpu.percent > 0.0 => format!(
                "{} less than the costliest, {} ({} %); {floor}",
                verdict::ratio_text(
                    w.cpu.percent,
                    m.cpu.percent,
                    CHEAPEST.fig.interval(w).as_ref(),
                    CHEAPEST.fig.interval(m).as_ref()
                ),
                w.name,
                sig3(w.cpu.percent)
            ),
            _ => floor,
        };
        out.push(Pick {
            question: CHEAPEST.question,
            model: who,
            figure: format!("CPU {}", figure_text(&CHEAPEST, r, m, show_pct)),
            versus,
            verdict: v.headline_sentence(eligible, CHEAPEST.best_word, CHEAPEST.figure),
        });
    }
    let v = LOWEST.verdict(r);
    if let Some((who, shown)) = named(&v, eligible) {
        let m = r.model(&shown).expect("a verdict names a row of the run");
        let f = &r.floor.driver_error;
        out.push(Pick {
            question: LOWEST.question,
            model: who,
            figure: format!(
                "poll latency p99 {} (p50 {})",
                figure_text(&LOWEST, r, m, show_us),
                us(m.poll_latency.p50)
            ),
            versus: if f.count > 0 {
                format!(
                    "{} the floor (driver send error p99 {})",
                    ratio(m.poll_latency.p99 as f64, f.p99 as f64),
                    us(f.p99)
                )
            } else {
                "no floor measured".into()
            },
            verdict: v.headline_sentence(eligible, LOWEST.best_word, LOWEST.figure),
        });
    }
    let v = STEADIEST.verdict(r);
    if let Some((who, shown)) = named(&v, eligible) {
        let m = r.model(&shown).expect("a verdict names a row of the run");
        let f = r.timer_floor_for(m);
        let s = spread(m.poll_latency.p50, m.poll_latency.p99);
        out.push(Pick {
            question: STEADIEST.question,
            model: who,
            figure: format!(
                "poll latency jitter p99 − p50 = {}",
                figure_text(&STEADIEST, r, m, show_us)
            ),
            versus: if f.count > 0 {
                format!(
                    "{} the floor (timer lateness p99 − p50 = {})",
                    ratio(s as f64, spread(f.p50, f.p99) as f64),
                    us(spread(f.p50, f.p99))
                )
            } else {
                "no floor measured".into()
            },
            verdict: v.headline_sentence(eligible, STEADIEST.best_word, STEADIEST.figure),
        });
    }
    out.extend(spinning(r));
    out
}

/// A model spins when it uses at least this share of a core (the classroom load needs about
/// 1 %). A quarter, not a half: on a machine shared with other work a spinning process gets
/// only its fair share of a core, not all of it.
const SPIN_MIN_PERCENT: f64 = 25.0;
/// ...and at least this many times the cheapest model's CPU for the same load.
const SPIN_MIN_RATIO: f64 = 10.0;

/// "What the run shows" when some models burn a core's worth of CPU while others do the same
/// work for next to nothing: it names them and says they poll instead of waiting; when the
/// thread counts of the two groups overlap, that the threads are not the cause. Derived
/// from the figures only; absent when no model (or every model) qualifies.
pub(crate) fn spinning(r: &Results) -> Option<Pick> {
    let cheapest = ok_models(r).min_by(|a, b| a.cpu.percent.total_cmp(&b.cpu.percent))?;
    let floor = cheapest.cpu.percent;
    let spins = |m: &ModelResult| m.cpu.percent >= SPIN_MIN_PERCENT.max(SPIN_MIN_RATIO * floor);
    let (spinners, waiters): (Vec<&ModelResult>, Vec<&ModelResult>) =
        ok_models(r).partition(|m| spins(m));
    if spinners.is_empty() || waiters.is_empty() || floor <= 0.0 {
        return None;
    }
    let names = |ms: &[&ModelResult]| {
        ms.iter()
            .map(|m| m.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let threads = |ms: &[&ModelResult]| {
        let t = ms.iter().map(|m| m.cpu.threads);
        (t.clone().min().unwrap_or(0), t.max().unwrap_or(0))
    };
    let range = |(lo, hi): (u64, u64)| {
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}–{hi}")
        }
    };
    let lowest = spinners
        .iter()
        .map(|m| m.cpu.percent)
        .fold(f64::INFINITY, f64::min);
    let highest_waiter = waiters.iter().map(|m| m.cpu.percent).fold(0.0, f64::max);
    let (st, wt) = (threads(&spinners), threads(&waiters));
    let cause = if st.0 <= wt.1 && wt.0 <= st.1 {
        format!(
            "; with {} threads among them and {} among the others, the polling, not the threads, costs the core",
            range(st),
            range(wt)
        )
    } else {
        String::new()
    };
    let verb = if spinners.len() == 1 { "polls" } else { "poll" };
    let who = spinners
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    Some(Pick {
        question: "What the run shows",
        model: names(&spinners),
        figure: format!(
            "{} % of one core, at least {} the cheapest ({}, {} %)",
            spinners
                .iter()
                .map(|m| sig3(m.cpu.percent))
                .collect::<Vec<_>>()
                .join(" and "),
            ratio(lowest, floor),
            cheapest.name,
            sig3(floor)
        ),
        versus: format!(
            "{} need at most {} % for the same load: {who} {verb} for input instead of waiting for it{cause}",
            names(&waiters),
            sig3(highest_waiter)
        ),
        verdict: String::new(),
    })
}

/// The headline as HTML cards.
pub(crate) fn html(r: &Results) -> String {
    let picks = picks(r);
    if picks.is_empty() {
        return "<p class=\"warn\">No model finished with status ok: there is no headline.</p>\n"
            .into();
    }
    let mut s = String::from("<div class=\"headline\">\n");
    for p in picks {
        s.push_str(&format!(
            "<div class=\"card\"><div class=\"q\">{}</div><div class=\"m\">{}</div>\
             <div class=\"f\">{}</div><div class=\"v\">{}</div>{}</div>\n",
            esc(p.question),
            esc(&p.model),
            esc(&p.figure),
            esc(&p.versus),
            if p.verdict.is_empty() {
                String::new()
            } else {
                format!("<div class=\"verdict\">{}</div>", esc(&p.verdict))
            }
        ));
    }
    s.push_str("</div>\n");
    s
}

/// The headline as Markdown bullets.
pub(crate) fn markdown(r: &Results) -> String {
    picks(r)
        .iter()
        .map(|p| {
            let verdict = if p.verdict.is_empty() {
                String::new()
            } else {
                format!(" *{}.*", crate::render::format::md_text(&p.verdict))
            };
            format!(
                "- **{}: {}** — {}; {}.{verdict}\n",
                p.question,
                crate::render::format::md_cell(&p.model),
                p.figure,
                p.versus
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;
    use crate::metrics::status::Status;

    #[test]
    fn picks_match_the_figures() {
        let r = fabricate_results(6);
        let p = picks(&r);
        assert_eq!(p.len(), 3);
        let cheapest = r
            .models
            .iter()
            .min_by(|a, b| a.cpu.percent.total_cmp(&b.cpu.percent))
            .unwrap();
        assert_eq!(p[0].model, cheapest.name);
        assert!(p[0].versus.contains("rayon"), "{}", p[0].versus);
        let lowest = r.models.iter().min_by_key(|m| m.poll_latency.p99).unwrap();
        assert_eq!(p[1].model, lowest.name);
        assert!(p[1].versus.contains("× the floor"), "{}", p[1].versus);
    }

    #[test]
    fn the_cheapest_is_set_against_the_cpu_floor_when_one_was_measured() {
        let mut r = fabricate_results(6);
        r.floor.cpu_percent = None;
        assert!(picks(&r)[0].versus.contains("no CPU floor was measured"));
        let cheapest = r
            .models
            .iter()
            .map(|m| m.cpu.percent)
            .fold(f64::INFINITY, f64::min);
        r.floor.cpu_percent = Some(cheapest / 2.0);
        let v = picks(&r)[0].versus.clone();
        assert!(v.contains("2.00× the CPU floor"), "{v}");
    }

    #[test]
    fn spinning_models_are_named_only_when_the_figures_say_so() {
        let mut r = fabricate_results(6);
        assert!(spinning(&r).is_none(), "no fabricated model spins");
        let set = |r: &mut Results, name: &str, cpu: f64, threads: u64| {
            let m = r.models.iter_mut().find(|m| m.name == name).unwrap();
            m.cpu.percent = cpu;
            m.cpu.threads = threads;
        };
        set(&mut r, "threads", 41.0, 6);
        set(&mut r, "coop", 38.0, 1);
        let p = spinning(&r).expect("two models spin");
        assert_eq!(p.model, "threads, coop");
        assert!(
            p.figure.starts_with("41.0 and 38.0 % of one core"),
            "{}",
            p.figure
        );
        assert!(
            p.versus
                .contains("threads and coop poll for input instead of waiting"),
            "{}",
            p.versus
        );
        assert!(p.versus.contains("not the threads"), "{}", p.versus);
        assert!(
            !p.versus.contains("coop,"),
            "spinners are not among the others"
        );
        assert_eq!(picks(&r).last(), Some(&p));
        // Only multi-threaded models spin: the threads are not ruled out.
        set(&mut r, "coop", 0.5, 1);
        let p = spinning(&r).unwrap();
        assert!(
            p.versus.contains("threads polls") && !p.versus.contains("not the threads"),
            "{}",
            p.versus
        );
        // A failed model is no evidence; when every ok model is costly nothing is named.
        r.models
            .iter_mut()
            .find(|m| m.name == "threads")
            .unwrap()
            .status = Status::parse("crashed");
        assert!(spinning(&r).is_none());
        for m in &mut r.models {
            m.cpu.percent = 90.0;
        }
        assert!(spinning(&r).is_none());
    }

    #[test]
    fn failed_models_never_win_and_none_ok_means_no_headline() {
        let mut r = fabricate_results(6);
        let cheapest = picks(&r)[0].model.clone();
        for m in &mut r.models {
            if m.name == cheapest {
                m.status = Status::parse("timed out");
            }
        }
        assert_ne!(picks(&r)[0].model, cheapest);
        for m in &mut r.models {
            m.status = Status::parse("crashed");
        }
        assert!(picks(&r).is_empty());
        assert!(html(&r).contains("no headline"));
    }
}
