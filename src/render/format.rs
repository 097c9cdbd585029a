//! Turning numbers and untrusted text into what a reader sees: HTML escaping (every string
//! from a results file goes through it), human units, UTC dates.

/// `text` with each character that `escape` maps replaced by its mapping: the one loop behind
/// the HTML, Markdown and URL escapes, which differ only in their tables.
pub(crate) fn escape_with(text: &str, escape: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match escape(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

/// The entity of a character that would start or end markup in HTML.
fn html_entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    escape_with(text, html_entity)
}

/// Escapes text for a Markdown table cell (pipes and line breaks would break the table).
pub(crate) fn md_cell(text: &str) -> String {
    md_text(text).replace('|', "\\|")
}

/// Text from a results file made inert in Markdown (`summary.md` is pasted into CI comments,
/// which render inline HTML and Markdown): HTML is escaped as entities, the Markdown
/// characters that make code, emphasis and links get a backslash (an intraword `_`, as in
/// `clients.per_board`, is left alone), and line breaks become spaces. Quotes stay as they
/// are: Markdown text is no attribute value.
pub(crate) fn md_text(text: &str) -> String {
    escape_with(text, |c| match c {
        '"' | '\'' => None,
        '\n' | '\r' => Some(" "),
        '\\' => Some("\\\\"),
        '`' => Some("\\`"),
        '*' => Some("\\*"),
        '[' => Some("\\["),
        ']' => Some("\\]"),
        c if c.is_control() => Some(" "),
        c => html_entity(c),
    })
}

/// Text from a results file, scenario or recording made safe to print on a terminal: control
/// characters (ESC, BEL, CR, line breaks, …) and the bidirectional overrides are written as
/// Rust escapes (`\u{1b}`, `\n`), so a name can neither send terminal commands (retitle
/// the window, clear the screen) nor forge a line of output.
pub(crate) fn term(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`term`] for a text whose own line breaks are meant (a rendered table): each line is
/// made safe, the line breaks between them kept.
pub fn term_lines(text: &str) -> String {
    text.split('\n').map(term).collect::<Vec<_>>().join("\n")
}

/// The project's one µs formatter and significant-digit rule (`src/units.rs`).
pub(crate) use crate::units::{sig3, us};

/// Kibibytes as MiB with one decimal.
pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A ratio like `3.2×`, or `n/a` when the reference is zero.
pub(crate) fn ratio(value: f64, reference: f64) -> String {
    if reference > 0.0 && value.is_finite() {
        format!("{}×", sig3(value / reference))
    } else {
        "n/a".into()
    }
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn utc(unix_s: f64) -> String {
    match jiff::Timestamp::from_second(unix_s.floor() as i64) {
        Ok(t) if unix_s.is_finite() && unix_s > 0.0 => {
            t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
        }
        _ => "unknown time".into(),
    }
}

/// The first 10 characters of a commit hash, or `unknown`.
pub(crate) fn short_commit(commit: Option<&str>) -> String {
    match commit {
        // A dirty build's commit keeps its mark (the history stores `<hash>-dirty`).
        Some(c) if c.ends_with("-dirty") => {
            format!("{}-dirty", c.chars().take(10).collect::<String>())
        }
        Some(c) if !c.is_empty() => c.chars().take(10).collect(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
        assert_eq!(
            md_text("<b>&\"x\" 'y' `z` *w* [l](u) a\\b per_board\r\tz"),
            "&lt;b&gt;&amp;\"x\" 'y' \\`z\\` \\*w\\* \\[l\\](u) a\\\\b per_board  z"
        );
    }

    #[test]
    fn terminal_text_has_no_control_characters() {
        assert_eq!(
            term("evil\u{1b}]0;pwned\u{7}\nline2\r\u{202e}x é µs"),
            "evil\\u{1b}]0;pwned\\u{7}\\nline2\\r\\u{202e}x é µs"
        );
        assert_eq!(term_lines("a\u{1b}[2J\nb\n"), "a\\u{1b}[2J\nb\n");
    }

    #[test]
    fn human_units() {
        assert_eq!(mib(2048), "2.0 MiB");
        assert_eq!(ratio(3.0, 1.5), "2.00×");
        assert_eq!(ratio(3.0, 0.0), "n/a");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0.5), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000.0), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(-1.0), "unknown time");
    }
}
