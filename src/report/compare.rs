//! A vs B: the same model's figures in two results files, the change in %, and whether the
//! change clears a simple noise band. This is a reading aid, not the regression gate (that is
//! `esbench check`, which works from the histograms with proper statistics).
//!
//! The noise band, kept simple on purpose: a change counts only when it is larger than both
//! - a relative band: 10 % for CPU, RSS and medians, 25 % for p99, 50 % for p99.9 and max
//!   (tails of short runs swing widely on a shared machine); and
//! - an absolute band: for latencies, the larger of the two runs' floor timer-lateness p50
//!   (nothing below the machine's own wake-up error is meaningful), at least 20 µs; for CPU,
//!   0.1 % of a core; for RSS, 256 KiB.
//!
//! A percentile backed by fewer than 5 samples beyond it (count × (1 − q) < 5) is reported
//! as "too few samples" rather than judged.

use super::figures::{self, display, Column, ModelFigures, Unit, COLUMNS};
use super::format::{esc, md_cell};
use crate::metrics::results::Results;

/// The columns compared, by key.
pub const COMPARED: [&str; 9] = [
    "cpu_percent",
    "max_rss_kib",
    "poll_p50",
    "poll_p99",
    "poll_p999",
    "staleness_p99",
    "command_p99",
    "watchdog_p50",
    "watchdog_p99",
];

/// What a change means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    WithinNoise,
    TooFewSamples,
    Missing,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::WithinNoise => "within noise",
            Verdict::TooFewSamples => "too few samples",
            Verdict::Missing => "n/a",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            _ => "noise",
        }
    }
}

/// One compared cell.
#[derive(Clone, Debug)]
pub struct Change {
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// (b − a) / a in %, when a > 0.
    pub percent: Option<f64>,
    pub verdict: Verdict,
}

/// The relative band for a column.
pub fn relative_band(c: &Column) -> f64 {
    match c.quantile {
        Some(q) if q >= 0.999 => 0.50,
        Some(q) if q >= 0.99 => 0.25,
        _ => 0.10,
    }
}

/// The absolute band for a column, given the floor timer-lateness p50 of the two runs (µs).
pub fn absolute_band(c: &Column, floor_p50_us: f64) -> f64 {
    match c.unit {
        Unit::Micros => floor_p50_us.max(20.0),
        Unit::CpuPercent => 0.1,
        Unit::Kib => 256.0,
        Unit::PerSecond | Unit::Count | Unit::Ticks => 0.0,
    }
}

/// Compares one value of column `c`.
pub fn judge(
    c: &Column,
    a: Option<f64>,
    b: Option<f64>,
    samples: (u64, u64),
    floor_p50_us: f64,
) -> Change {
    let (Some(va), Some(vb)) = (a, b) else {
        return Change {
            a,
            b,
            percent: None,
            verdict: Verdict::Missing,
        };
    };
    let percent = (va > 0.0).then(|| 100.0 * (vb - va) / va);
    if let Some(q) = c.quantile {
        let thin = |n: u64| q >= 1.0 || (n as f64) * (1.0 - q) < 5.0;
        if q < 1.0 && (thin(samples.0) || thin(samples.1)) {
            return Change {
                a,
                b,
                percent,
                verdict: Verdict::TooFewSamples,
            };
        }
    }
    let diff = vb - va;
    let band = (relative_band(c) * va.abs()).max(absolute_band(c, floor_p50_us));
    let verdict = if diff.abs() <= band {
        Verdict::WithinNoise
    } else if diff < 0.0 {
        Verdict::Better
    } else {
        Verdict::Worse
    };
    Change {
        a,
        b,
        percent,
        verdict,
    }
}

/// One model's comparison row.
pub struct Row {
    pub model: String,
    pub changes: Vec<Change>,
}

/// The comparison of `b` against `a`: models in both files, in `a`'s order, plus the names
/// found in only one of them.
pub struct Comparison {
    pub rows: Vec<Row>,
    pub only_a: Vec<String>,
    pub only_b: Vec<String>,
}

pub fn compare(a: &Results, b: &Results) -> Comparison {
    let fa = figures::all(a);
    let fb = figures::all(b);
    let floor = a.floor.timer_lateness.p50.max(b.floor.timer_lateness.p50) as f64;
    let find = |figs: &'_ [ModelFigures], name: &str| figs.iter().position(|f| f.name == name);
    let mut rows = Vec::new();
    for ma in &fa {
        let Some(jb) = find(&fb, &ma.name) else {
            continue;
        };
        let mb = &fb[jb];
        let changes = COMPARED
            .iter()
            .map(|key| {
                let ci = figures::column_index(key).expect("known key");
                let c = &COLUMNS[ci];
                if !(ma.ok && mb.ok) {
                    return Change {
                        a: ma.values[ci],
                        b: mb.values[ci],
                        percent: None,
                        verdict: Verdict::Missing,
                    };
                }
                judge(
                    c,
                    ma.values[ci],
                    mb.values[ci],
                    (ma.samples[ci], mb.samples[ci]),
                    floor,
                )
            })
            .collect();
        rows.push(Row {
            model: ma.name.clone(),
            changes,
        });
    }
    let only = |x: &[ModelFigures], y: &[ModelFigures]| {
        x.iter()
            .filter(|f| find(y, &f.name).is_none())
            .map(|f| f.name.clone())
            .collect()
    };
    Comparison {
        rows,
        only_a: only(&fa, &fb),
        only_b: only(&fb, &fa),
    }
}

