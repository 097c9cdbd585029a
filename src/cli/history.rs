//! `esbench history` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct HistoryArgs {}

pub fn exec(_args: HistoryArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench history` is not implemented yet")
}
