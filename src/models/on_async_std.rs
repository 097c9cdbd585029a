//! `async-std`: DISCONTINUED UPSTREAM (RUSTSEC-2025-0052; its authors point to smol). Kept as
//! a measured model behind the default-on cargo feature `async-std-model`. Tasks run on its
//! global multi-thread executor; sockets are `async_std::net`, timers `task::sleep`, and the
//! serial port is watched with `async_io::Async` — the reactor async-std itself runs on.

use std::fs::File;
use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use async_io::Async;
use async_std::net::{TcpListener, TcpStream};
use async_std::task;

use super::{process_threads, ModelInfo, ServeContext};
use crate::bridge::adapters::impl_async_accept;
use crate::bridge::async_tasks::accept_task;
use crate::bridge::conn_loop::{serve_async, FuturesIo};
use crate::bridge::open_conns::OpenConns;
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "async-std",
    description: "async-std (discontinued upstream, RUSTSEC-2025-0052): global executor, async_std::net, task::sleep watchdog",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    // Open connections, so shutdown can end their tasks: async-std's global executor
    // outlives `block_on`, and its tasks would otherwise keep sockets open after `run`.
    let open: Arc<OpenConns<RawFd>> = Arc::default();
    let result: anyhow::Result<Option<usize>> = task::block_on(async move {
        let mut tasks = Vec::new();
        for ep in ctx.boards {
            // The serial fd on async-io's reactor, as `smol` watches it (`Async<File>`).
            let board_tasks = ep.into_tasks::<Async<File>, _>(task::sleep);
            tasks.push(task::spawn(board_tasks.serial));
            tasks.push(task::spawn(board_tasks.watchdog));
            board_tasks.listener.set_nonblocking(true)?;
            let listener = TcpListener::from(board_tasks.listener);
            let board = board_tasks.board;
            let open = open.clone();
            tasks.push(task::spawn(accept_task(
                listener,
                task::sleep,
                move |stream: TcpStream| {
                    let id = open.add(stream.as_raw_fd());
                    let (board, open) = (board.clone(), open.clone());
                    let _ = stream.set_nodelay(true);
                    task::spawn(async move {
                        let mut stream = FuturesIo(stream);
                        serve_async(&mut stream, &*board, board.config().limits, task::sleep).await;
                        open.remove(id); // before the stream is dropped, closing its fd
                        drop(stream);
                    });
                    ControlFlow::Continue(())
                },
            )));
        }
        Async::new(shutdown.dup_fd()?)?.readable().await?;
        let threads = process_threads();
        for t in tasks {
            t.cancel().await;
        }
        open.close_all(|fd| {
            // SAFETY: the fd is open — a task removes it under this lock before dropping it.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        });
        anyhow::Ok(threads)
    });
    let facts = serde_json::json!({"executor": "async-std global", "discontinued_upstream": true});
    Ok(stats.collect(result?, facts))
}

impl_async_accept!(TcpListener => TcpStream);
