//! `coop-spin` (teaching group): the cooperative version of esp4s's mistake, on our `coop`
//! scheduler.
//!
//! Everything is `coop`'s (the watchdog task, the accept loop, the connection tasks, the
//! runtime configuration) except the serial task: instead of awaiting readiness it asks
//! `poll(2)` with a zero timeout whether bytes are waiting and, when none are, calls
//! `yield_now`. A task that always yields is always ready, so the loop never blocks in
//! `epoll_wait`: it polls with a zero timeout between tasks, forever. An event loop that polls
//! pins a core just as a thread that polls does — the esp4s-aio rewrite had the same fault
//! in its "readline", which called `asyncio.sleep(.001)` without awaiting it.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::coop::{accept_task, default_config, watchdog_task, DEFAULT_IO_POLL_EVERY};
use super::{ModelInfo, ServeContext, Teaching};
use crate::bridge::serial::{classify_read, open_serial, Backoff, ReadOutcome};
use crate::bridge::{Board, ServeStats};
use crate::coop::{self, AsyncFd, Runtime};

pub const INFO: ModelInfo = ModelInfo {
    name: "coop-spin",
    description: "coop with a serial task that polls the port with a zero timeout and yields \
                  instead of awaiting readiness",
    run,
};

pub const TEACHING: Teaching = Teaching {
    name: INFO.name,
    reason: "spins: an event loop whose serial task polls and yields is never idle, so it \
             pins a core too (not threads: polling)",
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let stats = ctx.stats_handle();
    let shutdown = ctx.shutdown.clone();
    let rt = Runtime::new(default_config(DEFAULT_IO_POLL_EVERY))?;
    let result = rt.block_on(async move {
        for ep in ctx.boards {
            let i = ep.board.index();
            let board = ep.board;
            coop::spawn_named(
                &format!("serial-spin{i}"),
                polling_serial_task(board.clone(), ep.serial, ep.serial_path),
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
        obj.insert("serial_wait".into(), "poll(2) timeout 0 + yield_now".into());
        obj.insert("threads_before_shutdown".into(), threads.into());
    }
    Ok(stats.collect(extra))
}

/// True when a read on `file` would not block (data, hang-up or an error to report).
fn ready_now(file: &File) -> bool {
    let mut pfd = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call; timeout 0 never blocks.
    let r = unsafe { libc::poll(&mut pfd, 1, 0) };
    r > 0 && pfd.revents != 0
}

/// The mistake: poll, and when nothing is there, yield and poll again.
async fn polling_serial_task(board: Arc<Board>, mut file: File, path: PathBuf) {
    let mut backoff = Backoff::new();
    let mut buf = vec![0u8; 4096];
    loop {
        if !ready_now(&file) {
            coop::yield_now().await;
            continue;
        }
        match classify_read((&file).read(&mut buf)) {
            ReadOutcome::Data(n) => board.ingest(&buf[..n]),
            ReadOutcome::Again => coop::yield_now().await,
            ReadOutcome::Gone(e) => {
                board.serial_lost(&e);
                drop(file);
                file = reopen(&board, &path, &mut backoff).await;
            }
        }
    }
}

/// Reopens a vanished device with backoff (a coop timer, so this part does sleep).
async fn reopen(board: &Board, path: &Path, backoff: &mut Backoff) -> File {
    loop {
        coop::sleep(backoff.next_delay()).await;
        let Ok(f) = open_serial(path) else { continue };
        board.note_reconnect();
        if board.serial_opened(&f).is_ok() {
            backoff.reset();
            return f;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_now_sees_data_and_hang_up_without_blocking() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
        let slave = File::from(pty.slave);
        assert!(!ready_now(&slave));
        nix::unistd::write(&pty.master, b"E").unwrap();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !ready_now(&slave) {
            assert!(std::time::Instant::now() < end, "the byte never showed up");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut b = [0u8; 4];
        assert_eq!((&slave).read(&mut b).unwrap(), 1);
        drop(pty.master);
        assert!(ready_now(&slave), "a hang-up must wake the poller");
    }
}
