//! A paired run (`esbench run --against OTHER_EXE`): every model measured twice per round,
//! once served by another executable (side A, typically the previous build) and once by this
//! build (side B), in the same shuffled, interleaved rounds. The results file keeps both
//! sides as ordinary rows (`<model>@A`, `<model>@B`) and adds the `paired` section below:
//! which row is which side, and per judged figure the per-round ratios B/A with the interval
//! of their median.
//!
//! Why per-round ratios: the two sides of round k ran next to each other in time, so whatever
//! the machine was doing then (other builds, a noisy neighbour) weighs on both; the ratio
//! cancels it, and the spread of the ratios over rounds is the noise that is left.

use serde::{Deserialize, Serialize};

use super::figures::{self, Figure};
use super::results::{ModelResult, Results};
use super::rounds::Interval;

/// The two sides' labels, as used in row names.
pub const SIDE_A: &str = "A";
pub const SIDE_B: &str = "B";

/// The row name of `model` on `side` (`threads@A`).
pub fn row_name(model: &str, side: &str) -> String {
    format!("{model}@{side}")
}

/// `Results::paired`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// What served side A: the other executable (`--against`).
    pub a: Side,
    /// What served side B: this build.
    pub b: Side,
    /// One entry per model, in the order of `--models`.
    pub models: Vec<PairedModel>,
}

/// One side of a paired run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// `A` or `B`.
    pub label: String,
    /// The executable that ran `serve` for this side, as given (absolute when resolvable).
    pub exe: String,
    /// What `EXE --version` printed, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One model of a paired run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedModel {
    pub model: String,
    /// The `models[]` row name of side A and of side B.
    pub a_row: String,
    pub b_row: String,
    /// Per figure the registry judges and rounds keep: the ratios B/A.
    pub ratios: Vec<PairedRatio>,
}

/// The paired ratios of one figure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairedRatio {
    /// The registry's key (`cpu.percent`).
    pub figure: String,
    /// B/A per round, by round index; `null` where either side's round failed or had no
    /// value (or A's was 0).
    pub per_round: Vec<Option<f64>>,
    /// The distribution-free interval of the median of the finite ratios
    /// (`metrics::rounds::Interval`: `is_range` below five); `null` with none.
    pub ratio: Option<Interval>,
}

/// The figures a paired run records ratios for: judged by the registry and kept per round.
pub fn ratio_figures() -> impl Iterator<Item = &'static Figure> {
    figures::judged().filter(|f| f.judged_on_rounds())
}

/// B/A per round of one figure: both rows' rounds matched by index.
/// (For the valgrind pass's figure: B/A per pass, matched by pass index.)
pub fn per_round(f: &Figure, a: &ModelResult, b: &ModelResult) -> Vec<Option<f64>> {
    let (va, vb) = (f.indexed_values(a), f.indexed_values(b));
    let n = if f.from_separate_pass() {
        let last = |v: &[(u32, figures::RoundValue)]| v.iter().map(|(k, _)| k + 1).max();
        last(&va).max(last(&vb)).unwrap_or(0) as usize
    } else {
        a.rounds.len().max(b.rounds.len())
    };
    (0..n as u32)
        .map(|k| {
            let side = |v: &[(u32, figures::RoundValue)]| {
                v.iter().find(|(i, _)| *i == k).map(|(_, v)| v.value)
            };
            match (side(&va), side(&vb)) {
                (Some(x), Some(y)) if x > 0.0 && (y / x).is_finite() => Some(y / x),
                _ => None,
            }
        })
        .collect()
}

