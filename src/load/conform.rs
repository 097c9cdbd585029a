//! Conformance of an external bridge, checked before it is measured (and by
//! `esbench conform`): does it speak enough of the Scratch extension protocol that its
//! figures mean what a built-in model's do?
//!
//! Three checks, each with what was sent and what came back when it fails:
//! - **poll**: `GET /poll` answers with Scratch's `key value` lines;
//! - **frames**: the values of the board's frames show up (the sequence numbers the virtual
//!   board stamps into tkInput A/B), and move on as new frames come;
//! - **command**: a numeric command route (`/leds/Red/N`) reaches the board's pty as `RN`.
//!
//! Sloppiness Scratch tolerates is not a failure, only noted: each deviation from plain
//! HTTP/1.1 keep-alive (a header line without a colon, a body ended by closing the
//! connection, one request per connection, an HTTP/1.0 answer) is listed for the row.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::boards::BoardRecord;
use super::http::{parse_response, request_bytes, Parsed};
use super::pollbody::PollBody;
use crate::device::VirtualBoard;

/// One answer, read as Scratch's client would, with the bytes of its head.
#[derive(Clone, Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    pub head: String,
    /// The body had no length and ended when the bridge closed the connection.
    pub until_close: bool,
    /// The answer says the connection stays open.
    pub keep_alive: bool,
}

/// What one request got.
#[derive(Clone, Debug)]
pub enum Probe {
    Answer(RawAnswer),
    /// Bytes came back that cannot be an HTTP answer.
    NotHttp {
        sent: String,
        got: String,
    },
    /// Nobody accepted the connection.
    NoConnection(String),
    /// Connected, but no answer came (closed or timed out).
    Silent(String),
}

/// Sends `GET path` on a new connection and reads one answer.
pub fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> Probe {
    let mut s = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => return Probe::NoConnection(format!("connect: {e}")),
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let _ = s.set_nodelay(true);
    exchange(&mut s, path)
}

/// One request and its answer on an open connection.
fn exchange(s: &mut TcpStream, path: &str) -> Probe {
    let sent = format!("GET {path}");
    if let Err(e) = s.write_all(&request_bytes(path)) {
        return Probe::Silent(format!("sending {sent}: {e}"));
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match parse_response(&buf) {
            Err(_) => {
                return Probe::NotHttp {
                    sent,
                    got: excerpt(&buf),
                }
            }
            Ok(Parsed::Done {
                response,
                consumed,
                keep_alive,
            }) => {
                let head_len = consumed - response.body.len();
                return Probe::Answer(RawAnswer {
                    status: response.status,
                    body: response.body,
                    head: String::from_utf8_lossy(&buf[..head_len]).into_owned(),
                    until_close: false,
                    keep_alive,
                });
            }
            Ok(Parsed::UntilClose { status, head_len }) => {
                let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
                let mut body = buf[head_len..].to_vec();
                loop {
                    match s.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => body.extend_from_slice(&chunk[..n]),
                        Err(e) => {
                            return Probe::Silent(format!(
                                "{sent}: the answer has no length and the connection was not \
                                 closed after it ({e})"
                            ))
                        }
                    }
                }
                return Probe::Answer(RawAnswer {
                    status,
                    body,
                    head,
                    until_close: true,
                    keep_alive: false,
                });
            }
            Ok(Parsed::Incomplete) => match s.read(&mut chunk) {
                Ok(0) if buf.is_empty() => {
                    return Probe::Silent(format!("{sent}: connection closed without an answer"))
                }
                Ok(0) => {
                    return Probe::NotHttp {
                        sent,
                        got: format!("{} (then the connection closed)", excerpt(&buf)),
                    }
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if buf.is_empty() => {
                    return Probe::Silent(format!("{sent}: no answer ({e})"))
                }
                Err(_) => {
                    return Probe::NotHttp {
                        sent,
                        got: format!("{} (incomplete)", excerpt(&buf)),
                    }
                }
            },
        }
    }
}

/// Up to 120 bytes, printable, for a status line.
pub fn excerpt(bytes: &[u8]) -> String {
    let mut out: String = bytes
        .iter()
        .take(120)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if bytes.len() > 120 {
        out.push('…');
    }
    format!("\"{out}\"")
}

