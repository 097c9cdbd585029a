//! Lays rows of cells out as aligned text: the first and last columns left-aligned (names,
//! status), the figures right-aligned, two spaces between columns, a rule under the header.

/// The rows (the first is the header) as lines of text, each ending in a newline.
pub fn lay_out(rows: &[Vec<String>]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let widths: Vec<usize> = (0..first.len())
        .map(|i| rows.iter().map(|r| width(&r[i])).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - width(c));
            if i == 0 || i == row.len() - 1 {
                line.push_str(c);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(c);
            }
            if i + 1 < row.len() {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if n == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

/// Characters as a terminal counts them here (every cell is single-width text).
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to at most `max` characters, with `…` as the last when it was cut.
pub fn shorten(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// `line` broken at spaces into lines of at most `max` characters (a longer word stays
/// whole), the continuation lines indented by `indent` spaces.
pub fn wrap(line: &str, max: usize, indent: usize) -> Vec<String> {
    let body = line.trim_start_matches(' ');
    let mut cur = line[..line.len() - body.len()].to_string();
    let mut out: Vec<String> = Vec::new();
    let mut empty = true;
    for word in body.split_whitespace() {
        if !empty && width(&cur) + 1 + width(word) > max {
            out.push(std::mem::replace(&mut cur, " ".repeat(indent)));
            empty = true;
        }
        if !empty {
            cur.push(' ');
        }
        cur.push_str(word);
        empty = false;
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_within_the_width() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(text, 20, 4);
        assert!(lines.iter().all(|l| width(l) <= 20), "{lines:?}");
        assert!(lines[1].starts_with("    ") && !lines[0].starts_with(' '));
        let joined: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(joined.join(" "), text);
        assert_eq!(wrap("  indented line", 80, 2), ["  indented line"]);
        assert_eq!(wrap("short", 80, 2), ["short"]);
    }

    #[test]
    fn shortens_with_an_ellipsis() {
        assert_eq!(shorten("crashed: serve killed", 10), "crashed: …");
        assert_eq!(shorten("ok", 10), "ok");
    }

    #[test]
    fn aligns_figures_right_and_names_left() {
        let rows = vec![
            vec!["model".into(), "CPU %".into(), "status".into()],
            vec!["smol".into(), "0.5".into(), "ok".into()],
        ];
        assert_eq!(
            lay_out(&rows),
            "model  CPU %  status\n--------------------\nsmol     0.5  ok\n"
        );
    }
}
