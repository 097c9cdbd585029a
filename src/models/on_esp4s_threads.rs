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
//! other models: decoding, normalisation and the answers are the shared bridge's. It must
//! still stop promptly: the loop checks a stop flag before every turn ([`spin_turn`]).

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use super::{ModelInfo, ServeContext, Teaching};
use crate::bridge::blocking::{Threads, Turn};
use crate::bridge::fd_wait::bytes_waiting;
use crate::bridge::serial::{classify_read, ReadOutcome};
use crate::bridge::{BoardState, ServeStats};

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
#[derive(Default, serde::Serialize)]
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
        let (board, c) = (ep.board.clone(), counters.clone());
        let mut line = Vec::with_capacity(128);
        let turn = move |port: &File| spin_turn(&board, port, &mut line, &c);
        threads.serial_thread("serial-spin", &ep.board, ep.serial, &ep.serial_path, turn)?;
        threads.watchdog(&ep.board)?;
        let c = counters.clone();
        let count = move || {
            c.connections.fetch_add(1, Relaxed);
        };
        threads.one_request_server(&ep.board, ep.listener, REQUEST_TIMEOUT, count)?;
    }
    Ok(threads.finish(&stats, || {
        serde_json::to_value(&*counters).expect("counters serialise")
    }))
}

/// One turn of the esp4s serial loop: `inWaiting()`, then `read(1)` if it said a byte is
/// there, appended to `line`, which goes to the board when complete. Never sleeps (only a
/// vanished device is waited for, by the shared reconnect policy); the loop checks the stop
/// flag before every turn, set once the shutdown signal (SIGTERM, or the driver's death
/// through PR_SET_PDEATHSIG) fired.
fn spin_turn(board: &BoardState, port: &File, line: &mut Vec<u8>, counters: &SpinCounters) -> Turn {
    counters.fionread_calls.fetch_add(1, Relaxed);
    let gone = match bytes_waiting(port.as_fd()) {
        Ok(0) => {
            counters.empty_polls.fetch_add(1, Relaxed);
            return Turn::Go; // the mistake: nothing there, so ask again at once
        }
        Ok(_) => {
            counters.byte_reads.fetch_add(1, Relaxed);
            let mut byte = [0u8; 1];
            match classify_read((&*port).read(&mut byte)) {
                ReadOutcome::Data(_) => {
                    line.push(byte[0]);
                    if byte[0] == b'\n' || line.len() >= MAX_LINE {
                        board.ingest(line);
                        line.clear();
                    }
                    return Turn::Go;
                }
                ReadOutcome::Again => return Turn::Go,
                ReadOutcome::Gone(e) => e,
            }
        }
        Err(e) => e,
    };
    line.clear();
    Turn::Lost(gone)
}
