//! External bridges as rows of a run: which ones (`--bridge` and the scenario's
//! `[[bridges]]`), and the `external` part of their rows. Their child is
//! `RowChild::Bridge`, run by `local_bridge::LocalBridge`.

use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::load::bridge_template::BridgeSpec;
use crate::metrics::external::{ExternalBridge, NOT_MEASURED};
use crate::scenario::Scenario;

/// The external bridges a run measures: `--bridge` ones, then the scenario's `[[bridges]]`.
/// A name that is a built-in model's, or used twice, is an error.
pub fn bridges_of(cli: &[BridgeSpec], s: &Scenario) -> Result<Vec<BridgeSpec>> {
    let mut out: Vec<BridgeSpec> = cli.to_vec();
    for b in &s.bridges {
        let mut spec = BridgeSpec::new(&b.name, &b.command)
            .with_context(|| format!("scenario [[bridges]] {:?}", b.name))?;
        spec.cwd.clone_from(&b.cwd);
        spec.env.clone_from(&b.env);
        if let Some(t) = b.ready_timeout {
            spec.ready_timeout = Duration::from_secs_f64(t);
        }
        out.push(spec);
    }
    for (i, b) in out.iter().enumerate() {
        if crate::models::find(&b.name).is_some() {
            bail!(
                "bridge name {:?} is a built-in model's; give the bridge another name",
                b.name
            );
        }
        if out[..i].iter().any(|o| o.name == b.name) {
            bail!("two bridges are named {:?}", b.name);
        }
    }
    Ok(out)
}

/// The `external` part of a row for `bridge`, before anything is known about its run.
pub fn external_info(bridge: &BridgeSpec) -> ExternalBridge {
    ExternalBridge {
        command: bridge.command.clone(),
        cwd: bridge.cwd.as_ref().map(|d| d.display().to_string()),
        env_names: bridge.env.keys().cloned().collect(),
        cpu_accounting: String::new(),
        conformance_notes: Vec::new(),
        not_measured: NOT_MEASURED.iter().map(|s| s.to_string()).collect(),
    }
}
