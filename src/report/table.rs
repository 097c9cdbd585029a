//! The summary table, one row per model, best value per column marked — as HTML for the
//! page and as Markdown for `summary.md` (CI comments). Failed models keep their row, greyed,
//! and never count as best.

use crate::metrics::results::Results;
use crate::metrics::summary::Summary;
use crate::metrics::verdict;
use crate::render::figures::{self, display, ModelFigures, COLUMNS};
use crate::render::format::{esc, md_cell};

/// Per column, the rows a ★ goes to: the verdict over the rounds (`metrics::verdict`), the
/// same one the headline and the terminal table give.
fn stars(r: &Results, figs: &[ModelFigures]) -> Vec<Vec<String>> {
    COLUMNS
        .iter()
        .enumerate()
        .map(|(c, col)| {
            verdict::stars(r, col.figure, |m| {
                figs.iter()
                    .find(|f| f.name == m.name)
                    .and_then(|f| f.values[c])
            })
        })
        .collect()
}

/// The interval of row `name`'s figure in column `c`, in the column's unit.
fn interval_text(r: &Results, name: &str, c: usize) -> Option<String> {
    let col = &COLUMNS[c];
    let i = col.figure.interval(r.model(name)?)?;
    Some(verdict::compact(&i, |v| display(col, Some(v))))
}

/// The caption of the ★ marks, for a run with or without rounds.
fn star_caption(r: &Results) -> &'static str {
    if verdict::has_rounds(r) {
        "★ marks the model whose interval over the rounds clears the runner-up's, or every \
         model of a group that cannot be told apart (a column where all of them tie has \
         none); failed and DRIVER-LIMITED rows never get one. Under each value: ± half the \
         95 % interval of its median over the rounds, or [lo–hi] when fewer than 5 rounds \
         make it only a range."
    } else {
        "★ marks the lowest value in a column among models that finished ok. These results \
         have no rounds, so there is no interval: a ★ is one pass's order, not a verdict."
    }
}

/// A caveat a reader must see next to a model's name (docs/measuring.md: async-std is measured
/// but discontinued upstream).
pub(crate) fn model_note(name: &str) -> Option<&'static str> {
    match name {
        "async-std" => Some("discontinued upstream (RUSTSEC-2025-0052); measured for comparison"),
        _ => None,
    }
}

/// One sentence for an external bridge's row: what it is, how its CPU was counted, what
/// conformance noted, and what it cannot have (`None` for a built-in model).
pub(crate) fn external_line(m: &crate::metrics::results::ModelResult) -> Option<String> {
    let e = m.external.as_ref()?;
    let mut line = format!(
        "{}: external bridge `{}`; {}; not measured: {}.",
        m.name,
        e.command,
        if e.cpu_accounting.is_empty() {
            "it never ran".to_string()
        } else {
            format!(
                "CPU of its whole process tree counted by {}",
                e.cpu_accounting
            )
        },
        e.not_measured.join(", ")
    );
    if !e.conformance_notes.is_empty() {
        line.push_str(&format!(
            " Conformance notes: {}.",
            e.conformance_notes.join("; ")
        ));
    }
    Some(line)
}

