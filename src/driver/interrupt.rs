//! Ctrl-C during a run: stop measuring, keep what was measured, write it, exit.
//!
//! The first SIGINT only sets a flag the orchestrator polls (the handler then reverts to the
//! default, so a second Ctrl-C kills at once if something hangs).

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT handler (once per process is enough; repeated calls are harmless).
pub fn install() -> anyhow::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::SA_RESETHAND | SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    unsafe { sigaction(Signal::SIGINT, &action) }
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    Ok(())
}

/// True once Ctrl-C was pressed (or `request` called).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Asks the run to stop as Ctrl-C would (tests, and callers embedding the driver).
pub fn request() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}
