//! "Instructions per event (valgrind pass)": the HTML fragment for the rows' `valgrind`
//! objects (`esbench run --valgrind`), included by the report beside "Where the CPU goes".
//! Every text from the results is escaped.

use std::fmt::Write as _;

use crate::metrics::results::Results;
use crate::render::format::esc;

/// The section, or `None` when no row of `results` had the pass.
pub fn section(results: &Results) -> Option<String> {
    let rows: Vec<_> = results
        .models
        .iter()
        .filter_map(|m| Some((m, m.valgrind.as_ref()?)))
        .collect();
    let window = rows.first()?.1.window_s;
    let mut h = String::from(
        "<section class=\"valgrind\" id=\"valgrind-instructions\">\n\
         <h2>Instructions per handled event (valgrind pass)</h2>\n",
    );
    let _ = writeln!(
        h,
        "<p class=\"note\"><strong>These figures come from a separate pass</strong> after the \
         timed rounds: each is a fresh child under valgrind's callgrind, under the scenario's \
         load, counting the instructions of all its threads over a {}&nbsp;s window after \
         start-up and warm-up, divided by the events it handled in that window (polls answered \
         + frames parsed + commands delivered). Valgrind slows the child down many times, so \
         none of this enters the timed figures; what it counts does not move with the \
         machine's speed or load. <code>callgrind_annotate DUMP</code> says which functions \
         the instructions went to.</p>",
        crate::units::sig3(window)
    );
    h.push_str(
        "<table class=\"valgrind\">\n<thead><tr><th>model</th><th>instructions/event \
         (median)</th><th>interval</th><th>per pass</th><th>events per pass</th></tr></thead>\n<tbody>\n",
    );
    for (m, v) in &rows {
        let interval = v.interval();
        let per_pass: Vec<String> = v
            .passes
            .iter()
            .map(|p| p.per_event.map_or("–".into(), |x| format!("{x:.0}")))
            .collect();
        let events: Vec<String> = v
            .passes
            .iter()
            .map(|p| p.events.map_or("–".into(), |e| e.total().to_string()))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.name),
            interval.map_or("–".into(), |i| format!("{:.0}", i.mid)),
            interval.map_or("–".into(), |i| format!(
                "{:.0}–{:.0}{}",
                i.lo,
                i.hi,
                if i.is_range { " (range)" } else { "" }
            )),
            esc(&per_pass.join(", ")),
            esc(&events.join(", ")),
        );
    }
    h.push_str("</tbody></table>\n");
    let notes: Vec<String> = rows
        .iter()
        .flat_map(|(m, v)| v.notes.iter().map(move |n| format!("{}: {n}", m.name)))
        .collect();
    if !notes.is_empty() {
        h.push_str("<ul class=\"small\">\n");
        for n in notes {
            let _ = writeln!(h, "<li>{}</li>", esc(&n));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::results::ModelResult;
    use crate::metrics::valgrind::{ValgrindPass, ValgrindReport};

    #[test]
    fn shows_each_rows_passes_and_escapes_names() {
        let mut r = Results::default();
        r.models.push(ModelResult {
            name: "a<b>".into(),
            ..ModelResult::default()
        });
        assert!(section(&r).is_none(), "no pass, no section");
        r.models[0].valgrind = Some(ValgrindReport {
            window_s: 10.0,
            passes: (0..5)
                .map(|k| ValgrindPass {
                    index: k,
                    per_event: Some(8_000.0 + 10.0 * k as f64),
                    ..ValgrindPass::default()
                })
                .collect(),
            notes: vec!["pass 5: <boom>".into()],
            ..ValgrindReport::default()
        });
        let h = section(&r).unwrap();
        assert!(h.contains("a&lt;b&gt;") && !h.contains("<b>"), "{h}");
        assert!(h.contains("<td>8020</td><td>8000–8040</td>"), "{h}");
        assert!(h.contains("&lt;boom&gt;"), "{h}");
    }
}
