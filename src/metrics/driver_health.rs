//! The instrument's own state while it drove one model, and the rule that says when a row's
//! figures may be the driver's rather than the model's.
//!
//! The driver (virtual boards, Scratch clients, probes) shares the machine with the model: at
//! many boards it can be the one that cannot keep up, and its lateness then reads as the
//! model's. Every row carries what the driver did, and a `limited` verdict, so the table, the
//! report and the sweep can say so.

use serde::{Deserialize, Serialize};

use super::summary::Summary;

/// The driver process over one model's measured window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DriverHealth {
    /// Which load driver ran the clients in this window: `threads` or `events` (both, joined
    /// by `+`, if runs overlapped; empty in results from before the choice existed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// CPU of the whole driver process (boards, clients, probes; not the model, which is a
    /// child process accounted on its own), % of one core over the measured window.
    pub cpu_percent: f64,
    pub user_s: f64,
    pub sys_s: f64,
    /// The driver's send error on this model's requests: actual send − intended time (µs).
    pub send_error: Summary,
    /// How long before each send deadline the driver stopped sleeping and spun (µs; 0 =
    /// plain sleeps).
    pub spin_margin_us: u64,
    /// Threads of the driver process during the window (the most seen).
    pub threads: u64,
    /// CPUs the driver may run on (its affinity set; 1 under `--pin`).
    pub cpus: u64,
    /// True when the driver may be what sets this row's figures (see [`judge`]).
    pub limited: bool,
    /// Why the row is driver-limited, in words; empty when it is not.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limited_why: String,
}

impl DriverHealth {
    /// The driver used at least [`SATURATED_CPU_SHARE`] of the CPUs it may run on: it may not
    /// have delivered the planned load, so every figure of the row is in doubt — the model's
    /// CPU too, not only its latencies (which the send error alone already puts in doubt).
    pub fn saturated(&self) -> bool {
        self.cpu_percent >= SATURATED_CPU_SHARE * 100.0 * self.cpus.max(1) as f64
    }
}

/// Driver CPU (per CPU it may use) at or above which it counts as saturated: with threads
/// waiting for a CPU, its sends and reads are late for reasons of its own.
pub const SATURATED_CPU_SHARE: f64 = 0.9;

/// Fewest send-error samples a p99 verdict is made on (a p99 needs some samples beyond it).
pub const MIN_SEND_SAMPLES: u64 = 100;

/// Decides whether the driver limits a row whose compared latency figure is `poll_latency`.
///
/// A poll's latency runs from its intended time, so the driver's own send error is part of
/// it. The row is driver-limited when, at p99, that part is larger than what is left for the
/// model (`send p99 > poll p99 − send p99`), or when the driver used at least
/// [`SATURATED_CPU_SHARE`] of the CPUs it may run on. The verdict and the reason are stored
/// in `h`.
pub fn judge(h: &mut DriverHealth, poll_latency: &Summary) {
    let mut why = Vec::new();
    let s = &h.send_error;
    if s.count >= MIN_SEND_SAMPLES && poll_latency.count > 0 && 2 * s.p99 > poll_latency.p99 {
        why.push(format!(
            "send error p99 {} µs is more than half the poll latency p99 {} µs",
            s.p99, poll_latency.p99
        ));
    }
    if h.saturated() {
        why.push(format!(
            "driver CPU {:.0} % of {} CPU(s) is saturated",
            h.cpu_percent, h.cpus
        ));
    }
    h.limited = !why.is_empty();
    h.limited_why = why.join("; ");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::{new_histogram, record_clamped};

    fn summary(values: &[(u64, u64)]) -> Summary {
        let mut h = new_histogram();
        for &(v, n) in values {
            for _ in 0..n {
                record_clamped(&mut h, v);
            }
        }
        Summary::from_histogram(&h)
    }

    fn health(send: Summary, cpu: f64, cpus: u64) -> DriverHealth {
        DriverHealth {
            cpu_percent: cpu,
            send_error: send,
            cpus,
            ..DriverHealth::default()
        }
    }

    #[test]
    fn a_send_error_that_is_most_of_the_latency_marks_the_row() {
        let poll = summary(&[(300, 190), (2_000, 10)]);
        // Sends on time: the model's figure.
        let mut h = health(summary(&[(1, 200)]), 3.0, 2);
        judge(&mut h, &poll);
        assert!(!h.limited, "{}", h.limited_why);
        assert!(h.limited_why.is_empty());
        // Sends 1.5 ms late at p99 out of a 2 ms p99: the driver's.
        let mut h = health(summary(&[(1, 190), (1_500, 10)]), 3.0, 2);
        judge(&mut h, &poll);
        assert!(h.limited);
        assert!(
            h.limited_why.contains("send error p99"),
            "{}",
            h.limited_why
        );
    }

    #[test]
    fn too_few_sends_give_no_p99_verdict() {
        let poll = summary(&[(300, 50)]);
        let mut h = health(summary(&[(5_000, 50)]), 3.0, 2);
        judge(&mut h, &poll);
        assert!(!h.limited);
    }

    #[test]
    fn a_saturated_driver_marks_the_row_per_cpu_it_may_use() {
        let poll = summary(&[(300, 200)]);
        let mut pinned = health(summary(&[(1, 200)]), 95.0, 1);
        judge(&mut pinned, &poll);
        assert!(pinned.limited);
        assert!(pinned.limited_why.contains("saturated"));
        let mut free = health(summary(&[(1, 200)]), 95.0, 2);
        judge(&mut free, &poll);
        assert!(!free.limited, "95 % of two CPUs is not saturated");
    }

    #[test]
    fn old_rows_without_the_field_read_as_not_limited() {
        let old = r#"{"name": "smol", "status": "ok", "cpu": {"user_s": 0.1, "sys_s": 0.1,
            "percent": 1.0, "vcsw": 1, "ivcsw": 1, "max_rss_kib": 1, "threads": 1},
            "poll_latency": {"p50":1,"p90":1,"p99":1,"p999":1,"max":1,"count":0},
            "staleness": {"p50":1,"p90":1,"p99":1,"p999":1,"max":1,"count":0},
            "ingest_latency": {"p50":1,"p90":1,"p99":1,"p999":1,"max":1,"count":0},
            "command_latency": {"p50":1,"p90":1,"p99":1,"p999":1,"max":1,"count":0},
            "watchdog_lateness": {"p50":1,"p90":1,"p99":1,"p999":1,"max":1,"count":0}}"#;
        let row: crate::metrics::results::ModelResult = serde_json::from_str(old).unwrap();
        assert!(!row.driver.limited);
        assert_eq!(row.driver.send_error.count, 0);
        assert_eq!(row.cpu.floor_multiple, None);
        let partial: DriverHealth = serde_json::from_str(r#"{"cpu_percent": 4.5}"#).unwrap();
        assert_eq!(partial.cpu_percent, 4.5);
        assert_eq!(partial.threads, 0);
    }
}
