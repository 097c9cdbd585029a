//! Running the benchmark: the floor probe, the orchestration of one model after another, the
//! joins that turn raw records into figures, and saving. The load itself (child process,
//! Scratch clients, pacing) is in `load/`.

pub mod cpu_floor;
pub mod floor;
pub mod interrupt;
pub mod join;
pub mod latest;
pub mod model_run;
pub mod remote_run;
pub mod rounds;
pub mod session;
pub mod variant;

/// The driver meter moved to `load::health`; kept under its old name so `model_run`'s body
/// (`super::health::DriverMeter`) compiles unchanged while others edit that file.
pub(crate) use crate::load::health;
