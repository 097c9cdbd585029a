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
    /// Watchdog wake-up lateness against its *scheduled* deadlines, µs, over the whole
    /// serve run (start-up included); `watchdog_log` has the same ticks with their times.
    pub watchdog_lateness: Summary,
    /// Time between consecutive accepted frames as the bridge saw them, µs, over the whole
    /// serve run; consecutive `ingest` entries give the same gaps with their times.
    pub frame_interarrival: Summary,
    /// `(sequence number, CLOCK_MONOTONIC ns when the bridge state was updated)` per
    /// accepted frame, in arrival order; the sequence is `RawFrame::seq()` (tkInput
    /// A*1024 + B). It is also the arrivals log the driver windows inter-arrival times with.
    #[serde(default)]
    pub ingest: Vec<(u32, u64)>,
    /// Accepted frames left out of `ingest` because it was full (`ingest_log_cap`).
    #[serde(default)]
    pub ingest_log_dropped: u64,
    /// `(scheduled deadline, CLOCK_MONOTONIC ns; lateness, µs)` per watchdog deadline, so a
    /// reader can keep only the ticks due in its own window. `None` in files written by a
    /// bridge that did not log ticks (only the whole-life `watchdog_lateness` exists there).
    #[serde(default)]
    pub watchdog_log: Option<Vec<(u64, u64)>>,
    /// Watchdog deadlines left out of `watchdog_log` because it was full.
    #[serde(default)]
    pub watchdog_log_dropped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let mut b = BoardStats {
            frames_accepted: 3,
            ingest: vec![(1, 10), (2, 20)],
            ingest_log_dropped: 4,
            watchdog_log: Some(vec![(25_000_000, 120)]),
            watchdog_log_dropped: 5,
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

    #[test]
    fn stats_from_a_bridge_without_tick_logs_still_parse() {
        // A board entry as written before the logs and drop counters existed.
        let old = r#"{"model":"threads","boards":[{"frames_accepted":1,"frames_rejected":0,
            "polls":0,"commands":0,"commands_rejected":0,"coalesced":0,"reconnects":0,
            "watchdog_lateness":{"p50":0,"p90":0,"p99":0,"p999":0,"max":0,"count":0,"hist":""},
            "frame_interarrival":{"p50":0,"p90":0,"p99":0,"p999":0,"max":0,"count":0,"hist":""},
            "ingest":[[7,100]]}]}"#;
        let s: ServeStats = serde_json::from_str(old).unwrap();
        let b = &s.boards[0];
        assert_eq!(b.ingest, [(7, 100)]);
        assert_eq!(b.watchdog_log, None);
        assert_eq!((b.ingest_log_dropped, b.watchdog_log_dropped), (0, 0));
    }
}
