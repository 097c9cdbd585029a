//! The three answers the report exists for: which model is cheapest in CPU, which has the
//! lowest latency and which the steadiest, each with its figure and its ratio to the floor.
//!
//! Definitions (also printed in "how to read this"):
//! - cheapest: lowest CPU % of one core. There is no CPU floor, so its reference is the
//!   costliest model that finished ("N× less than …").
//! - lowest latency: lowest poll latency p99 (the tail a user feels, measured from the
//!   intended send time), compared with the driver's own send-error p99.
//! - steadiest: smallest poll latency jitter, p99 − p50, compared with the same spread of the
//!   machine's timer lateness (what the kernel alone adds).
//!
//! Only models whose status is `ok` compete.

use super::format::{esc, ratio, sig3, us};
use crate::metrics::results::{ModelResult, Results};

/// One headline answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    pub question: &'static str,
    pub model: String,
    /// The figure, for people.
    pub figure: String,
    /// The comparison with the reference, for people (`3.1× the floor …`).
    pub versus: String,
}

fn ok_models(r: &Results) -> impl Iterator<Item = &ModelResult> {
    r.models.iter().filter(|m| m.is_ok())
}

fn spread(p50: u64, p99: u64) -> u64 {
    p99.saturating_sub(p50)
}

/// The headline picks; an answer is missing when no ok model has the figure.
pub fn picks(r: &Results) -> Vec<Pick> {
    let mut out = Vec::new();
    if let Some(m) = ok_models(r).min_by(|a, b| a.cpu.percent.total_cmp(&b.cpu.percent)) {
        let worst = ok_models(r).max_by(|a, b| a.cpu.percent.total_cmp(&b.cpu.percent));
        let versus = match worst {
            Some(w) if w.name != m.name && m.cpu.percent > 0.0 => format!(
                "{} less than the costliest, {} ({} %); no CPU floor is measured",
                ratio(w.cpu.percent, m.cpu.percent),
                w.name,
                sig3(w.cpu.percent)
            ),
            _ => "no CPU floor is measured".into(),
        };
        out.push(Pick {
            question: "Cheapest in CPU",
            model: m.name.clone(),
            figure: format!("{} % of one core", sig3(m.cpu.percent)),
            versus,
        });
    }
    let with_polls = || ok_models(r).filter(|m| m.poll_latency.count > 0);
    if let Some(m) = with_polls().min_by_key(|m| m.poll_latency.p99) {
        let f = &r.floor.driver_error;
        out.push(Pick {
            question: "Lowest latency",
            model: m.name.clone(),
            figure: format!(
                "poll latency p99 {} (p50 {})",
                us(m.poll_latency.p99),
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
        });
    }
    if let Some(m) = with_polls().min_by_key(|m| spread(m.poll_latency.p50, m.poll_latency.p99)) {
        let f = r.timer_floor_for(m);
        let s = spread(m.poll_latency.p50, m.poll_latency.p99);
        out.push(Pick {
            question: "Steadiest latency",
            model: m.name.clone(),
            figure: format!("poll latency jitter p99 − p50 = {}", us(s)),
            versus: if f.count > 0 {
                format!(
                    "{} the floor (timer lateness p99 − p50 = {})",
                    ratio(s as f64, spread(f.p50, f.p99) as f64),
                    us(spread(f.p50, f.p99))
                )
            } else {
                "no floor measured".into()
            },
        });
    }
    out
}

/// The headline as HTML cards.
pub fn html(r: &Results) -> String {
    let picks = picks(r);
    if picks.is_empty() {
        return "<p class=\"warn\">No model finished with status ok: there is no headline.</p>\n"
            .into();
    }
    let mut s = String::from("<div class=\"headline\">\n");
    for p in picks {
        s.push_str(&format!(
            "<div class=\"card\"><div class=\"q\">{}</div><div class=\"m\">{}</div>\
             <div class=\"f\">{}</div><div class=\"v\">{}</div></div>\n",
            esc(p.question),
            esc(&p.model),
            esc(&p.figure),
            esc(&p.versus)
        ));
    }
    s.push_str("</div>\n");
    s
}

/// The headline as Markdown bullets.
pub fn markdown(r: &Results) -> String {
    picks(r)
        .iter()
        .map(|p| {
            format!(
                "- **{}: {}** — {}; {}\n",
                p.question,
                super::format::md_cell(&p.model),
                p.figure,
                p.versus
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fabricate_results;

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
    fn failed_models_never_win_and_none_ok_means_no_headline() {
        let mut r = fabricate_results(6);
        let cheapest = picks(&r)[0].model.clone();
        for m in &mut r.models {
            if m.name == cheapest {
                m.status = "timed out".into();
            }
        }
        assert_ne!(picks(&r)[0].model, cheapest);
        for m in &mut r.models {
            m.status = "crashed".into();
        }
        assert!(picks(&r).is_empty());
        assert!(html(&r).contains("no headline"));
    }
}
