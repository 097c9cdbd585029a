//! What `esbench run --against` shows at its end: side B against side A per model and figure
//! (A, B, the ratio B/A with its interval, and a verdict only where the interval clears the
//! band), in the terminal and in the HTML report. The judgement is `esbench check --paired`'s
//! (one judging path), with the normal bands; the CI gate uses `--gross`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::check::{self, compare::compare_paired, Mode, Options};
use crate::report::compare::Judged;

fn options() -> Options {
    Options {
        mode: Mode::Normal,
        allow_missing_models: false,
        allow_mixed: false,
        thresholds: check::Thresholds::default(),
    }
}

/// The paired judgement of the run in `path` as a terminal table (or why there is none).
pub fn terminal(path: &Path) -> String {
    match check::paired::check(path, &options()) {
        Ok(o) => format!(
            "\npaired: side B (this build) against side A, per-round ratios B/A (normal bands; \
             the CI gate: esbench check --gross --paired {})\n{}",
            path.display(),
            check::render(&o, check::Format::Table),
        ),
        Err(e) => format!("\npaired: not judged: {e:#}\n"),
    }
}

/// Writes the HTML report of the paired run in `path` into `out`: side A and side B as the
/// two runs of the report's comparison view, judged as `check --paired` judges them.
pub fn report(path: &Path, out: &Path) -> Result<PathBuf> {
    let (_, a, b) = check::paired::split(path)?;
    let label = |side: &str| PathBuf::from(format!("{}#{side}", path.display()));
    let inputs = vec![(label("A"), a), (label("B"), b)];
    let opts = Options {
        thresholds: options().thresholds.for_paired(),
        ..options()
    };
    let judge = move |a: &(PathBuf, crate::metrics::results::Results),
                      b: &(PathBuf, crate::metrics::results::Results)|
          -> Result<Judged> {
        let o = compare_paired(a, b, &opts)?;
        Ok(Judged {
            html: check::render::view_html(&o),
            markdown: check::render::view_markdown(&o),
        })
    };
    crate::report::write_report_judged(&inputs, out, Some(&judge))
}
