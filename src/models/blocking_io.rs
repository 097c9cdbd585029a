//! Blocking-I/O plumbing shared by the thread-based models (`threads`, `rayon`): not a model
//! itself. Every wait is a blocking syscall (`poll(2)`, `read(2)`, `accept(2)`,
//! `nanosleep`), never a spin.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown as NetShutdown, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bridge::conn::ServeLimits;
use crate::bridge::serial::{classify_read, open_serial, Backoff, ReadOutcome};
use crate::bridge::{Board, Connection, Shutdown};

/// Stack size for the per-connection threads (a thousand idle clients must stay cheap).
pub const CONN_STACK: usize = 256 * 1024;

/// Blocks until `fd` is readable (or hung up) or shutdown fires; false on shutdown.
pub fn wait_readable(fd: BorrowedFd<'_>, shutdown: &Shutdown) -> bool {
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
    loop {
        // SAFETY: two valid pollfds for the duration of the call.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return !shutdown.is_triggered();
        }
        return fds[1].revents == 0;
    }
}

/// Reads the serial device until shutdown, handing every chunk to `on_bytes`; reopens a
/// vanished device with backoff.
pub fn serial_reader(
    board: &Board,
    mut serial: File,
    path: &Path,
    shutdown: &Shutdown,
    mut on_bytes: impl FnMut(&[u8]),
) {
    let mut buf = vec![0u8; 4096];
    let mut backoff = Backoff::new();
    loop {
        if !wait_readable(serial.as_fd(), shutdown) {
            return;
        }
        match classify_read((&serial).read(&mut buf)) {
            ReadOutcome::Data(n) => on_bytes(&buf[..n]),
            ReadOutcome::Again => {}
            ReadOutcome::Gone(e) => {
                board.serial_lost(&e);
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

/// The watchdog: sleeps to each absolute deadline with `std::thread::sleep`. `stop` is a
/// plain flag (set once the model saw the shutdown signal) so a tick costs no extra syscall.
pub fn watchdog_loop(board: &Board, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(board.watchdog_sleep());
        board.watchdog_tick();
    }
}

/// Open client sockets, so shutdown can unblock their reader threads.
#[derive(Default)]
pub struct ConnRegistry {
    next: AtomicU64,
    open: Mutex<HashMap<u64, TcpStream>>,
}

impl ConnRegistry {
    pub fn register(&self, s: &TcpStream) -> Option<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let clone = s.try_clone().ok()?;
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, clone);
        Some(id)
    }

    pub fn unregister(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// Shuts every open socket down: blocked reads return 0 and their threads end.
    pub fn close_all(&self) {
        for (_, s) in self.open.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            let _ = s.shutdown(NetShutdown::Both);
        }
    }
}

/// Accepts until shutdown, registers each connection (here, so that `close_all` after the
/// acceptor ended reaches every connection, even one whose thread has not started yet) and
/// hands it with its registry id to `spawn`.
pub fn accept_loop(
    listener: &TcpListener,
    shutdown: &Shutdown,
    registry: &ConnRegistry,
    mut spawn: impl FnMut(TcpStream, u64),
) {
    loop {
        if !wait_readable(listener.as_fd(), shutdown) {
            return;
        }
        match listener.accept() {
            Ok((s, _)) => {
                if let Some(id) = registry.register(&s) {
                    spawn(s, id);
                }
            }
            Err(e) if is_transient_accept_error(&e) => {
                // Out of fds or a connection reset before accept: back off a little.
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => {}
        }
    }
}

/// Accept errors that concern one connection or a momentary resource shortage.
pub fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Serves one registered connection with blocking reads; `handle` feeds the bytes to the
/// connection. Unregisters it at the end.
pub fn serve_connection(
    mut stream: TcpStream,
    id: u64,
    registry: &ConnRegistry,
    limits: ServeLimits,
    mut handle: impl FnMut(&mut Connection, &[u8]),
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::admit(limits);
    let mut buf = vec![0u8; 4096];
    loop {
        if !conn.output().is_empty() {
            if stream.write_all(conn.output()).is_err() {
                break;
            }
            conn.consume_output(usize::MAX);
        }
        if conn.should_close() {
            linger_close(&mut stream);
            break;
        }
        let wait = conn
            .read_deadline()
            .saturating_duration_since(Instant::now());
        // A zero timeout would mean "block forever" to the kernel.
        let _ = stream.set_read_timeout(Some(wait.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => handle(&mut conn, &buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                conn.time_out()
            }
            Err(_) => break,
        }
    }
    registry.unregister(id);
}

/// Closes after an error response without resetting: stop writing, then drain what the
/// client still sends for a moment so the kernel does not answer it with RST (which could
/// destroy the response before the client read it).
fn linger_close(stream: &mut TcpStream) {
    let _ = stream.shutdown(NetShutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut budget = 256 * 1024;
    while budget > 0 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget -= n.min(budget),
        }
    }
}

/// Starts a named thread with the small connection stack.
pub fn spawn_named(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(CONN_STACK)
        .spawn(f)
}
