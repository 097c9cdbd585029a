//! `async-std`: DISCONTINUED UPSTREAM (RUSTSEC-2025-0052; its authors point to smol). Kept as
//! a measured model behind the default-on cargo feature `async-std-model`. Tasks run on its
//! global multi-thread executor; sockets are `async_std::net`, timers `task::sleep`, and the
//! serial port is watched with `async_io::Async` — the reactor async-std itself runs on.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_io::Async;
use async_std::net::{TcpListener, TcpStream};
use async_std::task;

use super::async_io_family::{serial_task, serve_connection, watchdog_task};
use super::{ModelInfo, ServeContext};
use crate::bridge::{Board, ServeStats};

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
    let open2 = open.clone();
    let result: anyhow::Result<Option<usize>> = task::block_on(async move {
        let mut tasks = Vec::new();
        for ep in ctx.boards {
            let board = ep.board.clone();
            tasks.push(task::spawn(serial_task(
                board.clone(),
                ep.serial,
                ep.serial_path,
                task::sleep,
            )));
            tasks.push(task::spawn(watchdog_task(board.clone(), task::sleep)));
            ep.listener.set_nonblocking(true)?;
            let listener = TcpListener::from(ep.listener);
            tasks.push(task::spawn(accept_task(listener, board, open2.clone())));
        }
        Async::new(shutdown.dup_fd()?)?.readable().await?;
        let threads = super::process_threads();
        for t in tasks {
            t.cancel().await;
        }
        open2.shutdown_all();
        anyhow::Ok(threads)
    });
    let threads = result?;
    Ok(stats.collect(serde_json::json!({
        "executor": "async-std global",
        "discontinued_upstream": true,
        "threads_before_shutdown": threads,
    })))
}

async fn accept_task(listener: TcpListener, board: Arc<Board>, open: Arc<Open>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let id = open.add(stream.as_raw_fd());
                let (board, open) = (board.clone(), open.clone());
                task::spawn(async move {
                    let stream = connection_task(stream, board).await;
                    open.remove(id);
                    drop(stream);
                });
            }
            Err(_) => task::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Returns the stream so it is dropped only after the caller unregistered its fd.
async fn connection_task(mut stream: TcpStream, board: Arc<Board>) -> TcpStream {
    let _ = stream.set_nodelay(true);
    let half_close = |s: &TcpStream| {
        let _ = s.shutdown(std::net::Shutdown::Write);
    };
    serve_connection(&mut stream, &board, half_close, task::sleep).await;
    stream
}
