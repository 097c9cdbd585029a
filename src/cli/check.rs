//! `esbench check` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {}

pub fn exec(_args: CheckArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench check` is not implemented yet")
}
