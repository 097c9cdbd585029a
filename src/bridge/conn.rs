//! The per-connection HTTP state machine, sans-io.
//!
//! A model feeds whatever bytes its socket produced into [`Connection::receive`], writes out
//! [`Connection::output`], and closes the socket once [`Connection::should_close`] says so
//! and the output is flushed. Requests are answered strictly in order, so pipelining is safe.
//!
//! Limits (see [`ServeLimits`]): a model waits for the next bytes only until
//! [`Connection::read_deadline`] and then calls [`Connection::time_out`], so a client that
//! dribbles a request head (slowloris) or sits idle cannot hold a connection forever; and a
//! connection opened with [`Connection::admit`] beyond the process-wide cap is answered 503
//! and closed before anything is read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::http::{parse_request, write_response, Method, Parse, Request, Response};

/// Something that answers parsed requests (the board, or a test double).
pub trait Handler {
    fn handle(&self, request: &Request) -> Response;
}

/// How long a connection may take and how many may be open (`esbench serve` flags
/// `--header-timeout-ms`, `--idle-timeout-s`, `--max-connections`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// From the first byte of a request to the end of its head (and body): answered 408
    /// and closed after this. Scratch sends a whole request in one segment.
    pub header_timeout: Duration,
    /// With no request in progress, a connection that sends nothing for this long is
    /// closed. Scratch polls every 33 ms on a keep-alive connection, so it never idles.
    pub idle_timeout: Duration,
    /// Open connections in the whole process; one more is answered 503 and closed (each
    /// costs an fd, and a thread under threads/rayon).
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Connections admitted and not yet dropped, in this process.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Connections currently open in this process (admitted with [`Connection::admit`]).
#[cfg(test)]
pub(crate) fn open_connections() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// One admitted connection's place under the cap, given back on drop.
#[derive(Debug)]
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Bytes in, responses out, for one TCP connection.
#[derive(Debug)]
pub struct Connection {
    inbuf: Vec<u8>,
    out: Vec<u8>,
    closing: bool,
    requests: u64,
    limits: ServeLimits,
    /// When the bytes of the request now in `inbuf` began to arrive.
    request_since: Option<Instant>,
    last_input: Instant,
    _slot: Option<Slot>,
}

impl Default for Connection {
    fn default() -> Self {
        Connection::with_limits(ServeLimits::default())
    }
}

impl Connection {
    /// A connection outside the cap, with the default timeouts (tests, tools).
    pub fn new() -> Connection {
        Connection::default()
    }

    fn with_limits(limits: ServeLimits) -> Connection {
        Connection {
            inbuf: Vec::new(),
            out: Vec::new(),
            closing: false,
            requests: 0,
            limits,
            request_since: None,
            last_input: Instant::now(),
            _slot: None,
        }
    }

    /// A connection just accepted by a model, counted against `limits.max_connections`.
    /// Beyond the cap it starts with a 503 queued and [`Connection::should_close`] set, so
    /// the model writes the refusal and closes without reading.
    pub(crate) fn admit(limits: ServeLimits) -> Connection {
        let mut c = Connection::with_limits(limits);
        let open = OPEN.fetch_add(1, Ordering::Relaxed) + 1;
        c._slot = Some(Slot);
        if open > limits.max_connections {
            let resp = Response::text(
                503,
                format!(
                    "too many open connections (the limit is {}); try again later\n",
                    limits.max_connections
                ),
            );
            write_response(&resp, false, true, &mut c.out);
            c.closing = true;
        }
        c
    }

    /// Until when the model waits for more bytes before calling [`Connection::time_out`].
    pub(crate) fn read_deadline(&self) -> Instant {
        match self.request_since {
            Some(t) => t + self.limits.header_timeout,
            None => self.last_input + self.limits.idle_timeout,
        }
    }

    /// Nothing arrived by [`Connection::read_deadline`]: a request in progress is answered
    /// 408; either way the connection ends once the output is flushed.
    pub(crate) fn time_out(&mut self) {
        if self.closing {
            return;
        }
        if self.request_since.is_some() {
            let resp = Response::text(
                408,
                format!(
                    "request not complete within {} ms\n",
                    self.limits.header_timeout.as_millis()
                ),
            );
            write_response(&resp, false, true, &mut self.out);
        }
        self.closing = true;
        self.inbuf = Vec::new();
        self.request_since = None;
    }

