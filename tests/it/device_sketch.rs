//! The virtual board behaves like the sketch on a real pty: silent until `C`, 40 frames/s
//! that are all valid by the grammar, `S`/`V`/`D` answered, commands logged, reopen survived.
//! Timing tolerances are generous: the machine is shared and loaded.

use crate::serial_board::{frame_times_for, open, read_for};
use esbench::device::{DeviceConfig, VirtualBoard};
use esbench::protocol::command::Command;
use esbench::protocol::frame::{FrameDecoder, RawFrame};
use std::time::{Duration, Instant};

fn decode(bytes: &[u8]) -> (Vec<RawFrame>, FrameDecoder) {
    let mut d = FrameDecoder::new();
    let mut frames = Vec::new();
    d.feed(bytes, |f| frames.push(f));
    (frames, d)
}

/// Every line matches `ESP(,-?digits){16},PSE\r\n` exactly.
fn assert_grammar(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("ASCII");
    let body = text.strip_suffix("\r\n").unwrap_or(text);
    for line in body.split("\r\n") {
        let inner = line
            .strip_prefix("ESP,")
            .and_then(|l| l.strip_suffix(",PSE"))
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let values: Vec<&str> = inner.split(',').collect();
        assert_eq!(values.len(), 16, "{line:?}");
        for v in values {
            let digits = v.strip_prefix('-').unwrap_or(v);
            assert!(
                !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()),
                "{line:?}"
            );
        }
    }
}

#[test]
fn streams_40_valid_frames_per_second_only_after_c() {
    let mut cfg = DeviceConfig::synth(3);
    cfg.stamp_seq = true;
    let board = VirtualBoard::start(cfg).unwrap();
    let mut link = open(&board);

    // Silent before `C`.
    assert!(read_for(&mut link, Duration::from_millis(300)).is_empty());

    link.send(b"C").unwrap();
    let bytes = read_for(&mut link, Duration::from_secs(3));
    assert!(bytes.ends_with(b"\r\n") || bytes.len() > 100);
    let complete = &bytes[..bytes.iter().rposition(|&b| b == b'\n').unwrap() + 1];
    assert_grammar(complete);
    let (frames, d) = decode(&bytes);
    assert_eq!(d.stats().rejected_bytes, 0);
    // Stamped sequence numbers are consecutive from 0: nothing lost or reordered.
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.seq(), i as u32);
    }

    let times = frame_times_for(&board, frames.len());
    assert!(times.len() >= frames.len());
    // Least-squares period over all frames, so one late write under load cannot skew it.
    let n = frames.len() as f64;
    let xs: Vec<f64> = (0..frames.len()).map(|i| i as f64).collect();
    let ys: Vec<f64> = times[..frames.len()]
        .iter()
        .map(|t| (t.1 - times[0].1) as f64)
        .collect();
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let var: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let rate = 1e9 / (cov / var);
    assert!(
        (39.0..=41.0).contains(&rate),
        "{rate:.2} frames/s over {} frames",
        frames.len()
    );
    // 3 s of reading: about 120 frames (the reader may start a little late under load).
    assert!(
        (100..=125).contains(&frames.len()),
        "{} frames in 3 s",
        frames.len()
    );

    let stats = board.stop().unwrap();
    assert!(stats.frames_written >= frames.len() as u64);
}

#[test]
fn answers_v_d_and_s_and_logs_commands_with_monotonic_times() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("commands.jsonl");
    let mut cfg = DeviceConfig::synth(4);
    cfg.log = Some(log.clone());
    let board = VirtualBoard::start(cfg).unwrap();
    let mut link = open(&board);

    let before = esbench::clock::now_ns();
    link.send(b"V").unwrap();
    assert_eq!(read_for(&mut link, Duration::from_millis(300)), b"1.00\r\n");

    link.send(b"D").unwrap();
    let one = read_for(&mut link, Duration::from_millis(300));
    assert_eq!(decode(&one).0.len(), 1, "{}", String::from_utf8_lossy(&one));
    assert_grammar(&one);

    link.send(b"C").unwrap();
    assert!(
        decode(&read_for(&mut link, Duration::from_millis(400)))
            .0
            .len()
            >= 10
    );
    link.send(b"S").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let _in_flight = read_for(&mut link, Duration::from_millis(100));
    assert!(
        read_for(&mut link, Duration::from_millis(300)).is_empty(),
        "stopped"
    );

    link.send(b"R100").unwrap();
    link.send(b"L 1").unwrap();
    link.send(b"T523").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let after = esbench::clock::now_ns();

    let cmds: Vec<Command> = board.commands().iter().map(|c| c.1).collect();
    assert_eq!(
        cmds,
        vec![
            Command::Version,
            Command::Dump,
            Command::Start,
            Command::Stop,
            Command::Red(100),
            Command::BoardLed(true),
            Command::Tone(523),
        ]
    );
    let times: Vec<u64> = board.commands().iter().map(|c| c.0).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(times[0] >= before && *times.last().unwrap() <= after);

    board.stop().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[4]["wire"], "R100");
    assert_eq!(lines[5]["wire"], "L 1");
    assert_eq!(lines[0]["t_ns"].as_u64().unwrap(), times[0]);
}

