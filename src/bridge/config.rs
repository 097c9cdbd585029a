//! The bridge's tunables: the scenario's `[workload]` section, as the bridge needs it.

use std::time::Duration;

use super::conn::ServeLimits;

/// Per-board behaviour knobs shared by every model.
#[derive(Clone, Debug, PartialEq)]
pub struct BridgeConfig {
    /// Busy CPU work per accepted frame, before it is published (µs).
    pub frame_work_us: u64,
    /// Busy CPU work per `/poll` (µs).
    pub poll_work_us: u64,
    /// A *blocking* sleep inside the `/poll` handler (µs) — shows what blocking calls do to
    /// each runtime.
    pub blocking_sleep_us: u64,
    /// The watchdog's period.
    pub watchdog_period: Duration,
    /// A started board that sends nothing for this long is reported in `/poll`.
    pub silent_after: Duration,
    /// Cap on the per-frame ingest log kept for the stats (memory guard for long runs).
    pub ingest_log_cap: usize,
    /// Cap on the per-tick watchdog log kept for the stats (same guard).
    pub watchdog_log_cap: usize,
    /// End numeric commands with `\n`, which the v1 sketch ignores, so its `parseInt` does
    /// not wait a second for more digits (false: esp4s's exact bytes).
    pub command_terminator: bool,
    /// Faults injected on purpose (`serve --inject`, see `bridge::inject`); empty in a real run.
    pub inject: super::inject::Injections,
    /// Header and idle timeouts and the connection cap (serve flags, not scenario keys:
    /// they protect the bridge and never change what a well-behaved client measures).
    pub limits: ServeLimits,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            frame_work_us: 0,
            poll_work_us: 0,
            blocking_sleep_us: 0,
            watchdog_period: Duration::from_millis(25),
            silent_after: Duration::from_millis(500),
            ingest_log_cap: 2_000_000,
            watchdog_log_cap: 2_000_000,
            command_terminator: true,
            inject: super::inject::Injections::default(),
            limits: ServeLimits::default(),
        }
    }
}

impl BridgeConfig {
    /// Takes the scenario's `[workload]` section.
    pub fn from_workload(w: &crate::scenario::Workload) -> BridgeConfig {
        BridgeConfig {
            frame_work_us: w.frame_work_us,
            poll_work_us: w.poll_work_us,
            blocking_sleep_us: w.blocking_sleep_us,
            watchdog_period: Duration::from_secs_f64(w.watchdog_period_ms.max(0.001) / 1_000.0),
            silent_after: Duration::from_millis(w.silent_after_ms),
            command_terminator: w.command_terminator,
            ..BridgeConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_terminator_follows_the_scenario() {
        let on = BridgeConfig::from_workload(&crate::scenario::Workload::default());
        assert!(on.command_terminator, "on by default");
        let bursty = crate::scenario::Scenario::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/bursty.toml"
        )))
        .unwrap();
        let off = BridgeConfig::from_workload(&bursty.workload);
        assert!(
            !off.command_terminator,
            "bursty keeps the sketch's parseInt freeze after each command"
        );
    }
}