    /// Takes bytes read from the socket, answers every complete request in them (in order)
    /// and queues the responses. After a request that ends the connection, further input is
    /// ignored.
    pub fn receive(&mut self, bytes: &[u8], handler: &impl Handler) {
        if self.closing {
            return;
        }
        let now = Instant::now();
        self.last_input = now;
        if self.inbuf.is_empty() && !bytes.is_empty() {
            self.request_since = Some(now);
        }
        self.inbuf.extend_from_slice(bytes);
        let mut start = 0;
        while !self.closing {
            match parse_request(&self.inbuf[start..]) {
                Parse::Partial => break,
                Parse::Complete { request, consumed } => {
                    start += consumed;
                    self.requests += 1;
                    let resp = answer(handler, &request);
                    let close = !request.keep_alive;
                    write_response(&resp, request.method == Method::Head, close, &mut self.out);
                    self.closing = close;
                }
                Parse::Error(e) => {
                    write_response(&e.response(), false, true, &mut self.out);
                    self.closing = true;
                }
            }
        }
        if self.closing {
            self.inbuf = Vec::new();
        } else {
            self.inbuf.drain(..start);
        }
        // A pipelined remainder is a new request that began arriving just now.
        if self.inbuf.is_empty() {
            self.request_since = None;
        } else if start > 0 {
            self.request_since = Some(now);
        }
    }

    /// Bytes waiting to be written to the socket.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Marks the first `n` bytes of [`Connection::output`] as written.
    pub(crate) fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Takes all pending output at once (for models that write it with one `write_all`).
    #[cfg(test)]
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// True once the connection must end after the pending output is flushed.
    pub fn should_close(&self) -> bool {
        self.closing
    }

    /// Complete requests seen on this connection.
    #[cfg(test)]
    pub(crate) fn requests(&self) -> u64 {
        self.requests
    }

    /// What the model's connection loop does next: flush pending output first, then close
    /// if the connection is over, else read until the deadline. Every model follows this
    /// one order (`bridge::conn_loop`), so none answers or closes differently.
    pub(crate) fn next_step(&self) -> ConnStep {
        if !self.out.is_empty() {
            ConnStep::Write
        } else if self.closing {
            ConnStep::Close
        } else {
            ConnStep::Read {
                until: self.read_deadline(),
            }
        }
    }
}

/// See [`Connection::next_step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnStep {
    /// Write all of [`Connection::output`], then [`Connection::consume_output`] it.
    Write,
    /// The connection is over and its output flushed: close it (lingering).
    Close,
    /// Wait for bytes until `until`: hand them to [`Connection::receive`], or call
    /// [`Connection::time_out`] when none came; the peer hanging up ends the connection.
    Read { until: Instant },
}

/// The whole answer to the first request in `bytes`, HTTP/1.0 style: one response with
/// `Connection: close` (a malformed request gets its error response the same way), or
/// `None` while the request is incomplete. For a server that answers one request per
/// connection (`esp4s-threads`, as `BaseHTTPServer` did); whatever follows is ignored.
pub(crate) fn answer_once(bytes: &[u8], handler: &impl Handler) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(512);
    match parse_request(bytes) {
        Parse::Partial => return None,
        Parse::Complete { request, .. } => {
            let resp = answer(handler, &request);
            write_response(&resp, request.method == Method::Head, true, &mut out);
        }
        Parse::Error(e) => write_response(&e.response(), false, true, &mut out),
    }
    Some(out)
}

