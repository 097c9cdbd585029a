//! Replays a recording with its original timing: every chunk at the time it arrived.

use super::recording::Recording;
use super::{Piece, Source};
use crate::protocol::frame::{encode_frame, FrameDecoder};

pub struct ReplaySource {
    rec: Recording,
    looped: bool,
    stamp_seq: bool,
    next: usize,
    /// Added to recorded times: one recording length per completed loop.
    offset_ns: u64,
    decoder: FrameDecoder,
    seq: u32,
    /// Re-encoded frames of the current chunk still to hand out (stamped mode).
    pending: std::collections::VecDeque<Piece>,
}

impl ReplaySource {
    pub fn new(rec: Recording, looped: bool, stamp_seq: bool) -> Self {
        ReplaySource {
            rec,
            looped,
            stamp_seq,
            next: 0,
            offset_ns: 0,
            decoder: FrameDecoder::new(),
            seq: 0,
            pending: Default::default(),
        }
    }

    /// The next recorded chunk with its loop-adjusted time.
    fn next_chunk(&mut self) -> Option<(u64, Vec<u8>)> {
        if self.next == self.rec.chunks.len() {
            if !self.looped || self.rec.byte_count() == 0 {
                return None;
            }
            // One loop lasts the recording's length, and at least one frame period, so a
            // loop never lands two copies of a chunk at the same instant.
            let last = self.rec.chunks.last().map_or(0, |c| c.0);
            self.offset_ns += self.rec.end_ns.max(last + 25_000_000);
            self.next = 0;
        }
        let (at, bytes) = &self.rec.chunks[self.next];
        self.next += 1;
        Some((self.offset_ns + at, bytes.clone()))
    }
}

impl Source for ReplaySource {
    fn next_piece(&mut self) -> anyhow::Result<Option<Piece>> {
        if !self.stamp_seq {
            return Ok(self.next_chunk().map(|(at_ns, bytes)| Piece {
                at_ns,
                bytes,
                frame_end: None,
            }));
        }
        // Stamped: each frame is re-encoded with its sequence number and handed out at the
        // time of the chunk that completed it.
        while self.pending.is_empty() {
            let Some((at_ns, bytes)) = self.next_chunk() else {
                return Ok(None);
            };
            let (pending, seq) = (&mut self.pending, &mut self.seq);
            self.decoder.feed(&bytes, |mut f| {
                f.set_seq(*seq);
                let mut out = Vec::with_capacity(80);
                encode_frame(&f, &mut out);
                pending.push_back(Piece {
                    at_ns,
                    bytes: out,
                    frame_end: Some(*seq),
                });
                *seq = (*seq + 1) % (1 << 20);
            });
        }
        Ok(self.pending.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::recording::Header;

    fn rec() -> Recording {
        Recording {
            header: Header::new("test"),
            chunks: vec![
                (
                    0,
                    b"junkESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,3".to_vec(),
                ),
                (
                    3_000,
                    b"76,8,PSE\r\nESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n"
                        .to_vec(),
                ),
            ],
            end_ns: 50_000_000,
        }
    }

    #[test]
    fn raw_replay_keeps_chunks_and_times_and_loops() {
        let mut s = ReplaySource::new(rec(), true, false);
        let p: Vec<Piece> = (0..5).map(|_| s.next_piece().unwrap().unwrap()).collect();
        assert_eq!(p[0].at_ns, 0);
        assert_eq!(p[1].at_ns, 3_000);
        assert_eq!(p[2].at_ns, 50_000_000);
        assert_eq!(p[3].at_ns, 50_003_000);
        assert_eq!(p[4].at_ns, 100_000_000);
        assert_eq!(p[0].bytes, rec().chunks[0].1);

        let mut once = ReplaySource::new(rec(), false, false);
        assert_eq!((0..5).filter_map(|_| once.next_piece().unwrap()).count(), 2);
    }

    #[test]
    fn stamped_replay_reencodes_frames_with_sequence_numbers() {
        let mut s = ReplaySource::new(rec(), false, true);
        let a = s.next_piece().unwrap().unwrap();
        let b = s.next_piece().unwrap().unwrap();
        assert!(s.next_piece().unwrap().is_none());
        assert_eq!((a.at_ns, a.frame_end), (3_000, Some(0)));
        assert_eq!((b.at_ns, b.frame_end), (3_000, Some(1)));
        assert_eq!(
            b.bytes,
            b"ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,0,1,PSE\r\n"
        );
    }
}
