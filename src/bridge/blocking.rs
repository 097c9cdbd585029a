//! The bridge's loops with blocking I/O, for the thread models (`threads`, `rayon`,
//! `esp4s-threads`): every wait is a blocking syscall (`poll(2)`, `read(2)`, `accept(2)`,
//! `nanosleep`), never a spin. [`Threads`] is their common skeleton: named threads with a
//! small stack, stopped and joined together when the shutdown signal fires.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown as NetShutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::accept::{after_accept_error, AcceptRetry};
use super::board::BoardState;
use super::conn::{answer_once, Connection, Handler};
use super::conn_loop::serve_blocking;
use super::fd_wait::{wait_readable, Wait};
use super::launch::{process_threads, StatsHandle};
use super::open_conns::OpenConns;
use super::reconnect::{reopen, SerialLink, Step};
use super::serial::{classify_read, ReadOutcome, SERIAL_READ_CHUNK};
use super::shutdown::Shutdown;
use super::stats::ServeStats;

/// Stack size for every thread here (a thousand idle clients must stay cheap).
pub const THREAD_STACK: usize = 256 * 1024;

/// What one turn of a thread's serial loop on the open port ended in ([`serial_loop`]).
#[derive(Debug)]
pub enum Turn {
    /// Go on: the bytes were handled, or none were there.
    Go,
    /// The device is gone; the loop reports it and reopens.
    Lost(io::Error),
    /// Shutdown: the loop ends.
    Stop,
}

/// A thread's serial link: `turn` waits on the open port, reads it and hands the bytes on,
/// its own way; a vanished device is reported and reopened as [`SerialLink`] says, sleeping
/// on the shutdown signal. Ends when `turn` says [`Turn::Stop`], when shutdown fires during
/// a back-off, or at the first turn after `stop` is set (so a `turn` that never blocks, a
/// spin, still stops promptly).
pub fn serial_loop(
    board: &BoardState,
    serial: File,
    path: &Path,
    shutdown: &Shutdown,
    stop: &AtomicBool,
    mut turn: impl FnMut(&File) -> Turn,
) {
    let mut link = SerialLink::new(Ok(serial));
    loop {
        match link.next_step() {
            Step::Read(_) if stop.load(Ordering::Relaxed) => return,
            Step::Read(file) => match turn(file) {
                Turn::Go => {}
                Turn::Lost(e) => link.lost(e),
                Turn::Stop => return,
            },
            Step::Report(e) => board.serial_lost(&e),
            Step::Wait(d) => {
                if shutdown.wait_timeout(d) {
                    return;
                }
            }
            Step::Open => link.open_result(reopen(board, path, Ok)),
        }
    }
}

/// The turn of a serial reader that waits in `poll(2)` (or on the shutdown signal) and
/// hands every chunk it reads to `on_bytes`.
fn read_when_ready(
    shutdown: Shutdown,
    mut on_bytes: impl FnMut(&[u8]),
) -> impl FnMut(&File) -> Turn {
    let mut buf = vec![0u8; SERIAL_READ_CHUNK];
    move |file| {
        if wait_readable(file.as_fd(), &shutdown, None) == Wait::Shutdown {
            return Turn::Stop;
        }
        match classify_read((&*file).read(&mut buf)) {
            ReadOutcome::Data(n) => {
                on_bytes(&buf[..n]);
                Turn::Go
            }
            ReadOutcome::Again => Turn::Go,
            ReadOutcome::Gone(e) => Turn::Lost(e),
        }
    }
}

/// Accepts on `listener` until shutdown, applying the one accept-error policy
/// (`bridge::accept`), and hands each connection to `serve`.
pub fn accept_loop(listener: &TcpListener, shutdown: &Shutdown, mut serve: impl FnMut(TcpStream)) {
    loop {
        if wait_readable(listener.as_fd(), shutdown, None) == Wait::Shutdown {
            return;
        }
        match listener.accept() {
            Ok((s, _)) => serve(s),
            Err(e) => {
                if let AcceptRetry::After(d) = after_accept_error(&e) {
                    std::thread::sleep(d);
                }
            }
        }
    }
}

/// A `BaseHTTPServer`-style connection (`esp4s-threads`): waits at most `timeout` for one
/// request, answers it with `Connection: close` (`conn::answer_once`), and closes with
/// `shutdown(SHUT_WR)` after discarding what the client sent beyond it (closing with
/// unread bytes would answer them with a reset).
pub fn answer_one_request(
    mut stream: TcpStream,
    handler: &impl Handler,
    shutdown: &Shutdown,
    timeout: Duration,
) {
    let _ = stream.set_nodelay(true);
    let deadline = Some(Instant::now() + timeout);
    let (mut inbuf, mut chunk) = (Vec::with_capacity(512), [0u8; 4096]);
    let out = loop {
        if wait_readable(stream.as_fd(), shutdown, deadline) != Wait::Readable {
            return;
        }
        match (&stream).read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => inbuf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) =>
            {
                continue
            }
            Err(_) => return,
        }
        if let Some(out) = answer_once(&inbuf, handler) {
            break out;
        }
    };
    if stream.write_all(&out).is_ok() {
        let _ = stream.shutdown(NetShutdown::Write);
        if stream.set_nonblocking(true).is_ok() {
            while let Ok(1..) = (&stream).read(&mut chunk) {}
        }
    }
}

