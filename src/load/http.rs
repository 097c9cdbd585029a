//! A minimal blocking HTTP/1.1 client for the driver: one keep-alive connection, `GET` only.
//!
//! Hand-rolled on purpose: the driver must add as little of its own latency and CPU as
//! possible, and every step (connect, write, read) has to be under its control and timed.
//! Answers are framed by `Content-Length`, chunked encoding, or connection close.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// An answer: status code and body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One keep-alive connection that reconnects on demand.
pub struct HttpConn {
    addr: SocketAddr,
    timeout: Duration,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// Connections opened after the first one (the server closed or failed the previous).
    pub reconnects: u64,
    opened: u64,
    /// The last request's path and bytes: built once, not between the send deadline and the
    /// write (formatting it there cost ~10 µs of send error on a busy machine's cold caches).
    request: (String, Vec<u8>),
}

impl HttpConn {
    /// No connection is made until the first request.
    pub fn new(addr: SocketAddr, timeout: Duration) -> HttpConn {
        HttpConn {
            addr,
            timeout,
            stream: None,
            buf: Vec::with_capacity(4096),
            reconnects: 0,
            opened: 0,
            request: (String::new(), Vec::new()),
        }
    }

    fn stream(&mut self) -> Result<&mut TcpStream> {
        if self.stream.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, self.timeout)
                .with_context(|| format!("cannot connect to {}", self.addr))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(self.timeout))?;
            s.set_write_timeout(Some(self.timeout))?;
            if self.opened > 0 {
                self.reconnects += 1;
            }
            self.opened += 1;
            self.buf.clear();
            self.stream = Some(s);
        }
        Ok(self.stream.as_mut().expect("just set"))
    }

    /// Connects now if not connected (so the first request does not pay for it).
    pub fn ensure_connected(&mut self) -> Result<()> {
        self.stream().map(|_| ())
    }

    /// Sends `GET path` and reads the whole answer. `on_send` is called right before the
    /// request bytes are handed to the kernel (after any reconnect), so the caller's send
    /// time can never be later than the server's receipt. Any error drops the connection;
    /// the next request reconnects.
    pub fn get(&mut self, path: &str, on_send: impl FnOnce()) -> Result<Response> {
        let r = self.get_inner(path, on_send);
        if r.is_err() {
            self.stream = None;
        }
        r
    }

    fn get_inner(&mut self, path: &str, on_send: impl FnOnce()) -> Result<Response> {
        if self.request.0 != path {
            self.request = (path.to_string(), request_bytes(path));
        }
        self.stream()?;
        let stream = self.stream.as_mut().expect("just connected");
        on_send();
        stream
            .write_all(&self.request.1)
            .context("sending request")?;
        let (resp, keep) = self.read_response()?;
        if !keep {
            self.stream = None;
        }
        Ok(resp)
    }

    fn fill(&mut self) -> Result<usize> {
        let mut chunk = [0u8; 4096];
        let s = self.stream.as_mut().context("not connected")?;
        let n = s.read(&mut chunk).context("reading answer")?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response; returns it and whether the connection can be reused.
    fn read_response(&mut self) -> Result<(Response, bool)> {
        loop {
            match parse_response(&self.buf)? {
                Parsed::Done {
                    response,
                    consumed,
                    keep_alive,
                } => {
                    self.buf.drain(..consumed);
                    return Ok((response, keep_alive));
                }
                Parsed::UntilClose { status, head_len } => {
                    // No framing: the body runs to the end of the connection.
                    while self.fill()? > 0 {}
                    let body = self.buf.split_off(head_len.min(self.buf.len()));
                    self.buf.clear();
                    return Ok((Response { status, body }, false));
                }
                Parsed::Incomplete => {
                    if self.fill()? == 0 {
                        bail!("connection closed before a whole answer");
                    }
                }
            }
        }
    }
}

/// The bytes of `GET path` on a keep-alive connection, as Scratch sends it.
pub(crate) fn request_bytes(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n").into_bytes()
}

/// How far the bytes of one answer go, from [`parse_response`].
#[derive(Debug)]
pub(crate) enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// A whole answer, `consumed` bytes long, and whether the connection can be reused.
    Done {
        response: Response,
        consumed: usize,
        keep_alive: bool,
    },
    /// An answer without framing: its body is everything after `head_len` until the server
    /// closes the connection.
    UntilClose { status: u16, head_len: usize },
}

/// Longest answer head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Parses the answer at the start of `buf`, framed by `Content-Length`, chunked encoding or
/// connection close. Pure, so the blocking connection and the event loop read answers the
/// same way; an error means the bytes can never become a valid answer.
pub(crate) fn parse_response(buf: &[u8]) -> Result<Parsed> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(head_len)) => {
            let fields = resp
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect::<Vec<_>>();
            frame_body(
                buf,
                resp.code.unwrap_or(0),
                resp.version == Some(0),
                &fields,
                head_len,
            )
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            bail!("HTTP answer head larger than 64 KiB")
        }
        Ok(httparse::Status::Partial) => Ok(Parsed::Incomplete),
        // What Scratch's own client tolerates: read it the way it would (see `parse_lenient`).
        Err(strict) => {
            parse_lenient(buf).with_context(|| format!("malformed HTTP answer ({strict})"))
        }
    }
}

