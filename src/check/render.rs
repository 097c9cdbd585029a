//! Turns an `Outcome` into text: an aligned table for terminals, Markdown for pull-request
//! comments (regressions and improvements first, the full table folded), JSON for dashboards.

use super::compare::{Change, Outcome, Row, Verdict};

/// Output format of `esbench check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Markdown,
    Json,
}

pub fn render(o: &Outcome, format: Format) -> String {
    match format {
        Format::Table => table(o),
        Format::Markdown => markdown(o),
        Format::Json => serde_json::to_string_pretty(o).expect("outcome serialises") + "\n",
    }
}

/// A value in its unit, readable at a glance (µs under 10 ms, ms above).
pub fn value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else {
        return "-".into();
    };
    match unit {
        "µs" if v >= 10_000.0 => format!("{:.1} ms", v / 1000.0),
        "µs" => format!("{v:.0} µs"),
        "%" => format!("{v:.2} %"),
        "/s" => format!("{v:.0}/s"),
        _ => format!("{v}"),
    }
}

/// A ratio as a signed percentage, or as a multiple once it is large.
fn pct(r: f64) -> String {
    if !r.is_finite() {
        "+inf".into()
    } else if r >= 3.0 {
        format!("x{r:.2}")
    } else {
        format!("{:+.0}%", (r - 1.0) * 100.0)
    }
}

fn change(c: &Option<Change>) -> (String, String) {
    match c {
        None => ("-".into(), "-".into()),
        Some(c) => (pct(c.ratio), format!("[{}, {}]", pct(c.lo), pct(c.hi))),
    }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Improved => "improved",
        Verdict::Unchanged => "unchanged",
        Verdict::Regressed => "REGRESSED",
        Verdict::NoData => "no data",
        Verdict::NotJudged => "not judged",
    }
}

const HEADER: [&str; 9] = [
    "model", "metric", "baseline", "current", "change", "CI", "vs floor", "floor CI", "verdict",
];

fn cells(r: &Row) -> [String; 9] {
    let (ch, ci) = change(&r.change);
    let (fl, fci) = change(&r.vs_floor);
    let mut v = verdict(r.verdict).to_string();
    if let Some(n) = &r.note {
        v = format!("{v} ({n})");
    }
    [
        r.model.clone(),
        r.metric.clone(),
        value(r.baseline, &r.unit),
        value(r.current, &r.unit),
        ch,
        ci,
        fl,
        fci,
        v,
    ]
}

/// One line naming every regression, e.g. for the end of a CI log.
pub fn headline(o: &Outcome) -> String {
    let regs: Vec<String> = o
        .regressions()
        .map(|r| match &r.change {
            Some(c) => format!("{} {} {}", r.model, r.metric, pct(c.ratio)),
            None => format!(
                "{} {} ({})",
                r.model,
                r.metric,
                r.note.as_deref().unwrap_or("regressed")
            ),
        })
        .collect();
    if regs.is_empty() {
        let improved = o
            .rows
            .iter()
            .filter(|r| r.verdict == Verdict::Improved)
            .count();
        format!(
            "no regression ({} figures compared, {improved} improved)",
            o.rows.iter().filter(|r| r.change.is_some()).count()
        )
    } else {
        format!("{} regression(s): {}", regs.len(), regs.join("; "))
    }
}

fn preamble(o: &Outcome) -> String {
    format!(
        "scenario {:?}, {} baseline run(s) vs {} current run(s), {:?} bands, {:.0}% intervals",
        o.scenario,
        o.baseline_files.len(),
        o.current_files.len(),
        o.mode,
        o.confidence * 100.0
    )
    .to_lowercase()
}

fn table(o: &Outcome) -> String {
    let rows: Vec<[String; 9]> = o.rows.iter().map(cells).collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            let pad = w - c.chars().count();
            if i == cols.len() - 1 {
                s.push_str(c);
            } else if (2..8).contains(&i) {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
                s.push_str("  ");
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = format!("esbench check: {}\n\n", preamble(o));
    out += &line(&HEADER.map(String::from));
    for r in &rows {
        out += &line(r);
    }
    for n in &o.notes {
        out += &format!("note: {n}\n");
    }
    out += &format!("\n{}\n", headline(o));
    out
}

fn md_table(rows: &[&Row]) -> String {
    let mut s = format!("| {} |\n|{}\n", HEADER.join(" | "), "---|".repeat(9));
    for r in rows {
        let c = cells(r).map(|c| c.replace('|', "\\|"));
        s += &format!("| {} |\n", c.join(" | "));
    }
    s
}

fn markdown(o: &Outcome) -> String {
    let mark = if o.exit_code() == 0 { "✅" } else { "❌" };
    let mut out = format!(
        "### esbench check {mark} {}\n\n{}\n\n",
        headline(o),
        preamble(o)
    );
    let notable: Vec<&Row> = o
        .rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Regressed | Verdict::Improved))
        .collect();
    if !notable.is_empty() {
        out += &md_table(&notable);
        out += "\n";
    }
    out += "<details><summary>All figures</summary>\n\n";
    out += &md_table(&o.rows.iter().collect::<Vec<_>>());
    out += "\n</details>\n";
    for n in &o.notes {
        out += &format!("\n- note: {n}");
    }
    if !o.notes.is_empty() {
        out += "\n";
    }
    out
}
