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

/// Three significant digits, without trailing noise (`1.25`, `12.5`, `125`, `0.00123`).
/// The thresholds sit where rounding carries into the next digit, so 9.996 is `10.0`, not
/// `10.00`; zero keeps its old `0.0000`.
pub fn sig3(v: f64) -> String {
    let a = v.abs();
    if !a.is_finite() || a >= 99.95 {
        format!("{v:.0}")
    } else if a >= 9.995 {
        format!("{v:.1}")
    } else if a >= 0.9995 {
        format!("{v:.2}")
    } else if a == 0.0 {
        format!("{v:.4}")
    } else {
        let digits = (-a.log10()).floor() as usize + 3;
        format!("{v:.digits$}")
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
        assert_eq!(sig3(0.001234), "0.00123");
        assert_eq!(sig3(0.5), "0.500");
        assert_eq!(sig3(9.996), "10.0");
        assert_eq!(sig3(99.96), "100");
        assert_eq!(sig3(0.0), "0.0000");
    }
}
