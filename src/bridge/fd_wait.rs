//! Waiting on a file descriptor without a runtime: the blocking `poll(2)` the thread models
//! wait with, and the two non-waits the teaching models demonstrate (`poll` with a zero
//! timeout, `ioctl(FIONREAD)`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Instant;

use super::shutdown::Shutdown;

/// What a wait on a descriptor ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A read will not block (bytes, a hang-up or an error to report).
    Readable,
    /// The deadline passed first.
    TimedOut,
    /// The shutdown signal fired.
    Shutdown,
}

/// Blocks in `poll(2)` until `fd` is readable, `deadline` (if any) passes or `shutdown`
/// fires. A failing `poll` (not EINTR) counts as readable unless shutdown fired, so the
/// caller's read reports the error.
pub fn wait_readable(fd: BorrowedFd<'_>, shutdown: &Shutdown, deadline: Option<Instant>) -> Wait {
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Wait::TimedOut;
                }
                left.as_millis().clamp(1, i32::MAX as u128) as i32
            }
        };
        let mut fds = [pollin(fd.as_raw_fd()), pollin(shutdown.fd().as_raw_fd())];
        // SAFETY: two valid pollfds for the duration of the call.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return if shutdown.is_triggered() {
                Wait::Shutdown
            } else {
                Wait::Readable
            };
        }
        if fds[1].revents != 0 {
            return Wait::Shutdown;
        }
        if fds[0].revents != 0 {
            return Wait::Readable;
        }
    }
}

fn pollin(fd: i32) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// True when a read on `fd` would not block — asked with a zero timeout, so it never
/// waits (what `coop-spin` does instead of awaiting readiness).
pub fn ready_now(fd: BorrowedFd<'_>) -> bool {
    let mut pfd = pollin(fd.as_raw_fd());
    // SAFETY: one valid pollfd for the duration of the call; timeout 0 never blocks.
    let r = unsafe { libc::poll(&mut pfd, 1, 0) };
    r > 0 && pfd.revents != 0
}

/// Bytes the driver holds for `fd` (`FIONREAD`, pyserial's `inWaiting`, what esp4s asked in
/// a loop). An error means the device is gone (a hung-up tty answers EIO).
pub fn bytes_waiting(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the valid pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.max(0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::time::Duration;

    fn raw_pty() -> nix::pty::OpenptyResult {
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
        pty
    }

    #[test]
    fn ready_now_sees_data_and_hang_up_without_blocking() {
        let pty = raw_pty();
        let slave = File::from(pty.slave);
        assert!(!ready_now(slave.as_fd()));
        nix::unistd::write(&pty.master, b"E").unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while !ready_now(slave.as_fd()) {
            assert!(Instant::now() < end, "the byte never showed up");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut b = [0u8; 4];
        assert_eq!((&slave).read(&mut b).unwrap(), 1);
        drop(pty.master);
        assert!(ready_now(slave.as_fd()), "a hang-up must wake the poller");
    }

    #[test]
    fn fionread_counts_waiting_bytes_and_fails_once_the_tty_hung_up() {
        let pty = raw_pty();
        assert_eq!(bytes_waiting(pty.slave.as_fd()).unwrap(), 0);
        nix::unistd::write(&pty.master, b"ESP,1\r\n").unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while bytes_waiting(pty.slave.as_fd()).unwrap() < 7 {
            assert!(Instant::now() < end, "the bytes never showed up");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(pty.master);
        assert!(bytes_waiting(pty.slave.as_fd()).is_err(), "a hung-up tty");
    }

    #[test]
    fn a_wait_ends_by_data_by_deadline_or_by_shutdown() {
        let pty = raw_pty();
        let sd = Shutdown::new().unwrap();
        let soon = Some(Instant::now() + Duration::from_millis(20));
        assert_eq!(wait_readable(pty.slave.as_fd(), &sd, soon), Wait::TimedOut);
        nix::unistd::write(&pty.master, b"E").unwrap();
        assert_eq!(wait_readable(pty.slave.as_fd(), &sd, None), Wait::Readable);
        let mut b = [0u8; 4];
        let _ = nix::unistd::read(&pty.slave, &mut b).unwrap();
        sd.trigger();
        assert_eq!(wait_readable(pty.slave.as_fd(), &sd, None), Wait::Shutdown);
    }
}
