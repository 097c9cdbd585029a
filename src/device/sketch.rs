//! What the board does, whoever runs it: read commands, keep the frame schedule, write what
//! is due — the v1.00 sketch's behaviour as a state machine that waits on nothing itself.
//!
//! A runner alternates [`Sketch::plan_wait`] (until when, and for what, to wait on the pty)
//! and [`Sketch::after_wait`] (what the wait saw). The thread runner ([`Sketch::run`]) waits
//! with `ppoll`; the shared event loops (`device::board_loops`) wait in epoll, many boards per
//! thread, and make the same calls in the same order.

use super::pty::{Pty, Ready};
use super::{BoardRecords, DeviceConfig, DeviceStats, VERSION_REPLY};
use crate::clock::now_ns;
use crate::protocol::command::{Command, CommandDecoder};
use crate::source::{Piece, Source};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Longest the loop sleeps before looking at its stop flag again.
const TICK: Duration = Duration::from_millis(20);
/// While nobody has the pty open the master reports hang-up at once; poll this slowly.
pub(super) const NO_READER_NAP: Duration = Duration::from_millis(10);
/// Bytes the board holds for a reader that is not draining the pty before it starts
/// dropping frames (a real board's USB buffer is far smaller).
const MAX_BACKLOG: usize = 16 * 1024;

pub(super) struct Sketch {
    /// When the board stops by itself (`duration`), if it does.
    end_ns: Option<u64>,
    pty: Pty,
    source: Box<dyn Source>,
    cfg: DeviceConfig,
    log: Option<std::fs::File>,
    shared: Arc<BoardRecords>,
    decoder: CommandDecoder,
    streaming: bool,
    /// Monotonic time of stream offset 0 (pieces are due at `anchor_ns + at_ns`).
    anchor_ns: u64,
    next: Option<Piece>,
    source_done: bool,
    /// Bytes due but not yet taken by the pty, and where stamped frames end in them.
    out: Vec<u8>,
    out_frames: Vec<(usize, u32)>,
    reader_present: bool,
    last_input_ns: u64,
    /// Rejected command bytes of decoders thrown away when a reader left.
    rejected_before: u64,
    stats: DeviceStats,
}

impl Sketch {
    pub(super) fn new(
        pty: Pty,
        source: Box<dyn Source>,
        cfg: DeviceConfig,
        log: Option<std::fs::File>,
        shared: Arc<BoardRecords>,
    ) -> Sketch {
        let end_ns = cfg
            .duration
            .map(|d| now_ns().saturating_add(d.as_nanos() as u64));
        Sketch {
            end_ns,
            pty,
            source,
            cfg,
            log,
            shared,
            decoder: CommandDecoder::new(),
            streaming: false,
            anchor_ns: 0,
            next: None,
            source_done: false,
            out: Vec::with_capacity(4096),
            out_frames: Vec::new(),
            reader_present: false,
            last_input_ns: 0,
            rejected_before: 0,
            stats: DeviceStats::default(),
        }
    }

    /// The thread runner: the whole life of the board on the calling thread.
    pub(super) fn run(&mut self) -> anyhow::Result<()> {
        while let Some((deadline, want_write)) = self.plan_wait(now_ns())? {
            let now = now_ns();
            let ready = self.pty.wait(
                Duration::from_nanos(deadline.saturating_sub(now)),
                want_write,
            )?;
            if self.after_wait(ready, now_ns())? {
                std::thread::sleep(NO_READER_NAP);
            }
        }
        self.finish();
        Ok(())
    }

    /// Where the board records what it does, for a runner that reports its end there.
    pub(super) fn records(&self) -> Arc<BoardRecords> {
        self.shared.clone()
    }

    /// The pty, for a runner that waits on it.
    pub(super) fn pty(&self) -> &Pty {
        &self.pty
    }

    /// Until when to wait on the pty and whether for room to write too; None once the board
    /// is to stop (asked to, or its duration is over). The wait never exceeds [`TICK`], so a
    /// stop request is seen in time.
    pub(super) fn plan_wait(&mut self, now: u64) -> anyhow::Result<Option<(u64, bool)>> {
        if self.shared.stop.load(Ordering::Relaxed) || self.end_ns.is_some_and(|e| now >= e) {
            return Ok(None);
        }
        let mut deadline = now + TICK.as_nanos() as u64;
        if let Some(e) = self.end_ns {
            deadline = deadline.min(e);
        }
        if let Some(d) = self.next_deadline()? {
            deadline = deadline.min(d);
        }
        Ok(Some((deadline, !self.out.is_empty())))
    }

