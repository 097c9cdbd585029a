//! `esbench sweep`: one scenario measured several times while one knob varies (clients per
//! board, boards, work per poll, a blocking sleep, the poll period), to see where each
//! concurrency model starts to break.
//!
//! Each point is an ordinary `esbench run` of the scenario with the knob overridden (the
//! driver's own session code, nothing re-implemented), written to `<out>/<key>=<value>/`.
//! `sweep.json` only lists the points and where their results are; the Markdown table and
//! the HTML plots are rendered from those results files, so `--from` can redo them.

pub mod analysis;
pub mod cost;
pub mod cross;
pub(crate) mod execute;
pub(crate) mod fit_plot;
pub mod growth;
pub mod knee;
pub mod manifest;
pub(crate) mod overrides;
pub mod page;
pub mod plot;
pub mod table;