impl PairedModel {
    /// The entry of `model` from its two rows.
    pub fn of(model: &str, a: &ModelResult, b: &ModelResult) -> PairedModel {
        PairedModel {
            model: model.into(),
            a_row: a.name.clone(),
            b_row: b.name.clone(),
            ratios: ratio_figures()
                // An optional pass's figure (valgrind) only where a side ran the pass.
                .filter(|f| {
                    !f.from_separate_pass()
                        || !f.indexed_values(a).is_empty()
                        || !f.indexed_values(b).is_empty()
                })
                .map(|f| {
                    let per_round = per_round(f, a, b);
                    let finite: Vec<f64> = per_round.iter().flatten().copied().collect();
                    PairedRatio {
                        figure: f.key.into(),
                        ratio: Interval::of_median(&finite),
                        per_round,
                    }
                })
                .collect(),
        }
    }
}

impl Paired {
    /// Fills `models` from the rows of `r` (call after every row is merged); a model one of
    /// whose rows is missing is left out.
    pub fn fill(&mut self, r: &Results, models: &[String]) {
        self.models = models
            .iter()
            .filter_map(|m| {
                let a = r.model(&row_name(m, SIDE_A))?;
                let b = r.model(&row_name(m, SIDE_B))?;
                Some(PairedModel::of(m, a, b))
            })
            .collect();
    }

    /// Checks that every entry names two rows of `r`; the error names the first that does
    /// not.
    pub fn validate(&self, r: &Results) -> Result<(), String> {
        if self.models.is_empty() {
            return Err("its \"paired\" section lists no models".into());
        }
        for m in &self.models {
            for row in [&m.a_row, &m.b_row] {
                if r.model(row).is_none() {
                    return Err(format!(
                        "paired model {:?} names row {row:?}, which is not in \"models\"",
                        m.model
                    ));
                }
            }
            if m.a_row == m.b_row {
                return Err(format!(
                    "paired model {:?} has the same row on both sides",
                    m.model
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::rounds::RoundResult;

    fn row(name: &str, cpu: &[f64]) -> ModelResult {
        ModelResult {
            name: name.into(),
            status: crate::metrics::status::Status::Ok,
            rounds: cpu
                .iter()
                .enumerate()
                .map(|(k, &c)| RoundResult {
                    index: k as u32,
                    status: crate::metrics::status::Status::Ok,
                    cpu_percent: c,
                    ..RoundResult::default()
                })
                .collect(),
            ..ModelResult::default()
        }
    }

    #[test]
    fn ratios_are_per_round_b_over_a_with_the_median_interval() {
        let a = row("threads@A", &[1.0, 2.0, 1.0, 1.0, 0.0, 1.0]);
        let mut b = row("threads@B", &[1.1, 2.4, 1.2, 1.1, 1.0, 1.3]);
        b.rounds[3].status = crate::metrics::status::Status::Crashed("boom".into());
        let p = PairedModel::of("threads", &a, &b);
        let cpu = p.ratios.iter().find(|r| r.figure == "cpu.percent").unwrap();
        let v: Vec<Option<f64>> = cpu
            .per_round
            .iter()
            .map(|x| x.map(|x| (x * 100.0).round() / 100.0))
            .collect();
        assert_eq!(
            v,
            vec![Some(1.1), Some(1.2), Some(1.2), None, None, Some(1.3)],
            "a failed round and a zero A are left out"
        );
        let i = cpu.ratio.unwrap();
        assert_eq!(i.n, 4);
        assert!(i.is_range);
        assert!(p.ratios.iter().all(|r| r.figure != "poll_latency.max"));
        assert!(
            p.ratios
                .iter()
                .all(|r| r.figure != "cpu.valgrind_instructions_per_event"),
            "no valgrind pass, no entry"
        );
        let r = Results {
            models: vec![a, b],
            ..Results::default()
        };
        let mut paired = Paired::default();
        paired.fill(&r, &["threads".into(), "smol".into()]);
        assert_eq!(paired.models.len(), 1, "smol has no rows");
        assert!(paired.validate(&r).is_ok());
        paired.models[0].b_row = "nope@B".into();
        assert!(paired.validate(&r).unwrap_err().contains("nope@B"));
    }
}
