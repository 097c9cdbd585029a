//! The summary table, one row per model, best value per column marked — as HTML for the
//! page and as Markdown for `summary.md` (CI comments). Failed models keep their row, greyed,
//! and never count as best.

use super::figures::{self, display, ModelFigures, COLUMNS};
use super::format::{esc, md_cell};
use crate::metrics::results::Results;

/// A caveat a reader must see next to a model's name (MEASURING.md: async-std is measured
/// but discontinued upstream).
pub fn model_note(name: &str) -> Option<&'static str> {
    match name {
        "async-std" => Some("discontinued upstream (RUSTSEC-2025-0052); measured for comparison"),
        _ => None,
    }
}

/// The HTML table.
pub fn html(r: &Results) -> String {
    let figs = figures::all(r);
    let best = figures::best_per_column(&figs);
    let mut s =
        String::from("<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th>model</th>");
    for c in COLUMNS {
        s.push_str(&format!("<th>{}</th>", esc(c.heading)));
    }
    s.push_str("<th>status</th></tr></thead>\n<tbody>\n");
    for f in &figs {
        row_html(&mut s, f, &best);
    }
    s.push_str("</tbody></table></div>\n");
    for f in &figs {
        if let Some(n) = model_note(&f.name) {
            s.push_str(&format!(
                "<p class=\"small\">† {}: {}</p>\n",
                esc(&f.name),
                esc(n)
            ));
        }
    }
    s.push_str(
        "<p class=\"small\">★ marks the best value in a column among models that finished ok. \
                 Latencies are in µs/ms, measured from the intended send time.</p>\n",
    );
    s
}

fn row_html(s: &mut String, f: &ModelFigures, best: &[Option<f64>]) {
    let class = if f.ok { "" } else { " class=\"failed\"" };
    let note = match model_note(&f.name) {
        Some(n) => format!("<sup title=\"{}\">†</sup>", esc(n)),
        None => String::new(),
    };
    s.push_str(&format!(
        "<tr{class}><th scope=\"row\">{}{note}</th>",
        esc(&f.name)
    ));
    for (c, col) in COLUMNS.iter().enumerate() {
        let text = esc(&display(col, f.values[c]));
        if figures::is_best(f, c, best) {
            s.push_str(&format!("<td class=\"best\">★ {text}</td>"));
        } else {
            s.push_str(&format!("<td>{text}</td>"));
        }
    }
    let status_class = if f.ok { "ok" } else { "bad" };
    s.push_str(&format!(
        "<td class=\"{status_class}\">{}</td></tr>\n",
        esc(&f.status)
    ));
}

/// The Markdown table.
pub fn markdown(r: &Results) -> String {
    let figs = figures::all(r);
    let best = figures::best_per_column(&figs);
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
        for (c, col) in COLUMNS.iter().enumerate() {
            let text = md_cell(&display(col, f.values[c]));
            if figures::is_best(f, c, &best) {
                s.push_str(&format!(" **{text}** |"));
            } else {
                s.push_str(&format!(" {text} |"));
            }
        }
        s.push_str(&format!(" {} |\n", md_cell(&f.status)));
    }
    s
}

/// Every counter of every model (the union of their names), so nothing the run counted is
/// hidden: skipped or failed polls, unmatched sequence numbers, reconnects… Empty string when
/// no model has counters.
pub fn counters_html(r: &Results) -> String {
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

/// The floor as a small HTML table: what the machine and the driver add by themselves.
pub fn floor_html(r: &Results) -> String {
    use super::format::us;
    let mut s = String::from(
        "<table class=\"floor\"><thead><tr><th>floor</th><th>p50</th><th>p90</th><th>p99</th>\
         <th>p99.9</th><th>max</th><th>samples</th></tr></thead><tbody>\n",
    );
    for (name, f) in [
        (
            "timer lateness (clock_nanosleep, absolute deadline)",
            &r.floor.timer_lateness,
        ),
        (
            "driver send error (actual − intended send)",
            &r.floor.driver_error,
        ),
    ] {
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
    use crate::report::fixture::fabricate_results;

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
        assert_eq!(md.lines().count(), 2 + r.models.len());
        assert!(md.contains("**"));
        assert!(
            h.contains("RUSTSEC-2025-0052"),
            "async-std is labelled discontinued"
        );
    }

    #[test]
    fn failed_rows_are_marked() {
        let mut r = fabricate_results(7);
        r.models[1].status = "exited with code 101".into();
        let h = html(&r);
        assert!(h.contains("<tr class=\"failed\">"));
        assert!(h.contains("<td class=\"bad\">exited with code 101</td>"));
    }
}
