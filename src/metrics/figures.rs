//! The registry of figures: every number the table, the report, `check`, `history` and the
//! comparison view show about a model, defined once — its key, unit, label, how it is derived
//! from a model's row (and from one round of it), which way is better and which rule judges
//! it.
//!
//! Defined once so that the same run can never show two numbers for one figure: before this
//! registry the terminal table divided context switches by the CPU window and the report and
//! `check` by the scenario's duration.
//!
//! It is also the only list of figures: which figures each view shows, in its order, is a
//! list of `Figure`s here ([`SUMMARY`], [`HISTORY`], [`TREND`], [`SIDE_BY_SIDE`], [`JUDGED`]),
//! and a figure's value in one round and its interval over the rounds come from
//! [`Figure::of_round`] and [`Figure::interval`] alone. A name that is not a figure finds
//! nothing ([`figure`] gives `None`, [`named`] an error, and a caller that still names a
//! figure by string through [`AsFigure`] panics, naming it); nothing falls back to another
//! figure.

use super::costs::PerEvent;
use super::results::ModelResult;
use super::rounds::{Interval, RoundResult, MIN_ROUNDS};

/// How a figure is shown and what its numbers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Percent of one core.
    CpuPercent,
    /// Events per second.
    PerSecond,
    /// Kibibytes.
    Kib,
    /// A plain count.
    Count,
    /// Watchdog ticks (a count of periods).
    Ticks,
    /// Microseconds.
    Micros,
    /// Microseconds per handled event.
    MicrosPerEvent,
    /// A count per handled event.
    PerEvent,
    /// A multiple of a reference (×).
    Multiple,
}

impl Unit {
    /// The short unit written next to a value in `check`'s tables and JSON.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Unit::CpuPercent => "%",
            Unit::PerSecond => "/s",
            Unit::Kib => "KiB",
            Unit::Count => "count",
            Unit::Ticks => "ticks",
            Unit::Micros => "µs",
            Unit::MicrosPerEvent => "µs/event",
            Unit::PerEvent => "/event",
            Unit::Multiple => "×",
        }
    }
}

/// Where a figure comes from in a model's row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// A percentile of one of the model's latency summaries (keys as in
    /// `ModelResult::metric`), µs.
    Latency { metric: &'static str, q: f64 },
    /// The largest sample of a latency summary (µs): the longest stall.
    Max { metric: &'static str },
    /// A latency summary's p99 − p50 (µs): its jitter, the headline's "steadiest".
    Jitter { metric: &'static str },
    /// A count from the row's `counters`.
    Counter { name: &'static str },
    /// CPU use in % of one core over the measured window.
    CpuPercent,
    /// Voluntary + involuntary context switches per second of the CPU window.
    CtxSwitchesPerS,
    /// Peak resident set size, KiB.
    MaxRssKib,
    /// Threads of the model's process.
    Threads,
    /// A cost per handled event (`metrics::costs`).
    PerEvent(Cost),
    /// CPU % over the run's CPU floor (`cpu.floor_multiple`).
    FloorMultiple,
    /// Instructions per handled event from the valgrind pass (`ModelResult::valgrind`,
    /// `metrics::valgrind`): a separate pass after the timed rounds, one value per pass.
    ValgrindPerEvent,
}

/// Which per-event cost (`metrics::costs::PerEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    CpuUs,
    Wakeups,
    Syscalls,
    Instructions,
}

impl Cost {
    fn of(self, p: &PerEvent) -> Option<f64> {
        match self {
            Cost::CpuUs => p.cpu_us,
            Cost::Wakeups => p.wakeups,
            Cost::Syscalls => p.syscalls,
            Cost::Instructions => p.instructions,
        }
    }
}

/// Which way is better. Every figure esbench shows today is a cost, so lower is better; the
/// field exists so that a figure where it is not (a throughput) cannot be added by mistake
/// without saying so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
}

/// What kind of figure it is, which decides the rule that judges it (`check::compare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A latency percentile: interval, band, floor; a tail only with enough samples beyond.
    Percentile,
    /// The longest stall: band and absolute floor, floor-relative too.
    Stall,
    /// A counter that is zero in a healthy run: allowance over the baseline's worst run.
    Count,
    /// CPU % or context switches: ratio with an absolute floor.
    Cost,
}

