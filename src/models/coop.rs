//! `coop`: the bridge on our own single-threaded cooperative scheduler (`crate::coop`),
//! uasyncio style: `AsyncFd` for the serial port and sockets on an edge-triggered epoll,
//! `sleep` (nanosecond deadlines through a timerfd) for the watchdog.
//!
//! The three variants (`coop`, `coop-v2`, `coop-fastio`) run this same code and differ only
//! in `io_poll_every`, the fast_io knob; their `runtime` statistics are `coop::Stats`.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{ModelInfo, ServeContext};
use crate::bridge::serial::{classify_read, open_serial, Backoff, ReadOutcome};
use crate::bridge::{Board, Connection, ServeStats};
use crate::coop::{self, AsyncFd, Config, IoPollEvery, Runtime, TcpStream, TimerBackend};

/// The default poll policy, chosen by measurement (see docs/coop.md, "Choosing `io_poll_every`").
pub const DEFAULT_IO_POLL_EVERY: IoPollEvery = IoPollEvery::Tasks(8);

pub const INFO: ModelInfo = ModelInfo {
    name: "coop",
    description:
        "coop: our uasyncio-style single-thread scheduler, timerfd timers, I/O polled every 8 tasks",
    run,
};

/// Tuning overrides for the `coop` model (the values used are recorded in the statistics):
/// the poll policy (`task`, `pass` or N), the timer backend (`timerfd` or `pwait2`) and the
/// loop thread's timer slack in ns.
pub const IO_POLL_EVERY_ENV: &str = "ESBENCH_COOP_IO_POLL_EVERY";
pub const TIMER_ENV: &str = "ESBENCH_COOP_TIMER";
pub const TIMER_SLACK_ENV: &str = "ESBENCH_COOP_TIMER_SLACK_NS";

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let mut config = default_config(DEFAULT_IO_POLL_EVERY);
    if let Ok(v) = std::env::var(IO_POLL_EVERY_ENV) {
        config.io_poll_every = v.parse().map_err(anyhow::Error::msg)?;
    }
    match std::env::var(TIMER_ENV).as_deref() {
        Ok("timerfd") => config.timer_backend = TimerBackend::Timerfd,
        Ok("pwait2") => config.timer_backend = TimerBackend::EpollPwait2,
        Ok(other) => anyhow::bail!("{TIMER_ENV}: expected timerfd or pwait2, got {other:?}"),
        Err(_) => {}
    }
    if let Ok(v) = std::env::var(TIMER_SLACK_ENV) {
        config.timer_slack = Some(Duration::from_nanos(v.parse()?));
    }
    serve(ctx, config)
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
    serve(ctx, default_config(io_poll_every))
}

/// Serves every board on one coop runtime.
fn serve(ctx: ServeContext, config: Config) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let rt = Runtime::new(config)?;
    let result = rt.block_on(async move {
        for ep in ctx.boards {
            let i = ep.board.index();
            let board = ep.board;
            coop::spawn_named(
                &format!("serial{i}"),
                serial_task(board.clone(), ep.serial, ep.serial_path),
            );
            coop::spawn_named(&format!("watchdog{i}"), watchdog_task(board.clone()));
            coop::spawn_named(&format!("accept{i}"), accept_task(ep.listener, board)?);
        }
        AsyncFd::new(shutdown.dup_fd()?)?.readable().await?;
        anyhow::Ok(())
    });
    let threads = super::process_threads();
    let runtime_stats = rt.stats();
    drop(rt); // drops every task, closing their sockets and fds
    result?;
    let mut extra = serde_json::to_value(&runtime_stats)?;
    if let Some(obj) = extra.as_object_mut() {
        obj.insert("executor".into(), "coop".into());
        obj.insert("threads_before_shutdown".into(), threads.into());
    }
    Ok(stats.collect(extra))
}

async fn serial_task(board: Arc<Board>, file: File, path: PathBuf) {
    let mut backoff = Backoff::new();
    let mut port = match AsyncFd::new(file) {
        Ok(p) => p,
        Err(e) => {
            board.serial_lost(&e);
            reopen(&board, &path, &mut backoff).await
        }
    };
    let mut buf = vec![0u8; 4096];
    loop {
        match classify_read(port.read(&mut buf).await) {
            ReadOutcome::Data(n) => board.ingest(&buf[..n]),
            ReadOutcome::Again => {}
            ReadOutcome::Gone(e) => {
                board.serial_lost(&e);
                drop(port);
                port = reopen(&board, &path, &mut backoff).await;
            }
        }
    }
}

async fn reopen(board: &Board, path: &Path, backoff: &mut Backoff) -> AsyncFd<File> {
    loop {
        coop::sleep(backoff.next_delay()).await;
        let Ok(f) = open_serial(path) else { continue };
        board.note_reconnect();
        if board.serial_opened(&f).is_err() {
            continue;
        }
        if let Ok(p) = AsyncFd::new(f) {
            backoff.reset();
            return p;
        }
    }
}

pub(super) async fn watchdog_task(board: Arc<Board>) {
    loop {
        coop::sleep(board.watchdog_sleep()).await;
        board.watchdog_tick();
    }
}

/// Registers the listener now (inside the runtime) and returns the accept loop.
pub(super) fn accept_task(
    listener: TcpListener,
    board: Arc<Board>,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    let listener = coop::TcpListener::from_std(listener)?;
    Ok(async move {
        let i = board.index();
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    coop::spawn_named(&format!("conn{i}"), connection_task(stream, board.clone()));
                }
                Err(_) => coop::sleep(Duration::from_millis(5)).await,
            }
        }
    })
}

async fn connection_task(stream: TcpStream, board: Arc<Board>) {
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
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let drain = async {
                let mut budget = 256 * 1024usize;
                while budget > 0 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => budget -= n.min(budget),
                    }
                }
            };
            let _ = coop::timeout(Duration::from_millis(500), drain).await;
            return;
        }
        let deadline = conn.read_deadline();
        match coop::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_elapsed) => conn.time_out(),
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(n)) => conn.receive(&buf[..n], &*board),
        }
    }
}