/// Reads an answer head that a strict parser refuses but Scratch 2's client (Flash's
/// `URLLoader`) reads anyway: the original esp4s wrote a header line without a colon
/// (`Content-Length262`), which is skipped, leaving the body framed by the connection's close.
/// Anything whose first line is not `HTTP/1.x NNN …` is still an error.
fn parse_lenient(buf: &[u8]) -> Result<Parsed> {
    let Some(head_len) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) else {
        if buf.len() > MAX_HEAD {
            bail!("HTTP answer head larger than 64 KiB");
        }
        if buf.len() >= 5 && !buf.starts_with(b"HTTP/") {
            bail!("the answer does not start with HTTP/");
        }
        return Ok(Parsed::Incomplete);
    };
    let head = std::str::from_utf8(&buf[..head_len]).context("answer head is not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut words = status_line.split(' ');
    let version = words.next().unwrap_or("");
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        bail!("status line {status_line:?} is not HTTP/1.x");
    }
    let status: u16 = words
        .next()
        .and_then(|c| c.parse().ok())
        .filter(|c| (100..1000).contains(c))
        .with_context(|| format!("status line {status_line:?} has no status code"))?;
    let fields: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect();
    frame_body(buf, status, version == "HTTP/1.0", &fields, head_len)
}

/// The body after a head of `head_len` bytes, framed as its header fields say.
fn frame_body(
    buf: &[u8],
    status: u16,
    http10: bool,
    fields: &[(String, String)],
    head_len: usize,
) -> Result<Parsed> {
    let mut length = None;
    let mut chunked = false;
    let mut close = http10;
    for (name, value) in fields {
        let v = value.trim().to_ascii_lowercase();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(v.parse::<usize>().context("bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            if v.contains("close") {
                close = true;
            } else if v.contains("keep-alive") {
                close = false;
            }
        }
    }
    let rest = &buf[head_len..];
    let (body, used) = if chunked {
        match parse_chunked(rest)? {
            Some(x) => x,
            None => return Ok(Parsed::Incomplete),
        }
    } else if let Some(n) = length {
        if rest.len() < n {
            return Ok(Parsed::Incomplete);
        }
        (rest[..n].to_vec(), n)
    } else {
        return Ok(Parsed::UntilClose { status, head_len });
    };
    Ok(Parsed::Done {
        response: Response { status, body },
        consumed: head_len + used,
        keep_alive: !close,
    })
}

/// A chunked body at the start of `buf`: the body and the bytes it took, or None when more
/// are needed.
fn parse_chunked(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&buf[at..at + line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        at += line_end + 2;
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
        if size == 0 {
            return Ok(Some((body, at)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves the given canned answers, one per request, on one connection.
    fn serve(answers: Vec<&'static [u8]>) -> SocketAddr {
        serve_joinable(answers).0
    }

    /// `serve`, with the server thread's handle: joined, its connection and listener are gone.
    fn serve_joinable(answers: Vec<&'static [u8]>) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            for a in answers {
                let mut req = Vec::new();
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                s.write_all(a).unwrap();
            }
        });
        (addr, h)
    }

    #[test]
    fn content_length_and_chunked_on_one_keep_alive_connection() {
        let addr = serve(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        ]);
        let mut c = HttpConn::new(addr, Duration::from_secs(5));
        let mut sent = false;
        let r = c.get("/poll", || sent = true).unwrap();
        assert!(sent);
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        let r = c.get("/poll", || {}).unwrap();
        assert_eq!(r.body, b"abcde");
        let r = c.get("/x", || {}).unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(c.reconnects, 0);
    }

    #[test]
    fn the_parser_waits_for_whole_answers_and_reports_what_they_took() {
        let full = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1";
        for cut in [0, 10, 38, 42] {
            assert!(matches!(
                parse_response(&full[..cut]).unwrap(),
                Parsed::Incomplete
            ));
        }
        match parse_response(full).unwrap() {
            Parsed::Done {
                response,
                consumed,
                keep_alive,
            } => {
                assert_eq!((response.status, &response.body[..]), (200, &b"hello"[..]));
                assert_eq!(consumed, 43);
                assert!(keep_alive);
            }
            other => panic!("{other:?}"),
        }
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert!(matches!(
            parse_response(&chunked[..chunked.len() - 1]).unwrap(),
            Parsed::Incomplete
        ));
        match parse_response(chunked).unwrap() {
            Parsed::Done {
                response,
                keep_alive,
                ..
            } => {
                assert_eq!(response.body, b"abc");
                assert!(!keep_alive);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\nto the end").unwrap(),
            Parsed::UntilClose {
                status: 200,
                head_len: 19
            }
        ));
        assert!(parse_response(b"garbage garbage\r\n\r\n").is_err());
        assert!(parse_response(b"\x00\x01 not http").is_err());
        // The original esp4s: a header without a colon, the body ended by closing.
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length262\r\n\r\nslider 1"
            )
            .unwrap(),
            Parsed::UntilClose {
                status: 200,
                head_len: 63
            }
        ));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    }

    #[test]
    fn a_closed_connection_is_an_error_then_reconnects() {
        let (addr, server) =
            serve_joinable(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
        let mut c = HttpConn::new(addr, Duration::from_secs(2));
        c.get("/a", || {}).unwrap();
        assert!(c.get("/b", || {}).is_err());
        // Once the server thread has ended its listener is closed (before, a reconnect could
        // still land in its backlog and be reset: a race, seen with four tests at a time).
        server.join().unwrap();
        // The listener is gone: reconnecting fails with a clear error, not a hang.
        let e = c.get("/c", || {}).unwrap_err();
        assert!(format!("{e:#}").contains("cannot connect"), "{e:#}");
    }
}
