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
            let req =
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
            self.request = (path.to_string(), req.into_bytes());
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
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf).context("malformed HTTP answer")? {
                httparse::Status::Complete(head_len) => {
                    let status = resp.code.unwrap_or(0);
                    let mut length = None;
                    let mut chunked = false;
                    let mut close = resp.version == Some(0);
                    for h in resp.headers.iter() {
                        let v = String::from_utf8_lossy(h.value).trim().to_ascii_lowercase();
                        if h.name.eq_ignore_ascii_case("content-length") {
                            length = Some(v.parse::<usize>().context("bad Content-Length")?);
                        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = v.contains("chunked");
                        } else if h.name.eq_ignore_ascii_case("connection") {
                            if v.contains("close") {
                                close = true;
                            } else if v.contains("keep-alive") {
                                close = false;
                            }
                        }
                    }
                    self.buf.drain(..head_len);
                    let body = if chunked {
                        self.read_chunked()?
                    } else if let Some(n) = length {
                        while self.buf.len() < n {
                            if self.fill()? == 0 {
                                bail!("connection closed inside the body");
                            }
                        }
                        self.buf.drain(..n).collect()
                    } else {
                        // No framing: the body runs to the end of the connection.
                        while self.fill()? > 0 {}
                        close = true;
                        std::mem::take(&mut self.buf)
                    };
                    return Ok((Response { status, body }, !close));
                }
                httparse::Status::Partial => {
                    if self.buf.len() > 64 * 1024 {
                        bail!("HTTP answer head larger than 64 KiB");
                    }
                    if self.fill()? == 0 {
                        bail!("connection closed before an answer");
                    }
                }
            }
        }
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if self.fill()? == 0 {
                    bail!("connection closed inside a chunk header");
                }
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .with_context(|| format!("bad chunk size {size_text:?}"))?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                if self.fill()? == 0 {
                    bail!("connection closed inside a chunk");
                }
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves the given canned answers, one per request, on one connection.
    fn serve(answers: Vec<&'static [u8]>) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
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
        addr
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
    fn a_closed_connection_is_an_error_then_reconnects() {
        let addr = serve(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]);
        let mut c = HttpConn::new(addr, Duration::from_secs(2));
        c.get("/a", || {}).unwrap();
        assert!(c.get("/b", || {}).is_err());
        // The listener is gone: reconnecting fails with a clear error, not a hang.
        let e = c.get("/c", || {}).unwrap_err();
        assert!(format!("{e:#}").contains("cannot connect"), "{e:#}");
    }
}
