//! Checks a loaded results file for what the report relies on beyond the schema: unique model
//! names (comparisons match by name) and every stored histogram decodable (the floor's and the
//! extra metrics' too, which `Results::parse` does not look at). Errors name the field.

use anyhow::{bail, Context, Result};

use crate::metrics::results::Results;

/// `Ok` when the report can be drawn from `r`; otherwise an error naming the first problem.
pub fn check(r: &Results) -> Result<()> {
    for (name, s) in [
        ("floor.timer_lateness", &r.floor.timer_lateness),
        ("floor.driver_error", &r.floor.driver_error),
    ] {
        if s.count > 0 {
            s.histogram()
                .with_context(|| format!("{name}: bad histogram"))?;
        }
    }
    for (i, m) in r.models.iter().enumerate() {
        if m.name.trim().is_empty() {
            bail!("model #{} has an empty name", i + 1);
        }
        if r.models[..i].iter().any(|o| o.name == m.name) {
            bail!("model {:?} appears twice", m.name);
        }
        for metric in ["frame_interarrival", "driver_error"] {
            let s = m.metric(metric).expect("known metric");
            if s.count > 0 {
                s.histogram()
                    .with_context(|| format!("model {} metric {metric}: bad histogram", m.name))?;
            }
        }
        if !m.cpu.percent.is_finite() || m.cpu.percent < 0.0 {
            bail!("model {}: cpu.percent is {}", m.name, m.cpu.percent);
        }
    }
    if !r.scenario.duration_s.is_finite() || r.scenario.duration_s < 0.0 {
        bail!("scenario.duration_s is {}", r.scenario.duration_s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::fixture::fabricate_results;

    #[test]
    fn fixtures_pass_and_problems_are_named() {
        assert!(check(&fabricate_results(1)).is_ok());
        let mut r = fabricate_results(1);
        r.floor.timer_lateness.hist = "AAAA".into();
        let e = format!("{:#}", check(&r).unwrap_err());
        assert!(e.contains("floor.timer_lateness"), "{e}");
        let mut r = fabricate_results(1);
        r.models[3].name = r.models[1].name.clone();
        let e = format!("{:#}", check(&r).unwrap_err());
        assert!(e.contains("appears twice"), "{e}");
        let mut r = fabricate_results(1);
        r.models[2].driver_error.hist = "%%%".into();
        let e = format!("{:#}", check(&r).unwrap_err());
        assert!(e.contains("driver_error"), "{e}");
    }
}
