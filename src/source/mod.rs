//! Where a board's byte stream comes from: a seeded model of a real board (`synth`), a
//! recording of one (`replay`), or a real board on a serial port (`serial`).
//!
//! Every source yields `Piece`s: bytes the board writes at an *intended* time, measured from
//! the moment streaming started. The virtual board (`device`) turns those times into absolute
//! deadlines, so a slow writer never shifts the schedule.

pub mod line;
pub mod recording;
pub mod replay;
pub mod rng;
pub mod serial;
pub mod synth;

use std::path::PathBuf;

pub use line::LineEffects;
pub use replay::ReplaySource;
pub use serial::{SerialLink, DEFAULT_BAUD};
pub use synth::{SynthOptions, SynthSource};

/// Bytes the board writes at one intended time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Nanoseconds after streaming started when these bytes are due.
    pub at_ns: u64,
    pub bytes: Vec<u8>,
    /// Set when these bytes end a frame stamped with this sequence number.
    pub frame_end: Option<u32>,
}

/// A stream of pieces, in order. `Ok(None)` is the end of the stream.
pub trait Source: Send {
    fn next_piece(&mut self) -> anyhow::Result<Option<Piece>>;
}

/// What to stream: enough to build a source in any process.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    Synth(SynthOptions),
    Replay {
        path: PathBuf,
        /// Start again from the beginning at the end (benchmark runs outlast recordings).
        looped: bool,
        /// Chunking / corruption / drops applied on top of the recording.
        line: line::LineOptions,
    },
}

impl SourceSpec {
    /// Builds the source. With `stamp_seq` every frame carries its sequence number in the
    /// TinkerKit inputs (replayed frames are re-encoded for that, which drops their garbage).
    pub fn open(&self, stamp_seq: bool) -> anyhow::Result<Box<dyn Source>> {
        Ok(match self {
            SourceSpec::Synth(o) => {
                let synth = SynthSource::new(o.clone(), stamp_seq);
                LineEffects::wrap(Box::new(synth), o.line, o.seed ^ 0x5eed_11e5)
            }
            SourceSpec::Replay { path, looped, line } => {
                let rec = recording::Recording::read(path)?;
                LineEffects::wrap(
                    Box::new(ReplaySource::new(rec, *looped, stamp_seq)),
                    *line,
                    0x11e5,
                )
            }
        })
    }
}
