//! Turns an `Outcome` into text: an aligned table for terminals, Markdown for pull-request
//! comments (regressions first, then improvements, then what was not judged and why, the full
//! table folded), JSON for dashboards. [`explain`] is the one sentence that says why a row
//! got its verdict; every format uses it.

use std::collections::BTreeMap;

use super::compare::{Change, Outcome, Row, Verdict};
use super::metrics::Kind;
use crate::render::format::{esc, md_cell, md_text, term};

/// Output format of `esbench check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Markdown,
    Json,
    /// Bencher Metric Format (`check::export`).
    Bmf,
    /// github-action-benchmark, `customSmallerIsBetter` (`check::export`).
    GithubActionBenchmark,
}

pub fn render(o: &Outcome, format: Format) -> String {
    match format {
        Format::Table => table(o),
        Format::Markdown => markdown(o),
        Format::Json => serde_json::to_string_pretty(o).expect("outcome serialises") + "\n",
        Format::Bmf => super::export::bmf(&super::export::points(o, is_paired(o))),
        Format::GithubActionBenchmark => {
            super::export::github_action_benchmark(&super::export::points(o, is_paired(o)))
        }
    }
}

/// A paired judgement's rows are judged on per-round ratios B/A, which the dashboards get too.
fn is_paired(o: &Outcome) -> bool {
    o.rows
        .iter()
        .any(|r| r.method.starts_with("rounds, paired"))
}

/// A value in its unit, readable at a glance (µs under 10 ms, ms above).
pub(crate) fn value(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else {
        return "-".into();
    };
    match unit {
        "µs" if v >= 1_000_000.0 => format!("{:.2} s", v / 1e6),
        "µs" if v >= 10_000.0 => format!("{:.1} ms", v / 1000.0),
        "µs" => format!("{v:.0} µs"),
        "%" => format!("{v:.2} %"),
        "/s" => format!("{v:.0}/s"),
        "ticks" => format!("{v:.0} ticks"),
        "µs/event" => format!("{v:.2} µs/event"),
        "/event" => format!("{v:.3}/event"),
        "×" => format!("×{v:.2}"),
        "count" => format!("{v:.0}"),
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
            _ if r.kind == Kind::Count && r.metric != "status" => format!(
                "{} {} {} (baseline {})",
                r.model,
                r.metric,
                value(r.current, &r.unit),
                value(r.baseline, &r.unit)
            ),
            Some(c) => format!(
                "{} {} {} (baseline {}, {})",
                r.model,
                r.metric,
                value(r.current, &r.unit),
                value(r.baseline, &r.unit),
                pct(c.ratio)
            ),
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
        let judged = o
            .rows
            .iter()
            .filter(|r| !matches!(r.verdict, Verdict::NotJudged | Verdict::NoData))
            .count();
        format!("no regression ({judged} figures judged, {improved} improved)")
    } else {
        format!("{} regression(s): {}", regs.len(), regs.join("; "))
    }
}

/// A value with its interval when it has one, e.g. `245 µs [231 µs, 260 µs]`.
fn with_ci(v: Option<f64>, ci: Option<(f64, f64)>, unit: &str) -> String {
    match ci {
        Some((lo, hi)) => format!(
            "{} [{}, {}]",
            value(v, unit),
            value(Some(lo), unit),
            value(Some(hi), unit)
        ),
        None => value(v, unit),
    }
}

/// The band as a sentence: `the interval above x3.00 and the change above +500.0 ms`.
fn band_text(r: &Row) -> String {
    let abs = match r.unit.as_str() {
        "%" => format!("{:.2} points", r.band.min_abs),
        u => value(Some(r.band.min_abs), u),
    };
    format!(
        "band: the interval above x{:.2} and the change above +{abs}",
        1.0 + r.band.band
    )
}

