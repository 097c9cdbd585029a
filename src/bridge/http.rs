//! A small sans-io HTTP/1.1 codec on `httparse`, shared by every model.
//!
//! Models only move bytes; parsing, limits and response framing live here so that every
//! model answers malformed, oversized or pipelined requests byte-for-byte the same way.
//! Only what Scratch and Snap! need is supported: `GET`/`HEAD`, keep-alive, pipelining,
//! and `Content-Length` bodies (skipped). Anything the codec cannot frame safely ends the
//! connection after the error response, as RFC 9112 asks.

use std::fmt::Write as _;

/// Largest request head (request line + headers) accepted; more gets 431.
pub(crate) const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most header lines accepted; more gets 431.
pub(crate) const MAX_HEADERS: usize = 48;
/// Largest request body accepted (and ignored); more gets 413.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// The request method, as far as routing cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other(String),
}

/// One parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The percent-decoded path, without query string (always starts with `/`).
    pub path: String,
    /// Whether the connection may stay open after the answer (HTTP/1.1 default yes,
    /// HTTP/1.0 default no, `Connection:` overrides).
    pub keep_alive: bool,
}

/// Why a request could not be parsed; each maps to one status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// 400: not HTTP, or a header we cannot trust for framing.
    Malformed(String),
    /// 431: the head exceeds [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`].
    HeadTooLarge,
    /// 413: a body larger than [`MAX_BODY_BYTES`].
    BodyTooLarge,
    /// 501: chunked or other transfer codings.
    UnsupportedTransferEncoding,
}

impl HttpError {
    /// The status code this error is answered with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            HttpError::Malformed(_) => 400,
            HttpError::HeadTooLarge => 431,
            HttpError::BodyTooLarge => 413,
            HttpError::UnsupportedTransferEncoding => 501,
        }
    }

    /// A one-line explanation for the response body.
    pub(crate) fn reason(&self) -> String {
        match self {
            HttpError::Malformed(why) => format!("malformed request: {why}"),
            HttpError::HeadTooLarge => format!(
                "request head larger than {MAX_HEAD_BYTES} bytes or more than {MAX_HEADERS} headers"
            ),
            HttpError::BodyTooLarge => format!("request body larger than {MAX_BODY_BYTES} bytes"),
            HttpError::UnsupportedTransferEncoding => {
                "transfer codings are not supported; send Content-Length".to_string()
            }
        }
    }

    /// The error as a response (always closes the connection: framing is lost).
    pub(crate) fn response(&self) -> Response {
        Response::text(self.status(), format!("{}\n", self.reason()))
    }
}

/// The outcome of trying to parse one request from the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// A whole request (head and any body) occupies the first `consumed` bytes.
    Complete { request: Request, consumed: usize },
    /// More bytes are needed.
    Partial,
    /// The bytes cannot become a valid request; answer and close.
    Error(HttpError),
}