/// The deviations from plain HTTP/1.1 keep-alive one answer shows.
pub fn deviations(a: &RawAnswer) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = a.head.split("\r\n");
    if let Some(status) = lines.next() {
        if status.starts_with("HTTP/1.0") {
            out.push("answers HTTP/1.0".to_string());
        }
    }
    for l in lines.filter(|l| !l.is_empty()) {
        if !l.contains(':') {
            out.push(format!(
                "header line without a colon (e.g. {l:?}, skipped as Scratch's client does)"
            ));
        }
    }
    if a.until_close {
        out.push("no Content-Length: the body ends when the bridge closes the connection".into());
    }
    out
}

/// One check's outcome.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// All checks of one bridge, and the deviations it is measured with.
#[derive(Clone, Debug, Default)]
pub struct Conformance {
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}

impl Conformance {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The first failed check as a one-line status.
    pub fn failure(&self) -> Option<String> {
        self.checks
            .iter()
            .find(|c| !c.ok)
            .map(|c| format!("failed conformance ({}): {}", c.name, c.detail))
    }

    fn note(&mut self, answer: &RawAnswer) {
        for d in deviations(answer) {
            // One note per kind of deviation ("header line without a colon" once, whatever
            // the length in it).
            let kind = |n: &str| n.split(" (").next().unwrap_or("").to_string();
            if !self.notes.iter().any(|n| kind(n) == kind(&d)) {
                self.notes.push(d);
            }
        }
    }
}

/// How long the frames check waits for the first frame's values.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(3);
/// How long the command check waits for the command at the board.
const COMMAND_WAIT: Duration = Duration::from_secs(3);

/// Checks the bridge serving `board` on `addr`.
pub fn check_bridge(addr: SocketAddr, board: &VirtualBoard, timeout: Duration) -> Conformance {
    let mut c = Conformance::default();
    let first = first_poll(&mut c, addr, timeout);
    if !c.checks.last().is_some_and(|k| k.ok) {
        return c;
    }
    let frames = frames_check(&mut c, addr, board, timeout, first.as_ref());
    c.checks.push(frames);
    command_check(&mut c, addr, board, timeout);
    keep_alive_note(&mut c, addr, timeout);
    c
}

