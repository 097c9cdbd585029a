//! Self-statistics every model reports the same way at shutdown.
//!
//! The driver (the "run" room) reads these from `esbench serve --stats-out FILE` and merges
//! them into results.json, so the shape here is a shared contract: extend additively only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::summary::Summary;

/// Everything one `esbench serve` process measured about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServeStats {
    /// The model name, as on the command line (`tokio-current`, ...).
    pub model: String,
    /// One entry per `--serial` board, in command-line order.
    pub boards: Vec<BoardStats>,
    /// Model-specific extras (thread counts, runtime settings); free-form.
    #[serde(default)]
    pub runtime: Option<serde_json::Value>,
}

/// What happened to one board during a serve run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BoardStats {
    /// Frames decoded and published to the board state.
    pub frames_accepted: u64,
    /// Lines the frame decoder threw away (corrupt, truncated, wrong field count, ...).
    pub frames_rejected: u64,
    /// `frames_rejected` split by the decoder's reason names.
    #[serde(default)]
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// `/poll` requests answered.
    pub polls: u64,
    /// Valid command requests (each wrote its bytes to the board).
    pub commands: u64,
    /// Command requests refused with 400 (nothing written to the board).
    pub commands_rejected: u64,
    /// Frames replaced by a newer one before any `/poll` served them.
    pub coalesced: u64,
    /// Times the serial device was reopened after vanishing.
    pub reconnects: u64,
    /// Watchdog wake-up lateness against its *scheduled* deadlines, µs.
    pub watchdog_lateness: Summary,
    /// Time between consecutive accepted frames as the bridge saw them, µs.
    pub frame_interarrival: Summary,
    /// `(sequence number, CLOCK_MONOTONIC ns when the bridge state was updated)` per
    /// accepted frame; the sequence is `RawFrame::seq()` (tkInput A*1024 + B).
    #[serde(default)]
    pub ingest: Vec<(u32, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let mut b = BoardStats {
            frames_accepted: 3,
            ingest: vec![(1, 10), (2, 20)],
            ..BoardStats::default()
        };
        b.rejected_by_reason.insert("bad_field_count".into(), 2);
        let s = ServeStats {
            model: "threads".into(),
            boards: vec![b],
            runtime: Some(serde_json::json!({"threads": 4})),
        };
        let text = serde_json::to_string(&s).unwrap();
        let back: ServeStats = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }
}
