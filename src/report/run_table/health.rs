//! The driver-health and CPU-floor cells of the run's terminal table (`run_table` calls these
//! hooks): each model's CPU as a multiple of the CPU floor, the driver's own CPU and send
//! error, a "driver-limited" mark, and one line describing the CPU floor.

use super::fmt_us;
use crate::metrics::results::{ModelResult, Results};

/// Column titles, inserted before the status column.
pub const HEADER: [&str; 3] = ["CPU/floor", "drv CPU %", "send p99"];

/// Inserts [`HEADER`] before the last (status) column of the header row.
pub fn insert_header(row: &mut Vec<String>) {
    let at = row.len().saturating_sub(1);
    for (i, h) in HEADER.iter().enumerate() {
        row.insert(at + i, h.to_string());
    }
}

/// Inserts model `m`'s cells before the status column and marks the status of a
/// driver-limited row, so its figures are not read as the model's.
pub fn insert_cells(row: &mut Vec<String>, m: &ModelResult) {
    let at = row.len().saturating_sub(1);
    let d = &m.driver;
    let cells = [
        m.cpu
            .floor_multiple
            .map_or("-".into(), |x| format!("×{x:.1}")),
        if d.threads == 0 {
            "-".into()
        } else {
            format!("{:.2}", d.cpu_percent)
        },
        if d.send_error.count == 0 {
            "-".into()
        } else {
            fmt_us(d.send_error.p99)
        },
    ];
    for (i, c) in cells.into_iter().enumerate() {
        row.insert(at + i, c);
    }
    if d.limited {
        if let Some(status) = row.last_mut() {
            *status = format!("{status} DRIVER-LIMITED");
        }
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
    fn cells_go_before_the_status_and_a_limited_row_is_marked() {
        let mut header: Vec<String> = ["model", "CPU %", "status"].map(String::from).into();
        insert_header(&mut header);
        assert_eq!(
            header,
            [
                "model",
                "CPU %",
                "CPU/floor",
                "drv CPU %",
                "send p99",
                "status"
            ]
        );
        let mut h = new_histogram();
        record_clamped(&mut h, 1_500);
        let mut m = ModelResult::default();
        m.cpu.floor_multiple = Some(2.54);
        m.driver.cpu_percent = 12.345;
        m.driver.threads = 4;
        m.driver.send_error = Summary::from_histogram(&h);
        m.driver.limited = true;
        let mut row: Vec<String> = ["smol", "0.50", "ok"].map(String::from).into();
        insert_cells(&mut row, &m);
        assert_eq!(row[2..5], ["×2.5", "12.35", "1.50ms"]);
        assert_eq!(row[5], "ok DRIVER-LIMITED");
        // An old row: no floor, no driver figures, no mark.
        let mut row: Vec<String> = ["smol", "0.50", "ok"].map(String::from).into();
        insert_cells(&mut row, &ModelResult::default());
        assert_eq!(row[2..], ["-", "-", "-", "ok"]);
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