fn column(key: &str) -> &'static Column {
    &COLUMNS[figures::column_index(key).expect("known key")]
}

fn cell_text(key: &str, ch: &Change) -> (String, String) {
    let c = column(key);
    let values = format!("{} → {}", display(c, ch.a), display(c, ch.b));
    let change = match ch.percent {
        Some(p) => format!("{p:+.0}% {}", ch.verdict.word()),
        None => ch.verdict.word().to_string(),
    };
    (values, change)
}

/// The comparison as an HTML table: rows are models, one column per compared figure.
pub fn html(cmp: &Comparison, label_a: &str, label_b: &str) -> String {
    let mut s = format!(
        "<p>A = <code>{}</code>, B = <code>{}</code>. Each cell: A → B, the change, and whether \
         it clears the noise band (green better, red worse, grey within noise).</p>\n\
         <div class=\"scroll\"><table class=\"compare\"><thead><tr><th>model</th>",
        esc(label_a),
        esc(label_b)
    );
    for key in COMPARED {
        s.push_str(&format!("<th>{}</th>", esc(column(key).heading)));
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in &cmp.rows {
        s.push_str(&format!("<tr><th scope=\"row\">{}</th>", esc(&row.model)));
        for (key, ch) in COMPARED.iter().zip(&row.changes) {
            let (values, change) = cell_text(key, ch);
            s.push_str(&format!(
                "<td class=\"{}\">{}<br><b>{}</b></td>",
                ch.verdict.class(),
                esc(&values),
                esc(&change)
            ));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    for (which, names) in [("A", &cmp.only_a), ("B", &cmp.only_b)] {
        if !names.is_empty() {
            let list: Vec<String> = names.iter().map(|n| esc(n)).collect();
            s.push_str(&format!(
                "<p class=\"small\">Only in {which}: {}</p>\n",
                list.join(", ")
            ));
        }
    }
    s
}

/// The comparison as a Markdown table.
pub fn markdown(cmp: &Comparison, label_a: &str, label_b: &str) -> String {
    let mut s = format!(
        "A = `{}`, B = `{}` (A → B, change, noise-band verdict)\n\n| model |",
        label_a.replace('`', "'"),
        label_b.replace('`', "'")
    );
    for key in COMPARED {
        s.push_str(&format!(" {} |", column(key).heading));
    }
    s.push_str("\n|---|");
    for _ in COMPARED {
        s.push_str("---|");
    }
    s.push('\n');
    for row in &cmp.rows {
        s.push_str(&format!("| {} |", md_cell(&row.model)));
        for (key, ch) in COMPARED.iter().zip(&row.changes) {
            let (values, change) = cell_text(key, ch);
            let change = match ch.verdict {
                Verdict::Better | Verdict::Worse => format!("**{change}**"),
                _ => change,
            };
            s.push_str(&format!(" {} {} |", md_cell(&values), change));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::fabricate_results;

    fn col(key: &str) -> &'static Column {
        column(key)
    }

    #[test]
    fn band_logic() {
        let cpu = col("cpu_percent");
        let j = |a: f64, b: f64| judge(cpu, Some(a), Some(b), (0, 0), 50.0).verdict;
        assert_eq!(j(1.0, 1.05), Verdict::WithinNoise);
        assert_eq!(j(1.0, 1.5), Verdict::Worse);
        assert_eq!(j(1.0, 0.5), Verdict::Better);
        assert_eq!(j(0.05, 0.12), Verdict::WithinNoise, "under 0.1 % of a core");
        let p99 = col("poll_p99");
        let n = (10_000, 10_000);
        assert_eq!(
            judge(p99, Some(1000.0), Some(1200.0), n, 50.0).verdict,
            Verdict::WithinNoise
        );
        assert_eq!(
            judge(p99, Some(1000.0), Some(1300.0), n, 50.0).verdict,
            Verdict::Worse
        );
        // An absolute change below the floor's p50 is noise even when relatively large.
        assert_eq!(
            judge(p99, Some(100.0), Some(180.0), n, 100.0).verdict,
            Verdict::WithinNoise
        );
        // p99.9 of 300 samples: under one sample beyond it.
        let p999 = col("poll_p999");
        assert_eq!(
            judge(p999, Some(1000.0), Some(9000.0), (300, 300), 50.0).verdict,
            Verdict::TooFewSamples
        );
        assert_eq!(
            judge(p99, None, Some(1.0), n, 50.0).verdict,
            Verdict::Missing
        );
        let ch = judge(p99, Some(1000.0), Some(1500.0), n, 50.0);
        assert_eq!(ch.percent, Some(50.0));
    }

    #[test]
    fn compare_matches_models_by_name() {
        let a = fabricate_results(8);
        let mut b = fabricate_results(9);
        b.models.retain(|m| m.name != "rayon");
        b.models[0].cpu.percent = a.models[0].cpu.percent * 3.0;
        let cmp = compare(&a, &b);
        assert_eq!(cmp.rows.len(), a.models.len() - 1);
        assert_eq!(cmp.only_a, vec!["rayon".to_string()]);
        assert!(cmp.only_b.is_empty());
        assert_eq!(cmp.rows[0].changes[0].verdict, Verdict::Worse);
        let h = html(&cmp, "a/<results>.json", "b.json");
        assert!(h.contains("a/&lt;results&gt;.json"));
        assert!(h.contains("Only in A: rayon"));
        let md = markdown(&cmp, "a", "b");
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| ")).count(),
            1 + cmp.rows.len()
        );
    }
}
