//! The rendering helpers every reader of results shares — the report, the check's
//! comparison view, the history's trend page and the sweep's pages: escaping and human
//! units (`format`), the HTML page around a body (`page`), what every SVG plot shares
//! (`chart`), the summary's columns of figures with how each value reads (`figures`) and
//! text tables written as Markdown or HTML from one set of rows (`table`).
//!
//! A room of its own so that those readers share one copy without importing each other; it
//! imports only `metrics` (and the shared `units`).

pub mod chart;
pub(crate) mod figures;
pub mod format;
pub(crate) mod page;
pub(crate) mod table;