/// The answer to one parsed request, by method: GET and HEAD go to the routes, OPTIONS is
/// the CORS preflight, anything else 405. Every model answers through here, so none of
/// them differs in which methods it takes.
pub(crate) fn answer(handler: &impl Handler, request: &Request) -> Response {
    match request.method {
        Method::Get | Method::Head => handler.handle(request),
        Method::Other(ref m) if m == "OPTIONS" => super::routes::preflight(),
        Method::Other(ref m) => Response::text(405, format!("method {m} not allowed; use GET\n")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Answers every request with its path (shared with `conn_loop`'s tests).
    pub(crate) struct Echo;
    impl Handler for Echo {
        fn handle(&self, r: &Request) -> Response {
            Response::text(200, r.path.clone())
        }
    }

    fn bodies(out: &[u8]) -> Vec<String> {
        let s = String::from_utf8_lossy(out);
        s.split("HTTP/1.1 ")
            .filter(|p| !p.is_empty())
            .map(|p| p.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_even_split_anywhere() {
        let raw =
            b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
        for split in 0..raw.len() {
            let mut c = Connection::new();
            c.receive(&raw[..split], &Echo);
            c.receive(&raw[split..], &Echo);
            assert_eq!(bodies(c.output()), ["/a", "/b", "/c"], "split at {split}");
            assert!(!c.should_close());
            assert_eq!(c.requests(), 3);
        }
    }

    /// A fresh connection that received `input`, and what it answered (taken, as text).
    fn answered(input: &[u8]) -> (Connection, String) {
        let mut c = Connection::new();
        c.receive(input, &Echo);
        let out = String::from_utf8(c.take_output()).unwrap();
        (c, out)
    }

    #[test]
    fn malformed_input_answers_400_then_closes_and_ignores_the_rest() {
        let (mut c, out) =
            answered(b"GET /a HTTP/1.1\r\n\r\nBLAH BLAH\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
        assert!(out.contains("HTTP/1.1 200 OK"));
        assert!(out.contains("HTTP/1.1 400 Bad Request"));
        assert!(!out.contains("/b"));
        assert!(c.should_close());
        c.receive(b"GET /c HTTP/1.1\r\n\r\n", &Echo);
        assert!(c.output().is_empty());
    }

    #[test]
    fn connection_close_is_honoured() {
        let (c, out) = answered(b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(c.should_close());
        assert!(out.contains("Connection: close"));
    }

    #[test]
    fn other_methods_get_405_and_keep_the_connection() {
        let (c, out) =
            answered(b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 405"));
        assert!(out.contains("Allow: GET, HEAD"));
        assert!(out.ends_with("/b"));
        assert!(!c.should_close());
    }

    fn limits(max_connections: usize) -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(50),
            max_connections,
        }
    }

    #[test]
    fn the_deadline_is_the_header_timeout_during_a_request_and_idle_otherwise() {
        let mut c = Connection::admit(limits(usize::MAX));
        let idle = c.read_deadline();
        assert!(idle > Instant::now() + Duration::from_secs(40));
        c.receive(b"GET /a HT", &Echo);
        assert!(c.read_deadline() < Instant::now() + Duration::from_secs(4));
        c.receive(b"TP/1.1\r\n\r\n", &Echo);
        assert!(c.read_deadline() > Instant::now() + Duration::from_secs(40));
        // Timing out between requests closes without an answer.
        let answered = c.output().len();
        c.time_out();
        assert!(c.should_close());
        assert_eq!(c.output().len(), answered);
    }

    #[test]
    fn timing_out_mid_request_answers_408() {
        let mut c = Connection::admit(limits(usize::MAX));
        c.receive(b"GET /a HTTP/1.1\r\nHost: x", &Echo);
        assert!(c.output().is_empty());
        c.time_out();
        assert!(c.should_close());
        let out = String::from_utf8(c.take_output()).unwrap();
        assert!(out.starts_with("HTTP/1.1 408 Request Timeout"), "{out}");
        assert!(out.contains("Connection: close"));
    }

    #[test]
    fn a_connection_over_the_cap_starts_with_a_503_and_gives_its_place_back() {
        // Other tests in this process may hold connections: measure from what is open now.
        let base = open_connections();
        let first = Connection::admit(limits(base + 1));
        assert!(!first.should_close());
        let second = Connection::admit(limits(base + 1));
        assert!(second.should_close());
        let out = String::from_utf8_lossy(second.output()).to_string();
        assert!(out.starts_with("HTTP/1.1 503"), "{out}");
        assert!(out.contains(&format!("the limit is {}", base + 1)), "{out}");
        drop(second);
        drop(first);
        assert!(!Connection::admit(limits(base + 1)).should_close());
    }

    #[test]
    fn the_next_step_is_write_then_close_else_read() {
        let mut c = Connection::new();
        assert!(matches!(c.next_step(), ConnStep::Read { .. }));
        c.receive(b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n", &Echo);
        assert_eq!(c.next_step(), ConnStep::Write, "output before the close");
        c.consume_output(usize::MAX);
        assert_eq!(c.next_step(), ConnStep::Close);
    }

    #[test]
    fn answer_once_waits_for_a_whole_request_and_always_closes() {
        assert!(answer_once(b"GET /a HTTP/1.1\r\nHo", &Echo).is_none());
        let out = answer_once(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", &Echo).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(
            out.contains("Connection: close") && out.ends_with("/a"),
            "{out}"
        );
        let bad = String::from_utf8(answer_once(b"BLAH\r\n\r\n", &Echo).unwrap()).unwrap();
        assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    }

    #[test]
    fn consume_output_in_pieces() {
        let mut c = Connection::new();
        c.receive(b"GET /a HTTP/1.1\r\n\r\n", &Echo);
        let n = c.output().len();
        c.consume_output(5);
        assert_eq!(c.output().len(), n - 5);
        c.consume_output(usize::MAX);
        assert!(c.output().is_empty());
    }
}
