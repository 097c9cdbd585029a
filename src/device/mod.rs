//! The virtual Esplora: a pseudo-terminal that behaves like the esp4s v1.00 sketch.
//!
//! It streams nothing until it reads `C`, stops on `S`, answers `V` (`1.00\r\n`) and `D`
//! (one frame), keeps the frame cadence on absolute deadlines (ptys ignore baud rates, so
//! timing is ours to keep), and logs every command with a `CLOCK_MONOTONIC` timestamp. With
//! `stamp_seq`, each frame carries its sequence number in the TinkerKit inputs so the driver
//! can tell which frame a `/poll` answer came from.
//!
//! Runs in-process, so the driver can embed boards: on a thread of its own, or with
//! `run.driver = "events"` on one of a few shared event loops (`board_loops`) that carry any
//! number of boards; `esbench device` wraps one in a command.

mod board_loops;
mod pty;
mod sketch;

pub use board_loops::BoardLoops;

use crate::protocol::command::Command;
use crate::scenario::{DriverKind, Scenario, SourceKind};
use crate::source::line::LineOptions;
use crate::source::synth::{BurstOptions, SynthOptions};
use crate::source::SourceSpec;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Most threads the shared board event loops use, whatever the number of boards.
pub const MAX_BOARD_LOOPS: usize = board_loops::MAX_LOOPS;

/// What the sketch answers to `V`.
pub(crate) const VERSION_REPLY: &[u8] = b"1.00\r\n";

/// How to run one virtual board.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceConfig {
    pub source: SourceSpec,
    /// Stamp each frame's sequence number into tkInput A/B (harness instrumentation).
    pub stamp_seq: bool,
    /// Also make a symlink here pointing at the pty (removed on stop).
    pub link: Option<PathBuf>,
    /// Append every command as a JSON line (`{"t_ns":..,"wire":"R100","command":..}`).
    pub log: Option<PathBuf>,
    /// Stop by itself after this long.
    pub duration: Option<Duration>,
    /// Freeze the stream while a numeric command waits for the sketch's `parseInt()`
    /// timeout, this long after its last byte; 0 = complete commands at once.
    pub command_freeze_ms: u64,
    /// On a thread of its own (`Threads`) or on the shared board event loops (`Events`).
    pub runner: DriverKind,
}

impl DeviceConfig {
    /// A synthetic board with `seed` and nothing else special.
    pub fn synth(seed: u64) -> DeviceConfig {
        DeviceConfig {
            source: SourceSpec::Synth(SynthOptions {
                seed,
                ..SynthOptions::default()
            }),
            stamp_seq: false,
            link: None,
            log: None,
            duration: None,
            command_freeze_ms: 0,
            runner: DriverKind::Threads,
        }
    }

    /// Board `board_index` of a scenario, with sequence stamping on (what the driver needs).
    /// Synthetic boards get seed `boards.seed + board_index`; replayed ones loop.
    pub fn from_scenario(s: &Scenario, board_index: u32) -> DeviceConfig {
        let b = &s.boards;
        let line = LineOptions {
            chunking: b.chunking,
            corrupt_rate: b.corrupt_rate,
            drop_rate: b.drop_rate,
        };
        let source = match (b.source, &b.recording) {
            (SourceKind::Replay, Some(path)) => SourceSpec::Replay {
                path: path.clone(),
                looped: true,
                line,
            },
            // Validation guarantees a recording for replay; synth is the only other case.
            _ => SourceSpec::Synth(SynthOptions {
                seed: b.seed.wrapping_add(u64::from(board_index)),
                frame_period_ms: b.frame_period_ms,
                bursts: b.bursts.map(|x| BurstOptions {
                    every_s: x.every_s,
                    stall_ms: x.stall_ms,
                }),
                line,
                max_frames: None,
            }),
        };
        DeviceConfig {
            source,
            stamp_seq: true,
            link: None,
            log: None,
            duration: None,
            command_freeze_ms: b.command_freeze_ms,
            runner: s.run.driver,
        }
    }
}

/// What a board did, for reports and for telling a quiet reader from a dead board.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceStats {
    pub frames_written: u64,
    pub bytes_written: u64,
    /// Frames due while nobody had the pty open, or while the reader was not draining it.
    pub frames_dropped: u64,
    /// Times a reader opened the pty.
    pub reader_opens: u64,
    pub commands: u64,
    pub rejected_command_bytes: u64,
    /// The source ran out (a replay without looping).
    pub source_ended: bool,
}

/// What a board records for its owner while it runs, and how it is told to stop and says
/// it has.
#[derive(Default)]
struct BoardRecords {
    stop: AtomicBool,
    frame_times: Mutex<Vec<(u32, u64)>>,
    commands: Mutex<Vec<(u64, Command)>>,
    stats: Mutex<DeviceStats>,
    /// Set once the board has stopped: `Err(why)` when it failed.
    ended: Mutex<Option<Result<(), String>>>,
    ended_cv: Condvar,
}

