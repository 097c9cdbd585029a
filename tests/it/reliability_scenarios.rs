//! Scenario values that used to abort, hang or inject are refused at validation, with the
//! field and the limit in the message; recordings are checked before anything runs.

use crate::common;

use esbench::scenario::{Scenario, ScenarioError};
use std::path::Path;
use std::time::{Duration, Instant};

/// The field and message of the validation error `text` must produce.
fn refused(text: &str) -> (String, String) {
    match Scenario::from_str_named(text, "bad.toml") {
        Err(e @ ScenarioError::Invalid { .. }) => {
            let field = e.field().unwrap_or_default().to_string();
            let ScenarioError::Invalid { message, .. } = e else {
                unreachable!()
            };
            (field, message)
        }
        Err(e) => panic!("{text}: expected a validation error, got {e}"),
        Ok(_) => panic!("accepted: {text}"),
    }
}

fn accepted(text: &str) {
    Scenario::from_str_named(text, "ok.toml").unwrap_or_else(|e| panic!("{text}: {e}"));
}

#[test]
fn counts_are_bounded_and_the_message_names_the_limit() {
    let (f, m) = refused("[clients]\nper_board = 100000\n");
    assert_eq!(f, "clients.per_board");
    assert!(m.contains("1000") && m.contains("100000"), "{m}");
    // Within each bound, but too many threads in all.
    let (f, m) = refused("[boards]\ncount = 200\n[clients]\nper_board = 100\n");
    assert_eq!(f, "clients.per_board");
    assert!(m.contains("2048") && m.contains("40000"), "{m}");
    let many = "[[clients.commands]]\npaths = [\"/poll\"]\nevery_ms = 100.0\n".repeat(17);
    assert_eq!(refused(&many).0, "clients.commands");
    accepted("[boards]\ncount = 16\n[clients]\nper_board = 10\n");
}

#[test]
fn tiny_periods_that_would_never_end_a_run_are_refused() {
    for (text, field) in [
        (
            "[clients]\npoll_period_ms = 1e-9\n",
            "clients.poll_period_ms",
        ),
        (
            "[boards]\nframe_period_ms = 1e-9\n",
            "boards.frame_period_ms",
        ),
        (
            "[workload]\nwatchdog_period_ms = 1e-9\n",
            "workload.watchdog_period_ms",
        ),
        (
            "[[clients.commands]]\npaths = [\"/poll\"]\nevery_ms = 0.0001\n",
            "clients.commands.every_ms",
        ),
        (
            "[clients]\npoll_period_ms = 1e12\n",
            "clients.poll_period_ms",
        ),
        (
            "[boards]\nframe_period_ms = nan\n",
            "boards.frame_period_ms",
        ),
        // Would overflow a Duration.
        ("[run]\nduration_s = 1e300\n", "run.duration_s"),
        ("[run]\nwarmup_s = inf\n", "run.warmup_s"),
    ] {
        let (f, m) = refused(text);
        assert_eq!(f, field, "{text}");
        assert!(m.contains("between"), "{text}: {m}");
    }
    accepted("[clients]\npoll_period_ms = 1.0\n[boards]\nframe_period_ms = 1.0\n");
}

#[test]
fn work_and_hold_times_have_an_upper_bound() {
    for (text, field) in [
        (
            "[workload]\nframe_work_us = 10000000000\n",
            "workload.frame_work_us",
        ),
        (
            "[workload]\npoll_work_us = 10000000000\n",
            "workload.poll_work_us",
        ),
        (
            "[workload]\nblocking_sleep_us = 10000000000\n",
            "workload.blocking_sleep_us",
        ),
        (
            "[boards]\ncommand_freeze_ms = 10000000000\n",
            "boards.command_freeze_ms",
        ),
        (
            "[workload]\nsilent_after_ms = 10000000000\n",
            "workload.silent_after_ms",
        ),
    ] {
        let (f, m) = refused(text);
        assert_eq!(f, field, "{text}");
        assert!(m.contains("at most"), "{m}");
    }
    accepted("[workload]\nframe_work_us = 1000000\n");
}

