//! `esbench run` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct RunArgs {}

pub fn exec(_args: RunArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench run` is not implemented yet")
}
