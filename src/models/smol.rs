//! `smol`: one thread running a `LocalExecutor` on the async-io reactor — `Async<File>` for
//! the serial port, `Async<TcpListener>`/`Async<TcpStream>` sockets, `Timer` (timerfd-free,
//! nanosecond deadlines) for the watchdog.

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, LocalExecutor, Timer};

use super::{ModelInfo, ServeContext};
use crate::bridge::serial::{classify_read, open_serial, Backoff, ReadOutcome};
use crate::bridge::{Board, Connection, ServeStats};

pub const INFO: ModelInfo = ModelInfo {
    name: "smol",
    description: "smol: single-thread LocalExecutor on the async-io reactor, Async<File> serial, Timer watchdog",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let ex = Rc::new(LocalExecutor::new());
    let main = {
        let ex = ex.clone();
        async move {
            for ep in ctx.boards {
                let board = ep.board.clone();
                ex.spawn(serial_task(board.clone(), ep.serial, ep.serial_path))
                    .detach();
                ex.spawn(watchdog_task(board.clone())).detach();
                let listener = Async::new(ep.listener)?;
                ex.spawn(accept_task(Rc::downgrade(&ex), listener, board))
                    .detach();
            }
            Async::new(shutdown.dup_fd()?)?.readable().await?;
            anyhow::Ok(())
        }
    };
    let result = smol::block_on(ex.run(main));
    let threads = super::process_threads();
    drop(ex); // drops every task, closing their sockets and fds
    result?;
    Ok(stats.collect(serde_json::json!({
        "executor": "LocalExecutor",
        "threads_before_shutdown": threads,
    })))
}

async fn serial_task(board: Arc<Board>, file: File, path: PathBuf) {
    let mut backoff = Backoff::new();
    let mut afd = match Async::new(file) {
        Ok(a) => a,
        Err(e) => {
            board.serial_lost(&e);
            reopen(&board, &path, &mut backoff).await
        }
    };
    let mut buf = vec![0u8; 4096];
    loop {
        let r = afd.read_with(|mut f: &File| f.read(&mut buf)).await;
        match classify_read(r) {
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

async fn reopen(board: &Board, path: &Path, backoff: &mut Backoff) -> Async<File> {
    loop {
        Timer::after(backoff.next_delay()).await;
        let Ok(f) = open_serial(path) else { continue };
        board.note_reconnect();
        if board.serial_opened(&f).is_err() {
            continue;
        }
        if let Ok(a) = Async::new(f) {
            backoff.reset();
            return a;
        }
    }
}

async fn watchdog_task(board: Arc<Board>) {
    loop {
        Timer::after(board.watchdog_sleep()).await;
        board.watchdog_tick();
    }
}

/// Holds the executor weakly: a strong reference from inside one of its own tasks would
/// keep it (and every socket) alive after `run` dropped it.
async fn accept_task(
    ex: Weak<LocalExecutor<'static>>,
    listener: Async<TcpListener>,
    board: Arc<Board>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => match ex.upgrade() {
                Some(ex) => ex.spawn(connection_task(stream, board.clone())).detach(),
                None => return,
            },
            Err(_) => {
                Timer::after(Duration::from_millis(5)).await;
            }
        }
    }
}

async fn connection_task(mut stream: Async<TcpStream>, board: Arc<Board>) {
    let _ = stream.get_ref().set_nodelay(true);
    let mut conn = Connection::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        conn.receive(&buf[..n], &*board);
        if !conn.output().is_empty() {
            if stream.write_all(conn.output()).await.is_err() {
                return;
            }
            conn.consume_output(usize::MAX);
        }
        if conn.should_close() {
            // Lingering close: see `blocking_io::linger_close`.
            let _ = stream.get_ref().shutdown(std::net::Shutdown::Write);
            let drain = async {
                let mut budget = 256 * 1024usize;
                while budget > 0 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => budget -= n.min(budget),
                    }
                }
            };
            smol::future::or(drain, async {
                Timer::after(Duration::from_millis(500)).await;
            })
            .await;
            return;
        }
    }
}
