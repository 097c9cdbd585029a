//! `async-std`: DISCONTINUED UPSTREAM (RUSTSEC-2025-0052; its authors point to smol). Kept as
//! a measured model behind the default-on cargo feature `async-std-model`. Tasks run on its
//! global multi-thread executor; sockets are `async_std::net`, timers `task::sleep`, and the
//! serial port is watched with `async_io::Async` — the reactor async-std itself runs on.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_io::Async;
use async_std::net::{TcpListener, TcpStream};
use async_std::task;

use super::{process_threads, ModelInfo, ServeContext};
use crate::bridge::async_tasks::{accept_task, serial_task, watchdog_task, AsyncAccept};
use crate::bridge::conn_loop::{serve_async, FuturesIo};
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "async-std",
    description: "async-std (discontinued upstream, RUSTSEC-2025-0052): global executor, async_std::net, task::sleep watchdog",
    run,
};

/// Open connections, so shutdown can end their tasks: async-std's global executor outlives
/// `block_on`, and its tasks would otherwise keep sockets open after the model returned.
#[derive(Default)]
struct Open {
    next: AtomicU64,
    fds: Mutex<HashMap<u64, RawFd>>,
}

impl Open {
    fn add(&self, fd: RawFd) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.fds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, fd);
        id
    }

    fn remove(&self, id: u64) {
        self.fds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// Shuts every open connection down; held under the lock so no fd is closed meanwhile.
    fn shutdown_all(&self) {
        let fds = self.fds.lock().unwrap_or_else(|p| p.into_inner());
        for fd in fds.values() {
            // SAFETY: the fd is open — a task removes it under this lock before dropping.
            unsafe { libc::shutdown(*fd, libc::SHUT_RDWR) };
        }
    }
}

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let open = Arc::new(Open::default());
    let result: anyhow::Result<Option<usize>> = task::block_on(async move {
        let mut tasks = Vec::new();
        for ep in ctx.boards {
            let board = ep.board.clone();
            // The serial fd on async-io's reactor, as `smol` watches it (`Async<File>`).
            let serial = serial_task::<Async<File>, _>(
                board.clone(),
                ep.serial,
                ep.serial_path,
                task::sleep,
            );
            tasks.push(task::spawn(serial));
            tasks.push(task::spawn(watchdog_task(board.clone(), task::sleep)));
            ep.listener.set_nonblocking(true)?;
            let listener = TcpListener::from(ep.listener);
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
        open.shutdown_all();
        anyhow::Ok(threads)
    });
    Ok(stats.collect(serde_json::json!({
        "executor": "async-std global",
        "discontinued_upstream": true,
        "threads_before_shutdown": result?,
    })))
}

impl AsyncAccept for TcpListener {
    type Stream = TcpStream;
    async fn accept(&self) -> io::Result<TcpStream> {
        Ok(TcpListener::accept(self).await?.0)
    }
}