    /// Acts on what a wait on the pty saw at `now`: input, due frames, writes. Returns true
    /// when nobody has the pty open: the runner then naps [`NO_READER_NAP`] before the next
    /// [`Self::plan_wait`].
    pub(super) fn after_wait(&mut self, ready: Ready, now: u64) -> anyhow::Result<bool> {
        if ready.hangup && !ready.readable {
            if self.reader_present {
                self.reader_left();
            }
            self.drop_due(now)?;
            self.sync_stats();
            return Ok(true);
        }
        if !self.reader_present {
            self.reader_present = true;
            self.stats.reader_opens += 1;
        }
        if ready.readable {
            let mut buf = [0u8; 512];
            while let Some(n) = self.pty.read(&mut buf)? {
                self.input(&buf[..n], now)?;
            }
        }
        if self.frozen() && now >= self.last_input_ns + self.freeze_ns() {
            let t = self.last_input_ns;
            self.flush_command(t)?;
        }
        if self.streaming && !self.frozen() {
            self.queue_due(now)?;
        }
        self.write_out()?;
        self.sync_stats();
        Ok(false)
    }

    /// The last statistics, once the board has stopped.
    pub(super) fn finish(&mut self) {
        self.stats.source_ended = self.source_done;
        self.sync_stats();
    }

    fn freeze_ns(&self) -> u64 {
        self.cfg.command_freeze_ms * 1_000_000
    }

    /// The sketch is stuck in `parseInt()` waiting for more digits or its timeout. Its
    /// timeout restarts with every byte `parseInt` reads (`timedPeek` per byte), so the
    /// freeze ends `command_freeze_ms` after the last input, or at once when a byte that is
    /// not a digit (such as the bridge's `\n`) completes the number; the decoder then
    /// applies the value, 0 if no digit came, as the sketch does.
    fn frozen(&self) -> bool {
        self.cfg.command_freeze_ms > 0 && self.decoder.pending()
    }

    /// When the loop must wake next: the next piece, or the end of a command freeze.
    fn next_deadline(&mut self) -> anyhow::Result<Option<u64>> {
        if self.frozen() {
            return Ok(Some(self.last_input_ns + self.freeze_ns()));
        }
        if !self.streaming || !self.reader_present {
            return Ok(None);
        }
        let anchor = self.anchor_ns;
        Ok(self.peek()?.map(|p| anchor + p.at_ns))
    }

    fn peek(&mut self) -> anyhow::Result<Option<&Piece>> {
        if self.next.is_none() && !self.source_done {
            self.next = self.source.next_piece()?;
            self.source_done = self.next.is_none();
        }
        Ok(self.next.as_ref())
    }

    fn take_due(&mut self, now: u64) -> anyhow::Result<Option<Piece>> {
        let anchor = self.anchor_ns;
        if self.peek()?.is_some_and(|p| anchor + p.at_ns <= now) {
            Ok(self.next.take())
        } else {
            Ok(None)
        }
    }

    /// Moves every piece whose time has come into the output backlog.
    fn queue_due(&mut self, now: u64) -> anyhow::Result<()> {
        while let Some(p) = self.take_due(now)? {
            self.queue(p);
        }
        Ok(())
    }

    fn queue(&mut self, p: Piece) {
        if self.out.len() + p.bytes.len() > MAX_BACKLOG {
            self.stats.frames_dropped += lines_in(&p.bytes).max(u64::from(p.frame_end.is_some()));
            return;
        }
        self.out.extend_from_slice(&p.bytes);
        if let Some(seq) = p.frame_end {
            self.out_frames.push((self.out.len(), seq));
        }
    }

    /// With nobody listening, frames fall on the floor but the schedule keeps going, as on a
    /// real board whose host closed the port.
    fn drop_due(&mut self, now: u64) -> anyhow::Result<()> {
        if self.streaming && !self.frozen() {
            while let Some(p) = self.take_due(now)? {
                self.stats.frames_dropped +=
                    lines_in(&p.bytes).max(u64::from(p.frame_end.is_some()));
            }
        }
        Ok(())
    }

