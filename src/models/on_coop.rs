//! `coop`: the bridge on our own single-threaded cooperative scheduler (`crate::coop`),
//! uasyncio style: `AsyncFd` for the serial port and sockets on an edge-triggered epoll,
//! `sleep` (nanosecond deadlines on one timerfd in the epoll set) for the watchdog.
//!
//! The three variants (`coop`, `coop-v2`, `coop-fastio`) run this same code and differ only
//! in `io_poll_every`, the fast_io knob; their `runtime` statistics are `coop::Stats`.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;

use super::{ModelInfo, ServeContext};
use crate::bridge::adapters::{impl_async_accept, impl_conn_socket};
use crate::bridge::async_tasks::{accept_task, serve_connection, AsyncSerial};
use crate::bridge::ServeStats;
use crate::coop::{self, AsyncFd, Config, IoPollEvery, Runtime, TcpListener, TcpStream};

/// The default poll policy, chosen by measurement (see docs/coop.md, "Choosing `io_poll_every`").
pub const DEFAULT_IO_POLL_EVERY: IoPollEvery = IoPollEvery::Tasks(8);

pub const INFO: ModelInfo = ModelInfo {
    name: "coop",
    description:
        "coop: our uasyncio-style single-thread scheduler, timerfd timers, I/O polled every 8 tasks",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    run_with(ctx, DEFAULT_IO_POLL_EVERY)
}

/// The configuration every coop variant shares, with its own poll policy.
pub fn default_config(io_poll_every: IoPollEvery) -> Config {
    Config {
        io_poll_every,
        ..Config::default()
    }
}

/// The `coop` runtime with `io_poll_every` and the shared defaults.
pub fn run_with(ctx: ServeContext, io_poll_every: IoPollEvery) -> anyhow::Result<ServeStats> {
    serve::<AsyncFd<File>>(ctx, default_config(io_poll_every), "serial")
}

/// Serves every board on one coop runtime, each serial port watched as `P` does it (in a
/// task called `serial_task` + the board's index). The variants share all of this.
pub fn serve<P: AsyncSerial + 'static>(
    ctx: ServeContext,
    config: Config,
    serial_task_name: &str,
) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let rt = Runtime::new(config)?;
    let result = rt.block_on(async move {
        for ep in ctx.boards {
            let i = ep.board.index();
            let tasks = ep.into_tasks::<P, _>(coop::sleep);
            coop::spawn_named(&format!("{serial_task_name}{i}"), tasks.serial);
            coop::spawn_named(&format!("watchdog{i}"), tasks.watchdog);
            // Registered here, inside the runtime.
            let (listener, board) = (TcpListener::from_std(tasks.listener)?, tasks.board);
            let accept = accept_task(listener, coop::sleep, move |stream: TcpStream| {
                let conn = serve_connection(stream, board.clone(), coop::sleep);
                coop::spawn_named(&format!("conn{i}"), conn);
                ControlFlow::Continue(())
            });
            coop::spawn_named(&format!("accept{i}"), accept);
        }
        AsyncFd::new(shutdown.dup_fd()?)?.readable().await?;
        anyhow::Ok(())
    });
    stats.finish(result, || {
        let runtime_stats = rt.stats();
        drop(rt); // drops every task, closing their sockets and fds
        let mut facts = serde_json::to_value(runtime_stats)?;
        facts["executor"] = "coop".into();
        Ok(facts)
    })
}

impl AsyncSerial for AsyncFd<File> {
    fn register(file: File) -> io::Result<Self> {
        // Only read here: commands go out through the board's own fd.
        AsyncFd::reader(file)
    }
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        AsyncFd::read(self, buf).await
    }
}

impl_async_accept!(TcpListener => TcpStream);
impl_conn_socket!(TcpStream, read: TcpStream::read, write_all: TcpStream::write_all);
