//! Noise bands: how large a change must be, beyond its confidence interval, before `check`
//! calls it. Loaded from TOML; the defaults are `scripts/thresholds.toml`, embedded at build
//! time so the file in the repository and the behaviour can never drift apart.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::metrics::metrics;

/// The default thresholds file, as shipped.
pub const DEFAULT_TOML: &str = include_str!("../../scripts/thresholds.toml");

/// Which table of bands applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Per-metric bands sized for run-to-run noise on a quiet machine.
    Normal,
    /// Only gross changes (> 3x by default): for shared, noisy CI machines.
    Gross,
}

/// One metric's noise band.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Relative change the interval must clear (0.5 = the whole interval above +50 %).
    pub band: f64,
    /// Absolute change the point estimate must exceed, in the metric's unit.
    #[serde(default)]
    pub min_abs: f64,
    /// `false`: show the figure but never call it (e.g. tails in the CI gate, which machine
    /// stalls move by 10-100x between identical runs).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub judge: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    #[serde(default = "default_iterations")]
    pub iterations: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Tail percentiles (p90 and up) are judged only when every run on both sides has at
    /// least this many samples beyond the percentile: a quick run's p99 is one or two
    /// samples from its maximum, and stalls of the whole machine move it far more than any
    /// band (docs/ci-gate.md, "Tails").
    #[serde(default = "default_tail_min_beyond")]
    pub tail_min_beyond: u64,
    #[serde(default)]
    pub normal: BTreeMap<String, Band>,
    #[serde(default)]
    pub gross: BTreeMap<String, Band>,
    /// Bands of `check --paired` laid over `normal` key by key: per-round ratios of two builds
    /// measured side by side cancel the machine's drift, so cost bands can be tighter.
    #[serde(default)]
    pub paired_normal: BTreeMap<String, Band>,
    /// The same over `gross`.
    #[serde(default)]
    pub paired_gross: BTreeMap<String, Band>,
}

fn default_confidence() -> f64 {
    0.95
}
fn default_iterations() -> usize {
    2000
}
fn default_seed() -> u64 {
    1
}
fn default_tail_min_beyond() -> u64 {
    10
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::parse(DEFAULT_TOML).expect("scripts/thresholds.toml is valid")
    }
}

impl Thresholds {
    /// Parses and validates a thresholds file's text.
    pub fn parse(text: &str) -> Result<Thresholds> {
        let t: Thresholds = toml::from_str(text).context("not a valid thresholds TOML")?;
        t.validate()?;
        Ok(t)
    }