/// One figure.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    /// The one name, used in tables, JSON, thresholds files and the history, e.g.
    /// `poll_latency.p99`.
    pub key: &'static str,
    /// The name the report's columns and the v1 history database used (`poll_p99`); kept so
    /// old databases and callers still find the figure.
    pub legacy: Option<&'static str>,
    /// A short heading for people.
    pub label: &'static str,
    pub unit: Unit,
    pub source: Source,
    pub better: Better,
    /// The rule `check` judges it by; `None`: shown, never judged (RSS, thread counts, the
    /// frame counters, the figures the CI gate has never compared).
    pub judged: Option<Kind>,
}

const fn fig(
    key: &'static str,
    legacy: Option<&'static str>,
    label: &'static str,
    unit: Unit,
    source: Source,
    judged: Option<Kind>,
) -> Figure {
    Figure {
        key,
        legacy,
        label,
        unit,
        source,
        better: Better::Lower,
        judged,
    }
}

/// A latency percentile figure: its key is `metric.pNN` and its source that metric's
/// quantile `q`, written once so the key, the metric and the legend cannot disagree.
macro_rules! latency_figure {
    ($name:ident, $metric:ident . $p:ident = $q:expr, $legacy:expr, $label:expr, judged: $judged:expr) => {
        pub(crate) const $name: Figure = fig(
            concat!(stringify!($metric), ".", stringify!($p)),
            $legacy,
            $label,
            Unit::Micros,
            Source::Latency {
                metric: stringify!($metric),
                q: $q,
            },
            if $judged {
                Some(Kind::Percentile)
            } else {
                None
            },
        );
    };
}

/// A counter figure: its key is the counter's name in results.json, written once.
macro_rules! counter_figure {
    ($name:ident, $counter:ident, $label:expr, $unit:ident, judged: $judged:expr) => {
        pub(crate) const $name: Figure = fig(
            stringify!($counter),
            None,
            $label,
            Unit::$unit,
            Source::Counter {
                name: stringify!($counter),
            },
            if $judged { Some(Kind::Count) } else { None },
        );
    };
}

/// A figure of the model's process (`cpu.<field>` in results.json), read from its own source.
macro_rules! cpu_figure {
    ($name:ident, cpu . $field:ident, $legacy:expr, $label:expr, $unit:ident, $source:ident, judged: $judged:expr) => {
        pub(crate) const $name: Figure = fig(
            concat!("cpu.", stringify!($field)),
            $legacy,
            $label,
            Unit::$unit,
            Source::$source,
            $judged,
        );
    };
}

// The figures, one const each so other rooms can build tables from them without a lookup.
cpu_figure!(CPU_PERCENT, cpu.percent, Some("cpu_percent"), "CPU % of a core", CpuPercent, CpuPercent, judged: Some(Kind::Cost));

cpu_figure!(CPU_CTX_SWITCHES_PER_S, cpu.ctx_switches_per_s, Some("ctx_switches_per_s"), "ctx switches/s", PerSecond, CtxSwitchesPerS, judged: Some(Kind::Cost));

cpu_figure!(CPU_MAX_RSS_KIB, cpu.max_rss_kib, Some("max_rss_kib"), "peak RSS", Kib, MaxRssKib, judged: None);

cpu_figure!(CPU_THREADS, cpu.threads, Some("threads"), "threads", Count, Threads, judged: None);

cpu_figure!(CPU_FLOOR_MULTIPLE, cpu.floor_multiple, None, "CPU × floor", Multiple, FloorMultiple, judged: None);

/// A cost per handled event (`cpu.<field>`, derived, not stored), judged by the cost rule.
macro_rules! per_event_figure {
    ($name:ident, cpu . $field:ident, $label:expr, $unit:ident, $cost:ident) => {
        pub(crate) const $name: Figure = fig(
            concat!("cpu.", stringify!($field)),
            None,
            $label,
            Unit::$unit,
            Source::PerEvent(Cost::$cost),
            Some(Kind::Cost),
        );
    };
}

per_event_figure!(
    CPU_US_PER_EVENT,
    cpu.us_per_event,
    "CPU µs/event",
    MicrosPerEvent,
    CpuUs
);

per_event_figure!(
    CPU_WAKEUPS_PER_EVENT,
    cpu.wakeups_per_event,
    "wake-ups/event",
    PerEvent,
    Wakeups
);

per_event_figure!(
    CPU_SYSCALLS_PER_EVENT,
    cpu.syscalls_per_event,
    "syscalls/event",
    PerEvent,
    Syscalls
);

