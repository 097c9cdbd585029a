//! Status frames: `ESP,v1,...,v16,PSE\r\n`, encoded exactly like the sketch and decoded
//! incrementally from arbitrary byte chunks.
//!
//! The decoder keeps one fixed line buffer, so the steady state never allocates. It hunts for
//! the `ESP,` start marker, which is how it resynchronises after garbage or a lost line end, and
//! every byte that does not end up in an accepted frame is counted under one reason.

use serde::Serialize;
use std::io::Write;

/// Index of TinkerKit input A in wire order; the harness stamps sequence numbers there.
pub(crate) const TINKER_A: usize = 14;
/// Index of TinkerKit input B in wire order.
pub(crate) const TINKER_B: usize = 15;

/// Longest line (everything before the `\n`) the decoder accepts. Real frames are at most
/// 75 bytes before the line feed; anything past this is not a frame.
pub const MAX_LINE: usize = 96;

const START: &[u8; 4] = b"ESP,";
const TRAILER: &[u8; 5] = b",PSE\r";

/// One status frame as the board sent it: the 16 raw values in wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RawFrame {
    pub values: [i32; 16],
}

impl RawFrame {
    /// Sequence number carried in the TinkerKit inputs by a harness board (`A*1024 + B`).
    pub fn seq(&self) -> u32 {
        let a = self.values[TINKER_A].clamp(0, 1023) as u32;
        let b = self.values[TINKER_B].clamp(0, 1023) as u32;
        a * 1024 + b
    }

    /// Stamps `seq` (modulo 2^20) into the TinkerKit inputs so `seq()` reads it back.
    pub fn set_seq(&mut self, seq: u32) {
        let seq = seq % (1 << 20);
        self.values[TINKER_A] = (seq / 1024) as i32;
        self.values[TINKER_B] = (seq % 1024) as i32;
    }
}

/// Appends the frame's exact wire bytes (`ESP,...,PSE\r\n`) to `out`.
pub fn encode_frame(frame: &RawFrame, out: &mut Vec<u8>) {
    out.extend_from_slice(b"ESP");
    for v in frame.values {
        // Writing into a Vec cannot fail.
        let _ = write!(out, ",{v}");
    }
    out.extend_from_slice(b",PSE\r\n");
}

/// Why a line (or a run of bytes) was not accepted as a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RejectReason {
    /// Bytes outside any frame: noise, a partial frame at start-up, blank lines.
    Garbage,
    /// The line had the right markers but not 16 values.
    WrongFieldCount,
    /// A value was empty, not decimal, or out of the `i32` range.
    BadNumber,
    /// No line end within `MAX_LINE` bytes.
    Overlong,
    /// A byte above 0x7f or a control character inside a frame.
    NonAscii,
    /// The line ended without `,PSE\r`.
    MissingTrailer,
    /// A new `ESP,` began before the previous frame ended (a lost line end), or the decoder
    /// was reset in the middle of a frame.
    Truncated,
}

impl RejectReason {
    pub(crate) const ALL: [RejectReason; 7] = [
        RejectReason::Garbage,
        RejectReason::WrongFieldCount,
        RejectReason::BadNumber,
        RejectReason::Overlong,
        RejectReason::NonAscii,
        RejectReason::MissingTrailer,
        RejectReason::Truncated,
    ];

    /// The snake_case name used in stats and results.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RejectReason::Garbage => "garbage",
            RejectReason::WrongFieldCount => "wrong_field_count",
            RejectReason::BadNumber => "bad_number",
            RejectReason::Overlong => "overlong",
            RejectReason::NonAscii => "non_ascii",
            RejectReason::MissingTrailer => "missing_trailer",
            RejectReason::Truncated => "truncated",
        }
    }
}

/// Running totals of what the decoder accepted and rejected.
///
/// Accounting is exact: `frame_bytes + rejected_bytes + FrameDecoder::buffered()` equals every
/// byte ever fed. Per-reason fields count rejected *lines* (runs of bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DecodeStats {
    pub frames: u64,
    pub frame_bytes: u64,
    pub rejected_lines: u64,
    pub rejected_bytes: u64,
    pub garbage: u64,
    pub wrong_field_count: u64,
    pub bad_number: u64,
    pub overlong: u64,
    pub non_ascii: u64,
    pub missing_trailer: u64,
    pub truncated: u64,
}

