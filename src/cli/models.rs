//! `esbench models`: lists the concurrency models this build has.

/// List the concurrency models (one per line: name, then a short description).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  esbench models\n  esbench models --names   # names only, for scripts"
)]
pub struct ModelsArgs {
    /// Print only the names.
    #[arg(long)]
    pub names: bool,
}

pub fn exec(args: ModelsArgs) -> anyhow::Result<i32> {
    let width = crate::models::ALL
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(0);
    for m in crate::models::ALL {
        if args.names {
            println!("{}", m.name);
        } else {
            println!("{:width$}  {}", m.name, m.description);
        }
    }
    Ok(0)
}