per_event_figure!(
    CPU_INSTRUCTIONS_PER_EVENT,
    cpu.instructions_per_event,
    "instructions/event",
    PerEvent,
    Instructions
);

/// Instructions per handled event counted by the valgrind pass (`run --valgrind`), not by
/// the timed rounds: its values are the passes', and a paired run judges the per-pass ratios
/// B/A as it judges the other costs' per-round ratios.
pub const CPU_VALGRIND_INSTRUCTIONS_PER_EVENT: Figure = fig(
    "cpu.valgrind_instructions_per_event",
    None,
    "valgrind instr/event",
    Unit::PerEvent,
    Source::ValgrindPerEvent,
    Some(Kind::Cost),
);

latency_figure!(POLL_LATENCY_P50, poll_latency.p50 = 0.50, Some("poll_p50"), "poll p50", judged: true);

latency_figure!(POLL_LATENCY_P90, poll_latency.p90 = 0.90, None, "poll p90", judged: true);

latency_figure!(POLL_LATENCY_P99, poll_latency.p99 = 0.99, Some("poll_p99"), "poll p99", judged: true);

latency_figure!(POLL_LATENCY_P999, poll_latency.p999 = 0.999, Some("poll_p999"), "poll p99.9", judged: false);

pub(crate) const POLL_LATENCY_MAX: Figure = fig(
    "poll_latency.max",
    Some("poll_max"),
    "poll max",
    Unit::Micros,
    Source::Max {
        metric: "poll_latency",
    },
    Some(Kind::Stall),
);

/// Poll latency p99 − p50: what the headline's "steadiest" ranks on; shown, never judged.
pub(crate) const POLL_LATENCY_JITTER: Figure = fig(
    "poll_latency.jitter",
    Some("poll_jitter"),
    "poll jitter",
    Unit::Micros,
    Source::Jitter {
        metric: "poll_latency",
    },
    None,
);

latency_figure!(POLL_SERVICE_P50, poll_service.p50 = 0.50, Some("poll_service_p50"), "service p50", judged: false);

latency_figure!(POLL_SERVICE_P99, poll_service.p99 = 0.99, Some("poll_service_p99"), "service p99", judged: false);

latency_figure!(STALENESS_P99, staleness.p99 = 0.99, Some("staleness_p99"), "staleness p99", judged: true);

latency_figure!(STALENESS_EXCESS_P99, staleness_excess.p99 = 0.99, Some("staleness_excess_p99"), "stale excess p99", judged: false);

latency_figure!(INGEST_LATENCY_P99, ingest_latency.p99 = 0.99, None, "ingest p99", judged: true);

latency_figure!(COMMAND_LATENCY_P99, command_latency.p99 = 0.99, Some("command_p99"), "command p99", judged: true);

latency_figure!(WATCHDOG_LATENESS_P50, watchdog_lateness.p50 = 0.50, Some("watchdog_p50"), "watchdog late p50", judged: true);

latency_figure!(WATCHDOG_LATENESS_P90, watchdog_lateness.p90 = 0.90, None, "watchdog late p90", judged: true);

latency_figure!(WATCHDOG_LATENESS_P99, watchdog_lateness.p99 = 0.99, Some("watchdog_p99"), "watchdog late p99", judged: true);

counter_figure!(WATCHDOG_LONGEST_LATE_RUN, watchdog_longest_late_run, "longest late watchdog run", Ticks, judged: true);

counter_figure!(POLLS_FAILED, polls_failed, "polls failed", Count, judged: true);

counter_figure!(POLLS_SKIPPED, polls_skipped, "poll slots skipped", Count, judged: true);

counter_figure!(COMMANDS_FAILED, commands_failed, "commands failed", Count, judged: true);

counter_figure!(COMMANDS_UNMATCHED, commands_unmatched, "commands unmatched", Count, judged: true);

counter_figure!(SEQ_UNMATCHED, seq_unmatched, "seq unmatched", Count, judged: true);

counter_figure!(FRAMES_REJECTED, frames_rejected, "frames rejected", Count, judged: false);

counter_figure!(FRAMES_COALESCED, frames_coalesced, "frames coalesced", Count, judged: false);