impl DecodeStats {
    /// Rejected lines counted under `reason`.
    pub(crate) fn count(&self, reason: RejectReason) -> u64 {
        match reason {
            RejectReason::Garbage => self.garbage,
            RejectReason::WrongFieldCount => self.wrong_field_count,
            RejectReason::BadNumber => self.bad_number,
            RejectReason::Overlong => self.overlong,
            RejectReason::NonAscii => self.non_ascii,
            RejectReason::MissingTrailer => self.missing_trailer,
            RejectReason::Truncated => self.truncated,
        }
    }

    /// `(reason name, rejected lines)` for every reason, zeros included.
    pub fn by_reason(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RejectReason::ALL
            .into_iter()
            .map(move |r| (r.as_str(), self.count(r)))
    }

    fn reject_line(&mut self, reason: RejectReason) {
        self.rejected_lines += 1;
        let slot = match reason {
            RejectReason::Garbage => &mut self.garbage,
            RejectReason::WrongFieldCount => &mut self.wrong_field_count,
            RejectReason::BadNumber => &mut self.bad_number,
            RejectReason::Overlong => &mut self.overlong,
            RejectReason::NonAscii => &mut self.non_ascii,
            RejectReason::MissingTrailer => &mut self.missing_trailer,
            RejectReason::Truncated => &mut self.truncated,
        };
        *slot += 1;
    }
}

/// Incremental frame decoder; feed it bytes in any chunking and get the same frames.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: [u8; MAX_LINE],
    /// Bytes of the current candidate line in `buf` (0 while hunting).
    len: usize,
    /// While hunting: how many bytes of `ESP,` have matched so far.
    matched: usize,
    /// The reason for the run of rejected bytes being skipped, if one is open. It is closed
    /// (one rejected line) by a line feed or by the start of the next frame.
    skipping: Option<RejectReason>,
    stats: DecodeStats,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        FrameDecoder {
            buf: [0; MAX_LINE],
            len: 0,
            matched: 0,
            skipping: None,
            stats: DecodeStats::default(),
        }
    }

    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Bytes held back because they may still become part of a frame.
    pub fn buffered(&self) -> usize {
        if self.len > 0 {
            self.len
        } else {
            self.matched
        }
    }

    /// Drops any partial line (counted as rejected), e.g. after the port was reopened.
    pub(crate) fn reset(&mut self) {
        if self.len > 0 {
            self.stats.rejected_bytes += self.len as u64;
            self.len = 0;
            self.stats.reject_line(RejectReason::Truncated);
        } else if self.matched > 0 {
            self.junk(self.matched, RejectReason::Garbage);
            self.matched = 0;
        }
        self.close_skip();
    }

    /// Decodes `bytes`, calling `on_frame` for every complete valid frame in order.
    pub fn feed(&mut self, bytes: &[u8], mut on_frame: impl FnMut(RawFrame)) {
        for &b in bytes {
            if self.len == 0 {
                self.hunt(b);
            } else if let Some(frame) = self.in_line(b) {
                on_frame(frame);
            }
        }
    }

    /// Counts `n` rejected bytes into the open run, opening one with `reason` if needed.
    fn junk(&mut self, n: usize, reason: RejectReason) {
        self.stats.rejected_bytes += n as u64;
        match self.skipping {
            None => self.skipping = Some(reason),
            // A non-ASCII byte in a run of plain garbage is worth naming.
            Some(RejectReason::Garbage) if reason == RejectReason::NonAscii => {
                self.skipping = Some(reason)
            }
            Some(_) => {}
        }
    }

    fn close_skip(&mut self) {
        if let Some(reason) = self.skipping.take() {
            self.stats.reject_line(reason);
        }
    }

    /// Looks for the `ESP,` start marker, counting everything else as rejected.
    fn hunt(&mut self, b: u8) {
        if b == START[self.matched] {
            self.matched += 1;
            if self.matched == START.len() {
                self.close_skip();
                self.buf[..START.len()].copy_from_slice(START);
                self.len = START.len();
                self.matched = 0;
            }
            return;
        }
        // Mismatch: the partial marker is junk; this byte may begin a new marker.
        if self.matched > 0 {
            self.junk(self.matched, RejectReason::Garbage);
            self.matched = 0;
            if b == START[0] {
                self.matched = 1;
                return;
            }
        }
        let reason = if b.is_ascii() {
            RejectReason::Garbage
        } else {
            RejectReason::NonAscii
        };
        self.junk(1, reason);
        if b == b'\n' {
            self.close_skip();
        }
    }

    /// Adds a byte to the current candidate line; returns a frame when the line completes.
    fn in_line(&mut self, b: u8) -> Option<RawFrame> {
        match b {
            b'\n' => {
                let len = self.len;
                self.len = 0;
                match parse_line(&self.buf[..len]) {
                    Ok(frame) => {
                        self.stats.frames += 1;
                        self.stats.frame_bytes += len as u64 + 1;
                        Some(frame)
                    }
                    Err(reason) => {
                        self.stats.rejected_bytes += len as u64 + 1;
                        self.stats.reject_line(reason);
                        None
                    }
                }
            }
            // `E` only appears at the start (`ESP`) and end (`PSE`) of a frame; anywhere else
            // a new frame has begun and the current one lost its end.
            b'E' if !self.buf[..self.len].ends_with(b",PS") => {
                self.abandon(RejectReason::Truncated);
                self.matched = 1;
                None
            }
            _ if !b.is_ascii() || (b.is_ascii_control() && b != b'\r') => {
                self.abandon(RejectReason::NonAscii);
                self.junk(1, RejectReason::NonAscii);
                None
            }
            _ if self.len == MAX_LINE => {
                self.abandon(RejectReason::Overlong);
                self.junk(1, RejectReason::Overlong);
                None
            }
            _ => {
                self.buf[self.len] = b;
                self.len += 1;
                None
            }
        }
    }

    /// Gives up on the current line: its bytes open a rejected run that lasts until the next
    /// line feed or frame start.
    fn abandon(&mut self, reason: RejectReason) {
        let len = self.len;
        self.len = 0;
        self.skipping = None;
        self.junk(len, reason);
        if reason == RejectReason::Truncated {
            self.close_skip();
        }
    }
}