/// The HTML table.
pub fn html(r: &Results) -> String {
    let figs = figures::all(r);
    let best = stars(r, &figs);
    let mut s =
        String::from("<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th>model</th>");
    for c in COLUMNS {
        s.push_str(&format!("<th>{}</th>", esc(c.heading)));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for f in &figs {
        row_html(&mut s, r, f, &best);
    }
    s.push_str("</tbody></table></div>\n");
    // Statuses live under the table: an error message is long, and a column of "ok" says
    // nothing the ✗ marks do not.
    let failed: Vec<&ModelFigures> = figs.iter().filter(|f| !f.ok).collect();
    if failed.is_empty() {
        s.push_str("<p class=\"small\">Every model finished with status ok.</p>\n");
    } else {
        s.push_str("<ul class=\"warn\">\n");
        for f in failed {
            s.push_str(&format!(
                "<li>✗ <b>{}</b> did not finish ok: {}</li>\n",
                esc(&f.name),
                esc(&f.status.to_string())
            ));
        }
        s.push_str("</ul>\n");
    }
    for f in &figs {
        if let Some(n) = model_note(&f.name) {
            s.push_str(&format!(
                "<p class=\"small\">† {}: {}</p>\n",
                esc(&f.name),
                esc(n)
            ));
        }
    }
    for m in &r.models {
        if let Some(line) = external_line(m) {
            s.push_str(&format!("<p class=\"small\">{}</p>\n", esc(&line)));
        }
    }
    s.push_str(&format!(
        "<p class=\"small\">{} Poll latencies are per planned slot from the intended send \
         time; service times from the actual send. <i>Grey italic</i>: too few samples for \
         that percentile, so it is the max.</p>\n",
        star_caption(r)
    ));
    s
}

fn row_html(s: &mut String, r: &Results, f: &ModelFigures, best: &[Vec<String>]) {
    let class = if f.ok { "" } else { " class=\"failed\"" };
    let mut note = match model_note(&f.name) {
        Some(n) => format!("<sup title=\"{}\">†</sup>", esc(n)),
        None => String::new(),
    };
    if !f.ok {
        note.push_str(&format!(
            " <span class=\"bad\" title=\"{}\">✗</span>",
            esc(&f.status.to_string())
        ));
    }
    s.push_str(&format!(
        "<tr{class}><th scope=\"row\">{}{note}</th>",
        esc(&f.name)
    ));
    for (c, col) in COLUMNS.iter().enumerate() {
        let mut text = esc(&figures::cell_text(f, c));
        if let Some(i) = interval_text(r, &f.name, c).filter(|_| f.values[c].is_some()) {
            text.push_str(&format!("<br><span class=\"iv\">{}</span>", esc(&i)));
        }
        // A percentile needs 1/(1−q) samples to be more than the max; say so when it is not.
        let thin = match col.quantile {
            Some(q) if q < 1.0 && f.values[c].is_some() => (f.samples[c] as f64) * (1.0 - q) < 1.0,
            _ => false,
        };
        let title = if thin {
            format!(
                " title=\"only {} samples: this percentile is the max\"",
                f.samples[c]
            )
        } else {
            String::new()
        };
        let starred = best[c].contains(&f.name);
        let class = match (starred, thin) {
            (true, true) => " class=\"best thin\"",
            (true, false) => " class=\"best\"",
            (false, true) => " class=\"thin\"",
            (false, false) => "",
        };
        let star = if starred { "★ " } else { "" };
        s.push_str(&format!("<td{class}{title}>{star}{text}</td>"));
    }
    s.push_str("</tr>\n");
}

/// The Markdown table.
pub fn markdown(r: &Results) -> String {
    let figs = figures::all(r);
    let best = stars(r, &figs);
    let mut s = String::from("| model |");
    for c in COLUMNS {
        s.push_str(&format!(" {} |", c.heading));
    }
    s.push_str(" status |\n|---|");
    for _ in COLUMNS {
        s.push_str("---:|");
    }
    s.push_str("---|\n");
    for f in &figs {
        let note = model_note(&f.name)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        s.push_str(&format!("| {}{note} |", md_cell(&f.name)));
        for (c, _) in COLUMNS.iter().enumerate() {
            let mut text = md_cell(&figures::cell_text(f, c));
            if let Some(i) = interval_text(r, &f.name, c).filter(|_| f.values[c].is_some()) {
                text.push_str(&format!(" {}", md_cell(&i)));
            }
            if best[c].contains(&f.name) {
                s.push_str(&format!(" ★ **{text}** |"));
            } else {
                s.push_str(&format!(" {text} |"));
            }
        }
        s.push_str(&format!(" {} |\n", md_cell(&f.status.to_string())));
    }
    s.push_str(&format!(
        "\n{}\n",
        crate::render::format::md_text(star_caption(r))
    ));
    for m in &r.models {
        if let Some(line) = external_line(m) {
            s.push_str(&format!("\n{}\n", crate::render::format::md_text(&line)));
        }
    }
    s
}

/// Every round of every model: when it ran, where in its round's order, how it ended and
/// its figures, so a reader can see the spread the intervals come from (and a drift over the
/// run). Empty string for results without rounds.
pub(crate) fn rounds_html(r: &Results) -> String {
    use crate::render::format::{sig3, us, utc};
    if !verdict::has_rounds(r) {
        return String::new();
    }
    let mut s = String::new();
    if let Some(p) = &r.rounds {
        s.push_str(&format!(
            "<p class=\"small\">{} rounds of {} s per model after a {} s warm-up each, every \
             model's round k before any model's round k+1, the order shuffled per round \
             (seed {}). A failed round keeps its figures in the merged row but is left out of \
             the intervals.</p>\n",
            p.count,
            sig3(p.round_s),
            sig3(r.scenario.warmup_s),
            p.seed
        ));
    }
    s.push_str(
        "<details><summary>Every round, per model</summary>\n<div class=\"scroll\">\
         <table class=\"rounds\"><thead><tr><th>model</th><th>round</th><th>position</th>\
         <th>started</th><th>measured</th><th>status</th><th>CPU %</th><th>ctx switches/s</th>\
         <th>poll p50</th><th>poll p99</th><th>watchdog p99</th></tr></thead><tbody>\n",
    );
    for m in &r.models {
        for (k, rd) in m.rounds.iter().enumerate() {
            let model = if k == 0 {
                format!(
                    "<th scope=\"row\" rowspan=\"{}\">{}</th>",
                    m.rounds.len(),
                    esc(&m.name)
                )
            } else {
                String::new()
            };
            let fig = |metric: &str, p99: bool| {
                rd.figures
                    .get(metric)
                    .filter(|f| f.count > 0)
                    .map_or("–".into(), |f| us(if p99 { f.p99 } else { f.p50 }))
            };
            let class = if rd.is_ok() { "" } else { " class=\"failed\"" };
            s.push_str(&format!(
                "<tr{class}>{model}<td>{}</td><td>{}</td><td>{}</td><td>{} s</td><td>{}</td>\
                 <td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                rd.index + 1,
                rd.position + 1,
                esc(&utc(rd.start_unix)),
                sig3(rd.duration_s),
                esc(&rd.status.to_string()),
                sig3(rd.cpu_percent),
                rd.context_switches_per_s,
                fig("poll_latency", false),
                fig("poll_latency", true),
                fig("watchdog_lateness", true),
            ));
        }
    }
    s.push_str("</tbody></table></div></details>\n");
    s
}

/// Every counter of every model (the union of their names), so nothing the run counted is
/// hidden: skipped or failed polls, unmatched sequence numbers, reconnects… Empty string when
/// no model has counters.
pub(crate) fn counters_html(r: &Results) -> String {
    let mut keys: Vec<&str> = r
        .models
        .iter()
        .flat_map(|m| m.counters.keys().map(|k| k.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<details><summary>All counters, per model</summary>\n<div class=\"scroll\">\
         <table class=\"counters\"><thead><tr><th>model</th>",
    );
    for k in &keys {
        s.push_str(&format!("<th>{}</th>", esc(&k.replace('_', " "))));
    }
    s.push_str("</tr></thead><tbody>\n");
    for m in &r.models {
        s.push_str(&format!("<tr><th scope=\"row\">{}</th>", esc(&m.name)));
        for k in &keys {
            match m.counters.get(*k) {
                Some(v) => s.push_str(&format!("<td>{v}</td>")),
                None => s.push_str("<td>–</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div></details>\n");
    s
}

/// The three views of the same polls side by side, per model: every planned slot
/// (`poll_latency`), every answer from its intended time (`poll_answered`, Scratch's own
/// view) and every answer from its actual send (`poll_service`). Their sample counts differ
/// exactly by the slots that passed unsent and the polls that failed, which is the point.
pub(crate) fn poll_views_html(r: &Results) -> String {
    use crate::render::format::us;
    if r.models.iter().all(|m| m.poll_latency.count == 0) {
        return String::new();
    }
    type View = fn(&crate::metrics::results::ModelResult) -> &Summary;
    let views: [(&str, View); 3] = [
        ("per planned slot", |m| &m.poll_latency),
        ("per answer, from the plan", |m| &m.poll_answered),
        ("per answer, from the send", |m| &m.poll_service),
    ];
    let mut s = String::from(
        "<table class=\"polls\"><thead><tr><th>model</th><th>poll view</th><th>p50</th>\
         <th>p90</th><th>p99</th><th>max</th><th>samples</th></tr></thead><tbody>\n",
    );
    for m in &r.models {
        for (k, (name, get)) in views.iter().enumerate() {
            let f = get(m);
            let model = if k == 0 {
                format!("<th scope=\"row\" rowspan=\"3\">{}</th>", esc(&m.name))
            } else {
                String::new()
            };
            if f.count == 0 {
                s.push_str(&format!(
                    "<tr>{model}<td>{name}</td><td colspan=\"5\">none</td></tr>\n"
                ));
                continue;
            }
            s.push_str(&format!(
                "<tr>{model}<td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                us(f.p50),
                us(f.p90),
                us(f.p99),
                us(f.max),
                f.count
            ));
        }
    }
    s.push_str("</tbody></table>\n");
    s
}

/// The floor as a small HTML table: what the machine and the driver add by themselves.
pub(crate) fn floor_html(r: &Results) -> String {
    use crate::render::format::us;
    let mut s = String::from(
        "<table class=\"floor\"><thead><tr><th>floor</th><th>p50</th><th>p90</th><th>p99</th>\
         <th>p99.9</th><th>max</th><th>samples</th></tr></thead><tbody>\n",
    );
    let mut rows: Vec<(String, &Summary)> = vec![
        (
            "plain timer thread with the model's settings, idle machine before the models \
             (clock_nanosleep, absolute deadline)"
                .into(),
            &r.floor.timer_lateness,
        ),
        (
            "driver send error, idle machine (actual − intended send)".into(),
            &r.floor.driver_error,
        ),
    ];
    for m in r.models.iter().filter(|m| m.timer_floor.count > 0) {
        let phase = match (m.timer_floor_phase_us, m.watchdog_phase_us) {
            (Some(f), Some(w)) => format!(
                " (deadlines {} after a frame; the watchdog's {})",
                us(f),
                us(w)
            ),
            (Some(f), None) => format!(" (deadlines {} after a frame)", us(f)),
            _ => String::new(),
        };
        rows.push((
            format!("plain timer thread beside {}{phase}", m.name),
            &m.timer_floor,
        ));
    }
    for (name, f) in rows {
        let name = name.as_str();
        if f.count == 0 {
            s.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td colspan=\"6\">not measured</td></tr>\n",
                esc(name)
            ));
            continue;
        }
        s.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(name),
            us(f.p50),
            us(f.p90),
            us(f.p99),
            us(f.p999),
            us(f.max),
            f.count
        ));
    }
    s.push_str("</tbody></table>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;
    use crate::metrics::status::Status;

    #[test]
    fn one_row_per_model_with_best_marks_and_escaped_names() {
        let mut r = fabricate_results(7);
        r.models[0].name = "<b>evil</b>".into();
        let h = html(&r);
        assert_eq!(
            h.matches("<tr><th scope=\"row\">").count()
                + h.matches("<tr class=\"failed\">").count(),
            r.models.len()
        );
        assert!(h.contains("&lt;b&gt;evil&lt;/b&gt;"));
        assert!(!h.contains("<b>evil"));
        assert!(h.matches("class=\"best\"").count() >= 10);
        let md = markdown(&r);
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| ")).count(),
            1 + r.models.len()
        );
        assert!(
            md.contains("not a verdict"),
            "no rounds: the caption says so"
        );
        assert!(md.contains("**"));
        assert!(
            h.contains("RUSTSEC-2025-0052"),
            "async-std is labelled discontinued"
        );
    }

    #[test]
    fn the_three_poll_views_are_shown_with_their_counts() {
        let mut r = fabricate_results(7);
        r.models[0].poll_latency.count = 121;
        r.models[0].poll_answered.count = 77;
        let h = poll_views_html(&r);
        assert_eq!(h.matches("per planned slot").count(), r.models.len());
        assert!(
            h.contains("<td>121</td>") && h.contains("<td>77</td>"),
            "{h}"
        );
        r.models.iter_mut().for_each(|m| m.poll_latency.count = 0);
        assert_eq!(poll_views_html(&r), "");
    }

    #[test]
    fn failed_rows_are_marked() {
        let mut r = fabricate_results(7);
        r.models[1].status = Status::parse("exited with code 101");
        let h = html(&r);
        assert!(h.contains("<tr class=\"failed\">"));
        assert!(h.contains("did not finish ok: exited with code 101</li>"));
        assert!(h.contains("<span class=\"bad\" title=\"exited with code 101\">✗</span>"));
    }
}
