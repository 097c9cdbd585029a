//! The per-connection HTTP state machine, sans-io.
//!
//! A model feeds whatever bytes its socket produced into [`Connection::receive`], writes out
//! [`Connection::output`], and closes the socket once [`Connection::should_close`] says so
//! and the output is flushed. Requests are answered strictly in order, so pipelining is safe.

use super::http::{parse_request, write_response, Method, Parse, Request, Response};

/// Something that answers parsed requests (the board, or a test double).
pub trait Handler {
    fn handle(&self, request: &Request) -> Response;
}

/// Bytes in, responses out, for one TCP connection.
#[derive(Debug, Default)]
pub struct Connection {
    inbuf: Vec<u8>,
    out: Vec<u8>,
    closing: bool,
    requests: u64,
}

impl Connection {
    pub fn new() -> Connection {
        Connection::default()
    }

    /// Takes bytes read from the socket, answers every complete request in them (in order)
    /// and queues the responses. After a request that ends the connection, further input is
    /// ignored.
    pub fn receive(&mut self, bytes: &[u8], handler: &impl Handler) {
        if self.closing {
            return;
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
    }

    /// Bytes waiting to be written to the socket.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Marks the first `n` bytes of [`Connection::output`] as written.
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Takes all pending output at once (for models that write it with one `write_all`).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// True once the connection must end after the pending output is flushed.
    pub fn should_close(&self) -> bool {
        self.closing
    }

    /// Complete requests seen on this connection.
    pub fn requests(&self) -> u64 {
        self.requests
    }
}

/// The answer to one parsed request, by method: GET and HEAD go to the routes, OPTIONS is
/// the CORS preflight, anything else 405. Every model answers through here, so none of
/// them differs in which methods it takes.
pub fn answer(handler: &impl Handler, request: &Request) -> Response {
    match request.method {
        Method::Get | Method::Head => handler.handle(request),
        Method::Other(ref m) if m == "OPTIONS" => super::routes::preflight(),
        Method::Other(ref m) => Response::text(405, format!("method {m} not allowed; use GET\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
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

    #[test]
    fn malformed_input_answers_400_then_closes_and_ignores_the_rest() {
        let mut c = Connection::new();
        c.receive(
            b"GET /a HTTP/1.1\r\n\r\nBLAH BLAH\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
            &Echo,
        );
        let out = String::from_utf8(c.take_output()).unwrap();
        assert!(out.contains("HTTP/1.1 200 OK"));
        assert!(out.contains("HTTP/1.1 400 Bad Request"));
        assert!(!out.contains("/b"));
        assert!(c.should_close());
        c.receive(b"GET /c HTTP/1.1\r\n\r\n", &Echo);
        assert!(c.output().is_empty());
    }

    #[test]
    fn connection_close_is_honoured() {
        let mut c = Connection::new();
        c.receive(b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n", &Echo);
        assert!(c.should_close());
        assert!(String::from_utf8_lossy(c.output()).contains("Connection: close"));
    }

    #[test]
    fn other_methods_get_405_and_keep_the_connection() {
        let mut c = Connection::new();
        c.receive(
            b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n\r\n",
            &Echo,
        );
        let out = String::from_utf8(c.take_output()).unwrap();
        assert!(out.starts_with("HTTP/1.1 405"));
        assert!(out.contains("Allow: GET, HEAD"));
        assert!(out.ends_with("/b"));
        assert!(!c.should_close());
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
