//! A row of a run — what one line of the table measures — and the plan of one of its rounds.
//! What child a row starts is a value of the row (`RowChild`), executable included, so rows of
//! one run may start different programs: the seam paired runs and external bridges plug into
//! (see ARCHITECTURE.md, "Where a model runs").

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bridge::inject::Fault;
use crate::device::BoardLoops;
use crate::load::bridge_template::BridgeSpec;
use crate::load::child_settings::ChildSettings;
use crate::scenario::Scenario;

/// What a row's child is.
#[derive(Clone, Debug, PartialEq)]
pub enum RowChild {
    /// `EXE serve --model MODEL`: a registered model of an esbench build (normally this one;
    /// the executable is the row's so two builds can share a run).
    Serve { exe: PathBuf, model: String },
    /// An external bridge: the user's program, started from its command template
    /// (`driver::local_bridge`).
    Bridge(BridgeSpec),
}

impl RowChild {
    /// The registered model the child runs, for progress lines and the profiling pass.
    pub fn model(&self) -> &str {
        match self {
            RowChild::Serve { model, .. } => model,
            RowChild::Bridge(spec) => &spec.name,
        }
    }

    /// The esbench executable whose `serve` this child is, when it is one.
    pub fn serve_exe(&self) -> Option<&Path> {
        match self {
            RowChild::Serve { exe, .. } => Some(exe),
            RowChild::Bridge(_) => None,
        }
    }
}

/// One row of the run: its name (unique in the run), the child it starts and its own faults
/// (on top of the run's).
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub child: RowChild,
    pub faults: Vec<Fault>,
}

/// Everything needed to run one round of one row.
#[derive(Clone, Debug)]
pub struct ModelPlan {
    pub child: RowChild,
    pub scenario: Scenario,
    /// The scenario file handed to `serve --scenario` (its `[workload]`).
    pub scenario_path: PathBuf,
    pub warmup: Duration,
    pub duration: Duration,
    /// Where the child writes its statistics (a scratch file).
    pub stats_path: PathBuf,
    /// The child's own timer slack and CPUs (and the floor probe's, which copies them).
    pub settings: ChildSettings,
    /// Faults injected on purpose: the bridge's are passed to `serve`, `freeze` is done here.
    pub faults: Vec<Fault>,
    /// Test hook: SIGKILL the child this long into the measured window.
    pub kill_after: Option<Duration>,
    /// How long the child may take to print its addresses.
    pub ready_timeout: Duration,
    /// The run's board event loops (its session's), which the row's virtual boards join.
    pub board_loops: BoardLoops,
}

impl ModelPlan {
    /// The model's name for progress messages.
    pub fn model(&self) -> &str {
        self.child.model()
    }
}
