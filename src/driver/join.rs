//! Turning raw client records and board timestamps into the driver's metrics.
//!
//! Runs after the clients stopped, off the hot path. Joins are by *sequence number* for
//! staleness (the frame a `/poll` answer carries, stamped by the virtual board into tkInput
//! A/B) and by *command bytes and send time* for command latency. Anything that cannot be
//! joined is counted, never guessed: a staleness below zero or a sequence number the board
//! never wrote would mean the harness is lying, so both have their own counter.
//!
//! Three views of the same polls, because each answers a different question:
//! - `poll_latency`: one sample per *planned slot* of the constant-rate plan. A Scratch-like
//!   client never has two polls in flight, so the slots that pass while an answer is late
//!   are not sent; each still gets a sample, from its intended time to the answer that freed
//!   the client (HdrHistogram's expected-interval correction). A failed or timed-out poll
//!   counts at the time it failed. A stall therefore weighs what it lasted.
//! - `poll_answered`: one sample per answered poll, intended time → answer (Scratch's view).
//! - `poll_service`: actual send → answer read: the model's own response time, without the
//!   driver's wake-up error.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;

use crate::load::client::{ClientLog, PollRecord};
use crate::load::routes::command_bytes;
use crate::metrics::summary::{new_histogram, record_clamped, record_value};

/// What one virtual board recorded (it lives with the boards, in `load/`).
pub use crate::load::boards::BoardRecord;

/// The measured window: only events *intended* in `[start_ns, end_ns)` count.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Window {
    pub(crate) fn contains(&self, t_ns: u64) -> bool {
        (self.start_ns..self.end_ns).contains(&t_ns)
    }
}

/// The driver's side of one model's result.
pub struct DriverFigures {
    /// Per planned slot (see the module comment).
    pub poll_latency: Histogram<u64>,
    /// Per answered poll, from its intended time.
    pub poll_answered: Histogram<u64>,
    /// Per answered poll, from its actual send.
    pub poll_service: Histogram<u64>,
    pub driver_error: Histogram<u64>,
    pub staleness: Histogram<u64>,
    /// µs between the served frame and the newest one the board had written when the
    /// request was sent (0 when the newest was served).
    pub staleness_excess: Histogram<u64>,
    /// The same in frames.
    pub staleness_excess_frames: Histogram<u64>,
    pub command_latency: Histogram<u64>,
    pub counters: BTreeMap<String, u64>,
}

impl DriverFigures {
    /// Writes the joined latency summaries into the row: one place, so a local and a remote
    /// row carry exactly the same figures.
    pub(crate) fn store_latencies(&self, row: &mut crate::metrics::results::ModelResult) {
        use crate::metrics::summary::Summary;
        row.poll_latency = Summary::from_histogram(&self.poll_latency);
        row.poll_answered = Summary::from_histogram(&self.poll_answered);
        row.poll_service = Summary::from_histogram(&self.poll_service);
        row.staleness = Summary::from_histogram(&self.staleness);
        row.staleness_excess = Summary::from_histogram(&self.staleness_excess);
        row.staleness_excess_frames = Summary::from_histogram(&self.staleness_excess_frames);
        row.command_latency = Summary::from_histogram(&self.command_latency);
        row.driver_error = Summary::from_histogram(&self.driver_error);
    }
}

/// One board's frames in write order, found by sequence number (a sequence may repeat
/// after 2^20 frames) or by time.
struct FrameIndex {
    /// Write times in write order.
    times: Vec<u64>,
    /// Positions in `times` per sequence number.
    by_seq: HashMap<u32, Vec<usize>>,
}

