//! The crash test hook, compiled only with the `test-hooks` cargo feature (which
//! `cargo test` turns on through esbench's dev-dependency on itself), so no release binary
//! reads it: `ESBENCH_TEST_KILL=<row>:<seconds>[@<round>]` makes the driver SIGKILL that
//! row's child this many seconds into its measured window, in that round (1-based; the
//! first by default).

use std::time::Duration;

/// When to kill which row's child.
pub(super) struct KillHook {
    pub row: String,
    pub after: Duration,
    /// 0-based.
    pub round: usize,
}

impl KillHook {
    /// How long into round `round` of row `name` its child is to be killed, if at all.
    pub fn after(hook: &Option<KillHook>, name: &str, round: usize) -> Option<Duration> {
        hook.as_ref()
            .filter(|h| h.row == name && h.round == round)
            .map(|h| h.after)
    }
}

/// The hook the environment asks for (never one without the `test-hooks` feature).
#[cfg(feature = "test-hooks")]
pub(super) fn kill_hook() -> Option<KillHook> {
    let v = std::env::var("ESBENCH_TEST_KILL").ok()?;
    let (m, rest) = v.split_once(':')?;
    let (s, round) = match rest.split_once('@') {
        Some((s, r)) => (s, r.parse::<usize>().ok()?.checked_sub(1)?),
        None => (rest, 0),
    };
    Some(KillHook {
        row: m.to_string(),
        after: Duration::from_secs_f64(s.parse().ok()?),
        round,
    })
}

/// The hook the environment asks for (never one without the `test-hooks` feature).
#[cfg(not(feature = "test-hooks"))]
pub(super) fn kill_hook() -> Option<KillHook> {
    None
}
