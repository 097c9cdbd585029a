//! `smol`: one thread running a `LocalExecutor` on the async-io reactor — `Async<File>` for
//! the serial port, `Async<TcpListener>`/`Async<TcpStream>` sockets, `Timer` (timerfd-free,
//! nanosecond deadlines) for the watchdog.
//!
//! The executor runs under `smol::block_on` (async-io's), as smol's own examples do: while
//! idle the main thread itself waits in the reactor, so an event wakes the thread that runs
//! its task. async-io also starts its fallback "async-io" thread with the reactor; while any
//! `block_on` is active that thread polls for reactor ticks with a backoff of 50 µs to 10 ms
//! before it blocks, which is where its ~2 wake-ups per event come from (docs/model-costs.md).
//! The scenario's `run.smol_block_on = "futures-lite"` (`esbench run --smol-block-on`, passed
//! to the child as `serve --smol-block-on`) runs the same executor under
//! `smol::future::block_on` instead (the main thread only parks; the "async-io" thread alone
//! drives the reactor), the variant measured there; the row's `runtime.block_on` says which
//! ran.

use std::fs::File;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::rc::{Rc, Weak};
use std::time::Duration;

use smol::{Async, LocalExecutor, Timer};

use super::{ModelInfo, ServeContext, SmolBlockOn};
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
    let block_on = ctx.smol_block_on;
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
    let result = match block_on {
        SmolBlockOn::FuturesLite => smol::future::block_on(ex.run(main)),
        SmolBlockOn::AsyncIo => smol::block_on(ex.run(main)),
    };
    stats.finish(result, || {
        drop(ex); // drops every task, closing their sockets and fds
        Ok(serde_json::json!({"executor": "LocalExecutor", "block_on": block_on.name()}))
    })
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
