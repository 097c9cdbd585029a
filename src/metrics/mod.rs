//! Measurements and the results file they end up in.
//!
//! `summary` turns HDR histograms into the percentile shape every metric shares; `results`
//! is the versioned `results.json` schema that the driver writes once and that `report`,
//! `check` and `history` only read.

pub mod results;
pub mod summary;

pub use results::{Cpu, CpuSample, Floor, Machine, ModelResult, Results, ScenarioInfo};
pub use summary::{new_histogram, Summary};