/// Every figure, in the order tables show them.
pub(crate) const FIGURES: &[Figure] = &[
    CPU_PERCENT,
    CPU_CTX_SWITCHES_PER_S,
    CPU_MAX_RSS_KIB,
    CPU_THREADS,
    CPU_FLOOR_MULTIPLE,
    CPU_US_PER_EVENT,
    CPU_WAKEUPS_PER_EVENT,
    CPU_SYSCALLS_PER_EVENT,
    CPU_INSTRUCTIONS_PER_EVENT,
    CPU_VALGRIND_INSTRUCTIONS_PER_EVENT,
    POLL_LATENCY_P50,
    POLL_LATENCY_P90,
    POLL_LATENCY_P99,
    POLL_LATENCY_P999,
    POLL_LATENCY_MAX,
    POLL_LATENCY_JITTER,
    POLL_SERVICE_P50,
    POLL_SERVICE_P99,
    STALENESS_P99,
    STALENESS_EXCESS_P99,
    INGEST_LATENCY_P99,
    COMMAND_LATENCY_P99,
    WATCHDOG_LATENESS_P50,
    WATCHDOG_LATENESS_P90,
    WATCHDOG_LATENESS_P99,
    WATCHDOG_LONGEST_LATE_RUN,
    POLLS_FAILED,
    POLLS_SKIPPED,
    COMMANDS_FAILED,
    COMMANDS_UNMATCHED,
    SEQ_UNMATCHED,
    FRAMES_REJECTED,
    FRAMES_COALESCED,
];

/// The figure called `key` (or, for old callers and databases, its legacy name); `None`
/// when no figure has that name.
pub(crate) fn figure(key: &str) -> Option<&'static Figure> {
    FIGURES
        .iter()
        .find(|f| f.key == key)
        .or_else(|| FIGURES.iter().find(|f| f.legacy == Some(key)))
}

/// The figure called `key`, or an error naming the known ones.
pub(crate) fn named(key: &str) -> anyhow::Result<&'static Figure> {
    figure(key).ok_or_else(|| {
        let known: Vec<&str> = FIGURES.iter().map(|f| f.key).collect();
        anyhow::anyhow!("unknown figure {key:?} (known: {})", known.join(", "))
    })
}

/// A figure as a caller names it: the registry's `Figure`, or (for callers that still carry
/// names) its key or legacy name, which must be a figure — an unknown name is a bug in the
/// caller and panics, naming it, rather than reading as "no value".
pub trait AsFigure {
    fn as_figure(&self) -> &Figure;
}

impl AsFigure for Figure {
    fn as_figure(&self) -> &Figure {
        self
    }
}

impl AsFigure for &Figure {
    fn as_figure(&self) -> &Figure {
        self
    }
}

