//! Integration tests that need a process of their own, so they are not modules of
//! `tests/it`:
//! - `codec_allocations` installs a counting `#[global_allocator]`, which replaces the
//!   allocator of the whole binary it is linked into;
//! - `run_honesty` and `run_inject` run whole benchmarks through the real binary and check
//!   that injected work comes out at its size: they must have the machine to themselves, so
//!   every benchmark here takes [`serial`] and nothing else runs in this binary.
//!
//! - `check_gate` and `remote_netns` compare real runs made one after the other (the same
//!   build must pass the unpaired gate; remote must equal local): a test running beside
//!   them on a 2-core machine moves one run and not the other, so they take [`serial`] too.
//!
//! Cargo runs test binaries one after the other, so nothing in `tests/it` runs beside them.

#[path = "../it/common.rs"]
mod common;

#[path = "../it/remote_support.rs"]
mod remote_support;

mod check_gate;
mod codec_allocations;
mod remote_netns;
mod run_honesty;
mod run_inject;

/// One benchmark at a time, or they would measure each other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held by each benchmark-running test of this binary for its whole run.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
