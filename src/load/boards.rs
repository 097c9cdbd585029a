//! The virtual boards one model run drives, as the local driver and the remote agent both use
//! them: started from the scenario, their timestamped records read back after the run, and
//! their own counters summed when they stop. Written once so that a remote row's board side
//! is the local one's, not a copy that could drift from it.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::device::{BoardLoops, DeviceConfig, VirtualBoard};
use crate::scenario::Scenario;

/// What one virtual board recorded: `(seq, written_ns)` per frame and `(read_ns, wire bytes)`
/// per command it read. The agent sends it to the driver as it is (on its own clock).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BoardRecord {
    pub frames: Vec<(u32, u64)>,
    pub commands: Vec<(u64, Vec<u8>)>,
}

impl BoardRecord {
    /// Everything `board` has recorded so far, its commands re-encoded to their wire bytes
    /// (what the join compares with what the clients sent).
    pub fn of(board: &VirtualBoard) -> BoardRecord {
        BoardRecord {
            frames: board.frame_times(),
            commands: board
                .commands()
                .into_iter()
                .map(|(t, c)| {
                    let mut bytes = Vec::new();
                    c.encode(&mut bytes);
                    (t, bytes)
                })
                .collect(),
        }
    }
}

/// Starts the scenario's `boards.count` virtual boards (on `loops`, the caller's board event
/// loops, when the scenario's `run.driver` is `events`).
pub fn start_boards(s: &Scenario, loops: &BoardLoops) -> Result<Vec<VirtualBoard>> {
    (0..s.boards.count)
        .map(|i| {
            VirtualBoard::start_on(DeviceConfig::from_scenario(s, i), loops)
                .with_context(|| format!("cannot start virtual board {i}"))
        })
        .collect()
}

/// Stops `boards` and returns their summed `board_frames_written` / `board_frames_dropped`
/// counters (a board that fails to stop adds nothing).
pub fn stop_boards(boards: Vec<VirtualBoard>) -> BTreeMap<String, u64> {
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    for b in boards {
        if let Ok(st) = b.stop() {
            *counters.entry("board_frames_written".into()).or_default() += st.frames_written;
            *counters.entry("board_frames_dropped".into()).or_default() += st.frames_dropped;
        }
    }
    counters
}
