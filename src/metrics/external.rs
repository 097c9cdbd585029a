//! What a row measured from an external bridge (the user's own program, `--bridge` or a
//! scenario's `[[bridges]]`) carries beside a model row's figures: that it is external, its
//! command, how its CPU was counted, what conformance noted, and which figures it cannot
//! have. Environment *values* are never written (they may be secrets), only their names.

use serde::{Deserialize, Serialize};

/// The external side of a row (`ModelResult::external`); `None` for a built-in model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExternalBridge {
    /// The command template as the user wrote it (variables not replaced).
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Names of the extra environment variables it was given (never their values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_names: Vec<String>,
    /// How the CPU of its whole process tree was counted (a cgroup, or `/proc` sampling).
    pub cpu_accounting: String,
    /// Deviations from plain HTTP/1.1 keep-alive that Scratch tolerates and the driver's
    /// client read through (e.g. a header line without a colon).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conformance_notes: Vec<String>,
    /// The row's figures an external bridge cannot provide: empty in the row, to be shown
    /// as "not measured", never as 0.
    pub not_measured: Vec<String>,
}

/// The figures only `esbench serve` reports about itself (its self-statistics): an external
/// bridge's row leaves them empty.
pub const NOT_MEASURED: [&str; 7] = [
    "watchdog_lateness",
    "watchdog_phase_us",
    "ingest_latency",
    "frame_interarrival",
    "frames_rejected",
    "frames_coalesced",
    "runtime",
];

impl ExternalBridge {
    /// Whether figure `key` (a `ModelResult` field or counter name, or a registry key such
    /// as `watchdog_lateness.p99`) is one this row cannot have.
    pub fn lacks(&self, key: &str) -> bool {
        let field = key.split('.').next().unwrap_or(key);
        self.not_measured.iter().any(|k| k == field)
    }
}
