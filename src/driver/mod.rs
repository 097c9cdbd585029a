//! Running the benchmark: the floor probe, the orchestration of one model after another, the
//! joins that turn raw records into figures, and saving. The load itself (child process,
//! Scratch clients, pacing) is in `load/`.

pub mod cpu_floor;
pub mod health_table;
pub mod interrupt;
pub mod join;
pub mod latest;
mod measured;
pub mod model_run;
pub mod remote_run;
pub mod remote_table;
pub mod rounds;
mod serve_stats;
pub mod session;
pub mod table;
pub mod variant;
