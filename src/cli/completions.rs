//! `esbench completions SHELL` and `esbench man`: shell completions and man pages generated
//! from the clap definitions themselves, so they can never disagree with `--help`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::CommandFactory;

/// Print a shell completion script for esbench.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench completions bash > ~/.local/share/bash-completion/completions/esbench
  esbench completions zsh > ~/.zfunc/_esbench        # with fpath+=~/.zfunc in ~/.zshrc
  esbench completions fish > ~/.config/fish/completions/esbench.fish")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish (also elvish, powershell).
    pub shell: clap_complete::Shell,
}

/// Write the man pages (roff): esbench(1) and one per subcommand.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench man | man -l -                               # read it now
  esbench man --out ~/.local/share/man/man1            # esbench.1, esbench-run.1, ...")]
pub struct ManArgs {
    /// Write esbench.1 and esbench-SUBCOMMAND.1 into this directory instead of printing
    /// esbench.1.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "esbench", &mut out);
    write_stdout(&out)?;
    Ok(0)
}

pub fn man(args: ManArgs) -> anyhow::Result<i32> {
    let cmd = super::Cli::command();
    let Some(dir) = args.out else {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut out)?;
        write_stdout(&out)?;
        return Ok(0);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let mut page = |c: clap::Command, name: String| -> anyhow::Result<()> {
        let mut out = Vec::new();
        clap_mangen::Man::new(c.name(name.clone())).render(&mut out)?;
        let path = dir.join(format!("{name}.1"));
        crate::metrics::results::write_atomic(&path, &out)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page(sub.clone(), format!("esbench-{}", sub.get_name()))?;
    }
    page(cmd, "esbench".into())?;
    for p in &written {
        println!("{}", p.display());
    }
    Ok(0)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .context("cannot write to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_the_subcommands_and_flags() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(
                shell,
                &mut super::super::Cli::command(),
                "esbench",
                &mut out,
            );
            let text = String::from_utf8(out).unwrap();
            for word in ["run", "sweep", "export-csv", "models"] {
                assert!(text.contains(word), "{shell}: {word}");
            }
        }
    }

    #[test]
    fn the_man_page_describes_run() {
        let mut out = Vec::new();
        clap_mangen::Man::new(super::super::Cli::command())
            .render(&mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(".ie") || text.contains(".TH esbench"),
            "{text}"
        );
        assert!(text.contains("esbench\\-run"), "{text}");
    }
}
