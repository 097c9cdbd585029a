//! Reading a virtual board (`esbench::device`) through its pty, as the bridge would.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use esbench::device::VirtualBoard;
use esbench::source::serial::{SerialLink, DEFAULT_BAUD};

/// The board's pty, opened at the sketch's baud rate with a short read timeout.
pub fn open(board: &VirtualBoard) -> SerialLink {
    SerialLink::open(board.path(), DEFAULT_BAUD, Duration::from_millis(50)).unwrap()
}

/// Everything the link delivers in `how_long`.
pub fn read_for(link: &mut SerialLink, how_long: Duration) -> Vec<u8> {
    let start = Instant::now();
    let mut all = Vec::new();
    while start.elapsed() < how_long {
        if let Some((_, b)) = link.read_chunk().unwrap() {
            all.extend_from_slice(b);
        }
    }
    all
}
