//! Measurements and the results file they end up in.
//!
//! `summary` turns HDR histograms into the percentile shape every metric shares; `results`
//! is the versioned `results.json` schema that the driver writes once and that `report`,
//! `check` and `history` only read; `process` accounts a child's CPU and memory; `profile` is the profile object a row may carry; `machine`
//! describes where a result came from.

pub(crate) mod costs;
pub(crate) mod cpu_floor;
pub(crate) mod driver_health;
pub(crate) mod external;
pub mod figures;
/// Fabricated results for the unit and integration tests: never in the shipped binary.
#[cfg(any(test, feature = "test-hooks"))]
pub mod fixture;
pub(crate) mod instructions;
pub(crate) mod machine;
pub(crate) mod paired;
pub(crate) mod proc_io;
pub(crate) mod proc_stat;
pub mod process;
pub mod profile;
pub mod results;
pub mod rounds;
pub mod status;
pub mod summary;
pub(crate) mod tree_cpu;
pub(crate) mod valgrind;
pub mod verdict;
