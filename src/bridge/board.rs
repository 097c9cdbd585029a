//! One board's state, shared by every task or thread of a model.
//!
//! Two locks with one job each: `ingest` (`IngestSide`: decoder + filters, touched only by
//! whoever reads the serial port) and `served` (`ServedSide`: the newest frame, settings,
//! counters — what HTTP and the watchdog see). The busy per-frame work runs between them,
//! so a slow frame never holds the lock `/poll` needs. Serial writes go through a duplicate of the current serial fd.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;

use super::config::BridgeConfig;
use super::conn::Handler;
use super::http::{Request, Response};
use super::processing::{busy_work, ChannelProcessing, Derived};
use super::routes::{crossdomain_xml, parse_route, Route, RouteError};
use super::serial::write_command_bytes;
use super::stats::BoardStats;
use super::watchdog::Watchdog;
use crate::clock::now_ns;
use crate::metrics::summary::{new_histogram, record_clamped, Summary};
use crate::protocol::command::{Command, COMMAND_TERMINATOR};
use crate::protocol::frame::{DecodeStats, FrameDecoder, RawFrame};
use crate::protocol::normalise::{normalise, Orientation, TempUnits};
use crate::protocol::poll::{render_poll, render_value};

/// [`Command::Start`] on the wire, written under the writer lock (see `serial_opened`).
const START: &[u8] = b"C";

/// Whether the serial device is currently open.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    Up,
    Down(String),
}

/// What only the serial reader touches: the decoder and the per-channel processing.
struct IngestSide {
    decoder: FrameDecoder,
    processing: ChannelProcessing,
    last_parsed_ns: Option<u64>,
    interarrival_us: Histogram<u64>,
    /// Frames decoded from one read, reused so the steady state allocates nothing.
    decoded: Vec<RawFrame>,
}

/// What HTTP and the watchdog read and update: the newest frame, the settings, the counters.
struct ServedSide {
    latest: Option<RawFrame>,
    latest_served: bool,
    orientation: Orientation,
    units: TempUnits,
    /// When `C` was last sent (first request, or a reconnect after it).
    started_ns: Option<u64>,
    last_frame_ns: u64,
    link: Link,
    silent: bool,
    watchdog: Watchdog,
    frames_accepted: u64,
    polls: u64,
    commands: u64,
    commands_rejected: u64,
    coalesced: u64,
    reconnects: u64,
    ingest_log: Vec<(u32, u64)>,
    /// Accepted frames that did not fit in `ingest_log`.
    ingest_log_dropped: u64,
}

