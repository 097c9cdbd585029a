//! `esbench models` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct ModelsArgs {}

pub fn exec(_args: ModelsArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench models` is not implemented yet")
}
