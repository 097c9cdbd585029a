//! Self-measurement: counters and nanosecond HDR histograms updated by the loop (times in ns
//! of the loop's clock, `clock`), and the serialisable `Stats` snapshot.

use super::time::Timers;
use super::Config;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A latency distribution, in microseconds (from a nanosecond histogram, 2 significant digits).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dist {
    pub count: u64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl Dist {
    fn of(h: &Histogram<u64>) -> Dist {
        let us = |ns: u64| ns as f64 / 1000.0;
        if h.is_empty() {
            return Dist::default();
        }
        Dist {
            count: h.len(),
            mean_us: h.mean() / 1000.0,
            p50_us: us(h.value_at_quantile(0.5)),
            p90_us: us(h.value_at_quantile(0.9)),
            p99_us: us(h.value_at_quantile(0.99)),
            max_us: us(h.max()),
        }
    }
}

/// Per task name (tasks sharing a name are added up).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskStats {
    pub name: String,
    pub polls: u64,
    pub busy_us: u64,
    /// The longest single poll: a bound on how late it can make everybody else's timers.
    pub longest_poll_us: u64,
    /// Polls longer than `Config::hog_threshold`.
    pub hogs: u64,
}

/// A snapshot of a runtime's self-measurement.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub io_poll_every: String,
    pub timer_backend: String,
    /// The loop thread's timer slack if `Config::timer_slack` set it (else the OS default).
    #[serde(default)]
    pub timer_slack_ns: Option<u64>,
    pub hog_threshold_us: u64,
    /// Since the first `block_on`: time spent polling tasks, blocked in epoll, and neither.
    pub wall_us: u64,
    pub busy_us: u64,
    pub idle_us: u64,
    pub tasks_spawned: u64,
    pub tasks_finished: u64,
    pub tasks_aborted: u64,
    pub tasks_live: u64,
    pub polls: u64,
    /// Ready (woken) -> polled.
    pub queue_delay: Dist,
    pub run_queue_max: u64,
    /// Mean run-queue length seen at each I/O poll.
    pub run_queue_mean: f64,
    pub timers_registered: u64,
    pub timers_fired: u64,
    pub timers_cancelled: u64,
    /// Sleeps already due when first polled (no timer needed).
    pub timers_immediate: u64,
    pub timer_heap_len: u64,
    pub timer_heap_max: u64,
    pub timer_heap_rebuilds: u64,
    /// The part of a timer's lateness spent blocked in epoll past the deadline (kernel
    /// wake-up latency and slack).
    pub timer_oversleep: Dist,
    /// The rest of its lateness: the loop was busy running other tasks (before or after
    /// the reactor saw the deadline) — what `io_poll_every` and long polls change.
    pub timer_queueing: Dist,
    /// Deadline -> the sleeping task was polled (the sum of the two).
    pub timer_lateness: Dist,
    pub epoll_calls_zero: u64,
    pub epoll_calls_blocking: u64,
    /// Blocking waits that ended before the next deadline with no event: the wait was
    /// shortened by epoll's slack share (see `TimerBackend::EpollPwait2`) and another
    /// interrupt ended it inside that share, or a signal interrupted it.
    #[serde(default)]
    pub early_wakes: u64,
    pub epoll_events: u64,
    pub events_per_call: f64,
    pub wakes_local: u64,
    pub wakes_self: u64,
    pub wakes_remote: u64,
    pub wakes_stale: u64,
    pub wakes_duplicate: u64,
    pub hogs: u64,
    pub tasks: Vec<TaskStats>,
}

/// Bounds of every self-measured distribution: 1 ns to an hour, 2 significant digits.
const HIGH_NS: u64 = 3_600_000_000_000;
/// HDR's layout for 2 significant digits from 1: 256 sub-buckets per bucket (values under
/// 256 exact), each bucket above the first the upper half of the next power of two.
const SUB_HALF_MAG: u32 = 7;
const SUB_MASK: u64 = (1 << (SUB_HALF_MAG + 1)) - 1;

/// A nanosecond distribution recorded on the loop's hot path: a count per bucket of HDR's
/// own layout (`Histogram::new_with_bounds(1, HIGH_NS, 2)`), a shift and an add per value
/// where `Histogram::saturating_record` also maintains its min, max and total (about five
/// times the instructions; this is recorded on every task poll and three times per timer).
/// `to_hdr` rebuilds the identical histogram when the statistics are read.
struct Buckets(Box<[u64]>);

impl Buckets {
    fn new() -> Buckets {
        Buckets(vec![0; Self::index(HIGH_NS) + 1].into_boxed_slice())
    }