impl AsFigure for &str {
    fn as_figure(&self) -> &Figure {
        named(self).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The report's summary table (HTML and `summary.md`), in column order.
pub(crate) const SUMMARY: &[Figure] = &[
    CPU_PERCENT,
    CPU_CTX_SWITCHES_PER_S,
    CPU_MAX_RSS_KIB,
    CPU_THREADS,
    CPU_FLOOR_MULTIPLE,
    CPU_US_PER_EVENT,
    CPU_WAKEUPS_PER_EVENT,
    CPU_SYSCALLS_PER_EVENT,
    CPU_INSTRUCTIONS_PER_EVENT,
    POLL_LATENCY_P50,
    POLL_LATENCY_P99,
    POLL_LATENCY_P999,
    POLL_LATENCY_MAX,
    POLL_SERVICE_P50,
    POLL_SERVICE_P99,
    STALENESS_P99,
    STALENESS_EXCESS_P99,
    COMMAND_LATENCY_P99,
    WATCHDOG_LATENESS_P50,
    WATCHDOG_LATENESS_P99,
    FRAMES_REJECTED,
    FRAMES_COALESCED,
];

/// The figures the history database keeps per model, each in a column named by its legacy
/// name (the v1 schema's; every one has one, a unit test checks).
pub(crate) const HISTORY: &[Figure] = &[
    CPU_PERCENT,
    CPU_CTX_SWITCHES_PER_S,
    CPU_MAX_RSS_KIB,
    CPU_THREADS,
    POLL_LATENCY_P50,
    POLL_LATENCY_P99,
    POLL_LATENCY_P999,
    POLL_LATENCY_MAX,
    STALENESS_P99,
    COMMAND_LATENCY_P99,
    WATCHDOG_LATENESS_P50,
    WATCHDOG_LATENESS_P99,
];

/// The figures plotted across runs (`history.html`) and listed by `esbench history`; each is
/// one the history keeps.
pub const TREND: &[Figure] = &[
    CPU_PERCENT,
    POLL_LATENCY_P50,
    POLL_LATENCY_P99,
    STALENESS_P99,
    WATCHDOG_LATENESS_P99,
];

/// The figures the report's comparison shows side by side when nobody judged them.
pub(crate) const SIDE_BY_SIDE: &[Figure] = &[
    CPU_PERCENT,
    CPU_CTX_SWITCHES_PER_S,
    CPU_MAX_RSS_KIB,
    POLL_LATENCY_P50,
    POLL_LATENCY_P99,
    STALENESS_P99,
    WATCHDOG_LATENESS_P50,
    WATCHDOG_LATENESS_P99,
];

/// The figures `check` judges, in the order its tables list them (latencies first, as the
/// CI gate has always printed them). Every entry has a `judged` rule.
pub(crate) const JUDGED: &[Figure] = &[
    POLL_LATENCY_P50,
    POLL_LATENCY_P90,
    POLL_LATENCY_P99,
    POLL_LATENCY_MAX,
    WATCHDOG_LATENESS_P50,
    WATCHDOG_LATENESS_P90,
    WATCHDOG_LATENESS_P99,
    WATCHDOG_LONGEST_LATE_RUN,
    STALENESS_P99,
    INGEST_LATENCY_P99,
    COMMAND_LATENCY_P99,
    CPU_PERCENT,
    CPU_CTX_SWITCHES_PER_S,
    CPU_US_PER_EVENT,
    CPU_WAKEUPS_PER_EVENT,
    CPU_SYSCALLS_PER_EVENT,
    CPU_INSTRUCTIONS_PER_EVENT,
    CPU_VALGRIND_INSTRUCTIONS_PER_EVENT,
    POLLS_FAILED,
    POLLS_SKIPPED,
    COMMANDS_FAILED,
    COMMANDS_UNMATCHED,
    SEQ_UNMATCHED,
];

/// The figures `check` judges, in its table order.
pub(crate) fn judged() -> impl Iterator<Item = &'static Figure> {
    JUDGED.iter()
}

/// Context switches per second of the CPU window (`cpu_window_ms`, the span the CPU figures
/// were taken over). Results from before that counter existed fall back to the scenario's
/// measured duration, the closest window they recorded; `None` without either.
pub(crate) fn context_switches_per_s(m: &ModelResult, duration_s: f64) -> Option<f64> {
    let window_s = match m.counters.get("cpu_window_ms") {
        Some(&ms) if ms > 0 => ms as f64 / 1e3,
        _ => duration_s,
    };
    (window_s > 0.0).then(|| (m.cpu.vcsw + m.cpu.ivcsw) as f64 / window_s)
}

impl Figure {
    /// The quantile of a percentile figure.
    pub(crate) fn quantile(&self) -> Option<f64> {
        match self.source {
            Source::Latency { q, .. } => Some(q),
            _ => None,
        }
    }

    /// A tail percentile (p90 and up): judged only with enough samples beyond it.
    pub(crate) fn is_tail(&self) -> bool {
        self.quantile().is_some_and(|q| q >= 0.9)
    }

    /// The latency summary the figure is read from, if any.
    pub(crate) fn summary_metric(&self) -> Option<&'static str> {
        match self.source {
            Source::Latency { metric, .. } | Source::Max { metric } | Source::Jitter { metric } => {
                Some(metric)
            }
            _ => None,
        }
    }

    /// A figure of the model's own process (`cpu.*`: CPU, context switches, RSS, threads):
    /// not made of the driver's lateness, unlike every latency.
    pub(crate) fn is_process(&self) -> bool {
        self.key.starts_with("cpu.")
    }

    /// Normalised by the floor of its own run (latencies and stalls).
    pub(crate) fn has_floor(&self) -> bool {
        matches!(self.source, Source::Latency { .. } | Source::Max { .. })
    }

