//! The bridge's loops with blocking I/O, for the thread models (`threads`, `rayon`,
//! `esp4s-threads`): every wait is a blocking syscall (`poll(2)`, `read(2)`, `accept(2)`,
//! `nanosleep`), never a spin. [`Threads`] is their common skeleton: named threads with a
//! small stack, stopped and joined together when the shutdown signal fires.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown as NetShutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::accept::{after_accept_error, AcceptRetry};
use super::board::BoardState;
use super::conn::{answer_once, Connection, Handler};
use super::conn_loop::serve_blocking;
use super::fd_wait::{wait_readable, Wait};
use super::reconnect::{reopen, SerialLink, Step};
use super::serial::{classify_read, ReadOutcome, SERIAL_READ_CHUNK};
use super::shutdown::Shutdown;

/// Stack size for every thread here (a thousand idle clients must stay cheap).
pub const THREAD_STACK: usize = 256 * 1024;

/// Reads the serial device until shutdown, handing every chunk to `on_bytes`; reopens a
/// vanished device as [`SerialLink`] says, sleeping on the shutdown signal.
pub fn serial_reader(
    board: &BoardState,
    serial: File,
    path: &Path,
    shutdown: &Shutdown,
    mut on_bytes: impl FnMut(&[u8]),
) {
    let mut link = SerialLink::new(Ok(serial));
    let mut buf = vec![0u8; SERIAL_READ_CHUNK];
    loop {
        match link.next_step() {
            Step::Read(file) => {
                if wait_readable(file.as_fd(), shutdown, None) == Wait::Shutdown {
                    return;
                }
                match classify_read((&*file).read(&mut buf)) {
                    ReadOutcome::Data(n) => on_bytes(&buf[..n]),
                    ReadOutcome::Again => {}
                    ReadOutcome::Gone(e) => link.lost(e),
                }
            }
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

/// Open client sockets, so shutdown can unblock their reader threads.
#[derive(Default)]
pub struct ConnRegistry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, TcpStream>>,
}

impl ConnRegistry {
    fn register(&self, s: &TcpStream) -> Option<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let clone = s.try_clone().ok()?;
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, clone);
        Some(id)
    }

    fn unregister(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// Shuts every open socket down: blocked reads return 0 and their threads end.
    fn close_all(&self) {
        for (_, s) in self.open.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            let _ = s.shutdown(NetShutdown::Both);
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
    stop: Arc<AtomicBool>,
    shutdown: Shutdown,
    registry: Arc<ConnRegistry>,
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

    /// The shutdown signal, for the model's own loops.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// A plain flag set once the shutdown signal fired, for loops that never block on it
    /// (a watchdog tick, a spin) so that checking it costs no syscall.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
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

    /// The serial reader thread ([`serial_reader`]).
    pub fn serial_reader(
        &mut self,
        board: &Arc<BoardState>,
        serial: File,
        path: &Path,
        on_bytes: impl FnMut(&[u8]) + Send + 'static,
    ) -> io::Result<()> {
        let (board, sd, path) = (board.clone(), self.shutdown.clone(), path.to_path_buf());
        self.spawn(&format!("serial-{}", board.index()), move || {
            serial_reader(&board, serial, &path, &sd, on_bytes)
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
                let Some(id) = reg.register(&stream) else {
                    return;
                };
                let (r, handle) = (reg.clone(), handle.clone());
                let started = spawn_named("conn", move || {
                    serve_blocking(&mut stream, limits, handle);
                    r.unregister(id);
                });
                // A thread that cannot start just drops its connection.
                if started.is_err() {
                    reg.unregister(id);
                }
            })
        })
    }

    /// Blocks until the shutdown signal, sets the stop flag, runs `before_join` (the
    /// model's last look, e.g. its thread count), joins every thread and then shuts the
    /// remaining connections down (after the acceptors ended, so none slips in behind).
    pub fn stop_and_join<T>(self, before_join: impl FnOnce() -> T) -> T {
        while !self.shutdown.wait_timeout(Duration::from_secs(3600)) {}
        self.stop.store(true, Ordering::Relaxed);
        let seen = before_join();
        for t in self.handles {
            let _ = t.join();
        }
        self.registry.close_all();
        seen
    }
}

/// Starts a named thread with the small stack.
fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(THREAD_STACK)
        .spawn(f)
}
