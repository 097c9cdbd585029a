//! `esbench serve` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {}

pub fn exec(_args: ServeArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench serve` is not implemented yet")
}