/// The threads of one thread model.
pub struct Threads {
    handles: Vec<JoinHandle<()>>,
    /// Set once the shutdown signal fired, for loops that never block on it (a watchdog
    /// tick, a spin), so that checking it costs no syscall.
    stop: Arc<AtomicBool>,
    shutdown: Shutdown,
    /// Open client sockets (a clone of each), so shutdown can unblock their threads.
    registry: Arc<OpenConns<TcpStream>>,
}

impl Threads {
    pub fn new(shutdown: &Shutdown) -> Threads {
        Threads {
            handles: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            shutdown: shutdown.clone(),
            registry: Arc::default(),
        }
    }

    /// Starts a named thread, joined at shutdown.
    pub fn spawn(&mut self, name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
        self.handles.push(spawn_named(name, f)?);
        Ok(())
    }

    /// The watchdog thread: sleeps to each deadline with `std::thread::sleep`.
    pub fn watchdog(&mut self, board: &Arc<BoardState>) -> io::Result<()> {
        let (board, stop) = (board.clone(), self.stop.clone());
        self.spawn(&format!("watchdog-{}", board.index()), move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(board.watchdog_sleep());
                board.watchdog_tick();
            }
        })
    }

    /// The serial reader thread: blocks in `poll(2)` until the device is readable and
    /// hands every chunk it reads to `on_bytes`.
    pub fn serial_reader(
        &mut self,
        board: &Arc<BoardState>,
        serial: File,
        path: &Path,
        on_bytes: impl FnMut(&[u8]) + Send + 'static,
    ) -> io::Result<()> {
        let turn = read_when_ready(self.shutdown.clone(), on_bytes);
        self.serial_thread("serial", board, serial, path, turn)
    }

    /// A serial thread called `name-i` running [`serial_loop`] with the model's own `turn`
    /// (how it waits for and reads the device).
    pub fn serial_thread(
        &mut self,
        name: &str,
        board: &Arc<BoardState>,
        serial: File,
        path: &Path,
        turn: impl FnMut(&File) -> Turn + Send + 'static,
    ) -> io::Result<()> {
        let (board, sd, path) = (board.clone(), self.shutdown.clone(), path.to_path_buf());
        let stop = self.stop.clone();
        self.spawn(&format!("{name}-{}", board.index()), move || {
            serial_loop(&board, serial, &path, &sd, &stop, turn)
        })
    }

    /// The accept thread: each connection gets its own thread running the blocking
    /// connection loop, with `handle` feeding it the bytes read. Connections are registered
    /// by the acceptor (so shutdown reaches one whose thread has not started yet).
    pub fn acceptor<H>(
        &mut self,
        board: &BoardState,
        listener: TcpListener,
        handle: H,
    ) -> io::Result<()>
    where
        H: Fn(&mut Connection, &[u8]) + Clone + Send + 'static,
    {
        let (sd, reg, limits) = (
            self.shutdown.clone(),
            self.registry.clone(),
            board.config().limits,
        );
        self.spawn(&format!("accept-{}", board.index()), move || {
            accept_loop(&listener, &sd, |mut stream| {
                let Ok(clone) = stream.try_clone() else {
                    return;
                };
                let id = reg.add(clone);
                let (r, handle) = (reg.clone(), handle.clone());
                let started = spawn_named("conn", move || {
                    serve_blocking(&mut stream, limits, handle);
                    r.remove(id);
                });
                // A thread that cannot start just drops its connection.
                if started.is_err() {
                    reg.remove(id);
                }
            })
        })
    }

    /// The `BaseHTTPServer`-style HTTP thread (`esp4s-threads`): accepts, and answers one
    /// request per connection itself ([`answer_one_request`]), calling `on_connection` for
    /// each connection first.
    pub fn one_request_server(
        &mut self,
        board: &Arc<BoardState>,
        listener: TcpListener,
        timeout: Duration,
        on_connection: impl Fn() + Send + 'static,
    ) -> io::Result<()> {
        let (board, sd) = (board.clone(), self.shutdown.clone());
        self.spawn(&format!("http-{}", board.index()), move || {
            accept_loop(&listener, &sd, |stream| {
                on_connection();
                answer_one_request(stream, &*board, &sd, timeout);
            })
        })
    }

    /// The end every thread model shares: blocks until the shutdown signal, sets the stop
    /// flag, counts the threads, joins every thread, shuts the remaining connections down
    /// (after the acceptors ended, so none slips in behind), and collects the statistics
    /// with the model's `facts` (taken after the join, so its counters are final).
    pub fn finish(
        self,
        stats: &StatsHandle,
        facts: impl FnOnce() -> serde_json::Value,
    ) -> ServeStats {
        while !self.shutdown.wait_timeout(Duration::from_secs(3600)) {}
        self.stop.store(true, Ordering::Relaxed);
        let threads = process_threads();
        for t in self.handles {
            let _ = t.join();
        }
        // Blocked reads return 0 and their threads end.
        self.registry.close_all(|s| {
            let _ = s.shutdown(NetShutdown::Both);
        });
        stats.collect(threads, facts())
    }
}

/// Starts a named thread with the small stack.
fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(THREAD_STACK)
        .spawn(f)
}
