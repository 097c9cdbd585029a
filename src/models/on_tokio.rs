//! `tokio`: the multi-thread work-stealing runtime (one worker per core), `AsyncFd` for the
//! serial port, `tokio::net` sockets, `tokio::time` for the watchdog and every timeout.
//! [`serve`] is also `tokio-current`'s: the two differ only in the runtime they build.

use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{ModelInfo, ServeContext};
use crate::bridge::adapters::{impl_async_accept, impl_conn_socket};
use crate::bridge::async_tasks::{accept_task, serve_connection, AsyncSerial};
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "tokio",
    description:
        "tokio multi-thread runtime: AsyncFd serial, tokio::net sockets, tokio::time watchdog",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tokio-worker")
        .build()?;
    let workers = rt.metrics().num_workers();
    serve(
        rt,
        ctx,
        serde_json::json!({"flavor": "multi_thread", "workers": workers}),
    )
}

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
            let tasks = ep.into_tasks::<AsyncFd<File>, _>(sleep);
            tokio::spawn(tasks.serial);
            tokio::spawn(tasks.watchdog);
            tasks.listener.set_nonblocking(true)?;
            let (listener, board) = (TcpListener::from_std(tasks.listener)?, tasks.board);
            tokio::spawn(accept_task(listener, sleep, move |stream: TcpStream| {
                tokio::spawn(serve_connection(stream, board.clone(), sleep));
                ControlFlow::Continue(())
            }));
        }
        let stop = register(shutdown.dup_fd()?)?;
        let _ready = stop.readable().await?;
        anyhow::Ok(())
    });
    stats.finish(result, || {
        rt.shutdown_timeout(Duration::from_secs(2));
        Ok(runtime_info)
    })
}

/// The model's timer, as the bridge's loops take it.
fn sleep(d: Duration) -> tokio::time::Sleep {
    tokio::time::sleep(d)
}

/// Registers an owned fd (`File`, `OwnedFd`) with tokio's reactor.
fn register<T: AsRawFd>(owner: T) -> io::Result<AsyncFd<T>> {
    // SAFETY: `owner` owns its descriptor, and the AsyncFd keeps it (never closed or
    // replaced) until the AsyncFd itself is dropped.
    unsafe { Ok(AsyncFd::register(owner)?) }
}

impl AsyncSerial for AsyncFd<File> {
    fn register(file: File) -> io::Result<Self> {
        register(file)
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.readable().await?;
            if let Ok(r) = guard.try_io(|inner| inner.get_ref().read(buf)) {
                return r;
            }
        }
    }
}

impl_async_accept!(TcpListener => TcpStream);
impl_conn_socket!(TcpStream, read: AsyncReadExt::read, write_all: AsyncWriteExt::write_all);
