//! A shutdown signal every runtime can wait on: an eventfd that becomes (and stays) readable.
//!
//! Async runtimes register a duplicate of the fd with their reactor (tokio `AsyncFd`,
//! `async_io::Async`), thread models `poll(2)` it next to their own fd, and nobody needs a
//! runtime-specific channel. SIGTERM/SIGINT can trigger it from a signal handler because a
//! `write(2)` to an eventfd is async-signal-safe.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Cloneable handle on one shutdown eventfd. Once triggered it stays triggered.
#[derive(Clone, Debug)]
pub struct Shutdown {
    fd: Arc<OwnedFd>,
}

impl Shutdown {
    /// A fresh, untriggered signal.
    pub fn new() -> io::Result<Shutdown> {
        // SAFETY: plain syscall; the returned fd is checked and then owned.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Shutdown { fd: Arc::new(fd) })
    }

    /// Asks everything waiting on this signal to stop. Idempotent, callable from any thread.
    pub fn trigger(&self) {
        signal_fd(self.fd.as_raw_fd());
    }

    /// True once [`Shutdown::trigger`] (or a handled signal) fired.
    pub fn is_triggered(&self) -> bool {
        self.wait_timeout(Duration::ZERO)
    }

    /// Blocks up to `timeout` for the signal; true if it fired.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        loop {
            // SAFETY: one valid pollfd for the duration of the call.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return r > 0;
        }
    }

    /// The eventfd, for `poll(2)` sets.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// A duplicate of the eventfd for reactors that want to own what they watch.
    pub fn dup_fd(&self) -> io::Result<OwnedFd> {
        self.fd.as_fd().try_clone_to_owned()
    }

    /// Makes SIGTERM, SIGINT and SIGHUP trigger this signal (process-wide; the latest call
    /// wins): `esbench serve` in a closed terminal stops as cleanly as under Ctrl-C.
    pub fn trigger_on_signals(&self) -> io::Result<()> {
        // The handler needs its own descriptor that outlives every `Shutdown` clone.
        let fd = self.dup_fd()?;
        let old = SIGNAL_FD.swap(fd.as_raw_fd(), Ordering::SeqCst);
        std::mem::forget(fd);
        if old >= 0 {
            // SAFETY: `old` was leaked by a previous call and is no longer published.
            drop(unsafe { OwnedFd::from_raw_fd(old) });
        }
        use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
            // SAFETY: the handler only loads an atomic and calls write(2).
            unsafe { sigaction(sig, &action) }.map_err(io::Error::from)?;
        }
        Ok(())
    }
}

static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(_: libc::c_int) {
    let fd = SIGNAL_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        signal_fd(fd);
    }
}

fn signal_fd(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64; failure (counter full) still leaves it readable.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_is_seen_by_every_clone_and_stays() {
        let s = Shutdown::new().unwrap();
        let c = s.clone();
        assert!(!c.is_triggered());
        let t = std::thread::spawn(move || c.wait_timeout(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        s.trigger();
        assert!(t.join().unwrap());
        assert!(s.is_triggered());
        assert!(s.is_triggered(), "level-triggered: stays readable");
    }
}
