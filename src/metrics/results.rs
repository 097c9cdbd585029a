//! The `results.json` schema: written once by `esbench run`, read by everything after it.
//!
//! The schema is versioned (`schema`); readers refuse a file whose major version they do not
//! know rather than guess. Field meanings are documented in docs/results-schema.md.
//! Writes are atomic (temp file in the same directory + rename) so an interrupted run never
//! leaves a half-written file where a good one was.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::status::Status;
use super::summary::Summary;

/// Schema identifier written into every results file. Bump the number on incompatible change.
/// 1.1: `poll_latency` has one sample per planned slot (the per-answer figure moved to
/// `poll_answered`); new `poll_service`, `staleness_excess`, the child's settings, `injected`.
/// 1.2: rounds — `Results::rounds` (how the run was split) and `ModelResult::rounds` (each
/// round's figures); the whole-run figures are merged over the rounds.
pub const SCHEMA: &str = "esbench.results/1.2";

/// The versions this build reads: every 1.x. 1.0 is still read because committed files
/// hold it (`docs/teaching/*.json`, read by `scripts/teaching-table.sh`), 1.2 because the
/// baseline (`reports/baseline`) does; an older file is refused with [`READS`] in the error.
pub(crate) const READS: &str = "esbench.results/1 to 1.2 (1.0, 1.1 and 1.2)";

/// One `esbench run`: the machine, the scenario, the floor and one row per model.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    pub schema: String,
    pub esbench_version: String,
    /// Wall-clock start of the run, seconds since the Unix epoch.
    pub started_unix: f64,
    /// The commit the binary was built from, when known (captured at build time).
    #[serde(default)]
    pub commit: Option<String>,
    /// The build: its commit, whether its tree was dirty, its features. None in results
    /// from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<crate::build_info::Build>,
    pub machine: Machine,
    pub scenario: ScenarioInfo,
    pub floor: Floor,
    pub models: Vec<ModelResult>,
    /// Free-form notes the run wants a reader to see (e.g. "interrupted by Ctrl-C").
    #[serde(default)]
    pub notes: Vec<String>,
    /// Faults injected on purpose (`--inject`, canonical specs). Not empty means this run
    /// validates the machinery and is not a measurement of the models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<String>,
    /// The timer slack (ns) every model's process was started with (each row has what it
    /// read back). `None` in results from before it was set explicitly.
    #[serde(default)]
    pub model_timer_slack_ns: Option<u64>,
    /// The measurement variants the run used (the scenario's `[run]` after the command
    /// line's overrides). `None` in results from before they were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// How the models' measured time was split into interleaved rounds; `None` in results
    /// from before rounds existed (one pass per model, nothing to judge an interval from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<super::rounds::RoundsPlan>,
    /// Remote mode (`run --target`): the machine the models ran on; `machine` is then the
    /// driver's (where the Scratch clients, the floor and the CPU floor ran). `None` for a
    /// local run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_machine: Option<Machine>,
    /// A paired run (`run --against OTHER_EXE`): which rows are which build's, and the
    /// per-round ratios B/A (`metrics::paired`). `None` for an ordinary run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<super::paired::Paired>,
}

/// Settings that change what a run measures without being a model or the scenario's load:
/// each a scenario key of `[run]` and an `esbench run` option, recorded (and shown in the
/// report's context) so a reader sees which variant measured the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `run.send_spin_us`: how long before each send the Scratch clients stop sleeping and
    /// spin on the clock (µs; 0 = plain sleeps).
    pub send_spin_us: u64,
    /// `run.smol_block_on`: the `block_on` the `smol` model ran under (`async-io` or
    /// `futures-lite`).
    pub smol_block_on: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub physical_cores: Option<usize>,
    pub memory_kib: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub path: String,
    /// The whole scenario file as it was read, so a result can always be reproduced.
    pub text: String,
    /// Measured seconds per model (after warm-up).
    pub duration_s: f64,
    pub warmup_s: f64,
    /// True when the run used `--quick`.
    #[serde(default)]
    pub quick: bool,
}

