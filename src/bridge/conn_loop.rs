//! The connection loop, written once: [`serve_async`] for every async model (generic over
//! the runtime's socket and timer) and [`serve_blocking`] for the thread models. Both walk
//! [`Connection::next_step`] — write, close, or read until the deadline — so the order of
//! answering, timing out and closing is the same under every model, and both end with the
//! same lingering close.
//!
//! The lingering close: after the last response (an error answered with `Connection:
//! close`, a timeout) the server stops writing and drains what the client still sends, for
//! at most [`LINGER_TIMEOUT`] and [`LINGER_BUDGET`] bytes, before closing. Closing a socket
//! with unread bytes makes the kernel answer with RST, which can destroy the response
//! before the client read it.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown as NetShutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::conn::{ConnStep, Connection, Handler, ServeLimits};

/// Bytes read from a client socket at a time.
pub const READ_CHUNK: usize = 4096;
/// How long the lingering close drains the client at most.
pub const LINGER_TIMEOUT: Duration = Duration::from_millis(500);
/// How many bytes the lingering close drains at most.
pub const LINGER_BUDGET: usize = 256 * 1024;

/// A connected client socket as an async runtime offers it.
pub trait ConnSocket {
    /// Reads some bytes (0: the peer hung up).
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>>;
    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>>;
    /// Stops writing (sends FIN) and keeps reading: the first half of the lingering close.
    fn shutdown_write(&mut self) -> impl Future<Output = ()>;
}

/// A `futures-io` socket (smol's `Async<TcpStream>`, async-std's `TcpStream`) as a
/// [`ConnSocket`]; its half-close is `shutdown(2)` on its fd.
pub struct FuturesIo<T>(pub T);

impl<T> ConnSocket for FuturesIo<T>
where
    T: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + AsRawFd,
{
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        futures_lite::AsyncReadExt::read(&mut self.0, buf).await
    }
    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        futures_lite::AsyncWriteExt::write_all(&mut self.0, buf).await
    }
    async fn shutdown_write(&mut self) {
        half_close(&self.0);
    }
}

/// Stops writing on `socket` (`shutdown(SHUT_WR)`: the peer reads EOF after the last
/// response) while it can still be read. Every runtime's half-close is this one syscall, so
/// the adapters all call it; an error (the peer is already gone) is left to the next read.
pub fn half_close(socket: &impl AsRawFd) {
    // SAFETY: plain syscall on a descriptor the caller's socket owns and keeps open.
    unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_WR) };
}

impl<T: AsRawFd> AsRawFd for FuturesIo<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

/// Serves one connection until the peer hangs up, an I/O error, or the bridge closes it.
/// `sleep` is the runtime's timer; it bounds the reads by the connection's deadline and the
/// lingering close by [`LINGER_TIMEOUT`].
///
/// One timer per connection, not one per read: the deadline moves with every request (idle
/// timeout after the last input), and arming a timer for each read and cancelling it when
/// the request came was a timer insert and cancel per poll under every async runtime. The
/// timer is kept armed across reads and only re-armed when the deadline comes earlier than
/// it (a request head in progress has the shorter header timeout) or when it fires before
/// the connection's current deadline (the deadline moved on since it was armed): on a
/// keep-alive connection polled every 33 ms it fires once per idle timeout. A read still
/// ends at the connection's deadline, as before.
pub async fn serve_async<S, F>(
    stream: &mut S,
    handler: &impl Handler,
    limits: ServeLimits,
    sleep: impl Fn(Duration) -> F,
) where
    S: ConnSocket,
    F: Future<Output = ()>,
{
    let mut conn = Connection::admit(limits);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut armed = None;
    let mut timer = std::pin::pin!(None::<F>);
    loop {
        match conn.next_step() {
            ConnStep::Write => {
                if stream.write_all(conn.output()).await.is_err() {
                    return;
                }
                conn.consume_output(usize::MAX);
            }
            ConnStep::Close => {
                stream.shutdown_write().await;
                let drain = async {
                    let mut budget = LINGER_BUDGET;
                    while budget > 0 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => budget -= n.min(budget),
                        }
                    }
                };
                futures_lite::future::or(drain, sleep(LINGER_TIMEOUT)).await;
                return;
            }
            ConnStep::Read { until } => {
                if armed.is_none_or(|at| until < at) {
                    timer.set(Some(sleep(until.saturating_duration_since(Instant::now()))));
                    armed = Some(until);
                }
                let read = async { Some(stream.read(&mut buf).await) };
                let fired = async {
                    timer.as_mut().as_pin_mut()?.await;
                    None
                };
                match futures_lite::future::or(read, fired).await {
                    None if Instant::now() >= until => conn.time_out(),
                    // Armed for an earlier deadline that has since moved on: re-arm.
                    None => armed = None,
                    Some(Ok(0) | Err(_)) => return,
                    Some(Ok(n)) => conn.receive(&buf[..n], handler),
                }
            }
        }
    }
}