/// Why a row got its verdict, in one line: the figure, both sides with their intervals, the
/// change, and the band (or, for counts, the counts and the allowance).
pub fn explain(r: &Row) -> String {
    let head = format!("{} {}", r.model, r.metric);
    if r.metric == "status" || (r.change.is_none() && r.kind != Kind::Count) {
        return format!(
            "{head}: {} ({})",
            verdict(r.verdict),
            r.note.as_deref().unwrap_or("-")
        );
    }
    if r.kind == Kind::Count {
        return format!(
            "{head}: {} in the median current run, {} in the baseline's worst run; \
             allowed up to {} (worst x{:.2} + {})",
            value(r.current, &r.unit),
            value(r.baseline, &r.unit),
            value(r.limit, &r.unit),
            1.0 + r.band.band,
            r.band.min_abs
        );
    }
    // A point on both sides has no interval; `[x2, x2]` would only look like one.
    let point = r.method == "point";
    let changed = |c: &Option<Change>| {
        let (v, ci) = change(c);
        if point {
            v
        } else {
            format!("{v} {ci}")
        }
    };
    let mut s = format!(
        "{head}: {} vs baseline {}, change {}",
        with_ci(r.current, r.current_ci, &r.unit),
        with_ci(r.baseline, r.baseline_ci, &r.unit),
        changed(&r.change)
    );
    if r.vs_floor.is_some() {
        s += &format!(", vs floor {}", changed(&r.vs_floor));
    }
    if point {
        s += " (one run per side: no interval, the band alone decides)";
    }
    s += &format!("; {}", band_text(r));
    if let Some(n) = &r.note {
        s += &format!("; {n}");
    }
    s
}

/// The rows not judged, grouped by figure and reason: `poll_latency.p99 (threads, smol): 1
/// sample beyond p99 in the sparsest run, 10 needed`.
fn not_judged(o: &Outcome) -> Vec<String> {
    let mut groups: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for r in o
        .rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::NotJudged | Verdict::NoData))
    {
        let why = match (r.verdict, &r.note) {
            (_, Some(n)) => n.clone(),
            (Verdict::NoData, None) => "no data".into(),
            _ => "not judged".into(),
        };
        groups
            .entry((r.metric.clone(), why))
            .or_default()
            .push(&r.model);
    }
    groups
        .into_iter()
        .map(|((metric, why), models)| format!("{metric} ({}): {why}", models.join(", ")))
        .collect()
}

fn with_verdict(o: &Outcome, v: Verdict) -> Vec<&Row> {
    o.rows.iter().filter(|r| r.verdict == v).collect()
}

/// What the check found, in the order the terminal and Markdown both show it: the
/// regressions and the improvements (each row explained), then the figures not judged; each
/// with its title in the terminal's words and in Markdown's, empty ones left out.
fn findings(o: &Outcome) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let explained = |v| with_verdict(o, v).into_iter().map(explain).collect();
    [
        ("regressed", "Regressions", explained(Verdict::Regressed)),
        ("improved", "Improvements", explained(Verdict::Improved)),
        ("not judged", "Not judged", not_judged(o)),
    ]
    .into_iter()
    .filter(|(_, _, lines)| !lines.is_empty())
    .collect()
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
    // Names and statuses come from results files: made safe for the terminal.
    let rows: Vec<[String; 9]> = o.rows.iter().map(|r| cells(r).map(|c| term(&c))).collect();
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
    let mut out = format!("esbench check: {}\n\n", term(&preamble(o)));
    for w in &o.warnings {
        out += &format!("WARNING: {}\n", term(w));
    }
    if !o.warnings.is_empty() {
        out += "\n";
    }
    out += &line(&HEADER.map(String::from));
    for r in &rows {
        out += &line(r);
    }
    for (title, _, lines) in findings(o) {
        out += &format!("\n{title}:\n");
        for l in lines {
            out += &format!("  {}\n", term(&l));
        }
    }
    for n in &o.notes {
        out += &format!("note: {}\n", term(n));
    }
    out += &format!("\n{}\n", term(&headline(o)));
    out
}

fn md_table(rows: &[&Row]) -> String {
    let mut s = format!("| {} |\n|{}\n", HEADER.join(" | "), "---|".repeat(9));
    for r in rows {
        let c = cells(r).map(|c| md_cell(&c));
        s += &format!("| {} |\n", c.join(" | "));
    }
    s
}

fn markdown(o: &Outcome) -> String {
    let mark = if o.exit_code() == 0 { "✅" } else { "❌" };
    let mut out = format!(
        "### esbench check {mark} {}\n\n{}\n\n",
        md_text(&headline(o)),
        md_text(&preamble(o))
    );
    // Names, statuses and notes come from results files: inert in Markdown, as in HTML.
    for w in &o.warnings {
        out += &format!("> **Warning:** {}\n\n", md_text(w));
    }
    for (_, title, lines) in findings(o) {
        out += &format!("#### {title}\n\n");
        for l in lines {
            out += &format!("- {}\n", md_cell(&l));
        }
        out += "\n";
    }
    out += "<details><summary>All figures</summary>\n\n";
    out += &md_table(&o.rows.iter().collect::<Vec<_>>());
    out += "\n</details>\n";
    for n in &o.notes {
        out += &format!("\n- note: {}", md_text(n));
    }
    if !o.notes.is_empty() {
        out += "\n";
    }
    out
}

