//! Opening the board's serial device, classifying its reads, and the reconnect back-off
//! (which `reconnect::SerialLink` walks), shared by every model.
//!
//! The fd is opened non-blocking in raw mode so async runtimes can register it as is; thread
//! models wait with `poll(2)` before reading, which is still a blocking read, not a spin.

use std::fs::File;
use std::io;
use std::path::Path;
use std::time::Duration;

use nix::sys::termios::BaudRate;

/// Bytes read from the serial device at a time (a frame is at most 76).
pub const SERIAL_READ_CHUNK: usize = 4096;

/// Opens `path` read-write, non-blocking, raw 8N1 at 57600 baud (what esp4s uses; USB CDC
/// and ptys ignore the rate). A non-tty (a FIFO in a test) is accepted as is. The one way
/// esbench opens a serial port (`crate::tty`, shared with `esbench record`).
pub fn open_serial(path: &Path) -> io::Result<File> {
    crate::tty::open_raw(path, BaudRate::B57600)
}

/// What one `read` on the serial fd means for the bridge.
#[derive(Debug)]
pub enum ReadOutcome {
    /// `n` bytes arrived.
    Data(usize),
    /// Nothing to read now (EAGAIN) or interrupted: wait for readiness again.
    Again,
    /// The device is gone (EOF or an error such as EIO after unplugging): reopen it.
    Gone(io::Error),
}

/// Classifies a `read` result on the (non-blocking) serial fd.
pub fn classify_read(r: io::Result<usize>) -> ReadOutcome {
    match r {
        Ok(0) => ReadOutcome::Gone(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "end of file on the serial device",
        )),
        Ok(n) => ReadOutcome::Data(n),
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted =>
        {
            ReadOutcome::Again
        }
        Err(e) => ReadOutcome::Gone(e),
    }
}

pub use crate::tty::write_all as write_command_bytes;

/// Exponential reconnect backoff: 50 ms doubling to 2 s, reset after a successful open.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(50);
    pub const MAX: Duration = Duration::from_secs(2);

    pub fn new() -> Backoff {
        Backoff { next: Self::FIRST }
    }

    /// How long to wait before the next attempt; each call doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }

    /// Back to the first delay (after a successful open).
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::new();
        let seq: Vec<_> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(seq, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        b.reset();
        assert_eq!(b.next_delay(), Backoff::FIRST);
    }

    #[test]
    fn read_outcomes() {
        assert!(matches!(classify_read(Ok(3)), ReadOutcome::Data(3)));
        assert!(matches!(classify_read(Ok(0)), ReadOutcome::Gone(_)));
        let eagain = io::Error::from(io::ErrorKind::WouldBlock);
        assert!(matches!(classify_read(Err(eagain)), ReadOutcome::Again));
        let eio = io::Error::from_raw_os_error(libc::EIO);
        assert!(matches!(classify_read(Err(eio)), ReadOutcome::Gone(_)));
    }

    #[test]
    fn opens_a_pty_in_raw_mode_and_reads_nonblocking() {
        use std::io::Read;
        let pty = nix::pty::openpty(None, None).unwrap();
        let path = nix::unistd::ttyname(&pty.slave).unwrap();
        let f = open_serial(&path).unwrap();
        let mut buf = [0u8; 16];
        assert!(matches!(
            classify_read((&f).read(&mut buf)),
            ReadOutcome::Again
        ));
        nix::unistd::write(&pty.master, b"ESP\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let n = (&f).read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ESP\r\n", "raw mode keeps CR LF untouched");
        write_command_bytes(&f, b"R100").unwrap();
        let mut back = [0u8; 8];
        std::thread::sleep(Duration::from_millis(50));
        let n = nix::unistd::read(&pty.master, &mut back).unwrap();
        assert_eq!(&back[..n], b"R100");
    }

    #[test]
    fn missing_device_is_an_error() {
        assert!(open_serial(Path::new("/nonexistent/esplora")).is_err());
    }
}
