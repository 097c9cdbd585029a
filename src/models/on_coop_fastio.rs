//! `coop-fastio`: the `coop` model polling I/O before every task, as Peter Hinch's fast_io
//! and asyncio v3 do (lowest I/O latency, one `epoll_wait` per task).

use super::{ModelInfo, ServeContext};
use crate::bridge::ServeStats;
use crate::coop::IoPollEvery;

pub const INFO: ModelInfo = ModelInfo {
    name: "coop-fastio",
    description: "coop with fast_io polling: I/O checked before every task",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    super::on_coop::run_with(ctx, IoPollEvery::Task)
}