impl BoardRecords {
    fn end(&self, outcome: Result<(), String>) {
        *self.ended.lock().expect("poisoned") = Some(outcome);
        self.ended_cv.notify_all();
    }

    fn has_ended(&self) -> bool {
        self.ended.lock().expect("poisoned").is_some()
    }

    fn wait_ended(&self) -> Result<(), String> {
        let mut g = self.ended.lock().expect("poisoned");
        loop {
            if let Some(r) = g.as_ref() {
                return r.clone();
            }
            g = self.ended_cv.wait(g).expect("poisoned");
        }
    }
}

/// A running virtual board.
pub struct VirtualBoard {
    path: PathBuf,
    link: Option<PathBuf>,
    shared: Arc<BoardRecords>,
    /// The board's own thread (`Threads`); None on the shared loops.
    thread: Option<JoinHandle<()>>,
}

impl VirtualBoard {
    /// Opens the pty and starts the board; it waits for `C`. An `Events` board gets a loop
    /// of its own, which ends with it; boards that should share loops start with
    /// [`Self::start_on`].
    pub fn start(cfg: DeviceConfig) -> anyhow::Result<VirtualBoard> {
        Self::start_on(cfg, &BoardLoops::default())
    }

    /// [`Self::start`] on `loops` (with `runner: Events`; a `Threads` board ignores them).
    pub fn start_on(cfg: DeviceConfig, loops: &BoardLoops) -> anyhow::Result<VirtualBoard> {
        let pty = pty::Pty::open()?;
        let path = pty.slave_path().to_path_buf();
        let source = cfg.source.open(cfg.stamp_seq)?;
        let log = match &cfg.log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| anyhow::anyhow!("cannot open command log {}: {e}", p.display()))?,
            ),
            None => None,
        };
        if let Some(link) = &cfg.link {
            if link.symlink_metadata().is_ok() {
                std::fs::remove_file(link)
                    .map_err(|e| anyhow::anyhow!("cannot replace {}: {e}", link.display()))?;
            }
            std::os::unix::fs::symlink(&path, link).map_err(|e| {
                anyhow::anyhow!("cannot link {} to {}: {e}", link.display(), path.display())
            })?;
        }
        let shared = Arc::new(BoardRecords::default());
        let mut sketch = sketch::Sketch::new(pty, source, cfg.clone(), log, shared.clone());
        let thread = match cfg.runner {
            DriverKind::Threads => {
                let records = shared.clone();
                Some(
                    std::thread::Builder::new()
                        .name("virtual-board".into())
                        .spawn(move || records.end(sketch.run().map_err(|e| format!("{e:#}"))))?,
                )
            }
            DriverKind::Events => {
                board_loops::add(loops, sketch)?;
                None
            }
        };
        Ok(VirtualBoard {
            path,
            link: cfg.link,
            shared,
            thread,
        })
    }

    /// The pty slave to open, as a real board's `/dev/ttyACM0`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `(seq, monotonic ns)` when the last byte of each stamped frame was written.
    pub fn frame_times(&self) -> Vec<(u32, u64)> {
        self.shared.frame_times.lock().expect("poisoned").clone()
    }

    /// `(monotonic ns the command's last byte was read, command)` in arrival order.
    pub fn commands(&self) -> Vec<(u64, Command)> {
        self.shared.commands.lock().expect("poisoned").clone()
    }

    pub(crate) fn stats(&self) -> DeviceStats {
        self.shared.stats.lock().expect("poisoned").clone()
    }

    /// True once the board stopped by itself (its duration elapsed) or failed.
    pub fn is_finished(&self) -> bool {
        self.shared.has_ended() || self.thread.as_ref().is_some_and(|t| t.is_finished())
    }

    /// Stops the board and returns what it did; an error if the board failed.
    pub fn stop(mut self) -> anyhow::Result<DeviceStats> {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.join()
    }

    /// Waits until the board stops by itself (needs `duration`).
    pub fn wait(mut self) -> anyhow::Result<DeviceStats> {
        self.join()
    }

    fn join(&mut self) -> anyhow::Result<DeviceStats> {
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                anyhow::bail!("the virtual board thread panicked");
            }
        }
        self.shared.wait_ended().map_err(|e| anyhow::anyhow!(e))?;
        Ok(self.stats())
    }
}

impl Drop for VirtualBoard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        } else {
            let _ = self.shared.wait_ended();
        }
        if let Some(link) = &self.link {
            if std::fs::read_link(link).is_ok_and(|p| p == self.path) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}