impl FrameIndex {
    fn new(frames: &[(u32, u64)]) -> FrameIndex {
        let mut sorted = frames.to_vec();
        sorted.sort_by_key(|f| f.1);
        let mut by_seq: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, &(seq, _)) in sorted.iter().enumerate() {
            by_seq.entry(seq).or_default().push(i);
        }
        FrameIndex {
            times: sorted.iter().map(|f| f.1).collect(),
            by_seq,
        }
    }

    /// The position of the frame `seq` that an answer received at `t_ns` can carry: the
    /// latest one written at or before `t_ns`. `Err(true)` if `seq` was only written after
    /// `t_ns` (negative staleness), `Err(false)` if never.
    fn written_before(&self, seq: u32, t_ns: u64) -> Result<usize, bool> {
        let at = self.by_seq.get(&seq).ok_or(false)?;
        let i = at.partition_point(|&k| self.times[k] <= t_ns);
        if i == 0 {
            Err(true)
        } else {
            Ok(at[i - 1])
        }
    }

    /// The position of the newest frame written at or before `t_ns`.
    fn newest_at(&self, t_ns: u64) -> Option<usize> {
        self.times.partition_point(|&w| w <= t_ns).checked_sub(1)
    }
}

/// Every counter the join reports; each appears even at zero (a zero is a finding too).
const COUNTERS: &[&str] = &[
    "polls_sent",
    "polls_ok",
    "polls_failed",
    "polls_skipped",
    "polls_without_frame",
    "polls_bad_lines",
    "staleness_negative",
    "seq_unmatched",
    "commands_sent",
    "commands_ok",
    "commands_failed",
    "commands_skipped",
    "commands_unmatched",
    "command_reads_unmatched",
    "driver_reconnects",
];

/// Joins every client log with its board's record over `window`.
pub fn join(logs: &[ClientLog], boards: &[BoardRecord], window: Window) -> DriverFigures {
    let mut f = DriverFigures {
        poll_latency: new_histogram(),
        poll_answered: new_histogram(),
        poll_service: new_histogram(),
        driver_error: new_histogram(),
        staleness: new_histogram(),
        staleness_excess: new_histogram(),
        staleness_excess_frames: new_histogram(),
        command_latency: new_histogram(),
        counters: BTreeMap::new(),
    };
    fn count(c: &mut BTreeMap<String, u64>, k: &str, n: u64) {
        *c.entry(k.to_string()).or_insert(0) += n;
    }
    for k in COUNTERS {
        count(&mut f.counters, k, 0);
    }
    let indexes: Vec<FrameIndex> = boards.iter().map(|b| FrameIndex::new(&b.frames)).collect();

    for log in logs {
        count(&mut f.counters, "driver_reconnects", log.reconnects);
        let skipped = log.skipped_polls.iter().filter(|&&t| window.contains(t));
        count(&mut f.counters, "polls_skipped", skipped.count() as u64);
        let skipped = log.skipped_commands.iter().filter(|&&t| window.contains(t));
        count(&mut f.counters, "commands_skipped", skipped.count() as u64);
        for (slot_ns, freed_ns) in skipped_slot_samples(&log.polls, &log.skipped_polls) {
            if window.contains(slot_ns) {
                record_clamped(&mut f.poll_latency, (freed_ns - slot_ns) / 1_000);
            }
        }
        for p in log.polls.iter().filter(|p| window.contains(p.intended_ns)) {
            count(&mut f.counters, "polls_sent", 1);
            record_clamped(&mut f.driver_error, (p.sent_ns - p.intended_ns) / 1_000);
            // Answered or not, the slot gets its sample: a failure at the time it failed.
            record_clamped(&mut f.poll_latency, (p.done_ns - p.intended_ns) / 1_000);
            if !p.ok() {
                count(&mut f.counters, "polls_failed", 1);
                continue;
            }
            count(&mut f.counters, "polls_ok", 1);
            count(&mut f.counters, "polls_bad_lines", u64::from(p.bad_lines));
            record_clamped(&mut f.poll_answered, (p.done_ns - p.intended_ns) / 1_000);
            record_clamped(&mut f.poll_service, (p.done_ns - p.sent_ns) / 1_000);
            let (Some(seq), false) = (p.seq, p.problem) else {
                count(&mut f.counters, "polls_without_frame", 1);
                continue;
            };
            let Some(ix) = indexes.get(log.board) else {
                count(&mut f.counters, "seq_unmatched", 1);
                continue;
            };
            match ix.written_before(seq, p.done_ns) {
                Ok(served) => {
                    let written = ix.times[served];
                    record_clamped(&mut f.staleness, (p.done_ns - written) / 1_000);
                    // Behind the newest frame complete when the request left; a frame
                    // newer than that (it arrived while the request was out) is 0 behind.
                    let newest = ix.newest_at(p.sent_ns).unwrap_or(served).max(served);
                    record_value(
                        &mut f.staleness_excess,
                        (ix.times[newest] - written) / 1_000,
                    );
                    record_value(&mut f.staleness_excess_frames, (newest - served) as u64);
                }
                Err(true) => count(&mut f.counters, "staleness_negative", 1),
                Err(false) => count(&mut f.counters, "seq_unmatched", 1),
            }
        }
        for c in log
            .commands
            .iter()
            .filter(|c| window.contains(c.intended_ns))
        {
            count(&mut f.counters, "commands_sent", 1);
            record_clamped(&mut f.driver_error, (c.sent_ns - c.intended_ns) / 1_000);
            let ok = c.status == 200;
            count(
                &mut f.counters,
                if ok { "commands_ok" } else { "commands_failed" },
                1,
            );
        }
    }

    for (b, board) in boards.iter().enumerate() {
        let sent: Vec<(u64, u64, Vec<u8>)> = logs
            .iter()
            .filter(|l| l.board == b)
            .flat_map(|l| l.commands.iter())
            .filter(|c| c.status == 200)
            .filter_map(|c| command_bytes(&c.path).map(|bytes| (c.sent_ns, c.intended_ns, bytes)))
            .collect();
        let m = match_commands(&sent, &board.commands);
        for (intended, read_ns) in m.latencies {
            if window.contains(intended) {
                record_clamped(&mut f.command_latency, (read_ns - intended) / 1_000);
            }
        }
        let lost = m.unmatched.iter().filter(|&&i| window.contains(i)).count();
        count(&mut f.counters, "commands_unmatched", lost as u64);
        count(&mut f.counters, "command_reads_unmatched", m.extra_reads);
    }
    f
}

