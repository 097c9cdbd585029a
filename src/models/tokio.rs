//! `tokio`: the multi-thread work-stealing runtime (one worker per core), `AsyncFd` for the
//! serial port, `tokio::net` sockets, `tokio::time` for the watchdog.

use super::{tokio_family, ModelInfo, ServeContext};
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "tokio",
    description:
        "tokio multi-thread runtime: AsyncFd serial, tokio::net sockets, tokio::time watchdog",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let rt = ::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tokio-worker")
        .build()?;
    let workers = rt.metrics().num_workers();
    tokio_family::serve(
        rt,
        ctx,
        serde_json::json!({"flavor": "multi_thread", "workers": workers}),
    )
}
