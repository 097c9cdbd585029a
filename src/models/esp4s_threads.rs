//! `esp4s-threads` (teaching group): the original threaded esp4s, waiting the way it did.
//!
//! esp4s's serial thread looped `while not stopped: if port.inWaiting(): c = port.read()`:
//! ask the driver how many bytes are waiting, read one if there is one, and ask again at
//! once. Nothing in that loop ever blocks, so the thread is runnable all the time and pins a
//! core even when the board is silent. Its HTTP side was one `BaseHTTPServer` thread that
//! answered one request per connection (HTTP/1.0 style) and wrote board commands to the port
//! itself.
//!
//! Here: per board one thread that calls `ioctl(FIONREAD)` and reads one byte when it says
//! there is one, in a loop without sleeping, assembling the line byte by byte and handing each
//! complete line to the shared `Board::ingest`; one HTTP thread that accepts, answers one
//! request with `Connection: close` and closes (commands reach the port from that thread,
//! through the board); and the shared watchdog thread. Only the waiting differs from the
//! other models: decoding, normalisation and the answers are the shared bridge's.
//!
//! It must still stop promptly: the spin checks a flag on every turn, which the main thread
//! sets when the shutdown signal (SIGTERM, or the driver's death through PR_SET_PDEATHSIG)
//! fires.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown as NetShutdown, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::blocking_io::{is_transient_accept_error, spawn_named, wait_readable, watchdog_loop};
use super::{ModelInfo, ServeContext, Teaching};
use crate::bridge::http::{parse_request, write_response, Method, Parse};
use crate::bridge::serial::{classify_read, open_serial, Backoff, ReadOutcome};
use crate::bridge::{Board, ServeStats, Shutdown};

pub const INFO: ModelInfo = ModelInfo {
    name: "esp4s-threads",
    description: "the original esp4s: a serial thread asking FIONREAD and reading one byte, \
                  never sleeping; one HTTP thread, one request per connection",
    run,
};

pub const TEACHING: Teaching = Teaching {
    name: INFO.name,
    reason: "spins: polls the port for waiting bytes without ever blocking, as the threaded \
             esp4s did, so it pins a core",
};

/// A line longer than this is handed to the decoder in pieces (it rejects it anyway; a real
/// frame is at most 76 bytes), so a board sending garbage without newlines cannot grow the
/// buffer without bound.
const MAX_LINE: usize = 1024;

/// How long the single HTTP thread waits for a connected client to send its request. Like
/// `BaseHTTPServer`, one slow client holds up everybody; unlike it, not forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Counters of the spin, reported in the `runtime` statistics.
#[derive(Default)]
struct SpinCounters {
    /// `FIONREAD` calls: one per turn of the loop, the cost of polling.
    fionread_calls: AtomicU64,
    /// Turns that found nothing waiting (the wasted ones).
    empty_polls: AtomicU64,
    /// One-byte reads.
    byte_reads: AtomicU64,
    /// Connections answered (one request each).
    connections: AtomicU64,
}

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(SpinCounters::default());
    let mut threads = Vec::new();
    for ep in ctx.boards {
        let i = ep.board.index();
        let (board, sd, st, c) = (
            ep.board.clone(),
            shutdown.clone(),
            stop.clone(),
            counters.clone(),
        );
        threads.push(spawn_named(&format!("serial-spin-{i}"), move || {
            spin_reader(&board, ep.serial, &ep.serial_path, &st, &sd, &c)
        })?);
        let (board, st) = (ep.board.clone(), stop.clone());
        threads.push(spawn_named(&format!("watchdog-{i}"), move || {
            watchdog_loop(&board, &st)
        })?);
        let (board, sd, c) = (ep.board.clone(), shutdown.clone(), counters.clone());
        let listener = ep.listener;
        threads.push(spawn_named(&format!("http-{i}"), move || {
            one_request_server(&listener, &board, &sd, &c)
        })?);
    }
    while !shutdown.wait_timeout(Duration::from_secs(3600)) {}
    stop.store(true, Ordering::Relaxed);
    let threads_before = super::process_threads();
    for t in threads {
        let _ = t.join();
    }
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(stats.collect(serde_json::json!({
        "threads_before_shutdown": threads_before,
        "fionread_calls": load(&counters.fionread_calls),
        "empty_polls": load(&counters.empty_polls),
        "byte_reads": load(&counters.byte_reads),
        "connections": load(&counters.connections),
    })))
}

/// Bytes the driver holds for `fd` (`FIONREAD`, pyserial's `inWaiting`). An error means the
/// device is gone (a hung-up tty answers EIO).
fn bytes_waiting(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the valid pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.max(0) as usize)
}

