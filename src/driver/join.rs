//! Turning raw client records and board timestamps into the driver's metrics.
//!
//! Runs after the clients stopped, off the hot path. Joins are by *sequence number* for
//! staleness (the frame a `/poll` answer carries, stamped by the virtual board into tkInput
//! A/B) and by *command bytes in arrival order* for command latency. Anything that cannot be
//! joined is counted, never guessed: a staleness below zero or a sequence number the board
//! never wrote would mean the harness is lying, so both have their own counter.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hdrhistogram::Histogram;

use super::client::ClientLog;
use super::routes::command_bytes;
use crate::metrics::summary::{new_histogram, record_clamped};

/// What one virtual board recorded: `(seq, written_ns)` per frame and `(read_ns, wire bytes)`
/// per command it read.
#[derive(Clone, Debug, Default)]
pub struct BoardRecord {
    pub frames: Vec<(u32, u64)>,
    pub commands: Vec<(u64, Vec<u8>)>,
}

/// The measured window: only events *intended* in `[start_ns, end_ns)` count.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Window {
    pub fn contains(&self, t_ns: u64) -> bool {
        (self.start_ns..self.end_ns).contains(&t_ns)
    }
}

/// The driver's side of one model's result.
pub struct DriverFigures {
    pub poll_latency: Histogram<u64>,
    pub driver_error: Histogram<u64>,
    pub staleness: Histogram<u64>,
    pub command_latency: Histogram<u64>,
    pub counters: BTreeMap<String, u64>,
}

/// Frame write times by sequence number (a sequence may repeat after 2^20 frames).
struct FrameIndex(HashMap<u32, Vec<u64>>);

impl FrameIndex {
    fn new(frames: &[(u32, u64)]) -> FrameIndex {
        let mut m: HashMap<u32, Vec<u64>> = HashMap::new();
        for &(seq, t) in frames {
            m.entry(seq).or_default().push(t);
        }
        for v in m.values_mut() {
            v.sort_unstable();
        }
        FrameIndex(m)
    }

    /// The write time of the frame `seq` that an answer received at `t_ns` can carry: the
    /// latest one written at or before `t_ns`. `Err(true)` if `seq` was only written after
    /// `t_ns` (negative staleness), `Err(false)` if never.
    fn written_before(&self, seq: u32, t_ns: u64) -> Result<u64, bool> {
        let times = self.0.get(&seq).ok_or(false)?;
        let i = times.partition_point(|&w| w <= t_ns);
        if i == 0 {
            Err(true)
        } else {
            Ok(times[i - 1])
        }
    }
}

/// Joins every client log with its board's record over `window`.
pub fn join(logs: &[ClientLog], boards: &[BoardRecord], window: Window) -> DriverFigures {
    let mut f = DriverFigures {
        poll_latency: new_histogram(),
        driver_error: new_histogram(),
        staleness: new_histogram(),
        command_latency: new_histogram(),
        counters: BTreeMap::new(),
    };
    fn count(c: &mut BTreeMap<String, u64>, k: &str, n: u64) {
        *c.entry(k.to_string()).or_insert(0) += n;
    }
    // Make every counter appear, even at zero: a zero is a finding too.
    for k in [
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
        "driver_reconnects",
    ] {
        count(&mut f.counters, k, 0);
    }
    let indexes: Vec<FrameIndex> = boards.iter().map(|b| FrameIndex::new(&b.frames)).collect();

    for log in logs {
        count(&mut f.counters, "driver_reconnects", log.reconnects);
        let skipped = log.skipped_polls.iter().filter(|&&t| window.contains(t));
        count(&mut f.counters, "polls_skipped", skipped.count() as u64);
        let skipped = log.skipped_commands.iter().filter(|&&t| window.contains(t));
        count(&mut f.counters, "commands_skipped", skipped.count() as u64);
        for p in log.polls.iter().filter(|p| window.contains(p.intended_ns)) {
            count(&mut f.counters, "polls_sent", 1);
            record_clamped(&mut f.driver_error, (p.sent_ns - p.intended_ns) / 1_000);
            if !p.ok() {
                count(&mut f.counters, "polls_failed", 1);
                continue;
            }
            count(&mut f.counters, "polls_ok", 1);
            count(&mut f.counters, "polls_bad_lines", u64::from(p.bad_lines));
            record_clamped(&mut f.poll_latency, (p.done_ns - p.intended_ns) / 1_000);
            let (Some(seq), false) = (p.seq, p.problem) else {
                count(&mut f.counters, "polls_without_frame", 1);
                continue;
            };
            match indexes
                .get(log.board)
                .map(|ix| ix.written_before(seq, p.done_ns))
            {
                Some(Ok(written)) => {
                    record_clamped(&mut f.staleness, (p.done_ns - written) / 1_000);
                }
                Some(Err(true)) => count(&mut f.counters, "staleness_negative", 1),
                _ => count(&mut f.counters, "seq_unmatched", 1),
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

    // Command latency, per board: the bridge writes commands to the board in the order it
    // got them, so for each command the board read, the earliest still-unmatched accepted
    // request with the same bytes, sent before the read, is the one that caused it.
    for (b, board) in boards.iter().enumerate() {
        let mut sent: Vec<(u64, u64, Vec<u8>)> = logs
            .iter()
            .filter(|l| l.board == b)
            .flat_map(|l| l.commands.iter())
            .filter(|c| c.status == 200)
            .filter_map(|c| command_bytes(&c.path).map(|bytes| (c.sent_ns, c.intended_ns, bytes)))
            .collect();
        sent.sort_by_key(|s| s.0);
        let mut queues: HashMap<Vec<u8>, VecDeque<(u64, u64)>> = HashMap::new();
        for (s, i, bytes) in sent {
            queues.entry(bytes).or_default().push_back((s, i));
        }
        for (read_ns, bytes) in &board.commands {
            let Some(q) = queues.get_mut(bytes) else {
                continue; // the bridge's own bytes (`C` to start the stream) or foreign ones
            };
            if q.front().is_some_and(|&(s, _)| s <= *read_ns) {
                let (_, intended) = q.pop_front().expect("front exists");
                if window.contains(intended) {
                    record_clamped(&mut f.command_latency, (read_ns - intended) / 1_000);
                }
            }
        }
        let lost = queues
            .values()
            .flatten()
            .filter(|(_, i)| window.contains(*i))
            .count();
        count(&mut f.counters, "commands_unmatched", lost as u64);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::client::{CommandRecord, PollRecord};

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
        assert_eq!(f.poll_latency.len(), 5);
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
}
