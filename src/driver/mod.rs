//! Running the benchmark: a run is a session (`session`) with one method per phase — the
//! floors (the timer probe from `load::floor`, the CPU floor), the interleaved rounds, saving,
//! profiling. Each model-round is one flow (`row_run`) over a started child that runs here
//! (`local_child`) or on a remote agent (`agent_child`), chosen by the run's `place` and the
//! row's child (`row`): an external bridge (the user's program, `bridge_rows`) runs here
//! (`local_bridge`). The joins turn raw records into figures. The load itself (boards,
//! child process, Scratch clients, pacing, the timer probe) is in `load/`.

pub(crate) mod against;
mod agent_child;
pub(crate) mod bridge_rows;
pub(crate) mod cpu_floor;
pub(crate) mod interrupt;
pub mod join;
pub(crate) mod latest;
mod local_bridge;
mod local_child;
mod local_side;
mod measured;
pub mod options;
pub mod place;
pub(crate) mod progress;
pub(crate) mod rounds;
pub(crate) mod row;
mod row_run;
mod serve_stats;
pub(crate) mod session;
mod test_hooks;
pub(crate) mod valgrind_pass;
pub(crate) mod variant;
