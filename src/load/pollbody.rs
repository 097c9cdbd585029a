//! Reading a Scratch `/poll` answer: `key value\n` lines (docs/protocol.md §4).
//!
//! The driver only needs the TinkerKit inputs, where the virtual board stamps each frame's
//! sequence number (seq = tkInput/A·1024 + tkInput/B), and whether the bridge reported a
//! `_problem` (e.g. no frame yet). Anything it does not understand is counted, never fatal.

/// What the driver takes from one `/poll` body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollBody {
    pub tk_a: Option<i32>,
    pub tk_b: Option<i32>,
    pub problem: Option<String>,
    /// Lines that are not `key value` with an integer value (reserved keys aside).
    pub bad_lines: u32,
    /// `key value` lines read.
    pub values: u32,
}

impl PollBody {
    pub fn parse(body: &[u8]) -> PollBody {
        let mut out = PollBody::default();
        for raw in body.split(|&b| b == b'\n') {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.is_empty() {
                continue;
            }
            let Ok(line) = std::str::from_utf8(line) else {
                out.bad_lines += 1;
                continue;
            };
            let (key, value) = match line.split_once(' ') {
                Some((k, v)) => (k, v.trim()),
                None => (line, ""),
            };
            if key == "_problem" {
                out.problem = Some(value.to_string());
                continue;
            }
            if key.starts_with('_') {
                continue;
            }
            match value.parse::<i32>() {
                Ok(v) => {
                    out.values += 1;
                    match key {
                        "tkInput/A" => out.tk_a = Some(v),
                        "tkInput/B" => out.tk_b = Some(v),
                        _ => {}
                    }
                }
                Err(_) => out.bad_lines += 1,
            }
        }
        out
    }

    /// The frame sequence number the answer carries, when both TinkerKit values are there
    /// and in the stamp's range (A·1024 + B with 0 ≤ B < 1024).
    pub fn seq(&self) -> Option<u32> {
        let (a, b) = (self.tk_a?, self.tk_b?);
        if !(0..1024).contains(&b) || a < 0 {
            return None;
        }
        Some(a as u32 * 1024 + b as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_esplora_example() {
        let body = b"buttons/Down 0\nbuttons/Left 0\nslider 593\njoystick/Up-Down_(Y) -3\n\
                     tkInput/A 376\ntkInput/B 8\n";
        let p = PollBody::parse(body);
        assert_eq!(p.tk_a, Some(376));
        assert_eq!(p.tk_b, Some(8));
        assert_eq!(p.seq(), Some(376 * 1024 + 8));
        assert_eq!(p.values, 6);
        assert_eq!(p.bad_lines, 0);
        assert_eq!(p.problem, None);
    }

    #[test]
    fn problem_and_garbage_are_reported_not_fatal() {
        let p = PollBody::parse(b"_problem board not connected\r\nslider x\n\xff\xfe\nnokey\n");
        assert_eq!(p.problem.as_deref(), Some("board not connected"));
        assert_eq!(p.bad_lines, 3);
        assert_eq!(p.seq(), None);
        assert_eq!(
            PollBody::parse(b"tkInput/A 1\ntkInput/B 1024\n").seq(),
            None
        );
        assert_eq!(PollBody::parse(b"").seq(), None);
    }
}