/// Parses the first request in `buf`, if it is complete.
pub fn parse_request(buf: &[u8]) -> Parse {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > MAX_HEAD_BYTES {
                Parse::Error(HttpError::HeadTooLarge)
            } else {
                Parse::Partial
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Parse::Error(HttpError::HeadTooLarge),
        Err(e) => return Parse::Error(HttpError::Malformed(e.to_string())),
    };
    if head_len > MAX_HEAD_BYTES {
        return Parse::Error(HttpError::HeadTooLarge);
    }
    let version = req.version.unwrap_or(1);
    let mut keep_alive = version >= 1;
    let mut body_len: Option<usize> = None;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("connection") {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            for token in v.split(',').map(str::trim) {
                match token {
                    "close" => keep_alive = false,
                    "keep-alive" => keep_alive = true,
                    _ => {}
                }
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .and_then(|s| s.parse::<usize>().ok());
            match (n, body_len) {
                (None, _) => {
                    return Parse::Error(HttpError::Malformed("bad Content-Length".into()));
                }
                (Some(n), Some(prev)) if n != prev => {
                    return Parse::Error(HttpError::Malformed(
                        "conflicting Content-Length headers".into(),
                    ));
                }
                (Some(n), _) => body_len = Some(n),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Parse::Error(HttpError::UnsupportedTransferEncoding);
        }
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY_BYTES {
        return Parse::Error(HttpError::BodyTooLarge);
    }
    if buf.len() < head_len + body_len {
        return Parse::Partial;
    }
    let method = match req.method.unwrap_or("") {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    };
    let path = match normalise_target(req.path.unwrap_or("")) {
        Ok(p) => p,
        Err(why) => return Parse::Error(HttpError::Malformed(why)),
    };
    Parse::Complete {
        request: Request {
            method,
            path,
            keep_alive,
        },
        consumed: head_len + body_len,
    }
}

/// Turns a request target into a decoded path: drops `http://host` (absolute form) and the
/// query string, then percent-decodes.
fn normalise_target(target: &str) -> Result<String, String> {
    let mut t = target;
    if let Some(rest) = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
    {
        t = rest.find('/').map_or("/", |i| &rest[i..]);
    }
    if let Some(q) = t.find(['?', '#']) {
        t = &t[..q];
    }
    if !t.starts_with('/') {
        return Err(format!("request target {target:?} is not a path"));
    }
    percent_decode(t).ok_or_else(|| format!("bad percent-encoding in {target:?}"))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An answer, before framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    /// A `text/plain` answer.
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// The standard reason phrase of the status codes this codec uses.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Appends the framed response to `out`. `head_only` answers a `HEAD` (headers only);
/// `close` adds `Connection: close`.
pub fn write_response(resp: &Response, head_only: bool, close: bool, out: &mut Vec<u8>) {
    let mut head = String::with_capacity(160);
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\n",
        resp.status,
        reason_phrase(resp.status)
    );
    if resp.status == 204 {
        // Only the CORS preflight answers 204 (RFC 9110: no Content-Length on a 204).
        head.push_str(super::routes::PREFLIGHT_HEADERS);
    } else {
        let _ = write!(
            head,
            "Content-Type: {}\r\nContent-Length: {}\r\n",
            resp.content_type,
            resp.body.len()
        );
    }
    head.push_str(
        "Access-Control-Allow-Origin: *\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n",
    );
    if resp.status == 405 {
        head.push_str("Allow: GET, HEAD, OPTIONS\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
    if !head_only {
        out.extend_from_slice(&resp.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (Request, usize) {
        match parse_request(buf) {
            Parse::Complete { request, consumed } => (request, consumed),
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_scratch_poll() {
        let raw = b"GET /poll HTTP/1.1\r\nHost: 127.0.0.1:50209\r\n\r\n";
        let (r, n) = complete(raw);
        assert_eq!(n, raw.len());
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/poll");
        assert!(r.keep_alive);
    }

    #[test]
    fn partial_until_the_blank_line() {
        assert_eq!(
            parse_request(b"GET /poll HTTP/1.1\r\nHost: x\r\n"),
            Parse::Partial
        );
        assert_eq!(parse_request(b""), Parse::Partial);
    }

    #[test]
    fn http10_closes_unless_asked_and_11_closes_when_asked() {
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
        assert!(
            complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(
            !complete(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
                .0
                .keep_alive
        );
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time() {
        let raw = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let (r1, n1) = complete(raw);
        assert_eq!(r1.path, "/a");
        let (r2, n2) = complete(&raw[n1..]);
        assert_eq!(r2.path, "/b");
        assert_eq!(n1 + n2, raw.len());
    }

    #[test]
    fn bodies_are_framed_by_content_length() {
        let raw = b"GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /y HTTP/1.1\r\n\r\n";
        let (_, n) = complete(raw);
        assert_eq!(&raw[n..n + 3], b"GET");
        assert_eq!(
            parse_request(b"GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nab"),
            Parse::Partial
        );
    }

    #[test]
    fn target_is_normalised() {
        assert_eq!(complete(b"GET /poll?x=1 HTTP/1.1\r\n\r\n").0.path, "/poll");
        assert_eq!(
            complete(b"GET http://127.0.0.1:50209/slider HTTP/1.1\r\n\r\n")
                .0
                .path,
            "/slider"
        );
        assert_eq!(
            complete(b"GET /play_tone/C%5FSharp HTTP/1.1\r\n\r\n")
                .0
                .path,
            "/play_tone/C_Sharp"
        );
    }

    #[test]
    fn malformed_requests_are_400() {
        for raw in [
            &b"HELLO\r\n\r\n"[..],
            b"GET /poll HTTP/9.9\r\n\r\n",
            b"GET /%zz HTTP/1.1\r\n\r\n",
            b"GET poll HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: lots\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"\x00\x01\x02\r\n\r\n",
        ] {
            match parse_request(raw) {
                Parse::Error(e) => assert_eq!(e.status(), 400, "{raw:?}"),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn oversized_heads_are_431() {
        let mut raw = b"GET /poll HTTP/1.1\r\nX-Big: ".to_vec();
        raw.extend(vec![b'a'; MAX_HEAD_BYTES + 10]);
        assert_eq!(parse_request(&raw), Parse::Error(HttpError::HeadTooLarge));
        raw.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_request(&raw), Parse::Error(HttpError::HeadTooLarge));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS + 1 {
            many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse_request(&many), Parse::Error(HttpError::HeadTooLarge));
    }

    #[test]
    fn other_limits() {
        let raw = format!(
            "GET / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert_eq!(
            parse_request(raw.as_bytes()),
            Parse::Error(HttpError::BodyTooLarge)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parse::Error(HttpError::UnsupportedTransferEncoding)
        );
    }

    #[test]
    fn responses_are_framed() {
        let mut out = Vec::new();
        write_response(&Response::text(200, "593"), false, false, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(s.contains("Content-Length: 3\r\n"));
        assert!(s.ends_with("\r\n\r\n593"));
        assert!(!s.contains("Connection: close"));
        // Error bodies quote the request path: never let a browser sniff them as HTML.
        assert!(s.contains("X-Content-Type-Options: nosniff\r\n"), "{s}");
        let mut out = Vec::new();
        write_response(&Response::text(400, "no"), true, true, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("Connection: close\r\n"));
        assert!(s.ends_with("\r\n\r\n"), "HEAD has no body: {s:?}");
    }
}
