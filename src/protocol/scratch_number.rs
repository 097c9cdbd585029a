//! Numbers as Scratch 2 and Snap! put them in a command URL, brought into a command's range.
//!
//! Scratch appends a reporter's value as ActionScript prints it (`255.75`, `-5`, `1e+21`,
//! `Infinity`), so `set Red LED to (slider / 4)` sends `/leds/Red/255.75`. esp4s forwards the
//! text and the sketch's `parseInt` keeps the integer part; esbench does the same arithmetic
//! on the host: the fraction is truncated toward zero, then the value is clamped to the
//! command's range (where the board would wrap a negative or too large value modulo 2⁸ or
//! 2¹⁶). Only text that is no number at all is refused.

/// A decimal number (`[+-]` digits, an optional fraction and exponent, or ActionScript's
/// `Infinity`), truncated toward zero and clamped into `min..=max`; `None` for anything
/// else. Surrounding ASCII spaces are allowed (a text reporter may carry them).
pub fn parse_clamped(text: &str, min: i64, max: i64) -> Option<i64> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let value: f64 = if unsigned == "Infinity" {
        if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    } else if is_decimal(unsigned) {
        // Rust's grammar is wider (`inf`, `nan`); `is_decimal` has already narrowed it.
        t.parse().ok()?
    } else {
        return None;
    };
    // `as` saturates at the i64 range, so ±Infinity and 1e400 clamp too.
    Some((value.trunc() as i64).clamp(min, max))
}

/// `digits [. digits] [e [+-] digits]` or `. digits [...]`: at least one digit before the
/// exponent.
fn is_decimal(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
    };
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn byte(s: &str) -> Option<i64> {
        parse_clamped(s, 0, 255)
    }

    #[test]
    fn what_scratch_sends_is_truncated_then_clamped() {
        for (text, v) in [
            ("0", 0),
            ("100", 100),
            ("255", 255),
            ("255.75", 255),
            ("0.999", 0),
            ("-0.5", 0),
            ("-5", 0),
            ("300", 255),
            ("1e+21", 255),
            ("1.5e2", 150),
            ("2E1", 20),
            ("1e-7", 0),
            (".5", 0),
            ("7.", 7),
            ("+12", 12),
            (" 42 ", 42),
            ("Infinity", 255),
            ("-Infinity", 0),
            ("99999999999999999999999", 255),
        ] {
            assert_eq!(byte(text), Some(v), "{text:?}");
        }
        assert_eq!(parse_clamped("-3.9", -10, 10), Some(-3), "toward zero");
        assert_eq!(parse_clamped("70000", 0, 65_535), Some(65_535));
    }

    #[test]
    fn text_that_is_no_number_is_refused() {
        for text in [
            "", " ", "abc", "NaN", "nan", "inf", "infinity", "12abc", "1.2.3", "--5", "+-5", "e5",
            ".", "1e", "1e+", "0x10", "5%", "1,5", "١٢",
        ] {
            assert_eq!(byte(text), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn any_float_scratch_prints_is_accepted_and_in_range(x in proptest::num::f64::ANY) {
            // Rust prints infinities as `inf`; ActionScript as `Infinity`.
            let text = match x {
                f64::INFINITY => "Infinity".to_string(),
                f64::NEG_INFINITY => "-Infinity".to_string(),
                _ => x.to_string(),
            };
            let got = parse_clamped(&text, 0, 255);
            if x.is_nan() {
                prop_assert_eq!(got, None);
            } else {
                let expected = (x.trunc().clamp(0.0, 255.0)) as i64;
                prop_assert_eq!(got, Some(expected), "{}", text);
            }
        }

        #[test]
        fn integers_in_range_are_kept_exactly(v in 0i64..=65_535) {
            prop_assert_eq!(parse_clamped(&v.to_string(), 0, 65_535), Some(v));
        }
    }
}
