//! Where a board's byte stream comes from: a seeded model of a real board (`synth`), a
//! recording of one (`replay`), or a real board on a serial port (`serial`).
//!
//! Every source yields `Piece`s: bytes the board writes at an *intended* time, measured from
//! the moment streaming started. The virtual board (`device`) turns those times into absolute
//! deadlines, so a slow writer never shifts the schedule.

pub mod line;
pub mod recording;
pub(crate) mod replay;
pub mod serial;
pub(crate) mod synth;

use std::path::PathBuf;

pub(crate) use line::LineEffects;
pub(crate) use replay::ReplaySource;
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

#[cfg(test)]
mod tests {
    use super::*;
    use synth::BurstOptions;

    /// FNV-1a over every piece's time and bytes: a fingerprint of a whole stream.
    fn fingerprint(spec: &SourceSpec, pieces: usize) -> u64 {
        let mut source = spec.open(false).unwrap();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: u8| h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        for _ in 0..pieces {
            let p = source.next_piece().unwrap().unwrap();
            p.at_ns.to_le_bytes().into_iter().for_each(&mut eat);
            p.bytes.iter().copied().for_each(&mut eat);
        }
        h
    }

    /// The synthetic board's stream for a seed is part of what a scenario means: changing the
    /// generator (or how the board draws from it) would silently change every synth run. The
    /// fingerprints below were taken with the generator as it was first written.
    #[test]
    fn the_synthetic_stream_for_a_seed_never_changes() {
        let plain = SourceSpec::Synth(SynthOptions::default());
        let noisy = SourceSpec::Synth(SynthOptions {
            seed: 42,
            bursts: Some(BurstOptions {
                every_s: 1.0,
                stall_ms: 300,
            }),
            line: line::LineOptions {
                chunking: true,
                corrupt_rate: 0.01,
                drop_rate: 0.005,
            },
            ..SynthOptions::default()
        });
        assert_eq!(
            fingerprint(&plain, 4000),
            12_688_807_786_984_927_960,
            "seed 1, clean line"
        );
        assert_eq!(
            fingerprint(&noisy, 4000),
            7_177_295_455_718_941_812,
            "seed 42, bursts and a bad line"
        );
    }
}