/// What the machine itself can do, measured in the same run before the models.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Floor {
    /// Wake-up lateness of an absolute-deadline `clock_nanosleep` loop at the watchdog period.
    pub timer_lateness: Summary,
    /// The driver's own send error: actual send time minus intended send time.
    pub driver_error: Summary,
    /// CPU of the CPU floor (a process that only wakes up at the scenario's event rate), %
    /// of one core; None in results from before it existed or when it could not be measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// The CPU floor's whole measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<super::cpu_floor::CpuFloor>,
}

/// One model's row. `status` is `"ok"` or the error that ended it; a failed row keeps
/// whatever was measured before the failure.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModelResult {
    pub name: String,
    pub status: Status,
    pub cpu: Cpu,
    /// One sample per planned poll slot, intended time → the answer that freed the client
    /// (a skipped slot) or the poll's own answer or failure. Before schema 1.1 this was the
    /// per-answer figure, now `poll_answered`.
    pub poll_latency: Summary,
    /// One sample per answered poll, intended send → answer received (Scratch's own view).
    #[serde(default)]
    pub poll_answered: Summary,
    /// One sample per answered poll, actual send → answer read: the model's response time
    /// without the driver's wake-up error.
    #[serde(default)]
    pub poll_service: Summary,
    pub staleness: Summary,
    /// How far (µs) the served frame was behind the newest frame the board had finished
    /// writing when the request was sent: the part of staleness a model can change.
    #[serde(default)]
    pub staleness_excess: Summary,
    /// The same in frames (a count, not µs).
    #[serde(default)]
    pub staleness_excess_frames: Summary,
    pub ingest_latency: Summary,
    pub command_latency: Summary,
    pub watchdog_lateness: Summary,
    /// Frame inter-arrival times as the bridge saw them.
    #[serde(default)]
    pub frame_interarrival: Summary,
    /// The driver's send error while driving this model.
    #[serde(default)]
    pub driver_error: Summary,
    /// The floor under this model's load: a plain timer thread in the driver, sleeping to
    /// absolute deadlines at the watchdog period during the measured window. The run's
    /// `floor` is taken on an idle machine, where wake-ups are slower; this one is what a
    /// timer could do while this model ran. Empty in results from before it existed.
    #[serde(default)]
    pub timer_floor: Summary,
    /// Where the floor probe's deadlines fell in the board's frame schedule: median µs from
    /// the latest frame written to each deadline (the probe's start is randomised, so two
    /// runs do not share a phase by construction).
    #[serde(default)]
    pub timer_floor_phase_us: Option<u64>,
    /// The same for the bridge's watchdog deadlines.
    #[serde(default)]
    pub watchdog_phase_us: Option<u64>,
    /// The child's timer slack as read back from `/proc/<pid>/timerslack_ns` during the
    /// measured window.
    #[serde(default)]
    pub timerslack_ns: Option<u64>,
    /// The child's CPU affinity (`Cpus_allowed_list` of `/proc/<pid>/status`).
    #[serde(default)]
    pub cpus_allowed: Option<String>,
    /// The child's nice value (`/proc/<pid>/stat`).
    #[serde(default)]
    pub nice: Option<i64>,
    /// The driver's own CPU, threads and send error while it drove this model, and whether
    /// it, not the model, may be what limits this row.
    #[serde(default)]
    pub driver: super::driver_health::DriverHealth,
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// Scheduler self-measurement a model reports (e.g. `coop`'s), free-form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<serde_json::Value>,
    /// One entry per round, in round order (empty before rounds existed). The figures above
    /// are over the whole measured time, merged over rounds; these give their spread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<super::rounds::RoundResult>,
    /// Start of this row's measured window on the monotonic clock (ns), set by the driver
    /// for one round's row; a merged row carries its rounds' starts in `rounds` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start_ns: Option<u64>,
    /// The profiling pass (`--profile`), never mixed into the figures above. A profile of
    /// another schema version is read as none (it is not this build's to interpret).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "profile_of_this_schema"
    )]
    pub profile: Option<super::profile::ProfileReport>,
    /// The valgrind instruction pass (`--valgrind`): instructions per handled event counted
    /// on fresh `serve` children under valgrind after the timed rounds, never mixed into the
    /// figures above (`metrics::valgrind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valgrind: Option<super::valgrind::ValgrindReport>,
    /// Remote mode: how the agent's clock was joined to the driver's, and the ± it puts on
    /// the figures that cross the two (staleness, staleness_excess, command_latency).
    /// `None` for a local row, where one clock serves both sides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_join: Option<ClockJoin>,
    /// Set when the row measured an external bridge (the user's own program) rather than a
    /// built-in model: its command, CPU accounting, conformance notes, what it cannot have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<super::external::ExternalBridge>,
}

