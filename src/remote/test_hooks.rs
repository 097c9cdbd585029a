//! The agent's test hooks, compiled only with the `test-hooks` cargo feature (which
//! `cargo test` turns on through esbench's dev-dependency on itself, as for the driver's
//! `ESBENCH_TEST_KILL` in `driver/test_hooks.rs`), so no release binary reads them:
//!
//! - `ESBENCH_AGENT_TEST_CLOCK_OFFSET_NS=<ns>` (signed) is added to every timestamp the agent
//!   hands out, to show that the driver's clock join recovers it;
//! - `ESBENCH_AGENT_TEST_EXIT_AFTER_MEASURE_MS=<ms>` makes the agent process exit that long
//!   after `measure` (an agent lost mid-run).

use std::time::Duration;

use anyhow::Result;

/// What the hooks ask of the agent; the default (no hook) everywhere but in tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentTestHooks {
    /// Added to every timestamp handed out (ns).
    pub clock_offset_ns: i64,
    /// Exit the process this long after `measure`.
    pub exit_after_measure: Option<Duration>,
}

/// The clock offset's variable.
#[cfg(feature = "test-hooks")]
const CLOCK_OFFSET_ENV: &str = "ESBENCH_AGENT_TEST_CLOCK_OFFSET_NS";
/// The early exit's variable.
#[cfg(feature = "test-hooks")]
const EXIT_AFTER_MEASURE_ENV: &str = "ESBENCH_AGENT_TEST_EXIT_AFTER_MEASURE_MS";

/// The hooks the environment asks for; a value that is not a number is an error naming the
/// variable.
#[cfg(feature = "test-hooks")]
pub fn from_env() -> Result<AgentTestHooks> {
    use anyhow::Context;
    let clock_offset_ns = match std::env::var(CLOCK_OFFSET_ENV) {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{CLOCK_OFFSET_ENV}={v:?} is not a number of ns"))?,
        Err(_) => 0,
    };
    let exit_after_measure = match std::env::var(EXIT_AFTER_MEASURE_ENV) {
        Ok(v) => Some(Duration::from_millis(v.trim().parse().with_context(
            || format!("{EXIT_AFTER_MEASURE_ENV}={v:?} is not a number of ms"),
        )?)),
        Err(_) => None,
    };
    Ok(AgentTestHooks {
        clock_offset_ns,
        exit_after_measure,
    })
}

/// No hooks: a build without the `test-hooks` feature never reads the environment for them.
#[cfg(not(feature = "test-hooks"))]
pub fn from_env() -> Result<AgentTestHooks> {
    Ok(AgentTestHooks::default())
}
