//! `coop-spin` (teaching group): the cooperative version of esp4s's mistake, on our `coop`
//! scheduler.
//!
//! Everything is `coop`'s (its `serve`: the watchdog task, the accept loop, the connection
//! tasks, the runtime configuration) except how the serial task waits ([`PollingPort`]): instead of awaiting readiness it asks
//! `poll(2)` with a zero timeout whether bytes are waiting and, when none are, calls
//! `yield_now`. A task that always yields is always ready, so the loop never blocks in
//! `epoll_wait`: it polls with a zero timeout between tasks, forever. An event loop that polls
//! pins a core just as a thread that polls does — the esp4s-aio rewrite had the same fault
//! in its "readline", which called `asyncio.sleep(.001)` without awaiting it.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;

use super::on_coop::{default_config, serve, DEFAULT_IO_POLL_EVERY};
use super::{ModelInfo, ServeContext, Teaching};
use crate::bridge::async_tasks::AsyncSerial;
use crate::bridge::fd_wait::ready_now;
use crate::bridge::ServeStats;
use crate::coop;

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
    let config = default_config(DEFAULT_IO_POLL_EVERY);
    let mut stats = serve::<PollingPort>(ctx, config, "serial-spin")?;
    if let Some(obj) = stats.runtime.as_mut().and_then(|r| r.as_object_mut()) {
        obj.insert("serial_wait".into(), "poll(2) timeout 0 + yield_now".into());
    }
    Ok(stats)
}

/// The serial fd never registered with the reactor: the mistake lives in its `read`.
struct PollingPort(File);

impl AsyncSerial for PollingPort {
    fn register(file: File) -> io::Result<Self> {
        Ok(PollingPort(file))
    }

    /// Poll, and when nothing is there, yield and poll again.
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if ready_now(self.0.as_fd()) {
                match (&self.0).read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    r => return r,
                }
            }
            coop::yield_now().await;
        }
    }
}
