//! `threads`: the esp4s way, with std threads. Per board one thread blocks reading the
//! serial port, one sleeps for the watchdog, one blocks in `accept`, and every connection
//! gets its own thread doing blocking reads. The board state sits behind its mutexes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::blocking_io::{
    accept_loop, serial_reader, serve_connection, spawn_named, watchdog_loop, ConnRegistry,
};
use super::{ModelInfo, ServeContext};
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "threads",
    description:
        "std threads: blocking serial reads, a thread per connection, state behind a mutex",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let registry = Arc::new(ConnRegistry::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for ep in ctx.boards {
        let i = ep.board.index();
        let (board, sd) = (ep.board.clone(), shutdown.clone());
        threads.push(spawn_named(&format!("serial-{i}"), move || {
            serial_reader(&board, ep.serial, &ep.serial_path, &sd, |b| board.ingest(b))
        })?);
        let (board, stop) = (ep.board.clone(), stop.clone());
        threads.push(spawn_named(&format!("watchdog-{i}"), move || {
            watchdog_loop(&board, &stop)
        })?);
        let (board, sd, reg) = (ep.board.clone(), shutdown.clone(), registry.clone());
        let listener = ep.listener;
        threads.push(spawn_named(&format!("accept-{i}"), move || {
            accept_loop(&listener, &sd, &reg, |stream, id| {
                let (board, r) = (board.clone(), reg.clone());
                let started = spawn_named("conn", move || {
                    serve_connection(stream, id, &r, board.config().limits, |conn, bytes| {
                        conn.receive(bytes, &*board)
                    })
                });
                // A thread that cannot start just drops its connection.
                if started.is_err() {
                    reg.unregister(id);
                }
            })
        })?);
    }
    while !shutdown.wait_timeout(std::time::Duration::from_secs(3600)) {}
    stop.store(true, Ordering::Relaxed);
    let runtime = serde_json::json!({"threads_before_shutdown": super::process_threads()});
    for t in threads {
        let _ = t.join();
    }
    // After the acceptors ended, so no connection can slip in behind this.
    registry.close_all();
    Ok(stats.collect(runtime))
}
