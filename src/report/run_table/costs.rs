//! The cost-per-event block under the run's table: per model, the events it handled and what
//! each cost in CPU time, wake-ups, counted system calls and instructions, and its CPU as a
//! multiple of the run's CPU floor — all read through the registry (`metrics::figures`), so
//! `check`, the report and this block show one number per figure.

use std::fmt::Write;

use crate::metrics::costs;
use crate::metrics::figures::{self, Figure};
use crate::metrics::results::Results;
use crate::render::figures::{display, Column, COLUMNS};

/// The block's figures, in column order.
const SHOWN: [Figure; 5] = [
    figures::CPU_US_PER_EVENT,
    figures::CPU_WAKEUPS_PER_EVENT,
    figures::CPU_SYSCALLS_PER_EVENT,
    figures::CPU_INSTRUCTIONS_PER_EVENT,
    figures::CPU_FLOOR_MULTIPLE,
];

fn column(f: &Figure) -> &'static Column {
    COLUMNS
        .iter()
        .find(|c| c.key == f.key)
        .expect("every shown cost is a report column")
}

/// The block, empty when no row handled an event (results from before the counts existed
/// still show CPU µs per event when they have events).
pub fn block(r: &Results) -> String {
    if !r.models.iter().any(|m| costs::events(m).is_some()) {
        return String::new();
    }
    let mut rows: Vec<Vec<String>> = vec![std::iter::once("model".to_string())
        .chain(std::iter::once("events".to_string()))
        .chain(SHOWN.iter().map(|f| f.label.to_string()))
        .collect()];
    for m in &r.models {
        let mut row = vec![
            m.name.clone(),
            costs::events(m).map_or("-".into(), |n| n.to_string()),
        ];
        for f in &SHOWN {
            let v = f.of_model(m, r.scenario.duration_s);
            row.push(
                if v.is_none() && f.key == figures::CPU_INSTRUCTIONS_PER_EVENT.key {
                    "not available".into()
                } else {
                    display(column(f), v)
                },
            );
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::from(
        "costs per handled event (polls answered + frames parsed + commands delivered):\n",
    );
    for row in &rows {
        out.push_str("  ");
        for (i, c) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - c.chars().count());
            if i == 0 {
                let _ = write!(out, "{c}{pad}");
            } else {
                let _ = write!(out, "  {pad}{c}");
            }
        }
        out.push('\n');
    }
    out.push_str(
        "  wake-ups: voluntary context switches of all the child's threads; syscalls: \
         read + write family only (/proc/PID/io syscr + syscw: read, readv, pread*, write, \
         writev, pwrite*, sendfile), not recv/send, epoll or futex\n",
    );
    if let Some(note) = r
        .models
        .iter()
        .find_map(|m| m.cpu.instructions_note.as_deref())
        .filter(|n| n.starts_with("not available"))
    {
        let _ = writeln!(out, "  instructions: {note}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::results::ModelResult;
    use crate::metrics::summary::{new_histogram, record_clamped, Summary};

    #[test]
    fn shows_costs_and_says_when_instructions_are_not_counted() {
        let mut h = new_histogram();
        for _ in 0..200 {
            record_clamped(&mut h, 300);
        }
        let mut m = ModelResult {
            name: "coop".into(),
            status: crate::metrics::status::Status::Ok,
            poll_answered: Summary::from_histogram(&h),
            ..ModelResult::default()
        };
        m.cpu.user_s = 0.004;
        m.cpu.vcsw = 300;
        m.cpu.syscalls_read = Some(400);
        m.cpu.syscalls_write = Some(200);
        m.cpu.instructions_note = Some("not available: no hardware instruction counter".into());
        let mut r = Results::default();
        assert_eq!(block(&r), "", "no rows, no block");
        r.models.push(m);
        let b = block(&r);
        assert!(b.contains("coop") && b.contains("200"), "{b}");
        assert!(b.contains("20.0 µs"), "4 ms over 200 events: {b}");
        assert!(b.contains("1.50") && b.contains("3.00"), "{b}");
        assert!(b.contains("not available"), "{b}");
        assert!(!b.contains(" 0 "), "never a zero for not counted: {b}");
    }
}
