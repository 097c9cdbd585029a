//! `esbench profile` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct ProfileArgs {}

pub fn exec(_args: ProfileArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench profile` is not implemented yet")
}
