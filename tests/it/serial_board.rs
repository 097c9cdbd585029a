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

/// The board's frame times once it has recorded at least `n` (waiting up to 5 s): a frame's
/// time is recorded just after its last byte is written, so a reader can be a frame ahead of
/// the record.
pub fn frame_times_for(board: &VirtualBoard, n: usize) -> Vec<(u32, u64)> {
    let by = Instant::now() + Duration::from_secs(5);
    loop {
        let times = board.frame_times();
        if times.len() >= n || Instant::now() >= by {
            return times;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