    /// The HDR counts index of `ns` (clamped to 1..=HIGH_NS, as `saturating_record` does).
    fn index(ns: u64) -> usize {
        let v = ns.clamp(1, HIGH_NS);
        let bucket = 64 - SUB_HALF_MAG - 1 - (v | SUB_MASK).leading_zeros();
        (((bucket + 1) << SUB_HALF_MAG) as u64 + (v >> bucket) - (1 << SUB_HALF_MAG)) as usize
    }

    /// The lowest value that `index` maps to `i`.
    fn lowest(i: usize) -> u64 {
        let i = i as u64;
        match (i >> SUB_HALF_MAG).checked_sub(1) {
            None | Some(0) => i,
            Some(bucket) => ((i & ((1 << SUB_HALF_MAG) - 1)) + (1 << SUB_HALF_MAG)) << bucket,
        }
    }

    fn record(&mut self, ns: u64) {
        self.0[Self::index(ns)] += 1;
    }

    fn to_hdr(&self) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, HIGH_NS, 2).expect("static bounds");
        for (i, &n) in self.0.iter().enumerate().filter(|(_, &n)| n > 0) {
            h.saturating_record_n(Self::lowest(i), n);
        }
        h
    }
}

/// The loop's mutable measurement state.
pub(crate) struct Recorder {
    io_poll_every: String,
    backend: &'static str,
    timer_slack_ns: Option<u64>,
    hog_threshold: Duration,
    /// `hog_threshold` in ns, converted once (compared on every poll).
    hog_ns: u64,
    started: Option<Instant>,
    names: Vec<TaskStats>,
    index: HashMap<String, u32>,
    queue_delay: Buckets,
    oversleep: Buckets,
    queueing: Buckets,
    lateness: Buckets,
    queue_samples: u64,
    queue_sum: u64,
    queue_max: u64,
    busy_ns: u64,
    pub(crate) idle_ns: u64,
    polls: u64,
    pub(crate) tasks_spawned: u64,
    pub(crate) tasks_finished: u64,
    pub(crate) tasks_aborted: u64,
    pub(crate) epoll_zero: u64,
    pub(crate) epoll_blocking: u64,
    pub(crate) early_wakes: u64,
    events: u64,
    pub(crate) wakes_local: u64,
    pub(crate) wakes_self: u64,
    pub(crate) wakes_remote: u64,
    pub(crate) wakes_stale: u64,
    pub(crate) wakes_duplicate: u64,
    fired: u64,
    hogs: u64,
}

impl Recorder {
    pub(crate) fn new(config: &Config, backend: &'static str) -> Recorder {
        let mut r = Recorder {
            io_poll_every: config.io_poll_every.to_string(),
            backend,
            timer_slack_ns: config.timer_slack.map(|d| d.as_nanos() as u64),
            hog_threshold: config.hog_threshold,
            hog_ns: super::clock::nanos(config.hog_threshold),
            started: None,
            names: Vec::new(),
            index: HashMap::new(),
            queue_delay: Buckets::new(),
            oversleep: Buckets::new(),
            queueing: Buckets::new(),
            lateness: Buckets::new(),
            queue_samples: 0,
            queue_sum: 0,
            queue_max: 0,
            busy_ns: 0,
            idle_ns: 0,
            polls: 0,
            tasks_spawned: 0,
            tasks_finished: 0,
            tasks_aborted: 0,
            epoll_zero: 0,
            epoll_blocking: 0,
            early_wakes: 0,
            events: 0,
            wakes_local: 0,
            wakes_self: 0,
            wakes_remote: 0,
            wakes_stale: 0,
            wakes_duplicate: 0,
            fired: 0,
            hogs: 0,
        };
        r.intern("main");
        r
    }

    pub(crate) fn start(&mut self) {
        self.started.get_or_insert_with(Instant::now);
    }

