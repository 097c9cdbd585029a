//! `esbench check`: compares results files and exits 0 (no regression), 1 (regression) or
//! 2 (unusable input).

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::check::{check_files, render, thresholds_from, Format, Mode, Options};
use crate::render::format::term;

/// Compare results against a baseline; exit 1 on a regression beyond noise
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench check --baseline reports/baseline/ --current run1.json run2.json run3.json
  esbench check --baseline old.json --current new.json --format markdown > summary.md
  esbench check --gross --baseline reports/baseline/ --current /tmp/ci-runs/
  esbench check --gross --paired paired/results.json --format markdown   (esbench run --against)
  esbench check --current run/results.json --format bmf            (a run's figures, for Bencher)

Exit status: 0 nothing regressed, 1 a regression (named on stderr with its values,
intervals and band), 2 unusable input (including runs measured differently: quick against
full, other durations or warm-ups). A baseline measured on another machine or by another
esbench version (its provenance.toml, or its results) is a WARNING, exit status unchanged.
A directory stands for every *.json results file in it. When every run on both sides has
rounds (esbench run --rounds N), CPU, context switches and the latency p50/p99 are judged on
the rounds: one run a side with the same rounds is paired by round, otherwise the intervals
of the median over rounds are compared. Without rounds, with several files per side the
intervals come from resampling the runs; with one, from the run's HDR histograms.
`esbench report A B` shows the same judgement, on rounds only (docs/comparing.md).
Rules (stalls, zero counters, CPU ratio, tails, rounds): docs/ci-gate.md.")]
pub struct CheckArgs {
    /// Baseline results files (or directories of them)
    /// (needed to judge; without it --format bmf / github-action-benchmark export --current)
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub baseline: Vec<PathBuf>,
    /// Current results files (or directories of them)
    #[arg(long, num_args = 1.., value_name = "FILE",
          required_unless_present_any = ["record_provenance", "power", "paired", "power_paired"])]
    pub current: Vec<PathBuf>,
    /// TOML noise bands laid over the defaults (see scripts/thresholds.toml)
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// Only flag gross regressions (> 3x by default, the [gross] bands): for noisy CI machines
    #[arg(long)]
    pub gross: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also write the output to this file (atomically), e.g. summary.md for a CI comment
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Compare the models both sides have even if some baseline models did not run
    #[arg(long)]
    pub allow_missing_models: bool,
    /// Compare runs measured differently (quick against full, other --duration or warm-up),
    /// which is refused by default; the verdicts are then only indicative
    #[arg(long)]
    pub allow_mixed: bool,
    /// Write DIR/provenance.toml from the results files in DIR (scripts/update-baseline.sh)
    #[arg(long, hide = true, value_name = "DIR", conflicts_with_all = ["baseline", "current", "power"])]
    pub record_provenance: Option<PathBuf>,
    /// Judge a paired run (esbench run --against OTHER_EXE): exit 1 when side B (this
    /// build) regressed against side A beyond the band on any judged figure, 2 when FILE is
    /// not a paired run
    #[arg(long, value_name = "RESULTS_JSON", conflicts_with_all = ["baseline", "current", "power", "record_provenance"])]
    pub paired: Option<PathBuf>,
    /// Judge the paired runs in DIR and print the paired power table
    /// (scripts/gate-power.sh --paired)
    #[arg(long, hide = true, value_name = "DIR", conflicts_with_all = ["baseline", "current", "power", "paired"])]
    pub power_paired: Option<PathBuf>,
    /// Judge the run pairs in DIR and print the power table (scripts/gate-power.sh)
    #[arg(long, hide = true, value_name = "DIR", conflicts_with_all = ["baseline", "current"])]
    pub power: Option<PathBuf>,
}

pub fn exec(args: CheckArgs) -> Result<i32> {
    if let Some(dir) = &args.record_provenance {
        let path = crate::check::provenance::record(dir)?;
        crate::errln!("esbench check: wrote {}", path.display());
        return Ok(0);
    }
    if let Some(dir) = &args.power_paired {
        let t = thresholds_from(args.thresholds.as_deref())?;
        let text = crate::check::power_paired::table(dir, &t)?.render();
        print!("{text}");
        if let Some(p) = &args.output {
            crate::metrics::results::write_atomic(p, text.as_bytes())?;
        }
        return Ok(0);
    }
    if let Some(dir) = &args.power {
        let t = thresholds_from(args.thresholds.as_deref())?;
        let text = crate::check::power::table(dir, &t)?.render();
        crate::out!("{text}");
        if let Some(p) = &args.output {
            crate::metrics::results::write_atomic(p, text.as_bytes())?;
        }
        return Ok(0);
    }
    if args.paired.is_none() && args.current.is_empty() && args.power_paired.is_none() {
        anyhow::bail!(
            "give --current FILE... (with --baseline FILE... to judge), or --paired RESULTS_JSON"
        );
    }
    let opts = Options {
        thresholds: thresholds_from(args.thresholds.as_deref())?,
        mode: if args.gross {
            Mode::Gross
        } else {
            Mode::Normal
        },
        allow_missing_models: args.allow_missing_models,
        allow_mixed: args.allow_mixed,
    };
    let exporting = matches!(args.format, Format::Bmf | Format::GithubActionBenchmark);
    let outcome = if let Some(file) = &args.paired {
        crate::check::paired::check(file, &opts)?
    } else if args.baseline.is_empty() {
        if !exporting {
            anyhow::bail!("--baseline is needed to judge (only --format bmf or github-action-benchmark export a run alone)");
        }
        let files = crate::check::load_all(&args.current).context("current")?;
        crate::check::export::run_outcome(&files)
    } else {
        check_files(&args.baseline, &args.current, &opts)?
    };
    for w in &outcome.warnings {
        // Loud on stderr too, where a CI log reader looks; the exit code is unchanged.
        crate::errln!("esbench check: WARNING: {}", term(w));
    }
    let text = render::render(&outcome, args.format);
    crate::out!("{text}");
    if let Some(p) = &args.output {
        crate::metrics::results::write_atomic(p, text.as_bytes())?;
    }
    let code = outcome.exit_code();
    if code != 0 {
        crate::errln!("esbench check: {}", term(&render::headline(&outcome)));
        for r in outcome.regressions() {
            crate::errln!("  {}", term(&render::explain(r)));
        }
    }
    Ok(code)
}