/// The bridge for one Esplora board. Cheap to share (`Arc<BoardState>`); every method takes
/// `&self`.
pub struct BoardState {
    index: usize,
    config: BridgeConfig,
    port: AtomicU16,
    ingest: Mutex<IngestSide>,
    served: Mutex<ServedSide>,
    writer: Mutex<Option<File>>,
    inject: super::inject::Injector,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the whole bridge down with poisoned locks.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl BoardState {
    /// A board that has no serial device yet (see [`BoardState::serial_opened`]).
    pub fn new(index: usize, config: BridgeConfig) -> BoardState {
        let now = now_ns();
        let period = config.watchdog_period.as_nanos() as u64;
        BoardState {
            index,
            port: AtomicU16::new(0),
            ingest: Mutex::new(IngestSide {
                decoder: FrameDecoder::new(),
                processing: ChannelProcessing::new(),
                last_parsed_ns: None,
                interarrival_us: new_histogram(),
                decoded: Vec::new(),
            }),
            served: Mutex::new(ServedSide {
                latest: None,
                latest_served: false,
                orientation: Orientation::JoystickOnLeft,
                units: TempUnits::Celsius,
                started_ns: None,
                last_frame_ns: now,
                link: Link::Down("serial device not opened yet".into()),
                silent: false,
                watchdog: Watchdog::new(period, now, config.watchdog_log_cap),
                frames_accepted: 0,
                polls: 0,
                commands: 0,
                commands_rejected: 0,
                coalesced: 0,
                reconnects: 0,
                ingest_log: Vec::new(),
                ingest_log_dropped: 0,
            }),
            writer: Mutex::new(None),
            inject: super::inject::Injector::new(&config.inject),
            config,
        }
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn config(&self) -> &BridgeConfig {
        &self.config
    }

    /// Records the TCP port this board is served on (used by `/crossdomain.xml`).
    pub fn set_port(&self, port: u16) {
        self.port.store(port, Ordering::Relaxed);
    }

    // ---- serial side -------------------------------------------------------------------

    /// The serial device is open (again). `file` is the model's read handle; the board
    /// keeps a duplicate for command writes. After a reconnect, a board that had been
    /// started gets `C` again (a replugged Esplora reboots into silence).
    pub fn serial_opened(&self, file: &File) -> io::Result<()> {
        let dup = file.try_clone()?;
        lock(&self.ingest).decoder.reset();
        // The writer lock is held across the decision and the write, as in
        // `start_on_first_request`, so a first request racing the open sends one `C`.
        let mut w = lock(&self.writer);
        *w = Some(dup);
        self.start_if(&w, |s| {
            s.link = Link::Up;
            s.started_ns.is_some()
        });
        Ok(())
    }

    /// Counts one successful re-open of a vanished device (call before `serial_opened`).
    pub fn note_reconnect(&self) {
        lock(&self.served).reconnects += 1;
    }

    /// The serial device vanished (EOF/EIO): drop the write handle and the partial line,
    /// and report it in `/poll` until it is back.
    pub fn serial_lost(&self, why: &io::Error) {
        *lock(&self.writer) = None;
        lock(&self.ingest).decoder.reset();
        lock(&self.served).link = Link::Down(why.to_string());
    }

    /// Drops the board's write handle on the serial device (at the end of a run, so the
    /// device is released even while stray references to the board linger).
    pub fn detach_serial(&self) {
        *lock(&self.writer) = None;
    }

    /// Feeds bytes read from the serial port: decodes frames, processes them, does the
    /// scenario's per-frame work, then publishes each one (the newest wins).
    pub fn ingest(&self, bytes: &[u8]) {
        let mut ing = lock(&self.ingest);
        let mut frames = std::mem::take(&mut ing.decoded);
        ing.decoder.feed(bytes, |f| frames.push(f));
        for f in frames.drain(..) {
            ing.processing.process(&f.values);
            busy_work(self.config.frame_work_us);
            self.inject.frame_cpu();
            let parsed_ns = self.publish(f);
            if let Some(prev) = ing.last_parsed_ns {
                let us = parsed_ns.saturating_sub(prev) / 1_000;
                record_clamped(&mut ing.interarrival_us, us);
            }
            ing.last_parsed_ns = Some(parsed_ns);
        }
        ing.decoded = frames;
    }

    fn publish(&self, f: RawFrame) -> u64 {
        let mut s = lock(&self.served);
        let now = now_ns();
        if s.latest.is_some() && !s.latest_served {
            s.coalesced += 1;
        }
        if s.ingest_log.len() < self.config.ingest_log_cap {
            s.ingest_log.push((f.seq(), now));
        } else {
            s.ingest_log_dropped += 1;
        }
        s.latest = Some(f);
        s.latest_served = false;
        s.last_frame_ns = now;
        s.silent = false;
        s.frames_accepted += 1;
        now
    }

    /// The derived channel values (smoothing, press counts).
    pub fn derived(&self) -> Derived {
        lock(&self.ingest).processing.derived().clone()
    }

    /// The decoder's counters.
    pub fn decode_stats(&self) -> DecodeStats {
        lock(&self.ingest).decoder.stats().clone()
    }

    // ---- watchdog ----------------------------------------------------------------------

    /// The watchdog's next scheduled deadline (CLOCK_MONOTONIC ns).
    pub fn watchdog_deadline_ns(&self) -> u64 {
        lock(&self.served).watchdog.next_deadline_ns()
    }

    /// How long to sleep from now until the watchdog's next deadline.
    pub fn watchdog_sleep(&self) -> Duration {
        Duration::from_nanos(self.watchdog_deadline_ns().saturating_sub(now_ns()))
            + self.inject.timer_late()
    }

    /// The watchdog woke up: records its lateness against the schedule and checks for a
    /// silent board. Returns the next deadline.
    pub fn watchdog_tick(&self) -> u64 {
        let mut s = lock(&self.served);
        let now = now_ns();
        s.watchdog.fire(now);
        if let (Link::Up, Some(started)) = (&s.link, s.started_ns) {
            let since = now.saturating_sub(s.last_frame_ns.max(started));
            if since > self.config.silent_after.as_nanos() as u64 {
                s.silent = true;
            }
        }
        s.watchdog.next_deadline_ns()
    }

    fn problem(&self, s: &ServedSide) -> Option<String> {
        match &s.link {
            Link::Down(why) => Some(format!("board disconnected ({why}), reconnecting")),
            Link::Up if s.silent => Some(format!(
                "no data from the board for more than {} ms",
                self.config.silent_after.as_millis()
            )),
            Link::Up => None,
        }
    }

    /// The current `/problem` text, if any.
    pub fn current_problem(&self) -> Option<String> {
        let s = lock(&self.served);
        self.problem(&s)
    }

    // ---- HTTP side ---------------------------------------------------------------------

    fn write_command(&self, cmd: &Command) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(8);
        cmd.encode(&mut bytes);
        if self.config.command_terminator && cmd.takes_number() {
            bytes.push(COMMAND_TERMINATOR);
        }
        let w = lock(&self.writer);
        match w.as_ref() {
            Some(f) => write_command_bytes(f, &bytes),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the board is not connected",
            )),
        }
    }

    /// Sends `C` if this is the first request of any kind (esp4s does the same).
    fn start_on_first_request(&self) {
        if lock(&self.served).started_ns.is_some() {
            return;
        }
        // Writer, then served: the order `serial_opened` uses. If the device is not open
        // yet, `serial_opened` sends the `C` when it is.
        let w = lock(&self.writer);
        self.start_if(&w, |s| s.started_ns.is_none());
    }

    /// Sends `C` when `decide` says so for the served state (which it may update first):
    /// stamps the start time, and writes the `C` if the device is open. The caller holds the
    /// writer lock (`writer`) across the decision and the write.
    fn start_if(&self, writer: &Option<File>, decide: impl FnOnce(&mut ServedSide) -> bool) {
        let start = {
            let mut s = lock(&self.served);
            let start = decide(&mut s);
            if start {
                s.started_ns = Some(now_ns());
            }
            start
        };
        if let (true, Some(f)) = (start, writer.as_ref()) {
            let _ = write_command_bytes(f, START);
        }
    }

    fn poll(&self) -> Response {
        if let Some(failed) = self.inject.before_poll() {
            return failed;
        }
        busy_work(self.config.poll_work_us);
        if self.config.blocking_sleep_us > 0 {
            std::thread::sleep(Duration::from_micros(self.config.blocking_sleep_us));
        }
        let mut body = Vec::with_capacity(400);
        let mut s = lock(&self.served);
        s.polls += 1;
        s.latest_served = true;
        let status = s.latest.map(|f| normalise(&f, s.orientation, s.units));
        let problem = self.problem(&s);
        drop(s);
        render_poll(status.as_ref(), problem.as_deref(), &mut body);
        Response::text(200, body)
    }

    /// A Snap! one-value read: `593\r\n`, or an empty 200 before the first frame (esp4s's
    /// "okay"; Snap! then shows an empty value instead of an error).
    fn value(&self, index: usize) -> Response {
        let s = lock(&self.served);
        let value = s
            .latest
            .map(|f| normalise(&f, s.orientation, s.units).values[index]);
        drop(s);
        let mut body = Vec::with_capacity(8);
        render_value(value, &mut body);
        Response::text(200, body)
    }

    fn command(&self, cmd: Command) -> Response {
        let written = match self.inject.drop_command() {
            true => Ok(()), // injected: answered as sent, never written (a lost command)
            false => self.write_command(&cmd),
        };
        match written {
            Ok(()) => {
                lock(&self.served).commands += 1;
                Response::text(200, "")
            }
            Err(e) => {
                lock(&self.served).commands_rejected += 1;
                Response::text(503, format!("command not sent: {e}\n"))
            }
        }
    }

    /// Everything this board measured about itself so far.
    pub fn stats(&self) -> BoardStats {
        let (decode, interarrival) = {
            let ing = lock(&self.ingest);
            (
                ing.decoder.stats().clone(),
                Summary::from_histogram(&ing.interarrival_us),
            )
        };
        let (rejected, by_reason) = rejected_counts(&decode);
        let s = lock(&self.served);
        BoardStats {
            frames_accepted: s.frames_accepted,
            frames_rejected: rejected,
            rejected_by_reason: by_reason,
            polls: s.polls,
            commands: s.commands,
            commands_rejected: s.commands_rejected,
            coalesced: s.coalesced,
            reconnects: s.reconnects,
            watchdog_lateness: s.watchdog.summary(),
            frame_interarrival: interarrival,
            ingest: s.ingest_log.clone(),
            ingest_log_dropped: s.ingest_log_dropped,
            watchdog_log: Some(s.watchdog.log().to_vec()),
            watchdog_log_dropped: s.watchdog.log_dropped(),
        }
    }
}

