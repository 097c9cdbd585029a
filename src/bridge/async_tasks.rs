//! The bridge's tasks for every async model, written once and generic over how the runtime
//! waits: its serial readiness ([`AsyncSerial`]), its listener ([`AsyncAccept`]), its
//! client sockets (`conn_loop::ConnSocket`) and its timer (`sleep`). A model implements
//! those for its runtime's types and spawns these tasks its own way.

use std::fs::File;
use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::accept::{after_accept_error, AcceptRetry};
use super::board::BoardState;
use super::conn_loop::{serve_async, ConnSocket};
use super::launch::BoardEndpoint;
use super::net::set_nodelay;
use super::reconnect::{reopen, SerialLink, Step};
use super::serial::{classify_read, ReadOutcome, SERIAL_READ_CHUNK};

/// The serial fd as a runtime watches it.
pub trait AsyncSerial: Sized {
    /// Wraps the open (raw, non-blocking) device for the runtime (registers it with its
    /// reactor, or keeps it as is).
    fn register(file: File) -> io::Result<Self>;
    /// Waits the runtime's way until the device is readable, then reads it.
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>>;
}

/// A listening socket as a runtime accepts on it.
pub trait AsyncAccept {
    type Stream;
    fn accept(&self) -> impl Future<Output = io::Result<Self::Stream>>;
}

/// One board's tasks for an async model, made of its endpoint: the serial reader and the
/// watchdog, on the runtime's timer. The model spawns them its own way, and makes its
/// runtime's listener of `listener` for [`accept_task`].
pub struct BoardTasks<S, W> {
    pub board: Arc<BoardState>,
    pub serial: S,
    pub watchdog: W,
    pub listener: TcpListener,
}

impl BoardEndpoint {
    /// This board's [`BoardTasks`], its device watched as `P` watches it.
    pub fn into_tasks<P, F>(
        self,
        sleep: impl Fn(Duration) -> F + Copy,
    ) -> BoardTasks<impl Future<Output = ()>, impl Future<Output = ()>>
    where
        P: AsyncSerial,
        F: Future<Output = ()>,
    {
        BoardTasks {
            serial: serial_task::<P, _>(self.board.clone(), self.serial, self.serial_path, sleep),
            watchdog: watchdog_task(self.board.clone(), sleep),
            board: self.board,
            listener: self.listener,
        }
    }
}

/// Serves one accepted connection of `board` to its end (`conn_loop::serve_async`), with
/// Nagle's algorithm off, as under every model.
pub async fn serve_connection<S, F>(
    mut stream: S,
    board: Arc<BoardState>,
    sleep: impl Fn(Duration) -> F,
) where
    S: ConnSocket + AsRawFd,
    F: Future<Output = ()>,
{
    set_nodelay(&stream);
    serve_async(&mut stream, &*board, board.config().limits, sleep).await
}

/// Reads the serial port into the board forever; reopens it as [`SerialLink`] says,
/// sleeping on the runtime's timer.
pub async fn serial_task<P, F>(
    board: Arc<BoardState>,
    file: File,
    path: PathBuf,
    sleep: impl Fn(Duration) -> F,
) where
    P: AsyncSerial,
    F: Future<Output = ()>,
{
    let mut link = SerialLink::new(P::register(file));
    let mut buf = vec![0u8; SERIAL_READ_CHUNK];
    loop {
        match link.next_step() {
            Step::Read(port) => match classify_read(port.read(&mut buf).await) {
                ReadOutcome::Data(n) => board.ingest(&buf[..n]),
                ReadOutcome::Again => {}
                ReadOutcome::Gone(e) => link.lost(e),
            },
            Step::Report(e) => board.serial_lost(&e),
            Step::Wait(d) => sleep(d).await,
            Step::Open => link.open_result(reopen(&board, &path, P::register)),
        }
    }
}

/// Calls `board.watchdog_tick()` each time `board.watchdog_sleep()` has passed.
pub async fn watchdog_task<F>(board: Arc<BoardState>, sleep: impl Fn(Duration) -> F)
where
    F: Future<Output = ()>,
{
    loop {
        sleep(board.watchdog_sleep()).await;
        board.watchdog_tick();
    }
}

/// Accepts forever under the one accept-error policy (`bridge::accept`), handing each
/// connection to `spawn`; ends when `spawn` breaks (its executor is gone).
pub async fn accept_task<L, F>(
    listener: L,
    sleep: impl Fn(Duration) -> F,
    mut spawn: impl FnMut(L::Stream) -> ControlFlow<()>,
) where
    L: AsyncAccept,
    F: Future<Output = ()>,
{
    loop {
        match listener.accept().await {
            Ok(stream) => {
                if spawn(stream).is_break() {
                    return;
                }
            }
            Err(e) => {
                if let AcceptRetry::After(d) = after_accept_error(&e) {
                    sleep(d).await;
                }
            }
        }
    }
}
