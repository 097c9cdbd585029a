//! The agent's test hooks, compiled only with the `test-hooks` cargo feature (which
//! `cargo test` turns on through esbench's dev-dependency on itself, as for the driver's
//! `ESBENCH_TEST_KILL` in `driver/test_hooks.rs`), so no release binary reads them:
//!
//! `ESBENCH_AGENT_TEST=<hook>=<value>[,…]`, one variable for both hooks:
//! - `clock_offset_ns=<ns>` (signed) is added to every timestamp the agent hands out, to show
//!   that the driver's clock join recovers it;
//! - `exit_after_measure_ms=<ms>` makes the agent process exit that long after `measure` (an
//!   agent lost mid-run).

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

/// The hooks' variable.
#[cfg(feature = "test-hooks")]
pub const HOOKS_ENV: &str = "ESBENCH_AGENT_TEST";

/// The hooks the environment asks for; an unknown hook or a value that is not a number is an
/// error naming the variable.
#[cfg(feature = "test-hooks")]
pub fn from_env() -> Result<AgentTestHooks> {
    match std::env::var(HOOKS_ENV) {
        Ok(v) => parse(&v).map_err(|e| anyhow::anyhow!("{HOOKS_ENV}={v:?}: {e}")),
        Err(_) => Ok(AgentTestHooks::default()),
    }
}

/// `clock_offset_ns=<ns>,exit_after_measure_ms=<ms>`, either or both, in any order.
#[cfg(feature = "test-hooks")]
fn parse(text: &str) -> Result<AgentTestHooks, String> {
    let mut hooks = AgentTestHooks::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not hook=value"))?;
        let value = value.trim();
        match key.trim() {
            "clock_offset_ns" => {
                hooks.clock_offset_ns = value
                    .parse()
                    .map_err(|_| format!("{value:?} is not a number of ns"))?;
            }
            "exit_after_measure_ms" => {
                let ms = value
                    .parse()
                    .map_err(|_| format!("{value:?} is not a number of ms"))?;
                hooks.exit_after_measure = Some(Duration::from_millis(ms));
            }
            other => {
                return Err(format!(
                    "unknown hook {other:?} (clock_offset_ns, exit_after_measure_ms)"
                ))
            }
        }
    }
    Ok(hooks)
}

#[cfg(all(test, feature = "test-hooks"))]
mod tests {
    use super::*;

    #[test]
    fn one_variable_holds_both_hooks_and_refuses_nonsense() {
        assert_eq!(parse("").unwrap(), AgentTestHooks::default());
        let h = parse("clock_offset_ns=-3000000000, exit_after_measure_ms=800").unwrap();
        assert_eq!(h.clock_offset_ns, -3_000_000_000);
        assert_eq!(h.exit_after_measure, Some(Duration::from_millis(800)));
        assert!(parse("clock_offset_ns=soon")
            .unwrap_err()
            .contains("number of ns"));
        assert!(parse("exit_after=1").unwrap_err().contains("unknown hook"));
        assert!(parse("800").unwrap_err().contains("hook=value"));
    }
}

/// No hooks: a build without the `test-hooks` feature never reads the environment for them.
#[cfg(not(feature = "test-hooks"))]
pub fn from_env() -> Result<AgentTestHooks> {
    Ok(AgentTestHooks::default())
}
