//! `esbench models`: lists the concurrency models this build has — first the default run,
//! then, under their own heading, the teaching group (models wrong on purpose, which run only
//! when named).

/// List the concurrency models (one per line: name, then a short description).
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Example:
  esbench models
  esbench models --names   # names only (every model, teaching ones last), for scripts

`esbench run` without --models runs the first group. The teaching models spin on purpose (each
costs a core while it runs); name them to run them, e.g.
  esbench run scenarios/esp4s.toml
  esbench run --models esp4s-threads,threads")]
pub struct ModelsArgs {
    /// Print only the names.
    #[arg(long)]
    pub names: bool,
}

/// The heading above the teaching group.
pub const TEACHING_HEADING: &str =
    "Teaching models (not in the default run; select them with --models or run.models):";

pub(crate) fn exec(args: ModelsArgs) -> anyhow::Result<i32> {
    let default = crate::models::default_run();
    if args.names {
        for m in &default {
            crate::outln!("{}", m.name);
        }
        for t in crate::models::TEACHING {
            crate::outln!("{}", t.name);
        }
        return Ok(0);
    }
    let width = crate::models::ALL
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(0);
    for m in &default {
        crate::outln!("{:width$}  {}", m.name, m.description);
    }
    if !crate::models::TEACHING.is_empty() {
        crate::outln!();
        crate::outln!("{TEACHING_HEADING}");
        for t in crate::models::TEACHING {
            crate::outln!("{:width$}  {}", t.name, t.reason);
        }
    }
    Ok(0)
}