/// The first check: `/poll`, asked until it carries a frame (the first request made the
/// bridge send `C`). Pushes the `poll` check and returns the last answer parsed, with its
/// body.
fn first_poll(
    c: &mut Conformance,
    addr: SocketAddr,
    timeout: Duration,
) -> Option<(PollBody, Vec<u8>)> {
    let started = Instant::now();
    let mut first: Option<(PollBody, Vec<u8>)> = None;
    let mut last_failure = String::new();
    while started.elapsed() < FIRST_FRAME_WAIT {
        match probe(addr, "/poll", timeout) {
            Probe::Answer(a) => {
                c.note(&a);
                if a.status != 200 {
                    last_failure = format!("sent GET /poll, got status {}", a.status);
                } else {
                    let p = PollBody::parse(&a.body);
                    let has_frame = p.seq().is_some();
                    first = Some((p, a.body));
                    if has_frame {
                        break;
                    }
                }
            }
            Probe::NotHttp { sent, got } => {
                last_failure = format!("sent {sent}, got {got}, which is not HTTP");
                break;
            }
            Probe::NoConnection(e) | Probe::Silent(e) => last_failure = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    match &first {
        Some((p, body)) if p.bad_lines == 0 && p.values > 0 => {
            c.checks.push(Check {
                name: "poll",
                ok: true,
                detail: format!("GET /poll answers {} `key value` lines", p.values),
            });
        }
        Some((p, body)) => {
            c.checks.push(Check {
                name: "poll",
                ok: false,
                detail: format!(
                    "sent GET /poll, got {} ({} `key value` lines, {} others)",
                    excerpt(body),
                    p.values,
                    p.bad_lines
                ),
            });
        }
        None => {
            c.checks.push(Check {
                name: "poll",
                ok: false,
                detail: last_failure.clone(),
            });
        }
    }
    first
}

/// The second check, the board's frames: the stamped sequence numbers show up in `/poll` and move on.
fn frames_check(
    c: &mut Conformance,
    addr: SocketAddr,
    board: &VirtualBoard,
    timeout: Duration,
    first: Option<&(PollBody, Vec<u8>)>,
) -> Check {
    let written = |b: &VirtualBoard| BoardRecord::of(b).frames;
    let first_seq = first.and_then(|(p, _)| p.seq());
    match first_seq {
        None => Check {
            name: "frames",
            ok: false,
            detail: format!(
                "sent GET /poll for {FIRST_FRAME_WAIT:?}; tkInput/A and tkInput/B never carried \
                 a frame (the board wrote {} frames); last answer {}",
                written(board).len(),
                excerpt(&first.map(|f| f.1.clone()).unwrap_or_default())
            ),
        },
        Some(s1) if !written(board).iter().any(|f| f.0 == s1) => Check {
            name: "frames",
            ok: false,
            detail: format!(
                "GET /poll gave frame {s1} (tkInput/A·1024 + tkInput/B), which the board never wrote"
            ),
        },
        Some(s1) => {
            std::thread::sleep(Duration::from_millis(300));
            let again = match probe(addr, "/poll", timeout) {
                Probe::Answer(a) => {
                    c.note(&a);
                    PollBody::parse(&a.body).seq()
                }
                _ => None,
            };
            match again {
                Some(s2) if s2 > s1 => Check {
                    name: "frames",
                    ok: true,
                    detail: format!("the board's frames show up (frame {s1}, then {s2})"),
                },
                other => Check {
                    name: "frames",
                    ok: false,
                    detail: format!(
                        "GET /poll gave frame {s1}, and 300 ms later {} (the board had written \
                         {} frames): the values do not follow the board",
                        other.map_or("none".to_string(), |s| s.to_string()),
                        written(board).len()
                    ),
                },
            }
        }
    }
}

/// The third check: a numeric command reaches the board's pty.
fn command_check(c: &mut Conformance, addr: SocketAddr, board: &VirtualBoard, timeout: Duration) {
    let value = 173;
    let path = format!("/leds/Red/{value}");
    let wire = format!("R{value}").into_bytes();
    let before = BoardRecord::of(board).commands.len();
    let sent = Instant::now();
    let answer = probe(addr, &path, timeout);
    if let Probe::Answer(a) = &answer {
        c.note(a);
    }
    let mut arrived = false;
    while sent.elapsed() < COMMAND_WAIT {
        if BoardRecord::of(board).commands[before..]
            .iter()
            .any(|(_, w)| *w == wire)
        {
            arrived = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let got: Vec<String> = BoardRecord::of(board).commands[before..]
        .iter()
        .map(|(_, w)| String::from_utf8_lossy(w).into_owned())
        .collect();
    c.checks.push(Check {
        name: "command",
        ok: arrived,
        detail: if arrived {
            format!("GET {path} reached the board as R{value}")
        } else {
            format!(
                "sent GET {path} (answer: {}); the board read no R{value} within \
                 {COMMAND_WAIT:?} (it read {})",
                match &answer {
                    Probe::Answer(a) => format!("status {}", a.status),
                    Probe::NotHttp { got, .. } => format!("not HTTP: {got}"),
                    Probe::NoConnection(e) | Probe::Silent(e) => e.clone(),
                },
                if got.is_empty() {
                    "nothing".into()
                } else {
                    got.join(", ")
                }
            )
        },
    });
}

/// Whether a second request on the same connection gets an answer (a note, not a check:
/// Scratch reconnects either way).
fn keep_alive_note(c: &mut Conformance, addr: SocketAddr, timeout: Duration) {
    if let Ok(mut s) = TcpStream::connect_timeout(&addr, timeout) {
        let _ = s.set_read_timeout(Some(timeout));
        if let Probe::Answer(a) = exchange(&mut s, "/poll") {
            if a.keep_alive {
                match exchange(&mut s, "/poll") {
                    Probe::Answer(_) => {}
                    _ => c.notes.push(
                        "closes the connection after each answer although it said keep-alive"
                            .into(),
                    ),
                }
            } else {
                c.notes
                    .push("one request per connection (the client reconnects for each)".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviations_of_the_original_esp4s() {
        let a = RawAnswer {
            status: 200,
            body: b"slider 1".to_vec(),
            head: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length262\r\n\r\n".into(),
            until_close: true,
            keep_alive: false,
        };
        let d = deviations(&a);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("Content-Length262"));
        assert!(d[1].contains("closes"));
        let clean = RawAnswer {
            head: "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n".into(),
            until_close: false,
            keep_alive: true,
            ..a
        };
        assert!(deviations(&clean).is_empty());
        assert_eq!(excerpt(b"\x00ab"), "\"\\x00ab\"");
    }
}
