//! A real serial port (an Esplora on `/dev/ttyACM0`, or any tty such as a virtual board's
//! pty), opened raw the way the bridge opens it (`crate::tty`: raw 8N1, non-blocking), reads
//! waited for with `poll(2)`.

use super::{Piece, Source};
use crate::clock::now_ns;
use crate::tty::{baud_rate, open_raw, write_all};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

/// esp4s opens the board at 57600 baud (USB CDC ignores it; real UARTs do not).
pub const DEFAULT_BAUD: u32 = 57_600;

/// An open serial port with the board's stream on it.
pub struct SerialLink {
    port: File,
    timeout: Duration,
    name: String,
    started_ns: u64,
    buf: Vec<u8>,
}

impl SerialLink {
    /// Opens `path` raw at `baud`; reads wait at most `timeout`.
    pub fn open(path: &Path, baud: u32, timeout: Duration) -> anyhow::Result<SerialLink> {
        let name = path.display().to_string();
        let rate = baud_rate(baud).ok_or_else(|| {
            anyhow::anyhow!(
                "{baud} is not a standard baud rate (1200, 2400, 4800, 9600, 19200, 38400, \
                 57600, 115200, 230400, 460800, 921600)"
            )
        })?;
        let port = open_raw(path, rate)
            .map_err(|e| anyhow::anyhow!("cannot open serial port {name}: {e}"))?;
        Ok(SerialLink {
            port,
            timeout,
            name,
            started_ns: now_ns(),
            buf: vec![0; 4096],
        })
    }

    /// Writes bytes (e.g. an encoded command) and waits until they are sent.
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        write_all(&self.port, bytes)
            .and_then(|_| match nix::sys::termios::tcdrain(&self.port) {
                // Not a tty (a FIFO in a test): nothing to drain.
                Ok(()) | Err(nix::errno::Errno::ENOTTY) | Err(nix::errno::Errno::EINVAL) => Ok(()),
                Err(e) => Err(e.into()),
            })
            .map_err(|e| anyhow::anyhow!("cannot write to {}: {e}", self.name))
    }

    /// Waits up to the timeout for bytes; returns them with the monotonic arrival time, or
    /// `None` when nothing came.
    pub fn read_chunk(&mut self) -> anyhow::Result<Option<(u64, &[u8])>> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let ms = PollTimeout::try_from(self.timeout.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.port.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(anyhow::anyhow!("cannot wait for {}: {e}", self.name)),
        }
        match (&self.port).read(&mut self.buf) {
            Ok(0) => Err(anyhow::anyhow!("{}: the port was closed", self.name)),
            Ok(n) => Ok(Some((now_ns(), &self.buf[..n]))),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(anyhow::anyhow!("cannot read from {}: {e}", self.name)),
        }
    }
}

/// A live port as a `Source`: pieces are timed by arrival since the port was opened.
impl Source for SerialLink {
    fn next_piece(&mut self) -> anyhow::Result<Option<Piece>> {
        loop {
            let started = self.started_ns;
            if let Some((at, bytes)) = self.read_chunk()? {
                return Ok(Some(Piece {
                    at_ns: at.saturating_sub(started),
                    bytes: bytes.to_vec(),
                    frame_end: None,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_a_tty() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let path = nix::unistd::ttyname(&pty.slave).unwrap();
        let mut link = SerialLink::open(&path, DEFAULT_BAUD, Duration::from_millis(500)).unwrap();
        link.send(b"C").unwrap();
        let mut got = [0u8; 8];
        let n = nix::unistd::read(&pty.master, &mut got).unwrap();
        assert_eq!(&got[..n], b"C");
        nix::unistd::write(&pty.master, b"ESP,1\r\n").unwrap();
        let (at, bytes) = link.read_chunk().unwrap().expect("bytes arrive");
        assert!(at > 0);
        assert_eq!(bytes, b"ESP,1\r\n");
        // Nothing more: a timeout is not an error.
        link.timeout = Duration::from_millis(20);
        assert!(link.read_chunk().unwrap().is_none());
    }

    #[test]
    fn missing_port_names_the_path() {
        let e = SerialLink::open(
            Path::new("/dev/nope-esplora"),
            DEFAULT_BAUD,
            Duration::from_millis(10),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("/dev/nope-esplora"), "{e}");
        let pty = nix::pty::openpty(None, None).unwrap();
        let path = nix::unistd::ttyname(&pty.slave).unwrap();
        let e = SerialLink::open(&path, 12_345, Duration::from_millis(10))
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a standard baud rate"), "{e}");
    }
}
