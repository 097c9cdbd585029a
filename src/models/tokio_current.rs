//! `tokio-current`: the same tokio code as `tokio`, on the single-threaded current-thread
//! runtime — everything (serial, HTTP, watchdog) shares one thread.

use super::{tokio_family, ModelInfo, ServeContext};
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "tokio-current",
    description: "tokio current-thread runtime: the tokio code on a single thread",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio_family::serve(
        rt,
        ctx,
        serde_json::json!({"flavor": "current_thread", "workers": 1}),
    )
}
