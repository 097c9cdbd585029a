//! The serial reconnect policy as a state machine that does no I/O itself.
//!
//! Every model reads the serial device the same way: read while it is open; when it vanishes
//! (EOF, EIO after unplugging) report it to the board — `/poll` then carries `_problem` —
//! and retry opening it after an exponential back-off ([`Backoff`]), forever. [`SerialLink`]
//! says which of those to do next ([`Step`]); the model does it with its own runtime (a
//! blocking sleep, a runtime timer, a readiness wait), so how a model *waits* is all that
//! differs between models, never *when* it retries.

use std::io;
use std::path::Path;
use std::time::Duration;

use super::board::BoardState;
use super::serial::{open_serial, Backoff};

/// What the serial side of a model must do next.
#[derive(Debug)]
pub enum Step<'a, P> {
    /// The device is open: wait for bytes on `P`, read them, and call
    /// [`SerialLink::lost`] if the read says the device is gone.
    Read(&'a mut P),
    /// The device just vanished: tell the board (`BoardState::serial_lost`), so `/poll`
    /// reports the problem until it is back.
    Report(io::Error),
    /// Sleep this long on the model's own timer before the next attempt.
    Wait(Duration),
    /// Try to open the device now ([`reopen`]) and hand the result to
    /// [`SerialLink::open_result`].
    Open,
}

/// One board's serial link: the open port `P` (however the model wraps the fd), or where
/// the reconnect stands.
#[derive(Debug)]
pub struct SerialLink<P> {
    phase: Phase<P>,
    backoff: Backoff,
}

#[derive(Debug)]
enum Phase<P> {
    Open(P),
    Lost(io::Error),
    Waiting,
    Opening,
}

impl<P> SerialLink<P> {
    /// A link whose port is open (or, when the model could not wrap the fd, already lost).
    pub fn new(port: io::Result<P>) -> SerialLink<P> {
        SerialLink {
            phase: match port {
                Ok(p) => Phase::Open(p),
                Err(e) => Phase::Lost(e),
            },
            backoff: Backoff::new(),
        }
    }

    /// The next thing to do.
    pub fn next_step(&mut self) -> Step<'_, P> {
        match std::mem::replace(&mut self.phase, Phase::Opening) {
            Phase::Open(p) => {
                self.phase = Phase::Open(p);
                match &mut self.phase {
                    Phase::Open(p) => Step::Read(p),
                    _ => unreachable!("just set"),
                }
            }
            Phase::Lost(e) => {
                self.phase = Phase::Waiting;
                Step::Report(e)
            }
            Phase::Waiting => {
                self.phase = Phase::Opening;
                Step::Wait(self.backoff.next_delay())
            }
            Phase::Opening => Step::Open,
        }
    }

    /// A read said the device is gone: the port is dropped (closing the fd) now.
    pub fn lost(&mut self, why: io::Error) {
        self.phase = Phase::Lost(why);
    }

    /// How the attempt of [`Step::Open`] ended: open again (the back-off starts over) or
    /// another wait.
    pub fn open_result(&mut self, port: io::Result<P>) {
        match port {
            Ok(p) => {
                self.backoff.reset();
                self.phase = Phase::Open(p);
            }
            Err(_) => self.phase = Phase::Waiting,
        }
    }
}

/// The [`Step::Open`] attempt every model makes: open the device raw and non-blocking,
/// count the reconnect, announce the fd to the board (which sends `C` again to a board
/// that had been started), then let the model wrap it (`register`: its reactor, or as is).
pub fn reopen<P>(
    board: &BoardState,
    path: &Path,
    register: impl FnOnce(std::fs::File) -> io::Result<P>,
) -> io::Result<P> {
    let file = open_serial(path)?;
    board.note_reconnect();
    board.serial_opened(&file)?;
    register(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gone() -> io::Error {
        io::Error::from_raw_os_error(libc::EIO)
    }

    /// The steps as short names, `Read` ending the walk (the port is open).
    fn walk(link: &mut SerialLink<u8>, opens: &mut impl Iterator<Item = bool>) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match link.next_step() {
                Step::Read(_) => {
                    seen.push("read".to_string());
                    return seen;
                }
                Step::Report(_) => seen.push("report".into()),
                Step::Wait(d) => seen.push(format!("wait {}", d.as_millis())),
                Step::Open => {
                    seen.push("open".into());
                    let ok = opens.next().expect("more opens than planned");
                    link.open_result(if ok { Ok(7) } else { Err(gone()) });
                }
            }
        }
    }

    #[test]
    fn an_open_port_is_read_until_it_is_lost() {
        let mut link = SerialLink::new(Ok(3u8));
        assert!(matches!(link.next_step(), Step::Read(3)));
        assert!(matches!(link.next_step(), Step::Read(3)), "reading repeats");
    }

    #[test]
    fn a_loss_is_reported_once_then_retried_with_a_doubling_backoff_that_resets() {
        let mut link = SerialLink::new(Ok(3u8));
        link.lost(gone());
        let mut opens = [false, false, true].into_iter();
        assert_eq!(
            walk(&mut link, &mut opens),
            ["report", "wait 50", "open", "wait 100", "open", "wait 200", "open", "read"]
        );
        link.lost(gone());
        let mut opens = [true].into_iter();
        assert_eq!(
            walk(&mut link, &mut opens),
            ["report", "wait 50", "open", "read"],
            "a successful open starts the back-off over"
        );
    }

    #[test]
    fn a_port_the_model_could_not_wrap_starts_as_lost() {
        let mut link: SerialLink<u8> = SerialLink::new(Err(gone()));
        let mut opens = [true].into_iter();
        assert_eq!(
            walk(&mut link, &mut opens),
            ["report", "wait 50", "open", "read"]
        );
    }

    #[test]
    fn the_backoff_never_exceeds_its_cap() {
        let mut link = SerialLink::new(Ok(0u8));
        link.lost(gone());
        let mut opens = std::iter::repeat_n(false, 12).chain([true]);
        let waits: Vec<String> = walk(&mut link, &mut opens)
            .into_iter()
            .filter(|s| s.starts_with("wait"))
            .collect();
        assert_eq!(waits.len(), 13);
        assert!(waits[6..].iter().all(|w| w == "wait 2000"), "{waits:?}");
    }

    #[test]
    fn reopen_refuses_a_missing_device_without_counting_a_reconnect() {
        let board = BoardState::new(0, Default::default());
        let before = board.stats();
        let r = reopen(&board, Path::new("/nonexistent/esplora"), Ok);
        assert!(r.is_err());
        assert_eq!(board.stats().reconnects, before.reconnects);
    }
}
