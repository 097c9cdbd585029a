//! `smol`: one thread running a `LocalExecutor` on the async-io reactor — `Async<File>` for
//! the serial port, `Async<TcpListener>`/`Async<TcpStream>` sockets, `Timer` (timerfd-free,
//! nanosecond deadlines) for the watchdog.

use std::net::{TcpListener, TcpStream};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use smol::{Async, LocalExecutor, Timer};

use super::async_io_family::{serial_task, serve_connection, watchdog_task};
use super::{ModelInfo, ServeContext};
use crate::bridge::{Board, ServeStats};

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
                ex.spawn(serial_task(board.clone(), ep.serial, ep.serial_path, sleep))
                    .detach();
                ex.spawn(watchdog_task(board.clone(), sleep)).detach();
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

/// The model's timer, as the shared loops of `async_io_family` take it.
async fn sleep(d: Duration) {
    Timer::after(d).await;
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
    let half_close = |s: &Async<TcpStream>| {
        let _ = s.get_ref().shutdown(std::net::Shutdown::Write);
    };
    serve_connection(&mut stream, &board, half_close, sleep).await;
}
