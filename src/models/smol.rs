//! `smol`: one thread running a `LocalExecutor` on the async-io reactor — `Async<File>` for
//! the serial port, `Async<TcpListener>`/`Async<TcpStream>` sockets, `Timer` (timerfd-free,
//! nanosecond deadlines) for the watchdog.
//!
//! The executor runs under `smol::block_on` (async-io's), as smol's own examples do: while
//! idle the main thread itself waits in the reactor, so an event wakes the thread that runs
//! its task. async-io also starts its fallback "async-io" thread with the reactor; while any
//! `block_on` is active that thread polls for reactor ticks with a backoff of 50 µs to 10 ms
//! before it blocks, which is where its ~2 wake-ups per event come from (docs/model-costs.md).
//! `ESBENCH_SMOL_BLOCK_ON=futures-lite` runs the same executor under `smol::future::block_on`
//! instead (the main thread only parks; the "async-io" thread alone drives the reactor), the
//! variant measured there; the row's `runtime.block_on` says which ran.

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
    let block_on = BlockOn::from_env()?;
    let result = match block_on {
        BlockOn::AsyncIo => smol::block_on(ex.run(main)),
        BlockOn::FuturesLite => smol::future::block_on(ex.run(main)),
    };
    let threads = super::process_threads();
    drop(ex); // drops every task, closing their sockets and fds
    result?;
    Ok(stats.collect(serde_json::json!({
        "executor": "LocalExecutor",
        "block_on": block_on.name(),
        "threads_before_shutdown": threads,
    })))
}

/// Which `block_on` runs the executor (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockOn {
    AsyncIo,
    FuturesLite,
}

/// The variant switch: unset or `async-io` is the default.
const BLOCK_ON_ENV: &str = "ESBENCH_SMOL_BLOCK_ON";

impl BlockOn {
    fn from_env() -> anyhow::Result<BlockOn> {
        Self::parse(std::env::var(BLOCK_ON_ENV).ok().as_deref())
    }

    fn parse(v: Option<&str>) -> anyhow::Result<BlockOn> {
        match v {
            None | Some("") | Some("async-io") => Ok(BlockOn::AsyncIo),
            Some("futures-lite") => Ok(BlockOn::FuturesLite),
            Some(other) => anyhow::bail!(
                "{BLOCK_ON_ENV}={other:?}: expected \"async-io\" (the default) or \"futures-lite\""
            ),
        }
    }

    fn name(self) -> &'static str {
        match self {
            BlockOn::AsyncIo => "async-io",
            BlockOn::FuturesLite => "futures-lite",
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_on_switch_defaults_to_async_io_and_refuses_typos() {
        assert_eq!(BlockOn::parse(None).unwrap(), BlockOn::AsyncIo);
        assert_eq!(BlockOn::parse(Some("")).unwrap(), BlockOn::AsyncIo);
        assert_eq!(BlockOn::parse(Some("async-io")).unwrap(), BlockOn::AsyncIo);
        assert_eq!(
            BlockOn::parse(Some("futures-lite")).unwrap(),
            BlockOn::FuturesLite
        );
        let e = BlockOn::parse(Some("futures_lite")).unwrap_err();
        assert!(format!("{e}").contains("ESBENCH_SMOL_BLOCK_ON"), "{e}");
    }
}