/// The clock join of one remote row (see docs/remote.md).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClockJoin {
    /// The agent, as `HOST:PORT`.
    pub target: String,
    /// Agent clock minus driver clock at the start of the row, ns.
    pub offset_ns: i64,
    /// How fast the agent's clock ran against the driver's, ppm.
    pub drift_ppm: f64,
    /// The lowest round trip of any timestamp exchange, µs.
    pub best_rtt_us: u64,
    /// Timestamp exchanges made for this row.
    pub exchanges: u32,
    /// ± (µs) on every time that crosses the two clocks: half the round trip of the
    /// exchanges the join rests on, plus the drift over the row's span.
    pub uncertainty_us: u64,
}

impl ClockJoin {
    /// True when a cross-clock figure of `value_us` is smaller than its own error bar, so it
    /// must be shown as "within the clock error" and not as a number.
    pub(crate) fn swamps(&self, value_us: u64) -> bool {
        self.uncertainty_us > value_us
    }
}

/// The row's named summaries, listed once for both the reading and the writing accessor:
/// each is named by its field (`named_summaries!(row, &)` or `named_summaries!(row, &mut)`).
macro_rules! named_summaries {
    ($row:expr, $($r:tt)+) => {
        named_summaries!(@ $row, [$($r)+] poll_latency poll_answered poll_service staleness
            staleness_excess staleness_excess_frames ingest_latency command_latency
            watchdog_lateness frame_interarrival driver_error timer_floor)
    };
    (@ $row:expr, [&] $($field:ident)+) => {
        [$((stringify!($field), &$row.$field)),+]
    };
    (@ $row:expr, [&mut] $($field:ident)+) => {
        [$((stringify!($field), &mut $row.$field)),+]
    };
}

/// Reads a row's `profile`: the typed report when its schema is this build's major version,
/// none otherwise (see [`super::profile::ProfileReport::from_value`]).
fn profile_of_this_schema<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<super::profile::ProfileReport>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(super::profile::ProfileReport::from_value))
}

impl ModelResult {
    /// Whether figure `key` (a field name such as `watchdog_lateness`) is one this row's
    /// model cannot provide (an external bridge's self-statistics): "not measured", not 0.
    pub(crate) fn not_measured(&self, key: &str) -> bool {
        self.external.as_ref().is_some_and(|e| e.lacks(key))
    }

    pub fn is_ok(&self) -> bool {
        self.status.is_ok()
    }

    /// The latency-like metrics by their one name, in report order: each named by its field,
    /// so a name cannot miss (there is no fallback to hide one that did).
    pub(crate) fn metrics(&self) -> [(&'static str, &Summary); 8] {
        named_summaries!(@ self, [&] poll_latency poll_answered poll_service staleness
            staleness_excess ingest_latency command_latency watchdog_lateness)
    }

    /// A metric by name, including the extra ones (`frame_interarrival`, `driver_error`).
    pub(crate) fn metric(&self, name: &str) -> Option<&Summary> {
        self.named_summaries()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s)
    }

