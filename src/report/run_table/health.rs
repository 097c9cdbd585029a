//! The driver-health and CPU-floor cells of the run's terminal table (its `columns` call
//! these): each model's CPU as a multiple of the CPU floor, the driver's own CPU and send
//! error, a "driver-limited" mark, and one line describing the CPU floor.

use super::fmt_us;
use crate::metrics::results::{ModelResult, Results};

/// Column titles, before the status column.
pub const HEADER: [&str; 3] = ["CPU/floor", "drv CPU %", "send p99"];

/// The model's CPU as a multiple of the CPU floor, `×2.5`, or `-` without a floor.
pub fn cpu_floor_cell(m: &ModelResult) -> String {
    m.cpu
        .floor_multiple
        .map_or("-".into(), |x| format!("×{x:.1}"))
}

/// The driver's own CPU % while it drove this model, or `-` for results from before.
pub fn driver_cpu_cell(m: &ModelResult) -> String {
    if m.driver.threads == 0 {
        "-".into()
    } else {
        format!("{:.2}", m.driver.cpu_percent)
    }
}

/// The driver's send error p99 (how late its own sends left), or `-`.
pub fn send_p99_cell(m: &ModelResult) -> String {
    if m.driver.send_error.count == 0 {
        "-".into()
    } else {
        fmt_us(m.driver.send_error.p99)
    }
}

/// `status` with a DRIVER-LIMITED mark on a driver-limited row, so its figures are not read
/// as the model's.
pub fn mark_limited(status: String, m: &ModelResult) -> String {
    if m.driver.limited {
        format!("{status} DRIVER-LIMITED")
    } else {
        status
    }
}

/// The CPU floor line under the table, or None when the run has no CPU floor.
pub fn floor_line(r: &Results) -> Option<String> {
    let f = r.floor.cpu.as_ref()?;
    let spread = f
        .slice_range()
        .map(|(lo, hi)| format!(", 1-s slices {lo:.2}–{hi:.2} %"))
        .unwrap_or_default();
    let limited: Vec<&str> = r
        .models
        .iter()
        .filter(|m| m.driver.limited)
        .map(|m| m.name.as_str())
        .collect();
    let mut line = format!(
        "CPU floor: {:.2} % of a core ({:.1} µs per wake-up, {:.0} wake-ups/s for the scenario's \
         {:.0} events/s{spread}); CPU/floor = model CPU % ÷ this",
        f.cpu_percent, f.cpu_us_per_wakeup, f.wakeups_per_s, f.events_per_s
    );
    if !limited.is_empty() {
        line.push_str(&format!(
            "\nDRIVER-LIMITED (the driver's own lateness or CPU may set these rows' figures): {}",
            limited.join(", ")
        ));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::cpu_floor::CpuFloor;
    use crate::metrics::summary::{new_histogram, record_clamped, Summary};

    #[test]
    fn the_cells_and_the_limited_mark() {
        let mut h = new_histogram();
        record_clamped(&mut h, 1_500);
        let mut m = ModelResult::default();
        m.cpu.floor_multiple = Some(2.54);
        m.driver.cpu_percent = 12.345;
        m.driver.threads = 4;
        m.driver.send_error = Summary::from_histogram(&h);
        m.driver.limited = true;
        assert_eq!(
            [cpu_floor_cell(&m), driver_cpu_cell(&m), send_p99_cell(&m)],
            ["×2.5", "12.35", "1.50ms"]
        );
        assert_eq!(mark_limited("ok".into(), &m), "ok DRIVER-LIMITED");
        // An old row: no floor, no driver figures, no mark.
        let old = ModelResult::default();
        assert_eq!(
            [
                cpu_floor_cell(&old),
                driver_cpu_cell(&old),
                send_p99_cell(&old)
            ],
            ["-", "-", "-"]
        );
        assert_eq!(mark_limited("ok".into(), &old), "ok");
    }

    #[test]
    fn the_floor_line_names_the_floor_and_the_limited_rows() {
        let mut r = Results::default();
        assert!(floor_line(&r).is_none());
        r.floor.cpu = Some(CpuFloor {
            cpu_percent: 0.2,
            cpu_us_per_wakeup: 17.7,
            wakeups_per_s: 110.0,
            events_per_s: 111.3,
            slices_percent: vec![0.18, 0.22],
            ..CpuFloor::default()
        });
        let mut m = ModelResult {
            name: "rayon".into(),
            ..ModelResult::default()
        };
        m.driver.limited = true;
        r.models.push(m);
        let line = floor_line(&r).unwrap();
        assert!(line.contains("0.20 % of a core"), "{line}");
        assert!(line.contains("17.7 µs per wake-up"), "{line}");
        assert!(line.contains("0.18–0.22 %"), "{line}");
        assert!(
            line.contains("DRIVER-LIMITED") && line.contains("rayon"),
            "{line}"
        );
    }
}
