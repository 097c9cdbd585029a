//! The tokio code shared by `tokio` (multi-thread) and `tokio-current` (current-thread):
//! not a model itself, so neither model imports the other. The two differ only in the
//! runtime they build. Serial readiness comes from `AsyncFd`, timers from `tokio::time`,
//! sockets from `tokio::net`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::ServeContext;
use crate::bridge::serial::{classify_read, open_serial, Backoff, ReadOutcome};
use crate::bridge::{Board, Connection, ServeStats};

/// Serves `ctx` on `rt` until shutdown, then drops every task with the runtime.
pub fn serve(
    rt: tokio::runtime::Runtime,
    ctx: ServeContext,
    runtime_info: serde_json::Value,
) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let result = rt.block_on(async move {
        for ep in ctx.boards {
            let board = ep.board.clone();
            tokio::spawn(serial_task(board.clone(), ep.serial, ep.serial_path));
            tokio::spawn(watchdog_task(board.clone()));
            ep.listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(ep.listener)?;
            tokio::spawn(accept_task(listener, board));
        }
        let stop = register(shutdown.dup_fd()?)?;
        let _ready = stop.readable().await?;
        anyhow::Ok(())
    });
    let threads = super::process_threads();
    rt.shutdown_timeout(Duration::from_secs(2));
    result?;
    let mut info = runtime_info;
    info["threads_before_shutdown"] = serde_json::json!(threads);
    Ok(stats.collect(info))
}

/// Registers an owned fd (`File`, `OwnedFd`) with tokio's reactor.
fn register<T: std::os::fd::AsRawFd>(owner: T) -> std::io::Result<AsyncFd<T>> {
    // SAFETY: `owner` owns its descriptor, and the AsyncFd keeps it (never closed or
    // replaced) until the AsyncFd itself is dropped.
    unsafe { Ok(AsyncFd::register(owner)?) }
}

async fn serial_task(board: Arc<Board>, file: File, path: PathBuf) {
    let mut backoff = Backoff::new();
    let mut afd = match register(file) {
        Ok(a) => a,
        Err(e) => {
            board.serial_lost(&e);
            reopen(&board, &path, &mut backoff).await
        }
    };
    let mut buf = vec![0u8; 4096];
    loop {
        let outcome = match afd.readable().await {
            Ok(mut guard) => match guard.try_io(|inner| inner.get_ref().read(&mut buf)) {
                Ok(r) => classify_read(r),
                Err(_would_block) => continue,
            },
            Err(e) => ReadOutcome::Gone(e),
        };
        match outcome {
            ReadOutcome::Data(n) => board.ingest(&buf[..n]),
            ReadOutcome::Again => {}
            ReadOutcome::Gone(e) => {
                board.serial_lost(&e);
                drop(afd);
                afd = reopen(&board, &path, &mut backoff).await;
            }
        }
    }
}

async fn reopen(board: &Board, path: &Path, backoff: &mut Backoff) -> AsyncFd<File> {
    loop {
        tokio::time::sleep(backoff.next_delay()).await;
        let Ok(f) = open_serial(path) else { continue };
        board.note_reconnect();
        if board.serial_opened(&f).is_err() {
            continue;
        }
        if let Ok(a) = register(f) {
            backoff.reset();
            return a;
        }
    }
}

async fn watchdog_task(board: Arc<Board>) {
    loop {
        tokio::time::sleep(board.watchdog_sleep()).await;
        board.watchdog_tick();
    }
}

async fn accept_task(listener: TcpListener, board: Arc<Board>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection_task(stream, board.clone()));
            }
            // Out of fds and the like: let other tasks run, then retry.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn connection_task(mut stream: TcpStream, board: Arc<Board>) {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::admit(board.config().limits);
    let mut buf = vec![0u8; 4096];
    loop {
        if !conn.output().is_empty() {
            if stream.write_all(conn.output()).await.is_err() {
                return;
            }
            conn.consume_output(usize::MAX);
        }
        if conn.should_close() {
            // Lingering close: see `blocking_io::linger_close`.
            let _ = stream.shutdown().await;
            let drain = async {
                let mut budget = 256 * 1024usize;
                while budget > 0 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => budget -= n.min(budget),
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
            return;
        }
        let deadline = tokio::time::Instant::from_std(conn.read_deadline());
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_elapsed) => conn.time_out(),
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(n)) => conn.receive(&buf[..n], &*board),
        }
    }
}