    /// Every summary of the row that has a name of its own (the names `metric` knows).
    pub(crate) fn named_summaries(&self) -> [(&'static str, &Summary); 12] {
        named_summaries!(self, &)
    }

    /// The same, to write them (merging rounds into one row).
    pub(crate) fn named_summaries_mut(&mut self) -> [(&'static str, &mut Summary); 12] {
        named_summaries!(self, &mut)
    }
}

/// CPU and memory of the model's child process.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Cpu {
    pub user_s: f64,
    pub sys_s: f64,
    /// (user + sys) / wall time of the measured window, in % of one core.
    pub percent: f64,
    pub vcsw: u64,
    pub ivcsw: u64,
    pub max_rss_kib: u64,
    pub threads: u64,
    /// `percent` divided by the run's CPU floor (`floor.cpu_percent`); None without a floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_multiple: Option<f64>,
    /// CPU % of one core over time, sampled at 5 Hz or more during the measured window.
    #[serde(default)]
    pub series: Vec<CpuSample>,
    /// Read-family system calls over the window (`syscr` of `/proc/<pid>/io`: `read`,
    /// `readv`, `pread*`; see `metrics::proc_io`); None where not readable or not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscalls_read: Option<u64>,
    /// Write-family system calls over the window (`syscw`: `write`, `writev`, `pwrite*`,
    /// `sendfile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscalls_write: Option<u64>,
    /// User-space instructions retired over the window (hardware counter); None where the
    /// machine has none — never a zero for "not counted".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<u64>,
    /// What `instructions` counted, or `not available: <why>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_note: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CpuSample {
    /// Seconds since the start of the measured window.
    pub t_s: f64,
    pub percent: f64,
}

impl Results {
    /// True when the binary that measured this run was built from a tree with uncommitted
    /// changes: its commit does not identify the code that ran.
    pub(crate) fn dirty_build(&self) -> bool {
        self.build.as_ref().is_some_and(|b| b.dirty)
    }

    /// The commit as people read it: the hash, with `(dirty build)` when it was.
    pub(crate) fn commit_label(&self) -> String {
        let c = self.commit.clone().unwrap_or_else(|| "unknown".into());
        if self.dirty_build() {
            format!("{c} (dirty build: uncommitted changes)")
        } else {
            c
        }
    }
    /// The timer floor model `m` is judged against: the one measured alongside it when there
    /// is one, else the run's idle floor.
    pub fn timer_floor_for<'a>(&'a self, m: &'a ModelResult) -> &'a Summary {
        if m.timer_floor.count > 0 {
            &m.timer_floor
        } else {
            &self.floor.timer_lateness
        }
    }

    /// Reads and validates a results file, with an error that says which file and what is
    /// wrong (not JSON, not an esbench results file, an unknown schema version, bad fields).
    pub fn load(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read results file {}", path.display()))?;
        Self::parse(&text)
            .with_context(|| format!("{} is not a usable results file", path.display()))
    }

    pub fn parse(text: &str) -> Result<Results> {
        let value: serde_json::Value = serde_json::from_str(text).context("not valid JSON")?;
        let schema = match value.get("schema").and_then(|s| s.as_str()) {
            Some(s) => s.to_string(),
            None => bail!("no \"schema\" field: this is not an esbench results.json"),
        };
        let version = SCHEMA.rsplit('/').next().unwrap_or("1");
        let major: u64 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(1);
        match schema.strip_prefix("esbench.results/") {
            Some(v) => match v.split('.').next().and_then(|m| m.parse::<u64>().ok()) {
                Some(m) if m == major => {}
                Some(m) if m < major => bail!(
                    "results schema version {v} is older than this esbench reads ({READS}); \
                     measure again with this esbench's `esbench run`"
                ),
                _ => bail!(
                    "results schema version {v} is not supported: this esbench reads {READS} \
                     (a newer esbench wrote it?)"
                ),
            },
            None => bail!("schema {schema:?} is not an esbench results schema"),
        }
        let r: Results =
            serde_json::from_value(value).context("fields do not match the results schema")?;
        for m in &r.models {
            for (name, s) in m.metrics() {
                if s.count > 0 {
                    s.histogram().with_context(|| {
                        format!("model {} metric {name}: bad histogram", m.name)
                    })?;
                }
            }
        }
        Ok(r)
    }

    /// Writes `self` as pretty JSON to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        write_atomic(path, &json)
    }

