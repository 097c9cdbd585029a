//! A table whose cells are already text, written as Markdown (`summary.md`) or as HTML (the
//! page) from the same rows, so the two forms of one table cannot drift apart.

use super::format::{esc, md_cell};

/// Column headings, then rows whose first cell is the row's heading (a model's name).
pub struct TextTable {
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The `<table>`'s class, if any.
    pub class: Option<&'static str>,
    /// The class of every data cell, if any.
    pub cell_class: Option<&'static str>,
}

impl TextTable {
    pub fn new(headings: Vec<String>) -> TextTable {
        TextTable {
            headings,
            rows: Vec::new(),
            class: None,
            cell_class: None,
        }
    }

    /// As a Markdown table (every cell escaped), ending in a line break.
    pub fn markdown(&self) -> String {
        let mut s = String::from("|");
        for h in &self.headings {
            s.push_str(&format!(" {} |", md_cell(h)));
        }
        s.push_str(&format!("\n|{}\n", "---|".repeat(self.headings.len())));
        for row in &self.rows {
            s.push('|');
            for c in row {
                s.push_str(&format!(" {} |", md_cell(c)));
            }
            s.push('\n');
        }
        s
    }

    /// As an HTML table in a scrolling box (every cell escaped), the first cell of a row as
    /// its `<th scope="row">`.
    pub fn html(&self) -> String {
        let attr = |name: &str, v: Option<&str>| {
            v.map(|v| format!(" {name}=\"{}\"", esc(v)))
                .unwrap_or_default()
        };
        let mut s = format!(
            "<div class=\"scroll\"><table{}>\n<thead><tr>",
            attr("class", self.class)
        );
        for h in &self.headings {
            s.push_str(&format!("<th>{}</th>", esc(h)));
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        let td = attr("class", self.cell_class);
        for row in &self.rows {
            s.push_str("<tr>");
            for (k, c) in row.iter().enumerate() {
                if k == 0 {
                    s.push_str(&format!("<th scope=\"row\">{}</th>", esc(c)));
                } else {
                    s.push_str(&format!("<td{td}>{}</td>", esc(c)));
                }
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table></div>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TextTable {
        let mut t = TextTable::new(vec!["model".into(), "p99 | tail".into()]);
        t.rows.push(vec!["co<op>".into(), "1 → 2".into()]);
        t.cell_class = Some("noise");
        t
    }

    #[test]
    fn markdown_and_html_hold_the_same_escaped_cells() {
        let t = table();
        assert_eq!(
            t.markdown(),
            "| model | p99 \\| tail |\n|---|---|\n| co&lt;op&gt; | 1 → 2 |\n"
        );
        let h = t.html();
        assert!(h.contains("<th>p99 | tail</th>"), "{h}");
        assert!(h.contains("<th scope=\"row\">co&lt;op&gt;</th><td class=\"noise\">1 → 2</td>"));
        assert!(h.starts_with("<div class=\"scroll\"><table>\n") && h.ends_with("</div>\n"));
    }
}
