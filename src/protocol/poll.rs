//! The `/poll` answer body Scratch reads, and the key lookup for Snap!'s one-value routes.

use super::normalise::{Status, POLL_KEYS};
use std::io::Write;

/// Writes the `/poll` body: the 16 `key value\n` lines when a status is known, then a
/// `_problem <text>\n` line when there is a fault to report (Scratch shows it to the user).
/// With no status yet, only the problem line (if any) is written, so Scratch keeps its values.
pub fn render_poll(status: Option<&Status>, problem: Option<&str>, out: &mut Vec<u8>) {
    if let Some(status) = status {
        for (key, value) in POLL_KEYS.iter().zip(status.values) {
            // Writing into a Vec cannot fail.
            let _ = writeln!(out, "{key} {value}");
        }
    }
    if let Some(problem) = problem {
        // One line only: a newline inside the text would start a bogus key.
        out.extend_from_slice(b"_problem ");
        out.extend(
            problem
                .bytes()
                .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
        );
        out.push(b'\n');
    }
}

/// Position of a poll key in `Status::values` (`slider`, `buttons/Down`, ...).
pub fn value_index(key: &str) -> Option<usize> {
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
accel/Z__Raise-Lower 157\ntkInput/A 376\ntkInput/B 8\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn problem_line_is_appended_and_kept_on_one_line() {
        let mut out = Vec::new();
        render_poll(None, Some("board gone\nreconnecting"), &mut out);
        assert_eq!(out, b"_problem board gone reconnecting\n");
        let mut out = Vec::new();
        render_poll(Some(&Status::default()), Some("x"), &mut out);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 17);
        assert!(out.ends_with(b"tkInput/B 0\n_problem x\n"));
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
