//! `esbench device` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct DeviceArgs {}

pub fn exec(_args: DeviceArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench device` is not implemented yet")
}
