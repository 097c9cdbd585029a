//! `rayon`: blocking I/O threads (as in `threads`) that hand the work — frame decoding and
//! processing, and answering each HTTP request — to a rayon pool. What a compute pool costs
//! when used for I/O-triggered work is part of what this model measures.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{ModelInfo, ServeContext};
use crate::bridge::blocking::Threads;
use crate::bridge::{BoardState, ServeStats};

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
    fn push(&self, bytes: &[u8]) {
        let mut chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        chunks.push_back(bytes.to_vec());
    }

    fn drain_into(&self, board: &BoardState) {
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
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("rayon-{i}"))
            .build()?,
    );
    let mut threads = Threads::new(&ctx.shutdown);
    for ep in ctx.boards {
        let (board, p) = (ep.board.clone(), pool.clone());
        let queue = Arc::new(IngestQueue::default());
        threads.serial_reader(&ep.board, ep.serial, &ep.serial_path, move |bytes| {
            queue.push(bytes);
            let (q, b) = (queue.clone(), board.clone());
            p.spawn(move || q.drain_into(&b));
        })?;
        threads.watchdog(&ep.board)?;
        let (board, p) = (ep.board.clone(), pool.clone());
        threads.acceptor(&ep.board, ep.listener, move |conn, bytes| {
            p.install(|| conn.receive(bytes, &*board))
        })?;
    }
    Ok(threads.finish(
        &stats,
        || serde_json::json!({"pool_threads": pool.current_num_threads()}),
    ))
}
