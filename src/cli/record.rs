//! `esbench record` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct RecordArgs {}

pub fn exec(_args: RecordArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench record` is not implemented yet")
}
