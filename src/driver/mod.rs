//! Running the benchmark: the floor probe, the Scratch client emulation, the child process
//! under test and the orchestration of one model after another.

pub mod floor;
pub mod pace;
