//! `esbench report` (being built by its issue).

/// Not implemented yet.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {}

pub fn exec(_args: ReportArgs) -> anyhow::Result<i32> {
    anyhow::bail!("`esbench report` is not implemented yet")
}
