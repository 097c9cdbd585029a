//! The CSV export (`--export-csv`): one line per model and figure (a long table, so a new
//! figure is a new line, never a new column), RFC 4180 quoting. Empty cells where a value
//! or an interval is missing.

use super::cells;
use crate::metrics::results::Results;

pub const HEADER: &str = "model,status,driver_limited,figure,label,unit,value,lo,hi,rounds,starred";

pub fn render(r: &Results) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for c in cells(r) {
        let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let fields = [
            quote(&c.model.name),
            quote(&c.model.status.to_string()),
            c.model.driver.limited.to_string(),
            quote(c.figure.key),
            quote(c.figure.label),
            quote(c.figure.unit.symbol()),
            num(c.value),
            num(c.interval.map(|i| i.lo)),
            num(c.interval.map(|i| i.hi)),
            c.interval.map(|i| i.n.to_string()).unwrap_or_default(),
            c.starred.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A field quoted when it holds a comma, a quote or a line break (quotes doubled).
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_model_and_figure_with_quoting() {
        let mut r = super::super::tests::baseline();
        r.models[1].status = crate::metrics::status::Status::parse("crashed: \"serve\", killed");
        let text = render(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        let figures = crate::metrics::figures::FIGURES.len();
        assert_eq!(lines.len(), 1 + r.models.len() * figures);
        assert!(
            lines[1].starts_with("threads,ok,false,cpu.percent,CPU % of a core,%,"),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with(",3,true"), "{}", lines[1]);
        assert!(
            text.contains("\"crashed: \"\"serve\"\", killed\""),
            "{text}"
        );
        assert_eq!(quote("a,b"), "\"a,b\"");
    }
}
