//! Running the benchmark: the floor probe, the Scratch client emulation, the child process
//! under test and the orchestration of one model after another.

pub mod child;
pub mod child_settings;
pub mod client;
pub mod cpu_floor;
pub mod floor;
pub mod health;
pub mod health_table;
pub mod http;
pub mod interrupt;
pub mod join;
pub mod latest;
pub mod model_run;
pub mod pace;
pub mod pollbody;
pub mod rounds;
pub mod routes;
pub mod session;
pub mod table;
pub mod variant;
