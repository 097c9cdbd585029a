//! The `/poll` answer body Scratch reads, and the key lookup for Snap!'s one-value routes.

use super::normalise::{Status, POLL_KEYS};
use std::io::Write;

/// What esp4s appends to every answer that has a body (its `send_resp` adds CRLF to anything
/// but "okay"); clients written against esp4s strip these two bytes.
pub(crate) const BODY_END: &[u8] = b"\r\n";

/// Writes the `/poll` body: the 16 `key value\n` lines when a status is known, then a
/// `_problem <text>\n` line when there is a fault to report (Scratch shows it to the user),
/// then esp4s's closing CRLF. With no status and no problem the body is empty, as esp4s's
/// "okay" before the first frame is, so Scratch keeps its values.
pub fn render_poll(status: Option<&Status>, problem: Option<&str>, out: &mut Vec<u8>) {
    let start = out.len();
    if let Some(status) = status {
        for (key, value) in POLL_KEYS.iter().zip(status.values) {
            // Writing into a Vec cannot fail.
            let _ = writeln!(out, "{key} {value}");
        }
    }
    if let Some(problem) = problem {
        out.extend_from_slice(b"_problem ");
        write_problem_text(problem, out);
        out.push(b'\n');
    }
    if out.len() > start {
        out.extend_from_slice(BODY_END);
    }
}

/// The `_problem` text as Scratch 2 reads it: it passes every value through
/// `decodeURIComponent`, which throws on a bare `%` (and would turn `%41` into `A`), so `%`
/// becomes `%25`; everything else decodes to itself. A newline inside the text would start a
/// bogus key, so CR and LF become spaces.
fn write_problem_text(problem: &str, out: &mut Vec<u8>) {
    for b in problem.bytes() {
        match b {
            b'%' => out.extend_from_slice(b"%25"),
            b'\n' | b'\r' => out.push(b' '),
            _ => out.push(b),
        }
    }
}

/// The body of a Snap! one-value read (`/slider` → `593\r\n`), or empty before the first
/// frame, exactly as esp4s answers.
pub(crate) fn render_value(value: Option<i32>, out: &mut Vec<u8>) {
    if let Some(v) = value {
        let _ = write!(out, "{v}");
        out.extend_from_slice(BODY_END);
    }
}

/// Position of a poll key in `Status::values` (`slider`, `buttons/Down`, ...).
pub(crate) fn value_index(key: &str) -> Option<usize> {
    POLL_KEYS.iter().position(|k| *k == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_matches_the_documented_answer_for_the_captured_frame() {
        let status = Status {
            values: [0, 0, 0, 0, 593, 973, 17, 0, 0, 1, -3, -17, -21, 157, 376, 8],
        };
        let mut out = Vec::new();
        render_poll(Some(&status), None, &mut out);
        let expected = "buttons/Down 0\nbuttons/Left 0\nbuttons/Up 0\nbuttons/Right 0\n\
slider 593\nlight 973\ntemp 17\nsound 0\njoystick/Button 0\njoystick/Left-Right_(X) 1\n\
joystick/Up-Down_(Y) -3\naccel/X__Side-Twist -17\naccel/Y__Front-Twist -21\n\
accel/Z__Raise-Lower 157\ntkInput/A 376\ntkInput/B 8\n\r\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn problem_line_is_appended_and_kept_on_one_line() {
        let mut out = Vec::new();
        render_poll(None, Some("board gone\nreconnecting"), &mut out);
        assert_eq!(out, b"_problem board gone reconnecting\n\r\n");
        let mut out = Vec::new();
        render_poll(Some(&Status::default()), Some("x"), &mut out);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 18);
        assert!(out.ends_with(b"tkInput/B 0\n_problem x\n\r\n"));
        let mut out = Vec::new();
        render_poll(None, None, &mut out);
        assert!(out.is_empty(), "nothing known: esp4s's empty 'okay'");
    }

    /// `decodeURIComponent` as Scratch applies it: `%XX` (UTF-8) decoded, a bad escape throws.
    fn decode_uri_component(s: &str) -> Result<String, String> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = s.get(i + 1..i + 3).ok_or("URIError: truncated escape")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| "URIError: bad escape")?);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).map_err(|_| "URIError: bad UTF-8".to_string())
    }

    #[test]
    fn problem_text_survives_scratchs_decode_uri_component() {
        let mut out = Vec::new();
        render_poll(None, Some("buffer 100% full, %41 é"), &mut out);
        assert_eq!(out, "_problem buffer 100%25 full, %2541 é\n\r\n".as_bytes());
        let line = std::str::from_utf8(&out).unwrap().lines().next().unwrap();
        let value = line.split_once(' ').unwrap().1;
        assert_eq!(
            decode_uri_component(value).unwrap(),
            "buffer 100% full, %41 é"
        );
        assert!(
            decode_uri_component("100% full").is_err(),
            "the raw text throws"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_problem_text_decodes_back(text in "\\PC*") {
            let mut out = Vec::new();
            render_poll(None, Some(&text), &mut out);
            let body = std::str::from_utf8(&out).unwrap();
            let line = body.strip_suffix("\n\r\n").unwrap();
            proptest::prop_assert!(!line.contains('\n'));
            let value = line.strip_prefix("_problem ").unwrap();
            let expected = text.replace(['\n', '\r'], " ");
            proptest::prop_assert_eq!(decode_uri_component(value).unwrap(), expected);
        }
    }

    #[test]
    fn snap_values_end_with_crlf_and_are_empty_before_the_first_frame() {
        let mut out = Vec::new();
        render_value(Some(593), &mut out);
        assert_eq!(out, b"593\r\n");
        let mut out = Vec::new();
        render_value(Some(-17), &mut out);
        assert_eq!(out, b"-17\r\n");
        let mut out = Vec::new();
        render_value(None, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn value_index_finds_snap_routes() {
        assert_eq!(value_index("slider"), Some(4));
        assert_eq!(value_index("buttons/Down"), Some(0));
        assert_eq!(value_index("tkInput/B"), Some(15));
        assert_eq!(value_index("joystick/Left-Right_(X)"), Some(9));
        assert_eq!(value_index("Slider"), None);
    }
}