    /// The figure for model `m` of a run whose scenario measured `duration_s` seconds per
    /// model; `None` when the row does not have it (an empty histogram, a counter not
    /// recorded, a zero RSS that was never read).
    pub fn of_model(&self, m: &ModelResult, duration_s: f64) -> Option<f64> {
        match self.source {
            Source::Latency { metric, q } => {
                let s = m.metric(metric)?;
                if s.count == 0 {
                    return None;
                }
                let v = match q {
                    0.50 => s.p50,
                    0.90 => s.p90,
                    0.99 => s.p99,
                    0.999 => s.p999,
                    q => s.quantile(q).ok()?,
                };
                Some(v as f64)
            }
            Source::Max { metric } => {
                let s = m.metric(metric)?;
                (s.count > 0).then_some(s.max as f64)
            }
            Source::Jitter { metric } => {
                let s = m.metric(metric)?;
                (s.count > 0).then(|| s.p99.saturating_sub(s.p50) as f64)
            }
            Source::Counter { name } => m.counters.get(name).map(|&n| n as f64),
            Source::CpuPercent => Some(m.cpu.percent),
            Source::CtxSwitchesPerS => context_switches_per_s(m, duration_s),
            Source::MaxRssKib => (m.cpu.max_rss_kib > 0).then_some(m.cpu.max_rss_kib as f64),
            Source::Threads => (m.cpu.threads > 0).then_some(m.cpu.threads as f64),
            Source::PerEvent(c) => c.of(&PerEvent::of_model(m)),
            Source::FloorMultiple => m.cpu.floor_multiple,
            Source::ValgrindPerEvent => m.valgrind.as_ref()?.median(),
        }
    }

    /// How many samples back the figure (for percentiles and stalls), 0 otherwise.
    pub(crate) fn samples(&self, m: &ModelResult) -> u64 {
        self.summary_metric()
            .and_then(|k| m.metric(k))
            .map_or(0, |s| s.count)
    }

    /// A figure of an optional pass run after the timed rounds (the valgrind pass): its
    /// repeated values are the passes', not the rounds', and a run without the pass simply
    /// does not have it.
    // A predicate ("is it from a separate pass"), not a conversion; clippy's naming rule for
    // `from_*` applies now that the method is not exported.
    #[allow(clippy::wrong_self_convention)]
    pub(crate) fn from_separate_pass(&self) -> bool {
        matches!(self.source, Source::ValgrindPerEvent)
    }

    /// The figure's repeated measurements of `m`, as (index, value): its ok rounds', or for
    /// a figure of a separate pass ([`Figure::from_separate_pass`]) the passes'. Two rows of
    /// one paired run match by index (round k of side A ran next to round k of side B).
    pub(crate) fn indexed_values(&self, m: &ModelResult) -> Vec<(u32, RoundValue)> {
        if let Source::ValgrindPerEvent = self.source {
            return m.valgrind.as_ref().map_or_else(Vec::new, |v| {
                v.values()
                    .into_iter()
                    .map(|(k, value)| {
                        let samples = None;
                        (k, RoundValue { value, samples })
                    })
                    .collect()
            });
        }
        m.rounds
            .iter()
            .filter_map(|r| self.of_round(r).map(|v| (r.index, v)))
            .collect()
    }

    /// Whether `check` judges the figure on its rounds: CPU %, context switches/s and the p50
    /// and p99 of a latency summary. Rounds keep more (the stall, RSS, threads, jitter; see
    /// [`Figure::of_round`]) and the tables show those with their intervals, but `check`
    /// judges a stall by its band-and-floor rule over the runs, as it always has. The valgrind
    /// pass's figure is judged the same way on its passes ([`Figure::indexed_values`]).
    pub(crate) fn judged_on_rounds(&self) -> bool {
        match self.source {
            Source::CpuPercent
            | Source::CtxSwitchesPerS
            | Source::PerEvent(_)
            | Source::ValgrindPerEvent => true,
            Source::Latency { q, .. } => q == 0.50 || q == 0.99,
            _ => false,
        }
    }

