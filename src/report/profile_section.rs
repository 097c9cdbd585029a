//! Placeholder until the "profile" helper's version lands: the "Where the CPU goes" section
//! of the report, built from `ModelResult::profile`. This file belongs to the profile room;
//! the report only includes it.

use crate::metrics::results::Results;

/// The profiling section's HTML, or `None` when the run has no profiling data.
pub fn section(_results: &Results) -> Option<String> {
    None
}