/// The esp4s serial loop: poll, read one byte, append, hand over complete lines; never sleep.
fn spin_reader(
    board: &Board,
    mut serial: File,
    path: &Path,
    stop: &AtomicBool,
    shutdown: &Shutdown,
    counters: &SpinCounters,
) {
    let mut line = Vec::with_capacity(128);
    let mut backoff = Backoff::new();
    while !stop.load(Ordering::Relaxed) {
        counters.fionread_calls.fetch_add(1, Ordering::Relaxed);
        let byte = match bytes_waiting(serial.as_fd()) {
            Ok(0) => {
                counters.empty_polls.fetch_add(1, Ordering::Relaxed);
                continue; // the mistake: ask again at once
            }
            Ok(_) => {
                let mut byte = [0u8; 1];
                counters.byte_reads.fetch_add(1, Ordering::Relaxed);
                match classify_read((&serial).read(&mut byte)) {
                    ReadOutcome::Data(_) => Ok(byte[0]),
                    ReadOutcome::Again => continue,
                    ReadOutcome::Gone(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match byte {
            Ok(b) => {
                line.push(b);
                if b == b'\n' || line.len() >= MAX_LINE {
                    board.ingest(&line);
                    line.clear();
                }
            }
            Err(e) => {
                board.serial_lost(&e);
                line.clear();
                drop(serial);
                serial = loop {
                    if shutdown.wait_timeout(backoff.next_delay()) {
                        return;
                    }
                    if let Ok(f) = open_serial(path) {
                        board.note_reconnect();
                        if board.serial_opened(&f).is_ok() {
                            backoff.reset();
                            break f;
                        }
                    }
                };
            }
        }
    }
}

/// The `BaseHTTPServer` side: one thread, one connection at a time, one request each.
fn one_request_server(
    listener: &TcpListener,
    board: &Board,
    shutdown: &Shutdown,
    counters: &SpinCounters,
) {
    loop {
        if !wait_readable(listener.as_fd(), shutdown) {
            return;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                counters.connections.fetch_add(1, Ordering::Relaxed);
                answer_one(stream, board, shutdown);
            }
            Err(e) if is_transient_accept_error(&e) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => {}
        }
    }
}

/// What waiting for a client's bytes ended with.
#[derive(Debug, PartialEq, Eq)]
enum Wait {
    Readable,
    TimedOut,
    Shutdown,
}

/// Blocks until `fd` is readable, `deadline` passes or shutdown fires.
fn wait_readable_until(fd: BorrowedFd<'_>, shutdown: &Shutdown, deadline: Instant) -> Wait {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Wait::TimedOut;
        }
        let mut fds = [
            libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: shutdown.fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: two valid pollfds for the duration of the call.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Wait::Shutdown;
        }
        if fds[1].revents != 0 {
            return Wait::Shutdown;
        }
        if fds[0].revents != 0 {
            return Wait::Readable;
        }
    }
}

/// Reads one request, answers it through the shared bridge with `Connection: close`, and
/// closes the connection.
fn answer_one(mut stream: TcpStream, board: &Board, shutdown: &Shutdown) {
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut inbuf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    let mut out = Vec::with_capacity(512);
    loop {
        if wait_readable_until(stream.as_fd(), shutdown, deadline) != Wait::Readable {
            return;
        }
        let n = match (&stream).read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        inbuf.extend_from_slice(&chunk[..n]);
        match parse_request(&inbuf) {
            Parse::Partial => continue,
            Parse::Complete { request, .. } => {
                let resp = crate::bridge::conn::answer(board, &request);
                write_response(&resp, request.method == Method::Head, true, &mut out);
            }
            Parse::Error(e) => write_response(&e.response(), false, true, &mut out),
        }
        break;
    }
    if stream.write_all(&out).is_ok() {
        close_gently(&stream);
    }
}

/// `shutdown(SHUT_WR)` as `BaseHTTPServer` does, after discarding what the client already
/// sent beyond the request (closing with unread bytes would answer them with a reset that
/// can destroy the response before the client read it).
fn close_gently(stream: &TcpStream) {
    let _ = stream.shutdown(NetShutdown::Write);
    if stream.set_nonblocking(true).is_ok() {
        let mut sink = [0u8; 4096];
        while let Ok(n) = (&*stream).read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fionread_counts_waiting_bytes_and_fails_once_the_tty_hung_up() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
        assert_eq!(bytes_waiting(pty.slave.as_fd()).unwrap(), 0);
        nix::unistd::write(&pty.master, b"ESP,1\r\n").unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while bytes_waiting(pty.slave.as_fd()).unwrap() < 7 {
            assert!(Instant::now() < end, "the bytes never showed up");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(pty.master);
        assert!(bytes_waiting(pty.slave.as_fd()).is_err(), "a hung-up tty");
    }
}