impl Handler for BoardState {
    fn handle(&self, request: &Request) -> Response {
        self.start_on_first_request();
        match parse_route(&request.path) {
            Ok(Route::Poll) => self.poll(),
            Ok(Route::Value(i)) => self.value(i),
            Ok(Route::Command(cmd)) => self.command(cmd),
            Ok(Route::ResetAll) => self.command(Command::Tone(0)),
            Ok(Route::Orientation(o)) => {
                let mut s = lock(&self.served);
                s.orientation = o;
                s.commands += 1;
                Response::text(200, "")
            }
            Ok(Route::TempUnits(u)) => {
                let mut s = lock(&self.served);
                s.units = u;
                s.commands += 1;
                Response::text(200, "")
            }
            Ok(Route::CrossDomain) => Response {
                status: 200,
                content_type: "text/xml",
                body: crossdomain_xml(self.port.load(Ordering::Relaxed)),
            },
            Err(e @ RouteError::BadCommand(_)) => {
                lock(&self.served).commands_rejected += 1;
                Response::text(400, format!("{}\n", e.reason()))
            }
            Err(e @ RouteError::NotFound(_)) => Response::text(404, format!("{}\n", e.reason())),
        }
    }
}

/// `(rejected lines, per-reason counts)` from the decoder's counters (zeros left out).
fn rejected_counts(d: &DecodeStats) -> (u64, std::collections::BTreeMap<String, u64>) {
    let map = d
        .by_reason()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    (d.rejected_lines, map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::http::Method;
    use crate::protocol::frame::encode_frame;

    fn frame_bytes(seq: u32) -> Vec<u8> {
        let mut f = RawFrame {
            values: [1, 1, 1, 1, 430, 973, 17, 0, 1023, -1, 3, 17, 21, 157, 0, 0],
        };
        f.set_seq(seq);
        let mut out = Vec::new();
        encode_frame(&f, &mut out);
        out
    }

    fn get(b: &BoardState, path: &str) -> Response {
        b.handle(&Request {
            method: Method::Get,
            path: path.into(),
            keep_alive: true,
        })
    }

    fn body(r: &Response) -> String {
        String::from_utf8(r.body.clone()).unwrap()
    }

    #[test]
    fn start_is_the_v1_start_command() {
        assert_eq!(START, Command::Start.to_wire_string().as_bytes());
    }

    #[test]
    fn newest_frame_wins_and_unserved_frames_are_coalesced() {
        let b = BoardState::new(0, BridgeConfig::default());
        let mut bytes = frame_bytes(1);
        bytes.extend(frame_bytes(2));
        bytes.extend(b"garbage\r\n");
        bytes.extend(frame_bytes(3));
        // Split mid-frame: the decoder keeps the partial line.
        b.ingest(&bytes[..30]);
        b.ingest(&bytes[30..]);
        let first = body(&get(&b, "/poll"));
        assert!(first.contains("tkInput/A 0\ntkInput/B 3\n"), "{first}");
        assert!(first.ends_with("\n\r\n"), "esp4s's closing CRLF: {first:?}");
        b.ingest(&frame_bytes(4));
        get(&b, "/poll");
        get(&b, "/poll");
        let s = b.stats();
        assert_eq!(s.frames_accepted, 4);
        assert_eq!(s.coalesced, 2, "frames 1 and 2 were never served");
        assert_eq!(s.frames_rejected, 1);
        assert_eq!(s.polls, 3);
        assert_eq!(
            s.ingest.iter().map(|e| e.0).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert!(s.ingest.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(s.frame_interarrival.count, 3);
        assert_eq!(b.derived().frames, 4);
    }

    #[test]
    fn tick_and_frame_logs_are_filled_then_capped_with_drops_counted() {
        let cfg = BridgeConfig {
            watchdog_period: Duration::from_millis(1),
            ingest_log_cap: 2,
            watchdog_log_cap: 2,
            ..BridgeConfig::default()
        };
        let b = BoardState::new(0, cfg);
        for seq in 1..=5 {
            b.ingest(&frame_bytes(seq));
        }
        // Wake 3 ms after the first deadline: at least 3 deadlines have passed.
        let due = b.watchdog_deadline_ns();
        std::thread::sleep(Duration::from_nanos(
            (due + 3_000_000).saturating_sub(now_ns()),
        ));
        b.watchdog_tick();
        let s = b.stats();
        assert_eq!(s.frames_accepted, 5);
        assert_eq!(s.ingest.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.ingest_log_dropped, 3);
        assert_eq!(
            s.frame_interarrival.count, 4,
            "the histogram keeps them all"
        );
        let log = s.watchdog_log.expect("this bridge logs ticks");
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].0, due, "logged against its scheduled deadline");
        assert!(log[0].1 >= 3_000, "lateness {} µs", log[0].1);
        assert_eq!(log[1].0, due + 1_000_000);
        assert!(s.watchdog_log_dropped >= 1);
        assert_eq!(
            s.watchdog_lateness.count,
            2 + s.watchdog_log_dropped,
            "every tick is either logged or counted as dropped"
        );
    }

    #[test]
    fn commands_without_a_board_are_refused_not_lost_silently() {
        let b = BoardState::new(0, BridgeConfig::default());
        assert_eq!(get(&b, "/leds/Red/1").status, 503);
        assert_eq!(get(&b, "/leds/Red/lots").status, 400);
        let before = get(&b, "/slider");
        assert_eq!(
            (before.status, body(&before)),
            (200, String::new()),
            "no frame yet"
        );
        let s = b.stats();
        assert_eq!((s.commands, s.commands_rejected), (0, 2));
        assert!(body(&get(&b, "/poll")).contains("_problem board disconnected"));
    }

    #[test]
    fn watchdog_flags_a_started_board_that_goes_quiet() {
        let cfg = BridgeConfig {
            silent_after: Duration::from_millis(30),
            watchdog_period: Duration::from_millis(5),
            ..BridgeConfig::default()
        };
        let b = BoardState::new(0, cfg);
        // Pretend the serial device is open (a pipe stands in for it).
        let (r, _w) = nix::unistd::pipe().unwrap();
        b.serial_opened(&File::from(r)).unwrap();
        b.watchdog_tick();
        assert_eq!(
            b.current_problem(),
            None,
            "not started: silence is expected"
        );
        get(&b, "/poll");
        std::thread::sleep(Duration::from_millis(60));
        b.watchdog_tick();
        assert!(b.current_problem().unwrap().contains("no data"));
        b.ingest(&frame_bytes(9));
        assert_eq!(b.current_problem(), None);
        assert!(b.stats().watchdog_lateness.count >= 2);
    }
}
