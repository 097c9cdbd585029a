//! Ctrl-C, SIGTERM or SIGHUP during a run: stop measuring, keep what was measured, write it,
//! exit. `timeout`, `docker stop`, systemd and CI runners stop a job with SIGTERM, a closed
//! terminal sends SIGHUP: each must leave the same results as Ctrl-C does.
//!
//! The first of these signals only records which it was in a flag the orchestrator polls (the
//! handlers then revert to the default, so a second signal kills at once if something hangs).
//! The exit code is the shell's for that signal, 128 + its number: 130, 143, 129.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The signal that stopped the run (its number), 0 while none has.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signals that stop a run cleanly.
pub const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// The write end of a pipe the handler writes one byte to, so [`wait`] can block without
/// polling (the agent's idle device must not wake for it); -1 until `install`.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// The read end, for [`wait`].
static WAKE_READ: OnceLock<OwnedFd> = OnceLock::new();

extern "C" fn on_signal(sig: libc::c_int) {
    // Only the first signal names the cause; later ones find the default handler anyway.
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one = 1u8;
        // SAFETY: write(2) of one byte from a live local is async-signal-safe.
        unsafe { libc::write(fd, (&one as *const u8).cast(), 1) };
    }
}

/// Installs the handlers for [`SIGNALS`] (once per process is enough; repeated calls are
/// harmless).
pub fn install() -> anyhow::Result<()> {
    if WAKE_READ.get().is_none() {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| anyhow::anyhow!("cannot create the signal pipe: {e}"))?;
        if WAKE_READ.set(read).is_ok() {
            WAKE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
            // The handler writes to it for the life of the process.
            std::mem::forget(write);
        }
    }
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESETHAND | SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in SIGNALS {
        // SAFETY: the handler only does an atomic compare-exchange, async-signal-safe.
        unsafe { sigaction(sig, &action) }
            .map_err(|e| anyhow::anyhow!("cannot install the {sig} handler: {e}"))?;
    }
    Ok(())
}

/// True once Ctrl-C was pressed, SIGTERM or SIGHUP arrived.
pub fn interrupted() -> bool {
    SIGNAL.load(Ordering::SeqCst) != 0
}

/// What stopped the run, for status texts and notes ("interrupted by SIGTERM"): `Ctrl-C`
/// for SIGINT, else the signal's name.
pub fn cause() -> &'static str {
    cause_of(SIGNAL.load(Ordering::SeqCst))
}

fn cause_of(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "Ctrl-C",
    }
}

/// `by Ctrl-C` (or `by SIGTERM`, `by SIGHUP`): the text after "interrupted" in a row's
/// `Status::Interrupted`.
pub fn by() -> String {
    format!("by {}", cause())
}

/// `interrupted by Ctrl-C` (or SIGTERM, SIGHUP): every interrupted row's status and note
/// starts with it, so readers that look for "interrupted" find every cause.
pub fn status() -> String {
    format!("interrupted by {}", cause())
}

/// The exit code of an interrupted command: 128 + the signal's number (130 Ctrl-C, 143
/// SIGTERM, 129 SIGHUP), as a shell reports a process the signal killed.
pub fn exit_code() -> i32 {
    128 + match SIGNAL.load(Ordering::SeqCst) {
        0 => libc::SIGINT,
        s => s,
    }
}

/// Blocks until Ctrl-C, SIGTERM or SIGHUP (after [`install`]); returns at once when one
/// already came. Costs no wake-ups while it waits.
pub fn wait() {
    let Some(read) = WAKE_READ.get() else {
        return;
    };
    let mut byte = [0u8; 1];
    while !interrupted() {
        // EINTR or a spurious return: look at the flag again.
        let _ = nix::unistd::read(read, &mut byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signal_has_its_name_and_exit_code() {
        assert_eq!(cause_of(libc::SIGINT), "Ctrl-C");
        assert_eq!(cause_of(libc::SIGTERM), "SIGTERM");
        assert_eq!(cause_of(libc::SIGHUP), "SIGHUP");
        assert_eq!(128 + libc::SIGTERM, 143);
        assert_eq!(128 + libc::SIGHUP, 129);
    }
}
