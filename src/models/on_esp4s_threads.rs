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
//! complete line to the shared `BoardState::ingest`; one HTTP thread that accepts, answers one
//! request with `Connection: close` and closes (commands reach the port from that thread,
//! through the board); and the shared watchdog thread. Only the waiting differs from the
//! other models: decoding, normalisation and the answers are the shared bridge's.
//!
//! It must still stop promptly: the spin checks a flag on every turn, which the main thread
//! sets when the shutdown signal (SIGTERM, or the driver's death through PR_SET_PDEATHSIG)
//! fires.

use std::fs::File;
use std::io::{self, Read};
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{process_threads, ModelInfo, ServeContext, Teaching};
use crate::bridge::blocking::{accept_loop, answer_one_request, Threads};
use crate::bridge::fd_wait::bytes_waiting;
use crate::bridge::reconnect::{reopen, SerialLink, Step};
use crate::bridge::serial::{classify_read, ReadOutcome};
use crate::bridge::{BoardState, ServeStats, Shutdown};

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

/// Counters of the spin, reported in the `runtime` statistics: `FIONREAD` calls (one per
/// turn, the cost of polling), turns that found nothing (the wasted ones), one-byte reads,
/// and connections answered (one request each).
#[derive(Default)]
struct SpinCounters {
    fionread_calls: AtomicU64,
    empty_polls: AtomicU64,
    byte_reads: AtomicU64,
    connections: AtomicU64,
}

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let counters = Arc::new(SpinCounters::default());
    let mut threads = Threads::new(&ctx.shutdown);
    for ep in ctx.boards {
        let i = ep.board.index();
        let (board, sd, c) = (ep.board.clone(), ctx.shutdown.clone(), counters.clone());
        let stop = threads.stop_flag();
        threads.spawn(&format!("serial-spin-{i}"), move || {
            spin_reader(&board, ep.serial, &ep.serial_path, &stop, &sd, &c)
        })?;
        threads.watchdog(&ep.board)?;
        let (board, sd, c) = (ep.board.clone(), ctx.shutdown.clone(), counters.clone());
        let listener: TcpListener = ep.listener;
        threads.spawn(&format!("http-{i}"), move || {
            accept_loop(&listener, &sd, |stream| {
                c.connections.fetch_add(1, Ordering::Relaxed);
                answer_one_request(stream, &*board, &sd, REQUEST_TIMEOUT);
            })
        })?;
    }
    let threads_before = threads.stop_and_join(process_threads);
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(stats.collect(serde_json::json!({
        "threads_before_shutdown": threads_before,
        "fionread_calls": load(&counters.fionread_calls),
        "empty_polls": load(&counters.empty_polls),
        "byte_reads": load(&counters.byte_reads),
        "connections": load(&counters.connections),
    })))
}

/// The esp4s serial loop: poll, read one byte, append, hand over complete lines; never
/// sleep. Only a vanished device is waited for, with the shared reconnect policy.
fn spin_reader(
    board: &BoardState,
    serial: File,
    path: &Path,
    stop: &AtomicBool,
    shutdown: &Shutdown,
    counters: &SpinCounters,
) {
    let mut link = SerialLink::new(Ok(serial));
    let mut line = Vec::with_capacity(128);
    while !stop.load(Ordering::Relaxed) {
        match link.next_step() {
            Step::Read(port) => match poll_one_byte(port, counters) {
                None => {} // the mistake: nothing there, so ask again at once
                Some(Ok(b)) => {
                    line.push(b);
                    if b == b'\n' || line.len() >= MAX_LINE {
                        board.ingest(&line);
                        line.clear();
                    }
                }
                Some(Err(e)) => {
                    line.clear();
                    link.lost(e);
                }
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

/// One turn of the spin: `inWaiting()`, then `read(1)` if it said a byte is there.
fn poll_one_byte(port: &File, counters: &SpinCounters) -> Option<io::Result<u8>> {
    counters.fionread_calls.fetch_add(1, Ordering::Relaxed);
    match bytes_waiting(port.as_fd()) {
        Ok(0) => {
            counters.empty_polls.fetch_add(1, Ordering::Relaxed);
            None
        }
        Ok(_) => {
            counters.byte_reads.fetch_add(1, Ordering::Relaxed);
            let mut byte = [0u8; 1];
            match classify_read((&*port).read(&mut byte)) {
                ReadOutcome::Data(_) => Some(Ok(byte[0])),
                ReadOutcome::Again => None,
                ReadOutcome::Gone(e) => Some(Err(e)),
            }
        }
        Err(e) => Some(Err(e)),
    }
}
