//! Figures in human units, written once so the terminal table, the report, `summary.md` and
//! the sweep show a latency with the same digits; and the one reader of a duration a person
//! typed (CLI options, fault specs), so every option takes the same units. Like `clock`, any
//! room may use it.

use std::time::Duration;

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

/// The units every duration esbench reads may carry, longest spelling first so `ms` is not
/// read as `m`, and their length in seconds as a ratio: sub-second units divide by an exact
/// power of ten (`50us` is the nearest f64 to 50e-6, which `50.0 * 1e-6` is not).
const DURATION_UNITS: [(&str, f64, f64); 8] = [
    ("min", 60.0, 1.0),
    ("ns", 1.0, 1e9),
    ("us", 1.0, 1e6),
    ("µs", 1.0, 1e6),
    ("ms", 1.0, 1e3),
    ("s", 1.0, 1.0),
    ("m", 60.0, 1.0),
    ("h", 3600.0, 1.0),
];

/// What every duration error says the accepted spellings are.
pub const DURATION_HELP: &str = "a number and a unit: ns, us (or µs), ms, s, m (or min), h; \
                                 e.g. 250us, 1500ms, 1.5s, 2m";

/// The number of seconds `text` says (`1500ms`, `1.5s`, `2m`, `45min`, `2h`, `250us`; a bare
/// number is seconds), unchecked: it may be zero, negative, infinite or NaN, and each caller
/// checks its own range (so its error can say that range).
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    seconds_and_unit(text).map(|(secs, _)| secs)
}

/// A duration of zero or more: [`parse_seconds`] limited to finite, non-negative lengths.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    to_duration(text, parse_seconds(text)?)
}

/// [`parse_duration`] where a bare number is refused (fault specs: `delay=100` is too easy to
/// misread).
pub fn parse_duration_with_unit(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, mul, div) =
        split_unit(t).ok_or_else(|| format!("{t:?} needs a unit: {DURATION_HELP}"))?;
    to_duration(t, number(t, num)? * mul / div)
}

fn seconds_and_unit(text: &str) -> Result<(f64, bool), String> {
    let t = text.trim();
    match split_unit(t) {
        Some((num, mul, div)) => Ok((number(t, num)? * mul / div, true)),
        None => Ok((number(t, t)?, false)),
    }
}

/// The number before the unit and the unit's length in seconds (as a ratio), or None
/// without a unit.
fn split_unit(t: &str) -> Option<(&str, f64, f64)> {
    DURATION_UNITS
        .iter()
        .find_map(|(unit, mul, div)| t.strip_suffix(unit).map(|n| (n, *mul, *div)))
}

fn number(t: &str, num: &str) -> Result<f64, String> {
    num.trim()
        .parse::<f64>()
        .map_err(|_| format!("{t:?} is not a duration: {DURATION_HELP}"))
}

fn to_duration(text: &str, secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        format!(
            "{:?} is not a duration of zero or more: {DURATION_HELP}",
            text.trim()
        )
    })
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

    #[test]
    fn every_duration_spelling_reads_the_same_everywhere() {
        let secs = |t| parse_seconds(t).unwrap();
        assert_eq!(secs("20"), 20.0);
        assert_eq!(secs("2.5s"), 2.5);
        assert_eq!(secs("1500ms"), 1.5);
        assert_eq!(secs("2m"), 120.0);
        assert_eq!(secs("45min"), 2700.0);
        assert_eq!(secs("2h"), 7200.0);
        assert_eq!(secs(" 50us "), 50e-6);
        assert_eq!(secs("50µs"), 50e-6);
        assert_eq!(secs("250ns"), 250e-9);
        assert_eq!(secs("-5s"), -5.0, "the caller's range check says why not");
        assert!(secs("inf").is_infinite());
        for bad in ["soon", "3d", "", "s", "1.5 sec", "2 hours"] {
            let e = parse_seconds(bad).unwrap_err();
            assert!(
                e.contains("is not a duration") && e.contains("ms, s, m"),
                "{bad}: {e}"
            );
        }
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["-1s", "NaN", "inf"] {
            assert!(
                parse_duration(bad).unwrap_err().contains("zero or more"),
                "{bad}"
            );
        }
        assert_eq!(
            parse_duration_with_unit("100ms"),
            Ok(Duration::from_millis(100))
        );
        assert!(parse_duration_with_unit("100")
            .unwrap_err()
            .contains("needs a unit"));
    }
}
