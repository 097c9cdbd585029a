//! The ~1 s stream freeze after every command, with and without the command terminator.
//!
//! The virtual board runs with the v1 sketch's 1000 ms `parseInt` timeout; `esbench serve`
//! sends it Scratch's LED toggle (`/leds/Red/100`, `/leds/Red/0`, ...), once as esp4s does
//! (`--no-command-terminator`: `R100`, the sketch waits for more digits until its timeout)
//! and once as esbench does by default (`R100\n`: the `\n` ends `parseInt` at once and is
//! ignored). For each command it measures the *frame gap*: from the last frame the board
//! wrote before it read the command to the first frame after — on the real sketch also the
//! delay before the LED changes, since the value is applied when `parseInt` returns.
//!
//! Prints a Markdown table (`scripts/serve-command-gap.sh` puts it in docs/serve.md). The
//! assertions only separate "frozen for the timeout" from "not frozen", so a loaded machine
//! cannot fail them: a freeze is at least the timeout long by construction, and without one
//! the 25 ms cadence would need a 1 s hiccup to look frozen.

use crate::bridge_support as support;

use std::time::Duration;

use esbench::device::{DeviceConfig, VirtualBoard};
use support::*;

/// The v1 sketch's `Serial.parseInt()` timeout (the Arduino Stream default).
const PARSEINT_TIMEOUT_MS: u64 = 1000;
/// Commands per mode.
const COMMANDS: usize = 8;

/// One mode's gaps (ms) and the catch-up bursts after them (frames within 5 ms).
struct Measured {
    gaps_ms: Vec<f64>,
    bursts: Vec<usize>,
}

fn measure(terminator: bool) -> Measured {
    let vb = VirtualBoard::start(DeviceConfig {
        stamp_seq: true,
        command_freeze_ms: PARSEINT_TIMEOUT_MS,
        ..DeviceConfig::synth(11)
    })
    .unwrap();
    let extra: &[&str] = if terminator {
        &[]
    } else {
        &["--no-command-terminator"]
    };
    let serve = Serve::start_with(models()[0], vb.path(), extra);
    let mut c = Client::connect(serve.addr);
    c.get("/poll");
    // Let the stream settle before the first command.
    std::thread::sleep(Duration::from_millis(500));
    let pause = if terminator {
        Duration::from_millis(300)
    } else {
        Duration::from_millis(PARSEINT_TIMEOUT_MS + 500)
    };
    for i in 0..COMMANDS {
        let path = if i % 2 == 0 {
            "/leds/Red/100"
        } else {
            "/leds/Red/0"
        };
        assert_eq!(c.get(path).status, 200);
        std::thread::sleep(pause);
    }
    serve.stop();
    let frames: Vec<u64> = vb.frame_times().iter().map(|f| f.1).collect();
    let reads: Vec<u64> = vb.commands().iter().skip(1).map(|c| c.0).collect();
    vb.stop().unwrap();
    assert_eq!(reads.len(), COMMANDS, "every command reached the board");
    let mut m = Measured {
        gaps_ms: Vec::new(),
        bursts: Vec::new(),
    };
    for t in reads {
        let before = frames.iter().rev().find(|&&f| f <= t).copied().unwrap();
        let after_i = frames.iter().position(|&f| f > t).expect("frames after it");
        let after = frames[after_i];
        m.gaps_ms.push((after - before) as f64 / 1e6);
        m.bursts.push(
            frames[after_i..]
                .iter()
                .take_while(|&&f| f - after < 5_000_000)
                .count(),
        );
    }
    m
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn row(label: &str, m: &Measured) -> String {
    let min = m.gaps_ms.iter().copied().fold(f64::INFINITY, f64::min);
    let max = m.gaps_ms.iter().copied().fold(0.0, f64::max);
    let bursts: Vec<f64> = m.bursts.iter().map(|&b| b as f64).collect();
    format!(
        "| {label} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
        m.gaps_ms.len(),
        median(&m.gaps_ms),
        min,
        max,
        median(&bursts)
    )
}

#[test]
fn the_terminator_removes_the_freeze_after_each_command() {
    let without = measure(false);
    let with = measure(true);
    // A line of its own first: libtest prints the test's name without a newline.
    println!();
    println!(
        "| commands sent | n | frame gap p50 (ms) | min | max | frames in the burst after (p50) |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "{}",
        row("as esp4s: `R100` (`--no-command-terminator`)", &without)
    );
    println!("{}", row("esbench default: `R100\\n`", &with));
    let timeout = PARSEINT_TIMEOUT_MS as f64;
    for g in &without.gaps_ms {
        assert!(
            *g >= timeout,
            "without the terminator the stream froze only {g} ms"
        );
    }
    assert!(
        median(&without.bursts.iter().map(|&b| b as f64).collect::<Vec<_>>()) >= 20.0,
        "the frames due meanwhile come back to back: {:?}",
        without.bursts
    );
    for g in &with.gaps_ms {
        assert!(*g < timeout, "with the terminator a {g} ms gap: frozen");
    }
    assert!(median(&with.gaps_ms) < timeout / 2.0, "{:?}", with.gaps_ms);
}
