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

use std::fs::File;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::rc::{Rc, Weak};
use std::time::Duration;

use smol::{Async, LocalExecutor, Timer};

use super::{ModelInfo, ServeContext};
use crate::bridge::adapters::impl_async_accept;
use crate::bridge::async_tasks::{accept_task, serve_connection, AsyncSerial};
use crate::bridge::conn_loop::FuturesIo;
use crate::bridge::ServeStats;

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
                let tasks = ep.into_tasks::<Async<File>, _>(sleep);
                ex.spawn(tasks.serial).detach();
                ex.spawn(tasks.watchdog).detach();
                // Held weakly: a strong reference from inside one of its own tasks would
                // keep the executor (and every socket) alive after `run` dropped it.
                let weak: Weak<LocalExecutor<'static>> = Rc::downgrade(&ex);
                let (listener, board) = (Async::new(tasks.listener)?, tasks.board);
                let accept = accept_task(listener, sleep, move |stream: Async<TcpStream>| {
                    let Some(ex) = weak.upgrade() else {
                        return ControlFlow::Break(());
                    };
                    let conn = serve_connection(FuturesIo(stream), board.clone(), sleep);
                    ex.spawn(conn).detach();
                    ControlFlow::Continue(())
                });
                ex.spawn(accept).detach();
            }
            Async::new(shutdown.dup_fd()?)?.readable().await?;
            anyhow::Ok(())
        }
    };
    let block_on = block_on_named(std::env::var(BLOCK_ON_ENV).ok().as_deref())?;
    let result = match block_on {
        "futures-lite" => smol::future::block_on(ex.run(main)),
        _ => smol::block_on(ex.run(main)),
    };
    stats.finish(result, || {
        drop(ex); // drops every task, closing their sockets and fds
        Ok(serde_json::json!({"executor": "LocalExecutor", "block_on": block_on}))
    })
}

/// The variant switch (see the module doc).
const BLOCK_ON_ENV: &str = "ESBENCH_SMOL_BLOCK_ON";

/// The `block_on` the switch's value `v` names: unset, empty or `async-io` is the default.
fn block_on_named(v: Option<&str>) -> anyhow::Result<&'static str> {
    match v {
        None | Some("") | Some("async-io") => Ok("async-io"),
        Some("futures-lite") => Ok("futures-lite"),
        Some(other) => anyhow::bail!(
            "{BLOCK_ON_ENV}={other:?}: expected \"async-io\" (the default) or \"futures-lite\""
        ),
    }
}

/// The model's timer, as the bridge's loops take it.
async fn sleep(d: Duration) {
    Timer::after(d).await;
}

/// The async-io reactor's serial fd; `async-std` runs on the same reactor and uses this too.
impl AsyncSerial for Async<File> {
    fn register(file: File) -> io::Result<Self> {
        Async::new(file)
    }
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|mut f: &File| f.read(buf)).await
    }
}

impl_async_accept!(Async<TcpListener> => Async<TcpStream>);

#[cfg(test)]
mod tests {
    #[test]
    fn the_block_on_switch_defaults_to_async_io_and_refuses_typos() {
        for (v, named) in [
            (None, "async-io"),
            (Some(""), "async-io"),
            (Some("async-io"), "async-io"),
            (Some("futures-lite"), "futures-lite"),
        ] {
            assert_eq!(super::block_on_named(v).unwrap(), named);
        }
        let e = super::block_on_named(Some("futures_lite")).unwrap_err();
        assert!(format!("{e}").contains("ESBENCH_SMOL_BLOCK_ON"), "{e}");
    }
}
