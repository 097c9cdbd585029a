//! Opening a serial port (a board on `/dev/ttyACM0`, a virtual board's pty) and writing to it
//! non-blocking: the one way esbench does it, for the bridge's models and for `esbench record`
//! alike (nix termios; no second serial crate).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::sys::termios::{self, BaudRate, SetArg, SpecialCharacterIndices};

/// The termios rate for `baud` bits per second, if it is one of the standard rates.
pub fn baud_rate(baud: u32) -> Option<BaudRate> {
    Some(match baud {
        1200 => BaudRate::B1200,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19_200 => BaudRate::B19200,
        38_400 => BaudRate::B38400,
        57_600 => BaudRate::B57600,
        115_200 => BaudRate::B115200,
        230_400 => BaudRate::B230400,
        460_800 => BaudRate::B460800,
        921_600 => BaudRate::B921600,
        _ => return None,
    })
}

/// Opens `path` read-write, non-blocking, raw 8N1 at `rate` (USB CDC and ptys ignore the
/// rate). A non-tty (a FIFO in a test) is accepted as is.
pub fn open_raw(path: &Path, rate: BaudRate) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    match termios::tcgetattr(&file) {
        Ok(mut t) => {
            termios::cfmakeraw(&mut t);
            let _ = termios::cfsetspeed(&mut t, rate);
            t.control_flags |= termios::ControlFlags::CLOCAL | termios::ControlFlags::CREAD;
            t.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
            t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
            termios::tcsetattr(&file, SetArg::TCSANOW, &t).map_err(io::Error::from)?;
        }
        Err(nix::errno::Errno::ENOTTY) | Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(file)
}

/// Writes a few command bytes to the non-blocking serial fd. Commands are tiny and the
/// board drains its input continuously, so EAGAIN is rare; it is waited out briefly with
/// `poll(2)` rather than queued, keeping command order trivially correct.
pub fn write_all(file: &File, mut bytes: &[u8]) -> io::Result<()> {
    let mut waits = 0;
    while !bytes.is_empty() {
        match (&*file).write(bytes) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "serial write 0")),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && waits < 10 => {
                waits += 1;
                let mut pfd = libc::pollfd {
                    fd: file.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd for the duration of the call.
                unsafe { libc::poll(&mut pfd, 1, 20) };
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
