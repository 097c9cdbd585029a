//! `tokio-current`: the same tokio code as `tokio` (its `serve`), on the single-threaded
//! current-thread runtime — everything (serial, HTTP, watchdog) shares one thread.

use super::{on_tokio, ModelInfo, ServeContext};
use crate::bridge::ServeStats;

pub const INFO: ModelInfo = ModelInfo {
    name: "tokio-current",
    description: "tokio current-thread runtime: the tokio code on a single thread",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let info = serde_json::json!({"flavor": "current_thread", "workers": 1});
    on_tokio::serve(rt, ctx, info)
}
