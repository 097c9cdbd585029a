//! `threads`: the esp4s way, with std threads. Per board one thread blocks reading the
//! serial port, one sleeps for the watchdog, one blocks in `accept`, and every connection
//! gets its own thread doing blocking reads (`bridge::blocking`). The board state sits
//! behind its mutexes.

use super::{ModelInfo, ServeContext};
use crate::bridge::blocking::Threads;
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "threads",
    description:
        "std threads: blocking serial reads, a thread per connection, state behind a mutex",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let mut threads = Threads::new(&ctx.shutdown);
    for ep in ctx.boards {
        let board = ep.board.clone();
        threads.serial_reader(&ep.board, ep.serial, &ep.serial_path, move |b| {
            board.ingest(b)
        })?;
        threads.watchdog(&ep.board)?;
        let board = ep.board.clone();
        threads.acceptor(&ep.board, ep.listener, move |conn, bytes| {
            conn.receive(bytes, &*board)
        })?;
    }
    Ok(threads.finish(&stats, || serde_json::Value::Null))
}
