//! What `smol` and `async-std` share (a helper, not a model): both watch the serial port
//! with `async_io::Async<File>` on the async-io reactor and both have `futures-io` sockets,
//! so the serial loop and the per-connection loop are the same code. Each model passes its
//! own timer (`smol::Timer`, `async_std::task::sleep`) and its own half-close, so how it
//! waits stays the model's.

use std::fs::File;
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use smol::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::bridge::serial::{classify_read, open_serial, Backoff, ReadOutcome};
use crate::bridge::{Board, Connection};

/// Reads the serial port into the board forever; reopens it with backoff when it vanishes.
pub async fn serial_task<S, F>(board: Arc<Board>, file: File, path: PathBuf, sleep: S)
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut backoff = Backoff::new();
    let mut afd = match Async::new(file) {
        Ok(a) => a,
        Err(e) => {
            board.serial_lost(&e);
            reopen(&board, &path, &mut backoff, &sleep).await
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
                afd = reopen(&board, &path, &mut backoff, &sleep).await;
            }
        }
    }
}

async fn reopen<S, F>(board: &Board, path: &Path, backoff: &mut Backoff, sleep: &S) -> Async<File>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    loop {
        sleep(backoff.next_delay()).await;
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

/// Calls `board.watchdog_tick()` each time `board.watchdog_sleep()` has passed.
pub async fn watchdog_task<S, F>(board: Arc<Board>, sleep: S)
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    loop {
        sleep(board.watchdog_sleep()).await;
        board.watchdog_tick();
    }
}

/// Serves one HTTP connection until the peer hangs up, an I/O error, or the bridge asks to
/// close — then a lingering close (see `blocking_io::linger_close`): `half_close` shuts the
/// write side, and the peer's remaining bytes are drained for at most 500 ms.
pub async fn serve_connection<T, S, F>(
    stream: &mut T,
    board: &Board,
    half_close: impl FnOnce(&T),
    sleep: S,
) where
    T: AsyncRead + AsyncWrite + Unpin,
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
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
            half_close(stream);
            let drain = async {
                let mut budget = 256 * 1024usize;
                while budget > 0 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => budget -= n.min(budget),
                    }
                }
            };
            smol::future::or(drain, sleep(Duration::from_millis(500))).await;
            return;
        }
        let wait = conn
            .read_deadline()
            .saturating_duration_since(Instant::now());
        let read = async { Some(stream.read(&mut buf).await) };
        let timed_out = async {
            sleep(wait).await;
            None
        };
        match smol::future::or(read, timed_out).await {
            None => conn.time_out(),
            Some(Ok(0) | Err(_)) => return,
            Some(Ok(n)) => conn.receive(&buf[..n], board),
        }
    }
}