/// The figure's label from the registry, or its key when it has none (`status`).
fn label(key: &str) -> &str {
    crate::metrics::figures::figure(key).map_or(key, |f| f.label)
}

fn view_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Improved => "better",
        Verdict::Regressed => "worse",
        _ => "noise",
    }
}

/// The view's verdict line: check's headline, and a warning when no figure could be judged
/// on rounds (then only the counts a healthy run keeps at zero were checked).
fn view_headline(o: &Outcome) -> String {
    let on_rounds = o
        .rows
        .iter()
        .filter(|r| r.method.starts_with("rounds") && r.change.is_some())
        .filter(|r| !matches!(r.verdict, Verdict::NotJudged | Verdict::NoData))
        .count();
    if on_rounds == 0 {
        format!(
            "{}: not enough rounds to judge any figure by its rounds, only the counts a \
             healthy run keeps at zero were checked",
            headline(o)
        )
    } else {
        format!("{} ({on_rounds} judged on rounds)", headline(o))
    }
}

/// The outcome of the comparison view (`esbench report A B`, A the first run) as an HTML
/// fragment: one row per model and figure with both sides, their intervals, the change and
/// its interval, how it was judged and the verdict with its reason. Rows without data on
/// either side are left out.
pub(crate) fn view_html(o: &Outcome) -> String {
    let mut s = format!(
        "<p>Judged by <code>esbench check</code>'s rules ({} bands): a figure is judged on \
         the rounds of both runs (paired by round when their rounds match), and a verdict is \
         given only when the interval of the change clears the band. Each side shows the \
         median over rounds and its interval; without rounds on both sides a figure is \
         shown but not judged.</p>\n",
        esc(&format!("{:?}", o.mode).to_lowercase())
    );
    for w in &o.warnings {
        s += &format!("<p class=\"warn\">{}</p>\n", esc(w));
    }
    s += &format!(
        "<p><b>{}</b></p>\n<div class=\"scroll\"><table class=\"compare\"><thead><tr>\
         <th>model</th><th>figure</th><th>A</th><th>B</th><th>change B/A [interval]</th>\
         <th>judged on</th><th>verdict</th></tr></thead><tbody>\n",
        esc(&view_headline(o))
    );
    for r in o.rows.iter().filter(|r| r.verdict != Verdict::NoData) {
        let (ch, ci) = change(&r.change);
        let change_text = if r.change.is_none() {
            "-".to_string()
        } else if r.method == "point" {
            ch
        } else {
            format!("{ch} {ci}")
        };
        let mut v = verdict(r.verdict).to_string();
        if let Some(n) = &r.note {
            v = format!("{v}: {n}");
        }
        s += &format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"{}\">{}</td></tr>\n",
            esc(&r.model),
            esc(label(&r.metric)),
            esc(&with_ci(r.baseline, r.baseline_ci, &r.unit)),
            esc(&with_ci(r.current, r.current_ci, &r.unit)),
            esc(&change_text),
            esc(&r.method),
            view_class(r.verdict),
            esc(&v)
        );
    }
    s += "</tbody></table></div>\n";
    for n in &o.notes {
        s += &format!("<p class=\"small\">Note: {}</p>\n", esc(n));
    }
    s
}

/// The same outcome as Markdown for `summary.md`: the one-line verdict, the regressions and
/// improvements explained, what was not judged and why, and the full table folded.
pub(crate) fn view_markdown(o: &Outcome) -> String {
    let md = |s: String| s.replace('|', "\\|");
    let mut out = format!("**{}** (A = baseline, B = current)\n\n", view_headline(o));
    for w in &o.warnings {
        out += &format!("> **Warning:** {w}\n\n");
    }
    for (title, v) in [("Worse", Verdict::Regressed), ("Better", Verdict::Improved)] {
        for r in with_verdict(o, v) {
            out += &format!("- **{title}:** {}\n", md(explain(r)));
        }
    }
    let nj = not_judged(o);
    if !nj.is_empty() {
        out += "\nNot judged:\n\n";
        for l in nj {
            out += &format!("- {}\n", md(l));
        }
    }
    out += "\n<details><summary>All figures</summary>\n\n";
    out += &md_table(&o.rows.iter().collect::<Vec<_>>());
    out += "\n</details>\n";
    out
}
