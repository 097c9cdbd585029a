//! Figures in human units, written once so the terminal table, the report, `summary.md` and
//! the sweep show a latency with the same digits. Like `clock`, any room may use it.

/// Microseconds as a short human figure with three significant digits: `850 µs`, `1.25 ms`,
/// `12.5 ms`, `3.40 s` (for HTML and Markdown, where a space reads better).
pub fn us(v: u64) -> String {
    let (figure, unit) = us_parts(v);
    format!("{figure} {unit}")
}

/// [`us`] without the space, for the columns of a terminal table: `850µs`, `1.25ms`.
pub fn us_compact(v: u64) -> String {
    let (figure, unit) = us_parts(v);
    format!("{figure}{unit}")
}

fn us_parts(v: u64) -> (String, &'static str) {
    let v = v as f64;
    if v < 1000.0 {
        (format!("{v:.0}"), "µs")
    } else if v < 1_000_000.0 {
        (sig3(v / 1000.0), "ms")
    } else {
        (sig3(v / 1_000_000.0), "s")
    }
}

/// Three significant digits, without trailing noise (`1.25`, `12.5`, `125`).
pub fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_two_spacings() {
        assert_eq!(us(850), "850 µs");
        assert_eq!(us(1250), "1.25 ms");
        assert_eq!(us(12_500), "12.5 ms");
        assert_eq!(us(3_400_000), "3.40 s");
        assert_eq!(us_compact(999), "999µs");
        assert_eq!(us_compact(1_500), "1.50ms");
        assert_eq!(us_compact(125_000), "125ms");
        assert_eq!(us_compact(2_300_000), "2.30s");
        assert_eq!(sig3(0.01234), "0.0123");
    }
}
