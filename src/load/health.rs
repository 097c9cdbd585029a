//! Measuring the driver itself while it drives one model: its process CPU and threads over
//! the measured window, beside the send error the join already computed.
//!
//! The driver's CPU is sampled exactly like the model's (`CpuMonitor`, on the driver's own
//! pid), so the two are comparable; the model is a separate process, so nothing the driver
//! does (its spinning before each send included) is in the model's figures.

use anyhow::Result;

use crate::metrics::driver_health::{judge, DriverHealth};
use crate::metrics::process::{CpuMonitor, WindowCpu};
use crate::metrics::summary::Summary;
use crate::scenario::DriverKind;

/// CPU sampling interval for the driver: its thread count and CPU need no finer grain.
const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The driver's CPU over a measured window, from [`DriverMeter::start`] to
/// [`DriverMeter::stop`].
pub struct DriverMeter {
    monitor: CpuMonitor,
    cpus: u64,
    driver: String,
    spin_margin_ns: u64,
}

impl DriverMeter {
    /// Starts the window now, for clients run by `driver` with send spin margin
    /// `spin_margin_ns` (what the health records of them).
    pub fn start(driver: DriverKind, spin_margin_ns: u64) -> Result<DriverMeter> {
        Ok(DriverMeter {
            monitor: CpuMonitor::start(std::process::id() as i32, SAMPLE_EVERY)?,
            cpus: own_cpus(),
            driver: driver.name().to_string(),
            spin_margin_ns,
        })
    }

    /// Ends the window now (call when the model's window ends).
    pub fn stop(self) -> DriverWindow {
        DriverWindow {
            cpu: self.monitor.finish(),
            cpus: self.cpus,
            driver: self.driver,
            spin_margin_ns: self.spin_margin_ns,
        }
    }
}

/// The driver's CPU over a finished window.
pub struct DriverWindow {
    cpu: WindowCpu,
    cpus: u64,
    /// The client runner of the window.
    driver: String,
    spin_margin_ns: u64,
}

impl DriverWindow {
    /// The driver's health for a row whose send error and poll latency are given (known only
    /// after the join), with the driver-limited verdict made.
    pub fn health(&self, send_error: &Summary, poll_latency: &Summary) -> DriverHealth {
        let w = &self.cpu;
        let mut h = DriverHealth {
            driver: self.driver.clone(),
            cpu_percent: if w.wall_s > 0.0 {
                100.0 * w.cpu_s / w.wall_s
            } else {
                0.0
            },
            user_s: w.user_s,
            sys_s: w.sys_s,
            send_error: send_error.clone(),
            // The sampler thread is the meter's own, not part of the driving.
            threads: w.threads_max.saturating_sub(1),
            cpus: self.cpus,
            spin_margin_us: self.spin_margin_ns / 1_000,
            ..DriverHealth::default()
        };
        judge(&mut h, poll_latency);
        h
    }
}

/// How many CPUs this process may run on now (1 under `--pin`).
fn own_cpus() -> u64 {
    let Ok(set) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return 0;
    };
    (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::summary::{new_histogram, record_clamped};

    #[test]
    fn the_meter_sees_the_driver_threads_and_cpu_it_burns() {
        let meter = DriverMeter::start(DriverKind::Events, 200_000).unwrap();
        // Burn CPU on a thread that lives through the window: CPU and a thread show up.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let burner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(600));
        let mut h = new_histogram();
        record_clamped(&mut h, 5);
        let s = Summary::from_histogram(&h);
        let health = meter.stop().health(&s, &s);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        burner.join().unwrap();
        // A spinning thread is runnable all the time; even on a loaded machine it gets a
        // good share of a CPU over 0.6 s (no speed is asserted beyond "clearly non-zero").
        assert!(health.cpu_percent > 5.0, "{}", health.cpu_percent);
        assert!(health.threads >= 2, "main + burner: {}", health.threads);
        assert!(health.cpus >= 1);
        assert_eq!(health.send_error.count, 1);
        assert_eq!(
            (health.driver.as_str(), health.spin_margin_us),
            ("events", 200)
        );
    }
}