    /// The built-in defaults with `path`'s settings laid over them (key by key), so a user
    /// file only needs the bands it wants to change.
    pub fn load_over_defaults(path: &Path) -> Result<Thresholds> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read thresholds file {}", path.display()))?;
        let user: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        let mut merged: toml::Table = toml::from_str(DEFAULT_TOML).expect("defaults are TOML");
        for (k, v) in user {
            match (merged.get_mut(&k), v) {
                (Some(toml::Value::Table(base)), toml::Value::Table(over)) => base.extend(over),
                (_, v) => {
                    merged.insert(k, v);
                }
            }
        }
        Thresholds::parse(&toml::to_string(&merged)?)
            .with_context(|| format!("thresholds file {}", path.display()))
    }

    fn validate(&self) -> Result<()> {
        if !(0.5..1.0).contains(&self.confidence) {
            bail!("confidence must be in [0.5, 1), got {}", self.confidence);
        }
        if !(100..=1_000_000).contains(&self.iterations) {
            bail!(
                "iterations must be between 100 and 1000000, got {}",
                self.iterations
            );
        }
        if self.tail_min_beyond == 0 {
            bail!("tail_min_beyond must be at least 1 (a maximum is not a percentile)");
        }
        for (table, bands) in [
            ("normal", &self.normal),
            ("gross", &self.gross),
            ("paired_normal", &self.paired_normal),
            ("paired_gross", &self.paired_gross),
        ] {
            for (key, b) in bands {
                let metric = key.rsplit('/').next().unwrap_or(key);
                if metric != "default" && !metrics().any(|m| m.key == metric) {
                    let known: Vec<&str> = metrics().map(|m| m.key).collect();
                    bail!(
                        "[{table}.\"{key}\"]: unknown metric {metric:?} (known: default, {})",
                        known.join(", ")
                    );
                }
                let ok = |x: f64| x.is_finite() && x >= 0.0;
                if !ok(b.band) || !ok(b.min_abs) {
                    bail!("[{table}.\"{key}\"]: band and min_abs must be finite and >= 0");
                }
            }
        }
        Ok(())
    }

    /// The thresholds of a paired judgement: `paired_normal` over `normal` and `paired_gross`
    /// over `gross`, key by key (a `model/metric` key of the plain table still wins over a
    /// plain `metric` key of the paired one, as the lookup order below is unchanged).
    pub fn for_paired(&self) -> Thresholds {
        let mut t = self.clone();
        t.normal.extend(self.paired_normal.clone());
        t.gross.extend(self.paired_gross.clone());
        t
    }

    /// The band for `metric` of `model`: `model/metric`, then `metric`, then `default`, then
    /// a last-resort +50 %.
    pub fn band(&self, mode: Mode, model: &str, metric: &str) -> Band {
        let table = match mode {
            Mode::Normal => &self.normal,
            Mode::Gross => &self.gross,
        };
        table
            .get(&format!("{model}/{metric}"))
            .or_else(|| table.get(metric))
            .or_else(|| table.get("default"))
            .copied()
            .unwrap_or(Band {
                band: 0.5,
                min_abs: 0.0,
                judge: true,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_parse_and_gross_means_three_times() {
        let t = Thresholds::default();
        assert_eq!(t.confidence, 0.95);
        let g = t.band(Mode::Gross, "smol", "poll_latency.p50");
        assert_eq!(g.band, 2.0);
        assert!(t.band(Mode::Normal, "smol", "cpu.percent").band < 2.0);
    }

    #[test]
    fn user_file_overrides_key_by_key_and_per_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        std::fs::write(
            &p,
            "seed = 9\n[normal.\"rayon/cpu.percent\"]\nband = 4.0\nmin_abs = 20.0\n",
        )
        .unwrap();
        let t = Thresholds::load_over_defaults(&p).unwrap();
        assert_eq!(t.seed, 9);
        assert_eq!(t.band(Mode::Normal, "rayon", "cpu.percent").band, 4.0);
        // Other models and other bands keep the defaults.
        let d = Thresholds::default();
        assert_eq!(
            t.band(Mode::Normal, "smol", "cpu.percent"),
            d.band(Mode::Normal, "smol", "cpu.percent")
        );
    }

    #[test]
    fn paired_bands_lay_over_their_mode() {
        let t = Thresholds::default();
        let p = t.for_paired();
        for mode in [Mode::Normal, Mode::Gross] {
            let plain = t.band(mode, "threads", "cpu.percent");
            let paired = p.band(mode, "threads", "cpu.percent");
            assert!(
                paired.band < plain.band,
                "{mode:?}: {paired:?} vs {plain:?}"
            );
            // What the paired tables do not name keeps the mode's band.
            assert_eq!(
                p.band(mode, "threads", "polls_failed"),
                t.band(mode, "threads", "polls_failed")
            );
        }
    }

    #[test]
    fn bad_thresholds_are_refused_with_the_reason() {
        let e = Thresholds::parse("[normal.\"poll_latncy.p99\"]\nband = 1.0\n").unwrap_err();
        assert!(format!("{e:#}").contains("unknown metric"), "{e:#}");
        let e = Thresholds::parse("bogus = 1\n").unwrap_err();
        assert!(format!("{e:#}").contains("thresholds TOML"), "{e:#}");
        let e = Thresholds::parse("[gross.default]\nband = -1.0\n").unwrap_err();
        assert!(format!("{e:#}").contains(">= 0"), "{e:#}");
    }
}