/// Parses one line (without its `\n`) that starts with `ESP,`.
fn parse_line(line: &[u8]) -> Result<RawFrame, RejectReason> {
    let Some(body) = line
        .strip_prefix(START.as_slice())
        .and_then(|l| l.strip_suffix(TRAILER.as_slice()))
    else {
        return Err(RejectReason::MissingTrailer);
    };
    let mut frame = RawFrame::default();
    let mut n = 0;
    for token in body.split(|&c| c == b',') {
        if n == 16 {
            return Err(RejectReason::WrongFieldCount);
        }
        frame.values[n] = parse_value(token).ok_or(RejectReason::BadNumber)?;
        n += 1;
    }
    if n != 16 {
        return Err(RejectReason::WrongFieldCount);
    }
    Ok(frame)
}

/// `["-"] 1*DIGIT` into an `i32`, without allocating.
fn parse_value(token: &[u8]) -> Option<i32> {
    let (neg, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    i32::try_from(if neg { -v } else { v }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The real captured frame from `docs/protocol.md` §1.
    pub(crate) const CAPTURED: &[u8] =
        b"ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n";
    const CAPTURED_VALUES: [i32; 16] = [
        1, 1, 1, 1, 430, 973, 17, 0, 1023, -1, 3, 17, 21, 157, 376, 8,
    ];

    fn decode_all(bytes: &[u8]) -> (Vec<RawFrame>, DecodeStats) {
        let mut d = FrameDecoder::new();
        let mut frames = Vec::new();
        d.feed(bytes, |f| frames.push(f));
        (frames, d.stats().clone())
    }

    /// Feeds `bytes` to a fresh decoder: how many frames came out, and the decoder, whose
    /// every byte must be accounted for.
    fn count_frames(bytes: &[u8]) -> (usize, FrameDecoder) {
        let mut d = FrameDecoder::new();
        let mut n = 0;
        d.feed(bytes, |_| n += 1);
        assert_accounted(&d, bytes.len());
        (n, d)
    }

    fn assert_accounted(d: &FrameDecoder, fed: usize) {
        let s = d.stats();
        assert_eq!(
            s.frame_bytes + s.rejected_bytes + d.buffered() as u64,
            fed as u64,
            "{s:?}"
        );
    }

    #[test]
    fn captured_frame_decodes_and_reencodes_exactly() {
        assert_eq!(CAPTURED.len(), 56);
        let (frames, stats) = decode_all(CAPTURED);
        assert_eq!(
            frames,
            vec![RawFrame {
                values: CAPTURED_VALUES
            }]
        );
        assert_eq!(stats.frames, 1);
        assert_eq!(stats.rejected_bytes, 0);
        let mut out = Vec::new();
        encode_frame(&frames[0], &mut out);
        assert_eq!(out, CAPTURED);
    }

    #[test]
    fn seq_round_trips_and_wraps() {
        let mut f = RawFrame::default();
        f.set_seq(1_000_000);
        assert_eq!(f.seq(), 1_000_000);
        assert_eq!(f.values[TINKER_A], 976);
        assert_eq!(f.values[TINKER_B], 576);
        f.set_seq((1 << 20) + 5);
        assert_eq!(f.seq(), 5);
    }

    #[test]
    fn garbage_before_a_frame_is_counted_then_resynchronised() {
        let mut bytes = b"xx\r\n,8,PSE\r\nEEES".to_vec();
        bytes.extend_from_slice(CAPTURED);
        let (n, d) = count_frames(&bytes);
        assert_eq!(n, 1);
        let s = d.stats();
        assert_eq!(s.rejected_bytes as usize, bytes.len() - CAPTURED.len());
        assert_eq!(s.garbage, 3, "{s:?}");
        assert_accounted(&d, bytes.len());
    }

    #[test]
    fn frame_missing_its_line_end_is_truncated_and_the_next_is_kept() {
        let mut bytes = CAPTURED[..30].to_vec();
        bytes.extend_from_slice(CAPTURED);
        let (frames, s) = decode_all(&bytes);
        assert_eq!(frames.len(), 1);
        assert_eq!(s.truncated, 1);
        assert_eq!(s.rejected_bytes, 30);
    }

    #[test]
    fn lost_lf_between_frames_rejects_one_keeps_other() {
        let mut bytes = CAPTURED[..CAPTURED.len() - 1].to_vec();
        bytes.extend_from_slice(CAPTURED);
        let (frames, s) = decode_all(&bytes);
        assert_eq!(frames.len(), 1);
        assert_eq!(s.rejected_lines, 1);
    }

    #[test]
    fn wrong_field_count_bad_number_and_trailer() {
        let cases: [(&[u8], RejectReason); 8] = [
            (b"ESP,1,2,3,PSE\r\n", RejectReason::WrongFieldCount),
            (
                b"ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,8,9,PSE\r\n",
                RejectReason::WrongFieldCount,
            ),
            (
                b"ESP,1,1,1,1,4x0,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n",
                RejectReason::BadNumber,
            ),
            (
                b"ESP,1,1,1,1,,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n",
                RejectReason::BadNumber,
            ),
            (
                b"ESP,1,1,1,1,-,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n",
                RejectReason::BadNumber,
            ),
            (
                b"ESP,1,1,1,1,99999999999,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n",
                RejectReason::BadNumber,
            ),
            (
                b"ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,8,PSE\n",
                RejectReason::MissingTrailer,
            ),
            (
                b"ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,8\r\n",
                RejectReason::MissingTrailer,
            ),
        ];
        for (line, reason) in cases {
            let mut bytes = line.to_vec();
            bytes.extend_from_slice(CAPTURED);
            let (frames, s) = decode_all(&bytes);
            assert_eq!(frames.len(), 1, "{}", String::from_utf8_lossy(line));
            assert_eq!(s.rejected_lines, 1, "{}", String::from_utf8_lossy(line));
            assert_eq!(
                s.count(reason),
                1,
                "{} {s:?}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(s.rejected_bytes as usize, line.len());
        }
    }

    #[test]
    fn overlong_line_is_rejected_once_and_decoder_recovers() {
        let mut bytes = b"ESP,".to_vec();
        bytes.extend_from_slice(&[b'1'; 500]);
        bytes.extend_from_slice(b",PSE\r\n");
        bytes.extend_from_slice(CAPTURED);
        let (n, d) = count_frames(&bytes);
        assert_eq!(n, 1);
        assert_eq!(d.stats().overlong, 1);
        assert_eq!(d.stats().rejected_lines, 1);
        assert_accounted(&d, bytes.len());
    }

    #[test]
    fn non_ascii_inside_and_outside_frames() {
        let mut bytes = CAPTURED.to_vec();
        bytes[10] = 0xc3;
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        bytes.extend_from_slice(b"ESP,1\x00,2\r\n");
        bytes.extend_from_slice(CAPTURED);
        let (n, d) = count_frames(&bytes);
        assert_eq!(n, 1);
        assert_eq!(d.stats().non_ascii, 3, "{:?}", d.stats());
        assert_accounted(&d, bytes.len());
    }

    #[test]
    fn truncated_tail_stays_buffered_and_reset_counts_it() {
        let mut d = FrameDecoder::new();
        let mut n = 0;
        d.feed(&CAPTURED[..40], |_| n += 1);
        assert_eq!(n, 0);
        assert_eq!(d.buffered(), 40);
        d.reset();
        assert_eq!(d.stats().truncated, 1);
        assert_accounted(&d, 40);
        d.feed(CAPTURED, |_| n += 1);
        assert_eq!(n, 1);
    }

    fn arb_frame() -> impl Strategy<Value = RawFrame> {
        // Every field within the sketch's raw ranges (widest: -512..=1023).
        proptest::array::uniform16(-512i32..=1023).prop_map(|values| RawFrame { values })
    }

    proptest! {
        #[test]
        fn round_trip_any_chunking(
            frames in proptest::collection::vec(arb_frame(), 1..20),
            cuts in proptest::collection::vec(1usize..200, 0..40),
        ) {
            let mut bytes = Vec::new();
            for f in &frames {
                encode_frame(f, &mut bytes);
            }
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            let mut rest = bytes.as_slice();
            for c in cuts {
                let c = c.min(rest.len());
                let (a, b) = rest.split_at(c);
                d.feed(a, |f| got.push(f));
                rest = b;
            }
            d.feed(rest, |f| got.push(f));
            prop_assert_eq!(&got, &frames);
            prop_assert_eq!(d.stats().rejected_bytes, 0);
            prop_assert_eq!(d.stats().frame_bytes as usize, bytes.len());
        }

        #[test]
        fn survives_random_bytes_and_accounts_for_all(
            bytes in proptest::collection::vec(any::<u8>(), 0..2000),
            split in 0usize..2000,
        ) {
            let mut one = FrameDecoder::new();
            let mut a = Vec::new();
            one.feed(&bytes, |f| a.push(f));
            let mut two = FrameDecoder::new();
            let mut b = Vec::new();
            let (x, y) = bytes.split_at(split.min(bytes.len()));
            two.feed(x, |f| b.push(f));
            two.feed(y, |f| b.push(f));
            prop_assert_eq!(a, b);
            prop_assert_eq!(one.stats(), two.stats());
            let s = one.stats();
            prop_assert_eq!(s.frame_bytes + s.rejected_bytes + one.buffered() as u64, bytes.len() as u64);
        }

        #[test]
        fn frames_survive_interleaved_noise(
            frames in proptest::collection::vec(arb_frame(), 1..10),
            noise in proptest::collection::vec("[a-zA-Z0-9,\\- \r]{0,20}\n", 10),
        ) {
            let mut bytes = Vec::new();
            for (f, n) in frames.iter().zip(noise.iter()) {
                bytes.extend_from_slice(n.as_bytes());
                encode_frame(f, &mut bytes);
            }
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            for b in &bytes {
                d.feed(std::slice::from_ref(b), |f| got.push(f));
            }
            // Noise lines end in '\n', so every frame starts on a fresh line and must survive.
            prop_assert_eq!(got, frames);
        }
    }
}
