//! `rayon`: blocking I/O threads (as in `threads`) that hand the work — frame decoding and
//! processing, and answering each HTTP request — to a rayon pool. What a compute pool costs
//! when used for I/O-triggered work is part of what this model measures.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::blocking_io::{
    accept_loop, serial_reader, serve_connection, spawn_named, watchdog_loop, ConnRegistry,
};
use super::{ModelInfo, ServeContext};
use crate::bridge::{Board, ServeStats};

pub const INFO: ModelInfo = ModelInfo {
    name: "rayon",
    description: "blocking I/O threads hand frame processing and request handling to a rayon pool",
    run,
};

/// Serial chunks waiting for the pool, per board. A pool job drains the queue while holding
/// `order`, so chunks reach the decoder in arrival order even when two jobs run at once.
#[derive(Default)]
struct IngestQueue {
    chunks: Mutex<VecDeque<Vec<u8>>>,
    order: Mutex<()>,
}

impl IngestQueue {
    fn drain_into(&self, board: &Board) {
        let _order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let next = self
                .chunks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            match next {
                Some(c) => board.ingest(&c),
                None => return,
            }
        }
    }
}

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("rayon-{i}"))
            .build()?,
    );
    let registry = Arc::new(ConnRegistry::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for ep in ctx.boards {
        let i = ep.board.index();
        let (board, sd, p) = (ep.board.clone(), shutdown.clone(), pool.clone());
        let queue = Arc::new(IngestQueue::default());
        threads.push(spawn_named(&format!("serial-{i}"), move || {
            serial_reader(&board, ep.serial, &ep.serial_path, &sd, |bytes| {
                queue
                    .chunks
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_back(bytes.to_vec());
                let (q, b) = (queue.clone(), board.clone());
                p.spawn(move || q.drain_into(&b));
            })
        })?);
        let (board, stop) = (ep.board.clone(), stop.clone());
        threads.push(spawn_named(&format!("watchdog-{i}"), move || {
            watchdog_loop(&board, &stop)
        })?);
        let (board, sd, reg, p) = (
            ep.board.clone(),
            shutdown.clone(),
            registry.clone(),
            pool.clone(),
        );
        let listener = ep.listener;
        threads.push(spawn_named(&format!("accept-{i}"), move || {
            accept_loop(&listener, &sd, &reg, |stream, id| {
                let (board, r, p) = (board.clone(), reg.clone(), p.clone());
                let started = spawn_named("conn", move || {
                    serve_connection(stream, id, &r, board.config().limits, |conn, bytes| {
                        p.install(|| conn.receive(bytes, &*board))
                    })
                });
                if started.is_err() {
                    reg.unregister(id);
                }
            })
        })?);
    }
    while !shutdown.wait_timeout(std::time::Duration::from_secs(3600)) {}
    stop.store(true, Ordering::Relaxed);
    let runtime = serde_json::json!({
        "pool_threads": pool.current_num_threads(),
        "threads_before_shutdown": super::process_threads(),
    });
    for t in threads {
        let _ = t.join();
    }
    registry.close_all();
    Ok(stats.collect(runtime))
}
