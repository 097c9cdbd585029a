//! The pseudo-terminal a virtual board speaks through: raw mode, non-blocking master, and
//! knowing whether anybody has the other end open.
//!
//! The slave side is *not* kept open by the board: a Linux pty master reports `POLLHUP` (and
//! reads fail with `EIO`) while no process has the slave open, which is how the board knows
//! its reader went away, like a real board losing DTR. Termios settings survive the reader
//! closing and reopening, so a plain `cat` reopening the pty still gets raw bytes.

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags};
use nix::pty::PtyMaster;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use nix::sys::time::TimeSpec;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Pty {
    master: PtyMaster,
    slave_path: PathBuf,
}

/// What `wait` saw on the master.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ready {
    pub readable: bool,
    /// No process has the slave open.
    pub hangup: bool,
}

impl Pty {
    pub fn open() -> anyhow::Result<Pty> {
        raise_open_files_limit();
        let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
            .map_err(|e| anyhow::anyhow!("cannot open a pseudo-terminal: {e}"))?;
        nix::pty::grantpt(&master)?;
        nix::pty::unlockpt(&master)?;
        let slave_path = PathBuf::from(nix::pty::ptsname_r(&master)?);
        // Open the slave once to make it raw (no echo, no CR/LF translation), then close it:
        // from then on the master reports hang-up until a reader opens it.
        {
            let slave = nix::fcntl::open(
                &slave_path,
                OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", slave_path.display()))?;
            let mut t = tcgetattr(&slave)?;
            cfmakeraw(&mut t);
            tcsetattr(&slave, SetArg::TCSANOW, &t)?;
        }
        fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok(Pty { master, slave_path })
    }

    /// The master, for a runner that waits on it in epoll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }

    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// Waits up to `timeout` for input (and for room to write, if `want_write`).
    pub fn wait(&self, timeout: Duration, want_write: bool) -> anyhow::Result<Ready> {
        let mut flags = PollFlags::POLLIN;
        if want_write {
            flags |= PollFlags::POLLOUT;
        }
        let mut fds = [PollFd::new(self.master.as_fd(), flags)];
        match nix::poll::ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => anyhow::bail!("poll on the pty master failed: {e}"),
        }
        let r = fds[0].revents().unwrap_or(PollFlags::empty());
        Ok(Ready {
            readable: r.contains(PollFlags::POLLIN),
            hangup: r.contains(PollFlags::POLLHUP),
        })
    }

    /// Non-blocking read; `Ok(None)` when nothing is there or the reader is gone.
    pub fn read(&self, buf: &mut [u8]) -> anyhow::Result<Option<usize>> {
        match nix::unistd::read(&self.master, buf) {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EIO | nix::errno::Errno::EINTR) => {
                Ok(None)
            }
            Err(e) => anyhow::bail!("read from the pty master failed: {e}"),
        }
    }

    /// Non-blocking write; returns how many bytes went out (0 when the pty is full or the
    /// reader is gone).
    pub fn write(&self, bytes: &[u8]) -> anyhow::Result<usize> {
        match nix::unistd::write(&self.master, bytes) {
            Ok(n) => Ok(n),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EIO | nix::errno::Errno::EINTR) => {
                Ok(0)
            }
            Err(e) => anyhow::bail!("write to the pty master failed: {e}"),
        }
    }

    /// Throws away whatever the board wrote that no reader took (called when the reader
    /// leaves, so the next one starts with fresh frames).
    pub fn discard_output(&self) {
        let _ = nix::sys::termios::tcflush(&self.master, nix::sys::termios::FlushArg::TCIOFLUSH);
    }
}

/// Raises the soft open-files limit to the hard one, once per process: a thousand boards are
/// a thousand pty masters, and their Scratch clients as many sockets again, past the usual
/// soft limit of 1024. Failure leaves the limit as it was (opening then fails clearly).
fn raise_open_files_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = crate::fd_limit::raise_nofile_limit();
    });
}