/// The same loop with blocking reads bounded by `SO_RCVTIMEO`. `handle` feeds the bytes
/// to the connection (a model may run it elsewhere, as `rayon` runs it in its pool).
pub fn serve_blocking(
    stream: &mut TcpStream,
    limits: ServeLimits,
    mut handle: impl FnMut(&mut Connection, &[u8]),
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::admit(limits);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match conn.next_step() {
            ConnStep::Write => {
                if stream.write_all(conn.output()).is_err() {
                    return;
                }
                conn.consume_output(usize::MAX);
            }
            ConnStep::Close => return linger_close(stream),
            ConnStep::Read { until } => {
                let _ = stream.set_read_timeout(Some(at_least_1ms(until)));
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => handle(&mut conn, &buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        conn.time_out()
                    }
                    Err(_) => return,
                }
            }
        }
    }
}

/// Time left until `deadline`, at least 1 ms: a zero `SO_RCVTIMEO` means "block forever".
fn at_least_1ms(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// The lingering close (module doc) with blocking reads.
fn linger_close(stream: &mut TcpStream) {
    let _ = stream.shutdown(NetShutdown::Write);
    let until = Instant::now() + LINGER_TIMEOUT;
    let mut sink = [0u8; READ_CHUNK];
    let mut budget = LINGER_BUDGET;
    while budget > 0 && Instant::now() < until {
        let _ = stream.set_read_timeout(Some(at_least_1ms(until)));
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget -= n.min(budget),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::conn::tests::Echo;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        (client, server)
    }

    #[test]
    fn the_blocking_loop_answers_keeps_alive_and_lingers_after_an_error() {
        let (mut client, mut server) = pair();
        let t = std::thread::spawn(move || {
            serve_blocking(&mut server, ServeLimits::default(), |c, b| {
                c.receive(b, &Echo)
            })
        });
        client
            .write_all(b"GET /a HTTP/1.1\r\n\r\nBAD\r\n\r\n")
            .unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap(); // ends at the server's FIN
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(got.contains("HTTP/1.1 400"), "{got}");
        // The server is lingering: what we send now is drained, not answered with a reset.
        let _ = client.write_all(b"late bytes");
        drop(client);
        t.join().unwrap();
    }

    /// A socket double for the async loop: scripted reads, recorded writes.
    struct Scripted {
        reads: Vec<&'static [u8]>,
        written: Vec<u8>,
        shut: bool,
    }

    impl ConnSocket for Scripted {
        async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.reads.is_empty() {
                return Ok(0);
            }
            let r = self.reads.remove(0);
            buf[..r.len()].copy_from_slice(r);
            Ok(r.len())
        }
        async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.written.extend_from_slice(buf);
            Ok(())
        }
        async fn shutdown_write(&mut self) {
            self.shut = true;
        }
    }

    #[test]
    fn the_async_loop_walks_the_same_steps() {
        let mut s = Scripted {
            reads: vec![
                b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n",
                b"\r\nJUNK\r\n\r\n",
            ],
            written: Vec::new(),
            shut: false,
        };
        let never = |_d: Duration| std::future::pending::<()>();
        futures_lite::future::block_on(serve_async(&mut s, &Echo, ServeLimits::default(), never));
        let out = String::from_utf8(s.written).unwrap();
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
        assert!(out.contains("HTTP/1.1 400"), "{out}");
        assert!(s.shut, "an error response ends in the lingering close");
    }

    /// A socket whose reads never complete, so only the timer can end a wait.
    struct Stuck(Scripted);

    impl ConnSocket for Stuck {
        async fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
            std::future::pending().await
        }
        async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.0.write_all(buf).await
        }
        async fn shutdown_write(&mut self) {
            self.0.shut = true;
        }
    }

    /// A timer double that honours its duration: ready once it has passed (it yields to
    /// the executor until then, so the test spins for that long, no longer).
    fn real_sleep(d: Duration) -> impl Future<Output = ()> {
        let end = Instant::now() + d;
        async move {
            while Instant::now() < end {
                futures_lite::future::yield_now().await;
            }
        }
    }

    fn short_idle(idle_ms: u64) -> ServeLimits {
        ServeLimits {
            idle_timeout: Duration::from_millis(idle_ms),
            ..ServeLimits::default()
        }
    }

    #[test]
    fn the_async_loop_times_out_by_the_runtime_timer() {
        let mut stuck = Stuck(Scripted {
            reads: Vec::new(),
            written: Vec::new(),
            shut: false,
        });
        let started = Instant::now();
        let limits = short_idle(20);
        futures_lite::future::block_on(serve_async(&mut stuck, &Echo, limits, real_sleep));
        assert!(stuck.0.shut, "an idle timeout closes the connection");
        assert!(stuck.0.written.is_empty(), "between requests: no answer");
        assert!(
            started.elapsed() >= limits.idle_timeout,
            "not before the deadline"
        );
    }

    #[test]
    fn the_async_loop_arms_one_timer_per_connection_not_one_per_read() {
        let mut s = Scripted {
            reads: vec![b"GET /a HTTP/1.1\r\n\r\n"; 5],
            written: Vec::new(),
            shut: false,
        };
        let armed = std::cell::Cell::new(0);
        let counting = |_d: Duration| {
            armed.set(armed.get() + 1);
            std::future::pending::<()>()
        };
        futures_lite::future::block_on(serve_async(
            &mut s,
            &Echo,
            ServeLimits::default(),
            counting,
        ));
        let out = String::from_utf8(s.written).unwrap();
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 5, "{out}");
        assert_eq!(armed.get(), 1, "five reads, one timer");
    }

    /// Answers one request after `delay`, then never again.
    struct LateOnce {
        delay: Duration,
        served: bool,
        written: Vec<u8>,
    }

    impl ConnSocket for LateOnce {
        async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.served {
                return std::future::pending().await;
            }
            real_sleep(self.delay).await;
            self.served = true;
            let r = b"GET /a HTTP/1.1\r\n\r\n";
            buf[..r.len()].copy_from_slice(r);
            Ok(r.len())
        }
        async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            self.written.extend_from_slice(buf);
            Ok(())
        }
        async fn shutdown_write(&mut self) {}
    }

    #[test]
    fn a_timer_armed_before_the_deadline_moved_is_re_armed_not_obeyed() {
        // The timer is armed at admission for admission + idle; the request at `delay`
        // moves the deadline to delay + idle. The first expiry must not close the
        // connection: it re-arms, and the idle timeout counts from the request.
        let (delay, idle) = (Duration::from_millis(30), Duration::from_millis(40));
        let mut s = LateOnce {
            delay,
            served: false,
            written: Vec::new(),
        };
        let armed = std::cell::Cell::new(0);
        let counting = |d: Duration| {
            armed.set(armed.get() + 1);
            real_sleep(d)
        };
        let started = Instant::now();
        let limits = short_idle(idle.as_millis() as u64);
        futures_lite::future::block_on(serve_async(&mut s, &Echo, limits, counting));
        let out = String::from_utf8(s.written).unwrap();
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 1, "{out}");
        assert!(
            started.elapsed() >= delay + idle,
            "closed before the moved deadline"
        );
        // Admission, the re-arm after the early expiry, and the lingering close's own.
        assert_eq!(armed.get(), 3);
    }
}