#[test]
fn command_paths_cannot_inject_into_the_request() {
    for path in [
        "/leds/Red/1\\r\\nX-Injected: 1",
        "/leds/Red/1\\nGET /poll HTTP/1.1",
        "/leds/Red/1 HTTP/1.0",
        "/leds/\\u0000",
        "/caf\\u00e9",
    ] {
        let text = format!("[[clients.commands]]\npaths = [\"{path}\"]\nevery_ms = 100.0\n");
        let (f, m) = refused(&text);
        assert_eq!(f, "clients.commands.paths", "{path}");
        assert!(m.contains("printable ASCII"), "{m}");
    }
    accepted("[[clients.commands]]\npaths = [\"/play_tone/C%5FSharp\"]\nevery_ms = 100.0\n");
}

#[test]
fn scenario_names_are_one_non_empty_line() {
    for name in ["", "   ", "two\\nlines", "tab\\there"] {
        let (f, _) = refused(&format!("name = \"{name}\"\n"));
        assert_eq!(f, "name", "{name:?}");
    }
    let long = "x".repeat(101);
    assert_eq!(refused(&format!("name = \"{long}\"\n")).0, "name");
    accepted("name = \"lab 2 (room 101)\"\n");
}

fn replay_scenario(dir: &Path, recording: &str) -> std::path::PathBuf {
    let p = dir.join("replay.toml");
    std::fs::write(
        &p,
        format!("[boards]\nsource = \"replay\"\nrecording = \"{recording}\"\n"),
    )
    .unwrap();
    p
}

#[test]
fn a_replay_scenario_with_an_unusable_recording_fails_validation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostname"), "myhost\n").unwrap();
    let good = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/streams/classroom-synth.esrec"
    ));
    let mut cut = std::fs::read(good).unwrap();
    cut.truncate(cut.len() - 5);
    std::fs::write(dir.path().join("cut.esrec"), &cut).unwrap();
    std::fs::write(
        dir.path().join("empty.esrec"),
        b"esbench-recording 1\norigin: x\n\n\0\0\0\0\0\0\0\0\xff\xff\xff\xff",
    )
    .unwrap();
    for (rec, says) in [
        ("hostname", "not an esbench recording"),
        ("cut.esrec", "truncated"),
        ("empty.esrec", "no stream bytes"),
        ("/dev/zero", "not a regular file"),
        ("missing.esrec", "does not exist"),
    ] {
        let p = replay_scenario(dir.path(), rec);
        let e = Scenario::load(&p).expect_err(rec);
        assert_eq!(e.field(), Some("boards.recording"), "{rec}: {e}");
        assert!(e.to_string().contains(says), "{rec}: {e}");
    }
    std::fs::copy(good, dir.path().join("good.esrec")).unwrap();
    Scenario::load(replay_scenario(dir.path(), "good.esrec")).unwrap();
}

#[test]
fn run_with_a_corrupt_recording_exits_2_before_measuring() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostname"), "myhost\n").unwrap();
    let scenario = replay_scenario(dir.path(), "hostname");
    let out = common::esbench()
        .args([
            "run",
            "--quick",
            "--no-history",
            "--models",
            "threads",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .arg(&scenario)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("boards.recording"), "{err}");
}

/// Runs `esbench device --replay PATH` and expects a quick, clear refusal.
fn device_refuses(path: &Path, says: &str) {
    let start = Instant::now();
    let mut child = common::esbench()
        .args(["device", "--replay"])
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("esbench device --replay {} did not give up", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{}: {err}", path.display());
    assert!(err.contains(says), "{}: {err}", path.display());
}

#[test]
fn device_replay_refuses_devices_fifos_and_huge_files_without_reading_them() {
    device_refuses(Path::new("/dev/zero"), "not a regular file");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    device_refuses(&fifo, "not a regular file");
    // Sparse: costs no disk, but is larger than any recording may be.
    let huge = dir.path().join("huge.esrec");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(esbench::source::recording::MAX_FILE + 1).unwrap();
    device_refuses(&huge, "limit");
    // A large file of zeros that is within the limit is refused after its first line.
    let zeros = dir.path().join("zeros.esrec");
    std::fs::File::create(&zeros)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    device_refuses(&zeros, "not an esbench recording");
}
