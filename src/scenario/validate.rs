//! Checks serde cannot express: ranges, and fields that only make sense together.

use super::schema::{Scenario, SourceKind};

/// A failed check: the dotted field path and what is wrong with it.
pub(super) type Invalid = (String, String);

fn positive(field: &str, v: f64) -> Result<(), Invalid> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be a positive number, got {v}"),
        ))
    }
}

fn non_negative(field: &str, v: f64) -> Result<(), Invalid> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err((field.to_string(), format!("must be zero or more, got {v}")))
    }
}

fn probability(field: &str, v: f64) -> Result<(), Invalid> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be between 0 and 1, got {v}"),
        ))
    }
}

impl Scenario {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let b = &self.boards;
        if b.count == 0 || b.count > 256 {
            return Err((
                "boards.count".into(),
                format!("must be between 1 and 256, got {}", b.count),
            ));
        }
        if b.source == SourceKind::Replay && b.recording.is_none() {
            return Err((
                "boards.recording".into(),
                "source = \"replay\" needs a recording file".into(),
            ));
        }
        positive("boards.frame_period_ms", b.frame_period_ms)?;
        if let Some(bursts) = &b.bursts {
            positive("boards.bursts.every_s", bursts.every_s)?;
            if bursts.stall_ms == 0 {
                return Err(("boards.bursts.stall_ms".into(), "must be at least 1".into()));
            }
        }
        probability("boards.corrupt_rate", b.corrupt_rate)?;
        probability("boards.drop_rate", b.drop_rate)?;

        let c = &self.clients;
        if c.per_board == 0 {
            return Err(("clients.per_board".into(), "must be at least 1".into()));
        }
        positive("clients.poll_period_ms", c.poll_period_ms)?;
        for p in &c.commands {
            positive("clients.commands.every_ms", p.every_ms)?;
            if p.paths.is_empty() {
                return Err((
                    "clients.commands.paths".into(),
                    "needs at least one path".into(),
                ));
            }
            if let Some(bad) = p.paths.iter().find(|p| !p.starts_with('/')) {
                return Err((
                    "clients.commands.paths".into(),
                    format!("{bad:?} must start with '/'"),
                ));
            }
        }

        positive(
            "workload.watchdog_period_ms",
            self.workload.watchdog_period_ms,
        )?;

        let r = &self.run;
        non_negative("run.warmup_s", r.warmup_s)?;
        positive("run.duration_s", r.duration_s)?;
        positive("run.quick_duration_s", r.quick_duration_s)?;
        if let Some(m) = r.models.iter().find(|m| m.trim().is_empty()) {
            return Err(("run.models".into(), format!("empty model name {m:?}")));
        }
        if !(1..=1_000_000_000).contains(&r.model_timer_slack_ns) {
            let got = r.model_timer_slack_ns;
            return Err((
                "run.model_timer_slack_ns".into(),
                format!("must be 1 to 1e9, got {got}"),
            ));
        }
        crate::bridge::inject::parse_all(&r.inject).map_err(|e| ("run.inject".into(), e))?;
        Ok(())
    }
}
