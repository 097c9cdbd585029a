//! `coop-v2`: the `coop` model polling I/O once per pass over the ready tasks, as uasyncio
//! v2 did (I/O waits behind every task that was ready when the pass began).

use super::{ModelInfo, ServeContext};
use crate::bridge::ServeStats;
use crate::coop::IoPollEvery;

pub const INFO: ModelInfo = ModelInfo {
    name: "coop-v2",
    description: "coop with uasyncio v2 polling: I/O checked once per pass over the ready tasks",
    run,
};

pub fn run(ctx: ServeContext) -> anyhow::Result<ServeStats> {
    super::on_coop::run_with(ctx, IoPollEvery::Pass)
}