    pub fn model(&self, name: &str) -> Option<&ModelResult> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// Writes `bytes` to `path` via a temp file in the same directory, fsync and rename, so a
/// reader sees either the old file or the whole new one. Every error names `path` and its
/// cause in one line (a full disk says which file it could not take), and the temp file is
/// removed on every failing path.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot write {}: cannot create {}",
            path.display(),
            dir.display()
        )
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        anyhow::bail!("cannot write {}: {e}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::{new_histogram, record_clamped};

    #[test]
    fn each_name_finds_its_own_summary() {
        let mut m = ModelResult::default();
        for (k, (_, s)) in m.named_summaries_mut().into_iter().enumerate() {
            s.count = k as u64 + 1;
        }
        let named = m.named_summaries();
        for (k, (name, s)) in named.iter().enumerate() {
            assert_eq!(s.count, k as u64 + 1, "{name}");
            assert_eq!(
                m.metric(name).map(|s| s.count),
                Some(k as u64 + 1),
                "{name}"
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (name, s) in m.metrics() {
            assert_eq!(m.metric(name).map(|s| s.count), Some(s.count), "{name}");
            assert!(seen.insert(s.count), "{name} is listed twice or falls back");
        }
        assert!(m.metric("no_such_metric").is_none());
    }

    /// Results files are read back by `check`, `report` and the history: a mean written as
    /// 3.540666666666666 must come back as the same f64, not one ULP away (serde_json's
    /// `float_roundtrip` feature; without it this failed on real coop stats).
    #[test]
    fn floats_survive_a_json_round_trip_bit_for_bit() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values = vec![3.540_666_666_666_666, 0.1, 1.0 / 3.0, 1e-300, 123_456.789];
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x >> 11) as f64 / (1u64 << 53) as f64 * 1e4);
        }
        for v in values {
            let back: f64 = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v}");
        }
    }

    fn sample() -> Results {
        let mut h = new_histogram();
        record_clamped(&mut h, 120);
        Results {
            schema: SCHEMA.into(),
            esbench_version: "0.1.0".into(),
            models: vec![ModelResult {
                name: "smol".into(),
                status: Status::Ok,
                poll_latency: Summary::from_histogram(&h),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/results.json");
        sample().save(&p).unwrap();
        let r = Results::load(&p).unwrap();
        assert_eq!(r.models[0].poll_latency.p50, 120);
        assert_eq!(r.model("smol").unwrap().name, "smol");
    }

    #[test]
    fn every_committed_results_file_is_read() {
        // What keeps versions 1.0 and 1.2 readable: drop one only with the files that need it.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seen = std::collections::BTreeSet::new();
        for f in [
            "reports/baseline/results-1.json",
            "reports/baseline/results-2.json",
            "reports/baseline/results-3.json",
            "docs/teaching/esp4s-results.json",
            "docs/teaching/esp4s-quick-results.json",
        ] {
            let r = Results::load(&root.join(f)).unwrap_or_else(|e| panic!("{f}: {e:#}"));
            assert!(!r.models.is_empty(), "{f}");
            seen.insert(r.schema);
        }
        let want = ["esbench.results/1", "esbench.results/1.2"];
        assert_eq!(seen.iter().map(String::as_str).collect::<Vec<_>>(), want);
    }

    #[test]
    fn foreign_and_corrupt_files_get_clear_errors() {
        let e = Results::parse("{\"hello\": 1}").unwrap_err();
        assert!(format!("{e:#}").contains("not an esbench results.json"));
        // Minor versions of the same major are read (older files lack the newer fields).
        let mut old = serde_json::to_value(sample()).unwrap();
        old["schema"] = "esbench.results/1".into();
        assert!(Results::parse(&old.to_string()).is_ok());
        let e = Results::parse("{\"schema\": \"esbench.results/9\"}").unwrap_err();
        assert!(format!("{e:#}").contains("not supported"));
        // An older major version says so, and which versions are read.
        let e = Results::parse("{\"schema\": \"esbench.results/0.9\"}").unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "results schema version 0.9 is older than this esbench reads (esbench.results/1 \
             to 1.2 (1.0, 1.1 and 1.2)); measure again with this esbench's `esbench run`"
        );
        let e = Results::parse("{not json").unwrap_err();
        assert!(format!("{e:#}").contains("not valid JSON"));
        let mut bad = sample();
        bad.models[0].poll_latency.hist = "@@@".into();
        let e = Results::parse(&serde_json::to_string(&bad).unwrap()).unwrap_err();
        assert!(format!("{e:#}").contains("bad histogram"), "{e:#}");
    }
}
