//! Scenario files (`scenarios/*.toml`): how many boards and clients, what the boards stream,
//! how much work the bridge does, and how long to measure.
//!
//! Every section and field has a default, so a scenario only states what differs from the
//! classroom workload. Unknown fields are errors (a typo must not silently fall back to a
//! default), and every error names the file, line, column and field.

mod error;
pub(crate) mod fault;
mod schema;
mod validate;

pub use error::ScenarioError;
pub use schema::{
    Boards, Bursts, Clients, CommandPattern, DriverKind, RunSettings, Scenario, SmolBlockOn,
    SourceKind, Workload, DEFAULT_MODEL_TIMER_SLACK_NS, DEFAULT_SEND_SPIN_US, MAX_SEND_SPIN_US,
};

/// The scenario `esbench run` uses when none is given: one board, one Scratch client.
pub(crate) const DEFAULT_SCENARIO: &str = "scenarios/classroom.toml";

/// Every scenario bundled in `scenarios/`, by file name.
pub const BUNDLED: [&str; 10] = [
    "classroom.toml",
    "classroom-replay.toml",
    "lab.toml",
    "heavy-frame.toml",
    "blocking-call.toml",
    "noisy-line.toml",
    "bursty.toml",
    "esp4s.toml",
    "school.toml",
    "python.toml",
];