#[test]
fn survives_the_reader_closing_and_reopening() {
    let board = VirtualBoard::start(DeviceConfig::synth(5)).unwrap();
    for round in 0..3 {
        let mut link = open(&board);
        link.send(b"C").unwrap();
        let bytes = read_for(&mut link, Duration::from_millis(600));
        let (frames, d) = decode(&bytes);
        assert!(frames.len() >= 10, "round {round}: {} frames", frames.len());
        // A reopened reader starts on a clean line (at most one partial line at the start).
        assert!(
            d.stats().rejected_lines <= 1,
            "round {round}: {:?}",
            d.stats()
        );
        drop(link);
        std::thread::sleep(Duration::from_millis(150));
    }
    let stats = board.stop().unwrap();
    assert!(stats.reader_opens >= 2, "{stats:?}");
    assert!(
        stats.frames_dropped > 0,
        "frames fell on the floor while nobody listened"
    );
}

#[test]
fn command_freeze_stalls_then_bursts_like_parseint() {
    let mut cfg = DeviceConfig::synth(6);
    cfg.stamp_seq = true;
    cfg.command_freeze_ms = 400;
    let board = VirtualBoard::start(cfg).unwrap();
    let mut link = open(&board);
    link.send(b"C").unwrap();
    read_for(&mut link, Duration::from_millis(300));
    let sent = esbench::clock::now_ns();
    link.send(b"G7").unwrap();
    read_for(&mut link, Duration::from_millis(900));
    let times = board.frame_times();
    // The freeze starts when the board reads the command, not when we sent it: a frame may
    // still go out between the two.
    let (read_at, _) = *board.commands().last().unwrap();
    let after: Vec<u64> = times.iter().map(|t| t.1).filter(|&t| t > read_at).collect();
    assert!(after.len() > 12, "{}", after.len());
    let gap = after[0] - read_at;
    assert!(gap >= 350_000_000, "frozen for {} ms", gap / 1_000_000);
    // The frames due during the freeze come back to back: ≥ 10 within a few ms.
    let burst = after
        .iter()
        .take_while(|&&t| t - after[0] < 5_000_000)
        .count();
    assert!(burst >= 10, "burst of {burst}");
    let (t, cmd) = *board.commands().last().unwrap();
    assert_eq!(cmd, Command::Green(7));
    assert!(
        t >= sent && t - sent < 300_000_000,
        "logged at the byte's arrival"
    );
    board.stop().unwrap();
}

#[test]
fn link_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("esplora");
    let mut cfg = DeviceConfig::synth(7);
    cfg.link = Some(link.clone());
    cfg.duration = Some(Duration::from_millis(500));
    let board = VirtualBoard::start(cfg).unwrap();
    assert_eq!(std::fs::read_link(&link).unwrap(), board.path());
    let started = Instant::now();
    while !board.is_finished() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "duration honoured"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    board.wait().unwrap();
    assert!(link.symlink_metadata().is_err(), "link removed");
}

#[test]
fn garbage_commands_are_counted_and_the_board_keeps_going() {
    let board = VirtualBoard::start(DeviceConfig::synth(8)).unwrap();
    let mut link = open(&board);
    link.send(b"\xff\xfe hello R999 L 7 \r\n\x00").unwrap();
    link.send(b"C").unwrap();
    let bytes = read_for(&mut link, Duration::from_millis(600));
    assert!(decode(&bytes).0.len() >= 15);
    let stats = board.stop().unwrap();
    assert!(stats.rejected_command_bytes >= 10, "{stats:?}");
    // `h e l l o` contains no command letters; as on the sketch, R999 applies 999 mod 256
    // and `L 7` turns the LED on.
    assert_eq!(stats.commands, 3, "R, L and C: {stats:?}");
}
