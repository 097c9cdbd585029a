//! Where a run's models run: on this machine, or on a remote agent (`--target`). A value
//! carried in `RunOptions::place` from the command line to every model-round, so nothing
//! global decides it; the results' `notes` and `target_machine` are read from it.

use std::time::Duration;

use anyhow::Result;

use crate::metrics::results::Machine;
use crate::remote::{AgentLink, Target};

/// Where the models of a run are started (see `row_run::start` for what each place starts).
#[derive(Clone, Debug, Default)]
pub enum Place {
    /// Child processes of this driver.
    #[default]
    Local,
    /// An `esbench agent` on the device, with the machine it reported when first reached.
    Remote { target: Target, machine: Machine },
}

impl Place {
    /// The agent at `target`, checked now (so a wrong address or token fails the run at
    /// once, not model by model), with the machine it runs on.
    pub(crate) fn remote(target: Target) -> Result<Place> {
        let link = AgentLink::connect(&target, Duration::from_secs(5))?;
        Ok(Place::Remote {
            machine: link.machine.clone(),
            target,
        })
    }

    pub(crate) fn is_local(&self) -> bool {
        matches!(self, Place::Local)
    }

    /// The machine the models run on when it is not this one (`Results::target_machine`).
    pub(crate) fn target_machine(&self) -> Option<Machine> {
        match self {
            Place::Local => None,
            Place::Remote { machine, .. } => Some(machine.clone()),
        }
    }

    /// The notes a run's results carry about where each side ran.
    pub(crate) fn notes(&self) -> Vec<String> {
        let Place::Remote {
            target: t,
            machine: m,
        } = self
        else {
            return Vec::new();
        };
        vec![format!(
            "remote: the models ran on {} ({}, {} cores) via the agent at {}; the Scratch \
             clients and the idle timer floor ran on the driver's machine, the timer floor \
             beside each model on the device; no CPU floor is measured (it would be the \
             driver's); staleness and command latency cross the two clocks (each row's \
             clock_join has the ±)",
            m.hostname, m.cpu_model, m.logical_cores, t.addr
        )]
    }
}