    /// The name's index in the per-name table (a hash lookup per spawn, none per poll).
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(TaskStats {
            name: name.to_owned(),
            ..TaskStats::default()
        });
        self.index.insert(name.to_owned(), i);
        i
    }

    /// A poll of `ns` nanoseconds by the task named `name`.
    pub(crate) fn poll_done(&mut self, name: u32, ns: u64) {
        self.polls += 1;
        self.busy_ns += ns;
        let t = &mut self.names[name as usize];
        t.polls += 1;
        t.busy_us += ns / 1000;
        t.longest_poll_us = t.longest_poll_us.max(ns / 1000);
        if ns >= self.hog_ns {
            t.hogs += 1;
            self.hogs += 1;
            if t.hogs == 1 {
                // Formatted first, then written at once: stderr is unbuffered, and
                // `errln!` with arguments makes one `write` per piece (eleven here).
                let msg = format!(
                    "coop: task `{}` held the loop for {:.1} ms (threshold {:.1} ms): \
                     a blocking call inside an async task?\n",
                    t.name,
                    ns as f64 / 1e6,
                    self.hog_threshold.as_secs_f64() * 1e3
                );
                crate::term::err(format_args!("{msg}"));
            }
        }
    }

    pub(crate) fn queue_delay(&mut self, ns: u64) {
        self.queue_delay.record(ns);
    }

    pub(crate) fn sample_queue(&mut self, len: usize) {
        self.queue_samples += 1;
        self.queue_sum += len as u64;
        self.queue_max = self.queue_max.max(len as u64);
    }

    pub(crate) fn epoll_events(&mut self, n: usize) {
        self.events += n as u64;
    }

    pub(crate) fn timer_fired(&mut self, oversleep: u64) {
        self.fired += 1;
        self.oversleep.record(oversleep);
    }

    pub(crate) fn timer_polled(&mut self, queueing: u64, lateness: u64) {
        self.queueing.record(queueing);
        self.lateness.record(lateness);
    }

    pub(crate) fn snapshot(&self, live: u64, timers: &Timers) -> Stats {
        let calls = self.epoll_zero + self.epoll_blocking;
        let mut tasks: Vec<TaskStats> =
            self.names.iter().filter(|t| t.polls > 0).cloned().collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.longest_poll_us));
        Stats {
            io_poll_every: self.io_poll_every.clone(),
            timer_backend: self.backend.to_owned(),
            timer_slack_ns: self.timer_slack_ns,
            hog_threshold_us: self.hog_threshold.as_micros() as u64,
            wall_us: self.started.map_or(0, |s| s.elapsed().as_micros() as u64),
            busy_us: self.busy_ns / 1000,
            idle_us: self.idle_ns / 1000,
            tasks_spawned: self.tasks_spawned,
            tasks_finished: self.tasks_finished,
            tasks_aborted: self.tasks_aborted,
            tasks_live: live,
            polls: self.polls,
            queue_delay: Dist::of(&self.queue_delay.to_hdr()),
            run_queue_max: self.queue_max,
            run_queue_mean: self.queue_sum as f64 / self.queue_samples.max(1) as f64,
            timers_registered: timers.registered,
            timers_fired: self.fired,
            timers_cancelled: timers.cancelled,
            timers_immediate: timers.immediate,
            timer_heap_len: timers.heap_len() as u64,
            timer_heap_max: timers.heap_max as u64,
            timer_heap_rebuilds: timers.rebuilds,
            timer_oversleep: Dist::of(&self.oversleep.to_hdr()),
            timer_queueing: Dist::of(&self.queueing.to_hdr()),
            timer_lateness: Dist::of(&self.lateness.to_hdr()),
            epoll_calls_zero: self.epoll_zero,
            epoll_calls_blocking: self.epoll_blocking,
            early_wakes: self.early_wakes,
            epoll_events: self.events,
            events_per_call: self.events as f64 / calls.max(1) as f64,
            wakes_local: self.wakes_local,
            wakes_self: self.wakes_self,
            wakes_remote: self.wakes_remote,
            wakes_stale: self.wakes_stale,
            wakes_duplicate: self.wakes_duplicate,
            hogs: self.hogs,
            tasks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values at and around every bucket edge, and a spread up to the bound.
    fn samples() -> Vec<u64> {
        let mut v: Vec<u64> = (0..1000).collect();
        for s in 0..42 {
            for d in [-1i64, 0, 1] {
                v.push(((1u64 << s) as i64 + d).max(0) as u64);
            }
        }
        let mut x = 12345u64;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v.push((x >> 22) % (HIGH_NS + 1000));
        }
        v
    }

    #[test]
    fn buckets_follow_hdr_layout() {
        let h = Histogram::<u64>::new_with_bounds(1, HIGH_NS, 2).unwrap();
        for ns in samples() {
            let v = ns.clamp(1, HIGH_NS);
            let i = Buckets::index(ns);
            assert_eq!(Buckets::lowest(i), h.lowest_equivalent(v), "value {ns}");
            assert_eq!(Buckets::index(Buckets::lowest(i)), i, "value {ns}");
        }
    }

    #[test]
    fn buckets_give_the_same_distribution_as_hdr() {
        let mut h = Histogram::<u64>::new_with_bounds(1, HIGH_NS, 2).unwrap();
        let mut b = Buckets::new();
        for ns in samples() {
            h.saturating_record(ns.clamp(1, HIGH_NS));
            b.record(ns);
        }
        assert_eq!(Dist::of(&b.to_hdr()), Dist::of(&h));
        assert_eq!(Dist::of(&Buckets::new().to_hdr()), Dist::default());
    }
}
