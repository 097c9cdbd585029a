//! The terminal table's remote-mode pieces: a cross-clock cell that the join's error bar
//! swamps is shown as "< ±X", not as a number, and a line says where each side ran and how
//! well the clocks were joined.

use super::fmt_us;
use crate::metrics::results::{ModelResult, Results};

/// The cell for a cross-clock figure `value_us` of `m` (staleness, command latency): `None`
/// when an ordinary cell will do (a local row, or a figure larger than its error bar).
pub fn swamped_cell(m: &ModelResult, count: u64, value_us: u64) -> Option<String> {
    let j = m.clock_join.as_ref()?;
    (count > 0 && j.swamps(value_us)).then(|| format!("<±{}", fmt_us(j.uncertainty_us)))
}

/// The lines under the table for a remote run (none for a local one).
pub fn lines(r: &Results) -> Vec<String> {
    let Some(t) = &r.target_machine else {
        return Vec::new();
    };
    let mut out = vec![format!(
        "remote: models on {} ({}, {} cores, {}); clients on {} ({}, {} cores)",
        t.hostname,
        t.cpu_model,
        t.logical_cores,
        t.kernel,
        r.machine.hostname,
        r.machine.cpu_model,
        r.machine.logical_cores
    )];
    for m in &r.models {
        if let Some(j) = &m.clock_join {
            out.push(format!(
                "       {}: clocks joined to ±{} (best round trip {}, drift {:.1} ppm, {} \
                 exchanges); staleness and command latency carry that ±",
                m.name,
                fmt_us(j.uncertainty_us),
                fmt_us(j.best_rtt_us),
                j.drift_ppm,
                j.exchanges
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::results::{ClockJoin, Machine};

    #[test]
    fn a_figure_inside_its_error_bar_is_not_shown_as_a_number() {
        let mut m = ModelResult::default();
        assert_eq!(swamped_cell(&m, 10, 5), None, "a local row");
        m.clock_join = Some(ClockJoin {
            uncertainty_us: 2_100,
            ..ClockJoin::default()
        });
        assert_eq!(swamped_cell(&m, 10, 900).as_deref(), Some("<±2.10ms"));
        assert_eq!(swamped_cell(&m, 10, 14_000), None);
        assert_eq!(swamped_cell(&m, 0, 0), None, "no samples: the usual '-'");
        let r = Results {
            target_machine: Some(Machine {
                hostname: "pi".into(),
                ..Machine::default()
            }),
            models: vec![m],
            ..Results::default()
        };
        let l = lines(&r);
        assert!(l[0].starts_with("remote: models on pi"), "{l:?}");
        assert!(l[1].contains("±2.10ms"), "{l:?}");
        assert!(lines(&Results::default()).is_empty());
    }
}