    /// The figure in one round, with the round's sample count for a latency figure; `None`
    /// for a failed round, a figure rounds do not keep (p90, p99.9, counters), a summary the
    /// round has no samples of, or an RSS or thread count the round did not read.
    pub fn of_round(&self, round: &RoundResult) -> Option<RoundValue> {
        if !round.is_ok() {
            return None;
        }
        let plain = |value: f64| RoundValue {
            value,
            samples: None,
        };
        match self.source {
            Source::CpuPercent => Some(plain(round.cpu_percent)),
            Source::CtxSwitchesPerS => Some(plain(round.context_switches_per_s)),
            Source::MaxRssKib => (round.max_rss_kib > 0).then(|| plain(round.max_rss_kib as f64)),
            Source::Threads => (round.threads > 0).then(|| plain(round.threads as f64)),
            Source::PerEvent(c) => c.of(&PerEvent::of_round(round)).map(plain),
            Source::Latency { metric, .. } | Source::Max { metric } | Source::Jitter { metric } => {
                let f = round.figures.get(metric).filter(|f| f.count > 0)?;
                let value = match self.source {
                    Source::Latency { q: 0.50, .. } => f.p50,
                    Source::Latency { q: 0.99, .. } => f.p99,
                    Source::Max { .. } => f.max,
                    Source::Jitter { .. } => f.p99.saturating_sub(f.p50),
                    _ => return None,
                };
                Some(RoundValue {
                    value: value as f64,
                    samples: Some(f.count),
                })
            }
            Source::Counter { .. } | Source::FloorMultiple | Source::ValgrindPerEvent => None,
        }
    }

    /// The interval of the figure's median over `m`'s ok rounds (failed rounds are left out);
    /// `None` when fewer than [`MIN_ROUNDS`] of them give the figure (one value has no
    /// spread). The one interval every table, verdict, export and the history show.
    pub(crate) fn interval(&self, m: &ModelResult) -> Option<Interval> {
        let values: Vec<f64> = self
            .indexed_values(m)
            .into_iter()
            .map(|(_, v)| v.value)
            .collect();
        if values.len() < MIN_ROUNDS {
            return None;
        }
        Interval::of_median(&values)
    }
}

/// One round's value of a figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoundValue {
    pub value: f64,
    /// For a percentile: the samples the round's figure came from.
    pub samples: Option<u64>,
}

