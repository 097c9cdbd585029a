//! What a USB cable and a CDC driver do to the bytes on their way: split them into
//! packet-sized pieces, and (on a bad line) corrupt or lose some.

use super::{Piece, Source};
use crate::rng::Rng;

/// Line effects; all off by default.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LineOptions {
    /// Split each piece into 2–4 chunks about a millisecond apart, as the sketch's many small
    /// `Serial.print` calls arrive over USB.
    pub chunking: bool,
    /// Probability that a byte is replaced by a different random byte.
    pub corrupt_rate: f64,
    /// Probability that a byte is lost.
    pub drop_rate: f64,
}

impl LineOptions {
    pub(crate) fn is_clean(&self) -> bool {
        !self.chunking && self.corrupt_rate <= 0.0 && self.drop_rate <= 0.0
    }
}

/// Applies `LineOptions` to another source's pieces, deterministically for a seed.
pub(crate) struct LineEffects {
    inner: Box<dyn Source>,
    opts: LineOptions,
    rng: Rng,
    queue: std::collections::VecDeque<Piece>,
    /// Bytes corrupted and dropped so far.
    pub corrupted: u64,
    pub dropped: u64,
}

impl LineEffects {
    /// Wraps `inner` only when some effect is on.
    pub(crate) fn wrap(inner: Box<dyn Source>, opts: LineOptions, seed: u64) -> Box<dyn Source> {
        if opts.is_clean() {
            inner
        } else {
            Box::new(LineEffects {
                inner,
                opts,
                rng: Rng::new(seed),
                queue: Default::default(),
                corrupted: 0,
                dropped: 0,
            })
        }
    }

    fn damage(&mut self, bytes: &mut Vec<u8>) {
        if self.opts.corrupt_rate <= 0.0 && self.opts.drop_rate <= 0.0 {
            return;
        }
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes.iter() {
            if self.rng.chance(self.opts.drop_rate) {
                self.dropped += 1;
                continue;
            }
            if self.rng.chance(self.opts.corrupt_rate) {
                self.corrupted += 1;
                out.push(b ^ (self.rng.range(1, 255) as u8));
            } else {
                out.push(b);
            }
        }
        *bytes = out;
    }
}

impl Source for LineEffects {
    fn next_piece(&mut self) -> anyhow::Result<Option<Piece>> {
        if let Some(p) = self.queue.pop_front() {
            return Ok(Some(p));
        }
        let Some(mut piece) = self.inner.next_piece()? else {
            return Ok(None);
        };
        self.damage(&mut piece.bytes);
        if !self.opts.chunking || piece.bytes.len() < 2 {
            return Ok(Some(piece));
        }
        let parts = self.rng.range(2, 4).min(piece.bytes.len() as i64) as usize;
        let mut cuts: Vec<usize> = (1..parts)
            .map(|_| self.rng.range(1, piece.bytes.len() as i64 - 1) as usize)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut start = 0;
        let mut at = piece.at_ns;
        for (i, &end) in cuts
            .iter()
            .chain(std::iter::once(&piece.bytes.len()))
            .enumerate()
        {
            if i > 0 {
                at += self.rng.range(300_000, 1_000_000) as u64;
            }
            let last = end == piece.bytes.len();
            self.queue.push_back(Piece {
                at_ns: at,
                bytes: piece.bytes[start..end].to_vec(),
                frame_end: if last { piece.frame_end } else { None },
            });
            start = end;
        }
        Ok(self.queue.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::FrameDecoder;
    use crate::source::synth::{SynthOptions, SynthSource};

    fn take(src: &mut dyn Source, n: usize) -> Vec<Piece> {
        (0..n).map_while(|_| src.next_piece().unwrap()).collect()
    }

    #[test]
    fn chunking_keeps_bytes_and_frame_ends() {
        let opts = SynthOptions::default();
        let mut clean = SynthSource::new(opts.clone(), true);
        let line = LineOptions {
            chunking: true,
            ..Default::default()
        };
        let mut chunked = LineEffects::wrap(Box::new(SynthSource::new(opts, true)), line, 3);
        let a: Vec<u8> = take(&mut clean, 50)
            .into_iter()
            .flat_map(|p| p.bytes)
            .collect();
        let pieces = take(chunked.as_mut(), 200);
        assert!(pieces.len() >= 100, "frames were split");
        let b: Vec<u8> = pieces.iter().flat_map(|p| p.bytes.clone()).collect();
        assert_eq!(&b[..a.len()], &a[..]);
        let ends: Vec<u32> = pieces.iter().filter_map(|p| p.frame_end).collect();
        assert_eq!(&ends[..10], &(0..10).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn noisy_line_damages_about_the_requested_share() {
        let line = LineOptions {
            corrupt_rate: 0.01,
            drop_rate: 0.01,
            chunking: false,
        };
        let mut src = LineEffects::wrap(
            Box::new(SynthSource::new(SynthOptions::default(), false)),
            line,
            9,
        );
        let bytes: Vec<u8> = take(src.as_mut(), 2000)
            .into_iter()
            .flat_map(|p| p.bytes)
            .collect();
        let mut d = FrameDecoder::new();
        let mut frames = 0;
        d.feed(&bytes, |_| frames += 1);
        // ~112 kB at 2 % damage: many frames lost, most survive, every loss counted.
        assert!(frames > 500 && frames < 1900, "{frames}");
        assert!(d.stats().rejected_lines > 100);
    }
}
