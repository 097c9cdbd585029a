//! `esbench device` and `esbench record` as a user runs them.

use esbench::protocol::frame::FrameDecoder;
use esbench::source::recording::Recording;
use esbench::source::serial::{SerialLink, DEFAULT_BAUD};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use crate::common;

use crate::serial_board::read_for;
use common::esbench;

/// Starts `esbench device ARGS`; the pty path it printed must be a real pty.
fn start_device(args: &[&str]) -> (Child, PathBuf) {
    let (child, path) = common::start_device(args);
    assert!(path.starts_with("/dev/pts/"), "{}", path.display());
    (child, path)
}

fn terminate(child: &mut Child) -> i32 {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    child.wait().unwrap().code().unwrap_or(-1)
}

fn frames_in(bytes: &[u8]) -> usize {
    let mut d = FrameDecoder::new();
    let mut n = 0;
    d.feed(bytes, |_| n += 1);
    n
}

#[test]
fn device_prints_its_pty_streams_logs_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("esplora");
    let log = dir.path().join("cmds.jsonl");
    let (mut child, pty) = start_device(&[
        "--duration",
        "30s",
        "--link",
        link.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--seed",
        "9",
    ]);
    assert_eq!(std::fs::read_link(&link).unwrap(), pty);
    // We stopped reading its stdout after the first line; the board must not mind.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "device still running");
    let mut port = SerialLink::open(&link, DEFAULT_BAUD, Duration::from_millis(50)).unwrap();
    port.send(b"C").unwrap();
    let bytes = read_for(&mut port, Duration::from_secs(1));
    assert!(frames_in(&bytes) >= 30, "{}", frames_in(&bytes));
    port.send(b"R100").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(terminate(&mut child), 0, "clean exit on SIGTERM");
    assert!(link.symlink_metadata().is_err(), "link removed");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\"wire\":\"C\""), "{text}");
    assert!(text.contains("\"wire\":\"R100\""), "{text}");
}

#[test]
fn device_rejects_bad_arguments_clearly() {
    let out = esbench()
        .args(["device", "--replay", "/nonexistent.esrec"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent.esrec"), "{err}");

    let out = esbench()
        .args(["device", "--duration", "soon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
}

fn scenarios() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
}

#[test]
fn device_takes_a_scenario() {
    let (mut child, pty) = start_device(&[
        "--scenario",
        scenarios().join("noisy-line.toml").to_str().unwrap(),
    ]);
    let mut port = SerialLink::open(&pty, DEFAULT_BAUD, Duration::from_millis(50)).unwrap();
    port.send(b"C").unwrap();
    let bytes = read_for(&mut port, Duration::from_secs(2));
    let mut d = FrameDecoder::new();
    let mut n = 0;
    d.feed(&bytes, |_| n += 1);
    assert!(n > 40, "most frames survive: {n}");
    assert!(bytes.len() > 3000);
    terminate(&mut child);
}

#[test]
fn record_captures_a_device_into_a_replayable_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("capture.esrec");
    let (mut child, pty) = start_device(&["--duration", "30s"]);
    let status = esbench()
        .args([
            "record",
            "--serial",
            pty.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--duration", "1500ms", "--origin", "synthetic: test"])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    terminate(&mut child);

    let rec = Recording::read(&out).unwrap();
    assert_eq!(rec.header.origin(), "synthetic: test");
    assert_eq!(rec.header.get("port"), Some(pty.to_str().unwrap()));
    let bytes: Vec<u8> = rec.chunks.iter().flat_map(|c| c.1.clone()).collect();
    let n = frames_in(&bytes);
    assert!((45..=62).contains(&n), "{n} frames in 1.5 s");
    assert!(rec.end_ns >= 1_400_000_000, "{}", rec.end_ns);

    // And it replays through a device.
    let (mut child, pty) = start_device(&["--replay", out.to_str().unwrap()]);
    let mut port = SerialLink::open(&pty, DEFAULT_BAUD, Duration::from_millis(50)).unwrap();
    port.send(b"C").unwrap();
    let replayed = read_for(&mut port, Duration::from_millis(1000));
    assert!(frames_in(&replayed) >= 25, "{}", frames_in(&replayed));
    terminate(&mut child);
}

#[test]
fn record_names_a_missing_port() {
    let dir = tempfile::tempdir().unwrap();
    let out = esbench()
        .args(["record", "--serial", "/dev/no-such-board", "--out"])
        .arg(dir.path().join("x.esrec"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/dev/no-such-board"));
    assert!(!dir.path().join("x.esrec").exists());
}

#[test]
fn broken_scenario_and_recording_files_are_named_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[boards]\ncount = 2\ncuont = 3\n").unwrap();
    let out = esbench()
        .args(["device", "--scenario"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:1: field `boards.cuont`"), "{err}");

    let rec = dir.path().join("cut.esrec");
    let mut bytes = b"esbench-recording 1\norigin: x\n\n".to_vec();
    bytes.extend_from_slice(&1u64.to_le_bytes());
    bytes.extend_from_slice(&56u32.to_le_bytes());
    bytes.extend_from_slice(b"ESP");
    std::fs::write(&rec, &bytes).unwrap();
    let out = esbench()
        .args(["device", "--replay"])
        .arg(&rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.esrec: byte offset 43: truncated chunk"),
        "{err}"
    );
}
