//! The virtual board reads commands as the v1 sketch's `parseInt` does, freeze included:
//! a letter with no digits freezes the stream for the whole timeout and then applies 0; a
//! `\n` after the digits ends the number at once (no freeze); bytes before the first digit
//! are skipped, even command letters; values wrap in the sketch's types. The timeout is
//! shortened to 300 ms to keep the test quick (the sketch's is 1000 ms); the freeze lengths
//! are only checked from below, which a loaded machine cannot break.

use esbench::device::{DeviceConfig, VirtualBoard};
use esbench::protocol::command::Command;
use esbench::source::serial::{SerialLink, DEFAULT_BAUD};
use std::time::{Duration, Instant};

const TIMEOUT_MS: u64 = 300;

/// Keeps reading (so the board is never blocked by a full pty) for `how_long`.
fn drain(link: &mut SerialLink, how_long: Duration) {
    let start = Instant::now();
    while start.elapsed() < how_long {
        let _ = link.read_chunk().unwrap();
    }
}

/// The longest gap (ms) between frames written from `t` on.
fn longest_gap_after(board: &VirtualBoard, t: u64) -> f64 {
    let times: Vec<u64> = board.frame_times().iter().map(|f| f.1).collect();
    let i = times.iter().position(|&f| f > t).unwrap_or(times.len());
    let from = i.saturating_sub(1);
    times[from..]
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1e6)
        .fold(0.0, f64::max)
}

#[test]
fn the_board_reads_commands_like_parseint() {
    let mut cfg = DeviceConfig::synth(21);
    cfg.stamp_seq = true;
    cfg.command_freeze_ms = TIMEOUT_MS;
    let board = VirtualBoard::start(cfg).unwrap();
    let mut link = SerialLink::open(board.path(), DEFAULT_BAUD, Duration::from_millis(50)).unwrap();
    link.send(b"C").unwrap();
    drain(&mut link, Duration::from_millis(300));

    // A letter and no number: parseInt waits for the timeout, returns 0, the LED goes off.
    let t = esbench::clock::now_ns();
    link.send(b"B").unwrap();
    drain(&mut link, Duration::from_millis(TIMEOUT_MS + 400));
    assert_eq!(board.commands().last().unwrap().1, Command::Blue(0));
    let gap = longest_gap_after(&board, t);
    assert!(gap >= TIMEOUT_MS as f64, "froze only {gap} ms");

    // Terminated: applied at once, wrapped to the sketch's byte, and no freeze.
    let t = esbench::clock::now_ns();
    link.send(b"R-5\n").unwrap();
    drain(&mut link, Duration::from_millis(TIMEOUT_MS + 400));
    assert_eq!(board.commands().last().unwrap().1, Command::Red(251));
    let gap = longest_gap_after(&board, t);
    assert!(
        gap < TIMEOUT_MS as f64,
        "a {gap} ms gap after a terminated command"
    );

    // What parseInt skips before the first digit is lost, command letters included.
    link.send(b"GxZ7\n").unwrap();
    drain(&mut link, Duration::from_millis(200));
    let cmds: Vec<Command> = board.commands().iter().map(|c| c.1).collect();
    assert_eq!(cmds.last(), Some(&Command::Green(7)), "{cmds:?}");
    assert!(!cmds.contains(&Command::TinkerB(7)), "{cmds:?}");
    let stats = board.stop().unwrap();
    assert_eq!(
        stats.rejected_command_bytes, 2,
        "x and Z were skipped: {stats:?}"
    );
}