/// Samples strictly beyond quantile `q` of `count` samples: those ranked above ceil(q·n).
pub(crate) fn samples_beyond(count: u64, q: f64) -> u64 {
    let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).min(count);
    count - rank
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::rounds::RoundFigure;
    use crate::metrics::status::Status;
    use crate::metrics::summary::{new_histogram, record_clamped, Summary};

    #[test]
    fn keys_and_legacy_names_are_unique_and_found() {
        let mut names: Vec<&str> = FIGURES
            .iter()
            .flat_map(|f| std::iter::once(f.key).chain(f.legacy))
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name used twice");
        assert_eq!(figure("poll_p99").unwrap().key, "poll_latency.p99");
        assert_eq!(figure("cpu.percent").unwrap().label, "CPU % of a core");
        assert!(figure("poll_latncy.p99").is_none());
        // JUDGED holds exactly the figures with a rule, each once.
        let ruled: Vec<&str> = FIGURES
            .iter()
            .filter(|f| f.judged.is_some())
            .map(|f| f.key)
            .collect();
        let mut listed: Vec<&str> = JUDGED.iter().map(|f| f.key).collect();
        assert!(JUDGED.iter().all(|f| f.judged.is_some()));
        listed.sort_unstable();
        let mut ruled_sorted = ruled.clone();
        ruled_sorted.sort_unstable();
        assert_eq!(listed, ruled_sorted);
        // Every latency figure names a summary a row has.
        let m = ModelResult::default();
        for f in FIGURES {
            if let Some(k) = f.summary_metric() {
                assert!(m.metric(k).is_some(), "{}", f.key);
            }
        }
    }

    #[test]
    fn context_switches_are_per_second_of_the_cpu_window() {
        let mut m = ModelResult::default();
        m.cpu.vcsw = 900;
        m.cpu.ivcsw = 100;
        // No window recorded (older results): the scenario's duration.
        assert_eq!(context_switches_per_s(&m, 10.0), Some(100.0));
        m.counters.insert("cpu_window_ms".into(), 8_000);
        assert_eq!(context_switches_per_s(&m, 10.0), Some(125.0));
        let csw = figure("cpu.ctx_switches_per_s").unwrap();
        assert_eq!(csw.of_model(&m, 10.0), Some(125.0));
        m.counters.clear();
        assert_eq!(csw.of_model(&m, 0.0), None, "no window at all");
    }

    #[test]
    fn figures_come_from_the_row_and_from_each_round() {
        let mut h = new_histogram();
        for v in 1..=1000 {
            record_clamped(&mut h, v);
        }
        let mut m = ModelResult {
            poll_latency: Summary::from_histogram(&h),
            ..Default::default()
        };
        m.cpu.percent = 1.5;
        m.counters.insert("frames_coalesced".into(), 7);
        let p99 = figure("poll_latency.p99").unwrap();
        assert_eq!(p99.of_model(&m, 6.0), Some(m.poll_latency.p99 as f64));
        assert_eq!(p99.samples(&m), 1000);
        assert_eq!(
            figure("frames_coalesced").unwrap().of_model(&m, 6.0),
            Some(7.0)
        );
        assert_eq!(
            figure("watchdog_lateness.p50").unwrap().of_model(&m, 6.0),
            None
        );
        for (k, cpu, p) in [(0, 1.0, 300), (1, 2.0, 100), (2, 3.0, 200)] {
            let mut figures = std::collections::BTreeMap::new();
            figures.insert(
                "poll_latency".to_string(),
                RoundFigure {
                    count: 50,
                    p50: p / 2,
                    p99: p,
                    max: p,
                },
            );
            m.rounds.push(RoundResult {
                index: k,
                status: Status::Ok,
                cpu_percent: cpu,
                figures,
                ..Default::default()
            });
        }
        m.rounds[1].status = Status::parse("crashed");
        let i = p99.interval(&m).unwrap();
        assert_eq!(
            (i.n, i.lo, i.hi),
            (2, 200.0, 300.0),
            "the failed round is out"
        );
        assert!(i.is_range);
        let cpu = figure("cpu.percent").unwrap();
        assert_eq!(cpu.interval(&m).unwrap().mid, 2.0);
        assert!(figure("poll_latency.p90").unwrap().interval(&m).is_none());
        // The stall and the jitter are kept per round too (not judged on them by check).
        assert_eq!(POLL_LATENCY_MAX.interval(&m).unwrap().mid, 250.0);
        assert!(!POLL_LATENCY_MAX.judged_on_rounds());
        assert_eq!(POLL_LATENCY_JITTER.interval(&m).unwrap().mid, 125.0);
        assert_eq!(
            POLL_LATENCY_JITTER.of_model(&m, 6.0),
            Some((m.poll_latency.p99 - m.poll_latency.p50) as f64)
        );
        // One ok round gives no interval: one value has no spread.
        m.rounds[2].status = Status::parse("crashed");
        assert!(cpu.interval(&m).is_none());
        assert_eq!(
            p99.of_round(&m.rounds[0]),
            Some(RoundValue {
                value: 300.0,
                samples: Some(50)
            })
        );
    }

    #[test]
    fn a_round_without_samples_gives_no_value_whatever_the_figure() {
        // staleness_excess once skipped this filter (a round with no sample gave its p99 of 0).
        let mut figures = std::collections::BTreeMap::new();
        for name in ["staleness_excess", "poll_latency"] {
            figures.insert(name.to_string(), RoundFigure::default());
        }
        let round = RoundResult {
            status: Status::Ok,
            figures,
            ..Default::default()
        };
        for f in FIGURES.iter().filter(|f| f.summary_metric().is_some()) {
            assert_eq!(f.of_round(&round), None, "{}", f.key);
        }
        assert_eq!(CPU_MAX_RSS_KIB.of_round(&round), None, "RSS not read");
    }

    #[test]
    fn every_view_lists_registry_figures_and_unknown_names_are_errors() {
        for view in [SUMMARY, HISTORY, TREND, SIDE_BY_SIDE, JUDGED] {
            for f in view {
                assert!(std::ptr::eq(figure(f.key).unwrap(), figure(f.key).unwrap()));
                assert_eq!(figure(f.key).unwrap().label, f.label, "{}", f.key);
            }
        }
        // The history's columns are the legacy names; the trend plots kept figures.
        assert!(HISTORY.iter().all(|f| f.legacy.is_some()));
        assert!(TREND.iter().all(|t| HISTORY.iter().any(|h| h.key == t.key)));
        let e = named("poll_latncy.p99").unwrap_err().to_string();
        assert!(e.contains("unknown figure \"poll_latncy.p99\""), "{e}");
        assert_eq!(named("poll_jitter").unwrap().key, "poll_latency.jitter");
        assert_eq!("cpu_percent".as_figure().key, "cpu.percent");
        assert!(std::panic::catch_unwind(|| "no_such".as_figure().key).is_err());
    }

    #[test]
    fn samples_beyond_counts_the_tail() {
        assert_eq!(samples_beyond(1000, 0.99), 10);
        assert_eq!(samples_beyond(121, 0.99), 1);
        assert_eq!(samples_beyond(5, 1.0), 0);
    }
}
