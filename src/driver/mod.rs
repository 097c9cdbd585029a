//! Running the benchmark: the floors (the timer probe from `load::floor`, the CPU floor), the
//! orchestration of one model after another, locally or on a remote agent (the two share
//! `measured`), the joins that turn raw records into figures, and saving. The load itself
//! (boards, child process, Scratch clients, pacing, the timer probe) is in `load/`.

pub mod against;
pub mod cpu_floor;
pub mod interrupt;
pub mod join;
pub mod latest;
mod measured;
pub mod model_run;
pub mod remote_run;
pub mod rounds;
mod serve_stats;
pub mod session;
pub mod variant;
