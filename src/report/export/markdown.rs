//! The Markdown export (`--export-markdown`): the report's summary table (every figure with
//! its interval and ★, the caption that says what they mean) and the verdicts in words, ready
//! for a CI comment or a README.

use crate::metrics::results::Results;

pub fn render(r: &Results) -> String {
    let mut out = format!(
        "## {}\n\n",
        crate::render::format::md_text(&r.scenario.name)
    );
    out.push_str(&crate::report::table::markdown(r));
    let verdicts = crate::report::run_table::verdict_lines(r);
    if !verdicts.is_empty() {
        out.push_str("\n**Verdicts**\n\n");
        for line in verdicts.lines() {
            out.push_str(&format!(
                "- {}\n",
                crate::render::format::md_text(line.trim())
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_the_table_and_the_verdicts() {
        let r = super::super::tests::baseline();
        let t = super::render(&r);
        assert!(t.starts_with("## "), "{t}");
        assert!(t.contains("| model | CPU % of a core |"), "{t}");
        assert!(
            t.contains("**Verdicts**") && t.contains("- Cheapest in CPU: threads"),
            "{t}"
        );
    }
}