    fn reader_left(&mut self) {
        self.reader_present = false;
        self.stats.frames_dropped += lines_in(&self.out);
        self.out.clear();
        self.out_frames.clear();
        self.rejected_before += self.decoder.stats().rejected_bytes;
        self.decoder = CommandDecoder::new();
        self.pty.discard_output();
    }

    fn write_out(&mut self) -> anyhow::Result<()> {
        while !self.out.is_empty() {
            // Stamped just before the write that completes a frame: the reader can only see
            // the bytes after this instant, so ingest latency and staleness are never
            // negative (a stamp taken after `write` returns races the reader). The cost is
            // that they include the write syscall itself, a few µs.
            let t = now_ns();
            let n = self.pty.write(&self.out)?;
            if n == 0 {
                break;
            }
            self.stats.bytes_written += n as u64;
            self.stats.frames_written += lines_in(&self.out[..n]);
            let done = self
                .out_frames
                .iter()
                .take_while(|(end, _)| *end <= n)
                .count();
            if done > 0 {
                let mut times = self.shared.frame_times.lock().expect("poisoned");
                times.extend(self.out_frames.drain(..done).map(|(_, seq)| (seq, t)));
            }
            for f in &mut self.out_frames {
                f.0 -= n;
            }
            self.out.drain(..n);
        }
        Ok(())
    }

    /// Bytes from the reader: decode commands and act on them.
    fn input(&mut self, bytes: &[u8], t: u64) -> anyhow::Result<()> {
        // A numeric command pending from earlier input that this chunk completes with a
        // non-digit ended at the earlier read.
        let earlier =
            self.decoder.pending_has_digits() && bytes.first().is_some_and(|b| !b.is_ascii_digit());
        let mut cmds = Vec::new();
        self.decoder.feed(bytes, |c| cmds.push(c));
        let previous = self.last_input_ns;
        self.last_input_ns = t;
        for (i, c) in cmds.into_iter().enumerate() {
            let at = if i == 0 && earlier { previous } else { t };
            self.command(c, at)?;
        }
        if self.cfg.command_freeze_ms == 0 {
            // No parseInt timeout to emulate: a write holds whole commands.
            self.flush_command(t)?;
        }
        Ok(())
    }

    fn flush_command(&mut self, t: u64) -> anyhow::Result<()> {
        let mut cmd = None;
        self.decoder.flush(|c| cmd = Some(c));
        if let Some(c) = cmd {
            self.command(c, t)?;
        }
        Ok(())
    }

    fn command(&mut self, c: Command, t: u64) -> anyhow::Result<()> {
        self.shared.commands.lock().expect("poisoned").push((t, c));
        if let Some(log) = &mut self.log {
            let line = serde_json::json!({ "t_ns": t, "wire": c.to_wire_string(), "command": c });
            writeln!(log, "{line}")?;
        }
        let now = now_ns();
        match c {
            Command::Start if !self.streaming => {
                self.streaming = true;
                // The next frame is due now; the schedule runs from here.
                let at = self.peek()?.map_or(0, |p| p.at_ns);
                self.anchor_ns = now.saturating_sub(at);
            }
            Command::Stop => self.streaming = false,
            Command::Version => self.queue(Piece {
                at_ns: 0,
                bytes: VERSION_REPLY.to_vec(),
                frame_end: None,
            }),
            Command::Dump => {
                // One whole frame right away: pieces up to the end of a line.
                while let Some(p) = {
                    self.peek()?;
                    self.next.take()
                } {
                    let ends_line = p.frame_end.is_some() || p.bytes.contains(&b'\n');
                    self.queue(p);
                    if ends_line {
                        break;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn sync_stats(&mut self) {
        let cs = self.decoder.stats();
        self.stats.commands = self.shared.commands.lock().expect("poisoned").len() as u64;
        self.stats.rejected_command_bytes = self.rejected_before + cs.rejected_bytes;
        *self.shared.stats.lock().expect("poisoned") = self.stats.clone();
    }
}

fn lines_in(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