/// `(slot intended ns, ns at which the client was freed)` for every skipped poll slot: the
/// answer (or failure) of the poll that was out when the slot passed, i.e. the last poll
/// intended before it. `polls` and `skipped` are in plan order, as a client records them.
fn skipped_slot_samples<'a>(
    polls: &'a [PollRecord],
    skipped: &'a [u64],
) -> impl Iterator<Item = (u64, u64)> + 'a {
    let mut k = 0;
    skipped.iter().filter_map(move |&slot| {
        while k + 1 < polls.len() && polls[k + 1].intended_ns < slot {
            k += 1;
        }
        let p = polls.get(k).filter(|p| p.intended_ns < slot)?;
        Some((slot, p.done_ns.max(slot)))
    })
}

/// The command join of one board.
struct CommandMatch {
    /// `(intended ns, read ns)` per matched request.
    latencies: Vec<(u64, u64)>,
    /// Intended times of accepted requests the board never read (lost commands).
    unmatched: Vec<u64>,
    /// Reads of request bytes that no request accounts for (a duplicate write, or a read
    /// before any such request was sent).
    extra_reads: u64,
}

/// Pairs each read with the *latest* request of the same bytes sent at or before it, so a
/// request is only ever matched by a read before the next same-bytes request was sent. The
/// earliest-unmatched rule this replaces paired every command after one lost command with
/// its predecessor's send, a whole command period late. `sent` is `(sent ns, intended ns,
/// bytes)` of accepted requests; reads with bytes no request has (the bridge's own `C`) are
/// not the driver's and are left out.
fn match_commands(sent: &[(u64, u64, Vec<u8>)], reads: &[(u64, Vec<u8>)]) -> CommandMatch {
    let mut by_bytes: HashMap<&[u8], Vec<(u64, u64, bool)>> = HashMap::new();
    for (s, i, bytes) in sent {
        by_bytes.entry(bytes).or_default().push((*s, *i, false));
    }
    for v in by_bytes.values_mut() {
        v.sort_by_key(|x| x.0);
    }
    let mut m = CommandMatch {
        latencies: Vec::new(),
        unmatched: Vec::new(),
        extra_reads: 0,
    };
    for (read_ns, bytes) in reads {
        let Some(q) = by_bytes.get_mut(bytes.as_slice()) else {
            continue;
        };
        let i = q.partition_point(|x| x.0 <= *read_ns);
        match i.checked_sub(1).map(|k| &mut q[k]) {
            Some(req) if !req.2 => {
                req.2 = true;
                m.latencies.push((req.1, *read_ns));
            }
            _ => m.extra_reads += 1,
        }
    }
    m.unmatched = by_bytes
        .values()
        .flatten()
        .filter(|x| !x.2)
        .map(|x| x.1)
        .collect();
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::client::{CommandRecord, PollRecord};

    const MS: u64 = 1_000_000;

    fn poll(intended: u64, done: u64, seq: Option<u32>) -> PollRecord {
        PollRecord {
            intended_ns: intended,
            sent_ns: intended + MS / 10,
            done_ns: done,
            status: 200,
            seq,
            problem: false,
            bad_lines: 0,
        }
    }

    #[test]
    fn staleness_joins_by_sequence_and_counts_lies() {
        let board = BoardRecord {
            frames: vec![(1, 100 * MS), (2, 125 * MS), (3, 150 * MS)],
            commands: vec![],
        };
        let log = ClientLog {
            board: 0,
            polls: vec![
                poll(120 * MS, 122 * MS, Some(1)),  // staleness 22 ms
                poll(140 * MS, 141 * MS, Some(2)),  // 16 ms
                poll(145 * MS, 146 * MS, Some(3)),  // written at 150: negative, counted
                poll(160 * MS, 161 * MS, Some(99)), // never written: unmatched
                poll(170 * MS, 171 * MS, None),     // no frame yet
                poll(500 * MS, 501 * MS, Some(3)),  // outside the window
            ],
            skipped_polls: vec![130 * MS, 900 * MS],
            ..ClientLog::default()
        };
        let f = join(
            &[log],
            &[board],
            Window {
                start_ns: 100 * MS,
                end_ns: 400 * MS,
            },
        );
        assert_eq!(f.staleness.len(), 2);
        assert_eq!(f.staleness.min(), f.staleness.lowest_equivalent(16_000));
        assert_eq!(f.staleness.max(), f.staleness.highest_equivalent(22_000));
        // Five polls and one skipped slot in the window: six planned slots, six samples.
        assert_eq!(f.poll_latency.len(), 6);
        assert_eq!(f.poll_answered.len(), 5);
        assert_eq!(f.poll_service.len(), 5);
        assert_eq!(f.counters["staleness_negative"], 1);
        assert_eq!(f.counters["seq_unmatched"], 1);
        assert_eq!(f.counters["polls_without_frame"], 1);
        assert_eq!(f.counters["polls_skipped"], 1);
        assert_eq!(f.counters["polls_sent"], 5);
        assert_eq!(f.driver_error.len(), 5);
    }

    #[test]
    fn commands_join_in_order_by_bytes() {
        let cmd = |intended: u64, path: &str, status| CommandRecord {
            intended_ns: intended,
            sent_ns: intended + MS,
            done_ns: intended + 3 * MS,
            status,
            path: path.into(),
        };
        let log = ClientLog {
            board: 0,
            commands: vec![
                cmd(1000 * MS, "/leds/Red/100", 200),
                cmd(2000 * MS, "/leds/Red/0", 200),
                cmd(3000 * MS, "/leds/Red/100", 200),
                cmd(4000 * MS, "/leds/Red/0", 500), // refused: never expected on the board
                cmd(5000 * MS, "/leds/Red/100", 200), // never arrives: unmatched
            ],
            ..ClientLog::default()
        };
        let board = BoardRecord {
            frames: vec![],
            commands: vec![
                (10 * MS, b"C".to_vec()),
                (1002 * MS, b"R100".to_vec()),
                (2005 * MS, b"R0".to_vec()),
                (3010 * MS, b"R100".to_vec()),
            ],
        };
        let f = join(
            &[log],
            &[board],
            Window {
                start_ns: 0,
                end_ns: 10_000 * MS,
            },
        );
        assert_eq!(f.command_latency.len(), 3);
        assert_eq!(
            f.command_latency.max(),
            f.command_latency.highest_equivalent(10_000)
        );
        assert_eq!(f.counters["commands_unmatched"], 1);
        assert_eq!(f.counters["commands_failed"], 1);
        assert_eq!(f.counters["commands_ok"], 4);
    }

    /// A poll at `intended` sent at once, answered `took` later (status 200, or 0 = failed).
    fn answered(intended: u64, took: u64, status: u16) -> PollRecord {
        PollRecord {
            intended_ns: intended,
            sent_ns: intended,
            done_ns: intended + took,
            status,
            seq: None,
            problem: false,
            bad_lines: 0,
        }
    }

    #[test]
    fn every_planned_slot_gets_a_sample_and_a_stall_weighs_what_it_lasted() {
        // 10 ms plan; the poll at 30 ms takes 55 ms (answered at 85 ms), so slots 40..80 pass
        // unsent; the poll at 90 ms fails after 7 ms (a time-out, say).
        let log = ClientLog {
            polls: vec![
                answered(0, MS, 200),
                answered(10 * MS, MS, 200),
                answered(20 * MS, MS, 200),
                answered(30 * MS, 55 * MS, 200),
                answered(90 * MS, 7 * MS, 0),
            ],
            skipped_polls: vec![40 * MS, 50 * MS, 60 * MS, 70 * MS, 80 * MS],
            ..ClientLog::default()
        };
        let f = join(
            &[log],
            &[BoardRecord::default()],
            Window {
                start_ns: 0,
                end_ns: 100 * MS,
            },
        );
        assert_eq!(f.poll_latency.len(), 10, "one sample per planned slot");
        // The skipped slots count to the answer that freed the client: 45, 35, 25, 15, 5 ms.
        for ms in [55, 45, 35, 25, 15, 5] {
            assert_eq!(
                f.poll_latency
                    .count_at(f.poll_latency.lowest_equivalent(ms * 1_000)),
                1,
                "{ms} ms"
            );
        }
        assert_eq!(f.poll_answered.len(), 4, "the failed poll is not an answer");
        assert_eq!(
            f.poll_answered.max(),
            f.poll_answered.highest_equivalent(55_000)
        );
        // The per-answer view hides the stall below p90; the per-slot view does not.
        assert!(f.poll_answered.value_at_quantile(0.5) < 2_000);
        assert!(f.poll_latency.value_at_quantile(0.5) >= 5_000);
        assert!(f.poll_latency.value_at_quantile(0.9) >= 45_000);
        assert_eq!(f.counters["polls_failed"], 1);
        assert_eq!(f.counters["polls_skipped"], 5);
    }

    #[test]
    fn service_time_leaves_out_the_drivers_lateness() {
        // Sent 40 ms after its slot (the driver was late), answered 2 ms after that.
        let late = PollRecord {
            sent_ns: 40 * MS,
            done_ns: 42 * MS,
            ..answered(0, 42 * MS, 200)
        };
        let f = join(
            &[ClientLog {
                polls: vec![late],
                ..ClientLog::default()
            }],
            &[],
            Window {
                start_ns: 0,
                end_ns: 100 * MS,
            },
        );
        assert_eq!(
            f.poll_service.max(),
            f.poll_service.highest_equivalent(2_000)
        );
        assert_eq!(
            f.poll_latency.max(),
            f.poll_latency.highest_equivalent(42_000)
        );
        assert_eq!(
            f.driver_error.max(),
            f.driver_error.highest_equivalent(40_000)
        );
    }

    #[test]
    fn staleness_excess_is_how_far_behind_the_newest_frame_at_send() {
        let board = BoardRecord {
            frames: vec![(1, 100 * MS), (2, 125 * MS), (3, 150 * MS), (4, 175 * MS)],
            commands: vec![],
        };
        let at = |intended: u64, seq: u32| PollRecord {
            seq: Some(seq),
            ..answered(intended, MS, 200)
        };
        let log = ClientLog {
            polls: vec![
                at(130 * MS, 2),          // the newest at send: 0 behind
                at(160 * MS, 2),          // frame 3 was complete: 25 ms, 1 frame behind
                at(180 * MS, 2),          // frames 3 and 4: 50 ms, 2 frames behind
                at(149 * MS + MS / 2, 3), // frame 3 arrived while out: newer, 0 behind
            ],
            ..ClientLog::default()
        };
        let f = join(
            &[log],
            &[board],
            Window {
                start_ns: 0,
                end_ns: 400 * MS,
            },
        );
        let e = &f.staleness_excess;
        assert_eq!(e.len(), 4);
        assert_eq!(e.count_at(0), 2);
        assert_eq!(e.count_at(e.lowest_equivalent(25_000)), 1);
        assert_eq!(e.max(), e.highest_equivalent(50_000));
        let fr = &f.staleness_excess_frames;
        assert_eq!((fr.count_at(0), fr.count_at(1), fr.count_at(2)), (2, 1, 1));
        // Plain staleness still has its frame-period part.
        assert!(f.staleness.value_at_quantile(1.0) >= 50_000);
    }

    #[test]
    fn after_one_lost_command_the_others_keep_their_true_latency() {
        // Ten commands, every 100 ms, alternating two byte strings; the 4th is never read.
        let paths = ["/leds/Red/100", "/leds/Red/0"];
        let cmds: Vec<CommandRecord> = (0..10)
            .map(|k| CommandRecord {
                intended_ns: k * 100 * MS,
                sent_ns: k * 100 * MS,
                done_ns: k * 100 * MS + 2 * MS,
                status: 200,
                path: paths[(k % 2) as usize].into(),
            })
            .collect();
        let bytes = |k: u64| {
            if k.is_multiple_of(2) {
                b"R100".to_vec()
            } else {
                b"R0".to_vec()
            }
        };
        let reads: Vec<(u64, Vec<u8>)> = (0..10)
            .filter(|&k| k != 3)
            .map(|k| (k * 100 * MS + MS, bytes(k)))
            .collect();
        let f = join(
            &[ClientLog {
                commands: cmds,
                ..ClientLog::default()
            }],
            &[BoardRecord {
                frames: vec![],
                commands: reads,
            }],
            Window {
                start_ns: 0,
                end_ns: 10_000 * MS,
            },
        );
        assert_eq!(f.counters["commands_unmatched"], 1);
        assert_eq!(f.counters["command_reads_unmatched"], 0);
        assert_eq!(f.command_latency.len(), 9);
        assert_eq!(
            f.command_latency.max(),
            f.command_latency.highest_equivalent(1_000),
            "no command paired with an earlier send"
        );
    }

    #[test]
    fn a_duplicate_read_is_counted_not_paired() {
        let m = match_commands(
            &[(10, 10, b"R0".to_vec())],
            &[
                (5, b"R0".to_vec()),
                (12, b"R0".to_vec()),
                (13, b"R0".to_vec()),
            ],
        );
        assert_eq!(m.latencies, [(10, 12)]);
        assert_eq!(m.extra_reads, 2, "one before any send, one a second copy");
        assert!(m.unmatched.is_empty());
    }
}
