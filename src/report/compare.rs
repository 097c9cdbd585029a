//! A vs B in the report: the section that shows how run B differs from run A.
//!
//! The report does not judge. The verdicts are `esbench check`'s (one judging path, issue 16):
//! the caller that has the judge — `esbench report`, in `cli/` — hands [`write_report`] a
//! [`Judge`] that returns check's outcome already rendered, and this module places it in the
//! page. A report written without one (the report a run writes at its end) shows both runs'
//! figures side by side and says that they were not judged, rather than judging them by a
//! second, different rule.
//!
//! [`write_report`]: super::write_report

use std::path::PathBuf;

use anyhow::Result;

use crate::metrics::figures::SIDE_BY_SIDE;
use crate::metrics::results::Results;
use crate::render::figures::show;
use crate::render::format::esc;
use crate::render::table::TextTable;

/// A comparison judged by `esbench check`, rendered for the page and for `summary.md`.
#[derive(Clone, Debug, Default)]
pub struct Judged {
    pub html: String,
    pub markdown: String,
}

/// Judges run B (second) against run A (first).
pub type Judge<'a> = &'a dyn Fn(&(PathBuf, Results), &(PathBuf, Results)) -> Result<Judged>;

/// The comparison of `b` against `a`: `judge`'s when there is one, else the figures side by
/// side without verdicts.
pub fn judged(
    judge: Option<Judge<'_>>,
    a: &(PathBuf, Results),
    b: &(PathBuf, Results),
) -> Result<Judged> {
    match judge {
        Some(j) => j(a, b),
        None => Ok(side_by_side(&a.1, &b.1)),
    }
}

const NOT_JUDGED: &str = "Not judged here: `esbench report A/results.json B/results.json` \
                          judges the difference by esbench check's rules, on the rounds.";

fn side_by_side(a: &Results, b: &Results) -> Judged {
    let headings = std::iter::once("model".to_string())
        .chain(SIDE_BY_SIDE.iter().map(|f| f.label.to_string()))
        .collect();
    let mut t = TextTable::new(headings);
    t.class = Some("compare");
    t.cell_class = Some("noise");
    for ma in &a.models {
        let Some(mb) = b.model(&ma.name) else {
            continue;
        };
        let cells = SIDE_BY_SIDE.iter().map(|f| {
            format!(
                "{} → {}",
                show(f, f.of_model(ma, a.scenario.duration_s)),
                show(f, f.of_model(mb, b.scenario.duration_s))
            )
        });
        t.rows
            .push(std::iter::once(ma.name.clone()).chain(cells).collect());
    }
    let html = format!("<p class=\"small\">{}</p>\n{}", esc(NOT_JUDGED), t.html());
    let md = format!("{NOT_JUDGED}\n\n{}", t.markdown());
    Judged { html, markdown: md }
}

/// The comparison section's HTML: which file is A and which is B, then the judged outcome.
pub fn html(j: &Judged, label_a: &str, label_b: &str) -> String {
    format!(
        "<p>A = <code>{}</code>, B = <code>{}</code>.</p>\n{}",
        esc(label_a),
        esc(label_b),
        j.html
    )
}

/// The comparison section's Markdown for `summary.md`.
pub fn markdown(j: &Judged, label_a: &str, label_b: &str) -> String {
    format!(
        "A = `{}`, B = `{}`\n\n{}",
        label_a.replace('`', "'"),
        label_b.replace('`', "'"),
        j.markdown
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;

    #[test]
    fn without_a_judge_the_figures_are_shown_and_not_judged() {
        let a = fabricate_results(8);
        let mut b = fabricate_results(9);
        b.models.retain(|m| m.name != "rayon");
        b.models[0].cpu.percent = a.models[0].cpu.percent * 3.0;
        let (pa, pb) = (PathBuf::from("a/<results>.json"), PathBuf::from("b.json"));
        let j = judged(None, &(pa, a.clone()), &(pb, b.clone())).unwrap();
        assert!(j.html.contains("Not judged here"));
        assert!(!j.html.contains("class=\"worse\""), "no second judgement");
        assert_eq!(
            j.html.matches("<tr><th scope=\"row\">").count(),
            b.models.len()
        );
        let h = html(&j, "a/<results>.json", "b.json");
        assert!(h.contains("a/&lt;results&gt;.json"));
        let md = markdown(&j, "a", "b");
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| ")).count(),
            1 + b.models.len()
        );
    }

    #[test]
    fn a_judge_is_shown_as_it_is_given() {
        let a = (PathBuf::from("a.json"), fabricate_results(1));
        let b = (PathBuf::from("b.json"), fabricate_results(2));
        let judge = |x: &(PathBuf, Results), y: &(PathBuf, Results)| {
            Ok(Judged {
                html: format!("<p>{} vs {}</p>", x.0.display(), y.0.display()),
                markdown: "judged".into(),
            })
        };
        let j = judged(Some(&judge), &a, &b).unwrap();
        assert_eq!(j.html, "<p>a.json vs b.json</p>");
        assert!(markdown(&j, "a", "b").ends_with("judged"));
    }
}
