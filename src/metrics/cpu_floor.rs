//! The CPU floor: what a process that does nothing but wake up at the scenario's event rate
//! costs on this machine, measured in the same run, so a model's CPU reads as a multiple of
//! the machine's minimum for that rate rather than as a bare percentage.

use serde::{Deserialize, Serialize};

/// The floor child's measurement (`esbench floor-child`, see `driver::cpu_floor`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuFloor {
    /// CPU of the floor process over its measured loop, % of one core.
    pub cpu_percent: f64,
    /// CPU per wake-up, µs.
    pub cpu_us_per_wakeup: f64,
    /// Wake-ups per second the child actually made (returns from `epoll_wait`).
    pub wakeups_per_s: f64,
    /// Events per second the scenario asks for: frames + requests (polls and commands) +
    /// watchdog ticks; wake-ups can be fewer when two events fall due together.
    pub events_per_s: f64,
    pub frames_per_s: f64,
    pub requests_per_s: f64,
    pub ticks_per_s: f64,
    /// Measured seconds.
    pub seconds: f64,
    /// CPU % of each one-second slice: the spread says how steady the floor is.
    pub slices_percent: Vec<f64>,
    /// Voluntary and involuntary context switches of the floor process.
    pub vcsw: u64,
    pub ivcsw: u64,
    /// CPUs the floor child ran on (`--pin`: the models' CPUs); empty = not pinned.
    #[serde(default)]
    pub cpus: Vec<usize>,
    /// Timer slack of the floor child (ns), set explicitly like a model's.
    pub timer_slack_ns: u64,
}

impl CpuFloor {
    /// Lowest and highest one-second slice, % of one core (the floor's own uncertainty).
    pub fn slice_range(&self) -> Option<(f64, f64)> {
        let lo = self.slices_percent.iter().copied().reduce(f64::min)?;
        let hi = self.slices_percent.iter().copied().reduce(f64::max)?;
        Some((lo, hi))
    }
}

/// A model's CPU % as a multiple of the floor's; None when there is no usable floor.
pub fn floor_multiple(model_cpu_percent: f64, floor_cpu_percent: Option<f64>) -> Option<f64> {
    match floor_cpu_percent {
        Some(f) if f > 0.0 && f.is_finite() => Some(model_cpu_percent / f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiples_and_ranges() {
        assert_eq!(floor_multiple(0.5, Some(0.2)), Some(2.5));
        assert_eq!(floor_multiple(0.5, Some(0.0)), None);
        assert_eq!(floor_multiple(0.5, None), None);
        let f = CpuFloor {
            slices_percent: vec![0.2, 0.3, 0.25],
            ..CpuFloor::default()
        };
        assert_eq!(f.slice_range(), Some((0.2, 0.3)));
        assert_eq!(CpuFloor::default().slice_range(), None);
    }
}
