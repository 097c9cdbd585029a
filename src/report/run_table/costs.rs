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
    out.push_str(&valgrind_block(r));
    out
}

/// The valgrind pass's figures (`--valgrind`), a block of their own under the costs (a
/// column more would push the costs past 100 columns): per row the median over the passes
/// and its interval. Empty in a run without the pass.
fn valgrind_block(r: &Results) -> String {
    let Some(first) = r.models.iter().find_map(|m| m.valgrind.as_ref()) else {
        return String::new();
    };
    let passes = r
        .models
        .iter()
        .filter_map(|m| m.valgrind.as_ref())
        .map(|v| v.passes.len())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "valgrind pass: instructions per handled event, all the child's threads, counted by \
         callgrind after the timed rounds (not the rounds' figure); median over {passes} \
         pass(es) of {} s per row, [lo–hi] its interval (a range below 5 passes):\n",
        crate::units::sig3(first.window_s)
    );
    let rows: Vec<(&str, String)> = r
        .models
        .iter()
        .filter(|m| m.valgrind.is_some())
        .map(|m| (m.name.as_str(), valgrind_cell(m, r.scenario.duration_s)))
        .collect();
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, cell) in &rows {
        let pad = " ".repeat(width - name.chars().count());
        let _ = writeln!(out, "  {name}{pad}  {cell}");
    }
    for m in &r.models {
        for note in m.valgrind.iter().flat_map(|v| &v.notes) {
            let _ = writeln!(out, "  {}: {note}", m.name);
        }
    }
    out
}

/// A row's valgrind figure with its interval over the passes, or why there is none.
fn valgrind_cell(m: &crate::metrics::results::ModelResult, duration_s: f64) -> String {
    let f = figures::CPU_VALGRIND_INSTRUCTIONS_PER_EVENT;
    let Some(v) = &m.valgrind else {
        return "–".into();
    };
    if v.passes.is_empty() && v.notes.iter().any(|n| n.starts_with("not measured")) {
        return crate::render::figures::NOT_MEASURED_TEXT.into();
    }
    let shown = display(&Column::of(f), f.of_model(m, duration_s));
    match v.interval() {
        Some(i) if i.n >= 2 => format!("{shown} [{:.0}–{:.0}]", i.lo, i.hi),
        Some(_) => shown,
        None => "failed".into(),
    }
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
        assert!(!b.contains("valgrind"), "no pass, no column: {b}");

        // With the valgrind pass: the median over the passes and its range; a bridge's row
        // says it was not measured.
        use crate::metrics::valgrind::{ValgrindPass, ValgrindReport};
        let pass = |index, per_event| ValgrindPass {
            index,
            per_event: Some(per_event),
            ..ValgrindPass::default()
        };
        r.models[0].valgrind = Some(ValgrindReport {
            window_s: 10.0,
            passes: vec![pass(0, 8_120.0), pass(1, 8_080.0), pass(2, 8_150.0)],
            ..ValgrindReport::default()
        });
        let mut bridge = r.models[0].clone();
        bridge.name = "mine".into();
        bridge.valgrind = Some(ValgrindReport {
            notes: vec![crate::metrics::valgrind::BRIDGE_NOT_MEASURED.into()],
            ..ValgrindReport::default()
        });
        r.models.push(bridge);
        let b = block(&r);
        assert!(
            b.contains("valgrind pass: instructions per handled event"),
            "{b}"
        );
        // Its own block: the costs' table keeps its width (term_lines wraps only prose).
        let header = b.lines().nth(1).unwrap();
        assert!(header.ends_with("CPU × floor"), "{b}");
        assert!(b.contains("8120 [8080–8150]"), "{b}");
        assert!(b.contains("not measured"), "{b}");
        assert!(b.contains("3 pass(es) of 10.0 s"), "{b}");
        assert!(b.contains("  coop  8120 [8080–8150]"), "{b}");
    }
}
