//! `esbench report`: turns one or more results.json files into an HTML report.

use std::path::PathBuf;

use crate::check;
use crate::metrics::results::Results;
use crate::report::compare::Judged;
use crate::report::{load_inputs, write_report_judged};

/// Write the HTML report (plots, summary.md) from results files
///
/// Writes a self-contained index.html (inline SVG, no scripts, no network), each plot as its
/// own .svg and summary.md. With two or more files, each is compared with the first, by
/// `esbench check`'s rules on the runs' rounds (a figure without rounds on both sides is shown
/// but not judged).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  esbench report reports/20261122-150704/results.json
  esbench report base/results.json new/results.json --out reports/compare")]
pub struct ReportArgs {
    /// results.json files written by `esbench run` (or their run directories); the first is A
    /// (the baseline).
    #[arg(required = true, value_name = "RESULTS.json")]
    pub results: Vec<PathBuf>,
    /// Output directory [default: the first file's directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub(crate) fn exec(args: ReportArgs) -> anyhow::Result<i32> {
    let inputs = load_inputs(&args.results)?;
    let out = match args.out {
        Some(o) => o,
        None => inputs[0]
            .0
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let index = write_report_judged(&inputs, &out, Some(&judge))?;
    crate::outln!("report: {}", index.display());
    Ok(0)
}

/// The comparison view's judge: `esbench check`'s outcome for B against A, rendered.
pub fn judge(a: &(PathBuf, Results), b: &(PathBuf, Results)) -> anyhow::Result<Judged> {
    let o = check::compare_view(a, b, &check::view_options())?;
    Ok(Judged {
        html: check::render::view_html(&o),
        markdown: check::render::view_markdown(&o),
    })
}
