//! Every bundled scenario loads; every kind of broken scenario gets an error naming file,
//! line, column and field.

use esbench::scenario::{Scenario, ScenarioError, SourceKind, BUNDLED};
use std::path::Path;

fn scenarios_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
}

#[test]
fn every_bundled_scenario_loads() {
    for name in BUNDLED {
        let s =
            Scenario::load(scenarios_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            format!("{}.toml", s.name),
            name,
            "name field matches the file"
        );
        assert!(!s.description.is_empty(), "{name} has a description");
        assert!(!s.text.is_empty());
    }
    // Nothing in scenarios/ is left out of BUNDLED.
    let on_disk = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(on_disk, BUNDLED.len());
}

#[test]
fn bundled_scenarios_say_what_they_promise() {
    let load = |n: &str| Scenario::load(scenarios_dir().join(n)).unwrap();
    let classroom = load("classroom.toml");
    let expected = Scenario {
        path: classroom.path.clone(),
        text: classroom.text.clone(),
        description: classroom.description.clone(),
        ..Scenario::default()
    };
    assert_eq!(
        classroom, expected,
        "classroom.toml spells out the defaults"
    );
    let lab = load("lab.toml");
    assert_eq!((lab.boards.count, lab.clients.per_board), (16, 1));
    assert!(load("heavy-frame.toml").workload.frame_work_us > 0);
    assert!(load("blocking-call.toml").workload.blocking_sleep_us > 0);
    let noisy = load("noisy-line.toml");
    assert!(noisy.boards.corrupt_rate > 0.0 && noisy.boards.drop_rate > 0.0);
    let bursty = load("bursty.toml");
    assert!(bursty.boards.bursts.is_some() && bursty.boards.command_freeze_ms > 0);
    // The Python comparison: three external bridges, started from examples/bridges/.
    let python = load("python.toml");
    let names: Vec<&str> = python.bridges.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["py-threads", "py-asyncio", "py-polling"]);
    for b in &python.bridges {
        let dir = b
            .cwd
            .as_ref()
            .expect("each bridge runs in examples/bridges");
        let script = b.command.split_whitespace().nth(1).unwrap();
        assert!(dir.join(script).is_file(), "{}: {script}", b.name);
    }
}

#[test]
fn empty_file_is_the_classroom_default() {
    let s = Scenario::from_str_named("", "empty.toml").unwrap();
    assert_eq!(s.boards.count, 1);
    assert_eq!(s.boards.source, SourceKind::Synth);
    assert_eq!(s.boards.frame_period_ms, 25.0);
    assert_eq!(s.clients.poll_period_ms, 33.0);
    assert_eq!(
        s.clients.commands[0].paths,
        vec!["/leds/Red/100", "/leds/Red/0"]
    );
    assert_eq!(s.clients.commands[0].every_ms, 1000.0);
    assert_eq!(s.workload.silent_after_ms, 500);
    assert_eq!((s.run.warmup_s, s.run.duration_s), (2.0, 20.0));
    assert_eq!(s.run.send_spin_us, 200);
    assert_eq!(s.run.smol_block_on, esbench::scenario::SmolBlockOn::AsyncIo);
}

#[test]
fn the_measurement_variants_are_scenario_keys_with_clear_errors() {
    let s = Scenario::from_str_named(
        "[run]\nsend_spin_us = 0\nsmol_block_on = \"futures-lite\"\n",
        "v.toml",
    )
    .unwrap();
    assert_eq!(s.run.send_spin_us, 0);
    assert_eq!(s.run.smol_block_on.name(), "futures-lite");
    let (_, _, _, msg) = invalid("[run]\nsend_spin_us = 20000\n");
    assert!(msg.contains("0 to 10000 µs"), "{msg}");
    let (_, _, _, msg) = invalid("[run]\nsmol_block_on = \"tokio\"\n");
    assert!(
        msg.contains("async-io") && msg.contains("futures-lite"),
        "{msg}"
    );
}

/// Parses `text` expecting an `Invalid` error; returns (line, column, field, message).
fn invalid(text: &str) -> (usize, usize, String, String) {
    match Scenario::from_str_named(text, "bad.toml") {
        Err(e @ ScenarioError::Invalid { .. }) => {
            let shown = e.to_string();
            assert!(shown.starts_with("bad.toml:"), "{shown}");
            let ScenarioError::Invalid {
                line,
                column,
                field,
                message,
                ..
            } = e
            else {
                unreachable!()
            };
            (line, column, field, message)
        }
        other => panic!("expected an Invalid error for {text:?}, got {other:?}"),
    }
}

#[test]
fn unknown_field_is_named_with_position() {
    let (line, col, field, msg) = invalid("name = \"x\"\n\n[boards]\ncount = 2\ncuont = 3\n");
    assert_eq!((line, col), (5, 1));
    assert_eq!(field, "boards.cuont");
    assert!(msg.contains("unknown field"), "{msg}");
}

#[test]
fn wrong_type_is_named_with_position() {
    let (line, col, field, msg) = invalid("[clients]\npoll_period_ms = \"fast\"\n");
    assert_eq!((line, col), (2, 18));
    assert_eq!(field, "clients.poll_period_ms");
    assert!(msg.contains("invalid type"), "{msg}");
}

#[test]
fn unknown_source_kind_is_named() {
    let (line, _, field, _) = invalid("[boards]\nsource = \"usb\"\n");
    assert_eq!(line, 2);
    assert_eq!(field, "boards.source");
}

#[test]
fn negative_count_and_syntax_errors_are_named() {
    let (line, _, field, _) = invalid("[boards]\ncount = -1\n");
    assert_eq!((line, field.as_str()), (2, "boards.count"));
    let (line, _, _, _) = invalid("[run]\nduration_s = \n");
    assert_eq!(line, 2);
}

#[test]
fn validation_errors_point_at_the_field() {
    let cases = [
        ("[boards]\ncount = 0\n", "boards.count", 2),
        ("[boards]\nsource = \"replay\"\n", "boards.recording", 1),
        (
            "[boards]\nframe_period_ms = -25.0\n",
            "boards.frame_period_ms",
            2,
        ),
        ("[boards]\ncorrupt_rate = 1.5\n", "boards.corrupt_rate", 2),
        ("[boards]\ndrop_rate = -0.1\n", "boards.drop_rate", 2),
        (
            "[boards.bursts]\nevery_s = 0.0\nstall_ms = 10\n",
            "boards.bursts.every_s",
            2,
        ),
        (
            "[boards.bursts]\nevery_s = 1.0\nstall_ms = 0\n",
            "boards.bursts.stall_ms",
            3,
        ),
        ("[clients]\nper_board = 0\n", "clients.per_board", 2),
        (
            "[clients]\npoll_period_ms = 0\n",
            "clients.poll_period_ms",
            2,
        ),
        (
            "[[clients.commands]]\npaths = []\nevery_ms = 5.0\n",
            "clients.commands.paths",
            2,
        ),
        (
            "[[clients.commands]]\npaths = [\"leds\"]\nevery_ms = 5.0\n",
            "clients.commands.paths",
            2,
        ),
        (
            "[[clients.commands]]\npaths = [\"/x\"]\nevery_ms = -1.0\n",
            "clients.commands.every_ms",
            3,
        ),
        (
            "[workload]\nwatchdog_period_ms = -5.0\n",
            "workload.watchdog_period_ms",
            2,
        ),
        ("[run]\nduration_s = 0.0\n", "run.duration_s", 2),
        ("[run]\nwarmup_s = -1.0\n", "run.warmup_s", 2),
        ("[run]\nmodels = [\"\"]\n", "run.models", 2),
        ("[run]\nsend_spin_us = 10001\n", "run.send_spin_us", 2),
        ("[run]\nsend_spin_us = -1\n", "run.send_spin_us", 2),
        (
            "[run]\nsmol_block_on = \"futures_lite\"\n",
            "run.smol_block_on",
            2,
        ),
    ];
    for (text, want_field, want_line) in cases {
        let (line, _, field, msg) = invalid(text);
        assert_eq!(field, want_field, "{text}: {msg}");
        assert_eq!(line, want_line, "{text}: {msg}");
    }
}

#[test]
fn missing_file_and_missing_recording_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let e = Scenario::load(&missing).unwrap_err();
    assert!(matches!(e, ScenarioError::Read { .. }));
    assert!(e.to_string().contains("nope.toml"), "{e}");

    let file = dir.path().join("replay.toml");
    std::fs::write(
        &file,
        "[boards]\nsource = \"replay\"\nrecording = \"streams/none.esrec\"\n",
    )
    .unwrap();
    let e = Scenario::load(&file).unwrap_err();
    assert_eq!(e.field(), Some("boards.recording"));
    assert_eq!(e.position(), Some((3, 1)));
    assert!(e.to_string().contains("replay.toml:3:1"), "{e}");

    // One that is not a recording is refused now, not when the run needs it.
    std::fs::create_dir(dir.path().join("streams")).unwrap();
    std::fs::write(dir.path().join("streams/none.esrec"), b"x").unwrap();
    let e = Scenario::load(&file).unwrap_err();
    assert_eq!(e.field(), Some("boards.recording"));
    assert!(e.to_string().contains("not an esbench recording"), "{e}");

    // A valid recording is resolved relative to the scenario file.
    std::fs::copy(
        scenarios_dir().join("streams/classroom-synth.esrec"),
        dir.path().join("streams/none.esrec"),
    )
    .unwrap();
    let s = Scenario::load(&file).unwrap();
    assert_eq!(
        s.boards.recording.as_deref(),
        Some(dir.path().join("streams/none.esrec").as_path())
    );
}

#[test]
fn error_message_reads_well() {
    let e = Scenario::from_str_named("[boards]\ncount = 2\ncuont = 3\n", "x.toml").unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with("x.toml:3:1: field `boards.cuont`: unknown field `cuont`"),
        "{shown}"
    );
}

#[test]
fn a_file_that_is_not_toml_says_so_and_names_no_field() {
    let e = Scenario::from_str_named("garbage\n", "g.toml").unwrap_err();
    let shown = e.to_string();
    assert!(shown.starts_with("g.toml:1:"), "{shown}");
    assert!(shown.contains("not valid TOML"), "{shown}");
    assert!(!shown.contains("field"), "{shown}");
    assert_eq!(e.field(), None);
}

#[test]
fn bundled_recording_is_labelled_synthetic_and_replayable() {
    use esbench::protocol::frame::FrameDecoder;
    use esbench::source::recording::Recording;
    let s = Scenario::load(scenarios_dir().join("classroom-replay.toml")).unwrap();
    assert_eq!(s.boards.source, SourceKind::Replay);
    let path = s.boards.recording.clone().unwrap();
    let rec = Recording::read(&path).unwrap();
    assert!(
        rec.header.origin().contains("synthetic"),
        "{}",
        rec.header.origin()
    );
    assert!(rec.header.origin().contains("not a real board"));
    let mut d = FrameDecoder::new();
    for (_, bytes) in &rec.chunks {
        d.feed(bytes, |_| {});
    }
    assert!(d.stats().frames >= 1000, "{:?}", d.stats());
    assert_eq!(d.stats().rejected_bytes, 0);

    // The driver's view of it: a looped, sequence-stamped source.
    let cfg = esbench::device::DeviceConfig::from_scenario(&s, 0);
    let mut src = cfg.source.open(true).unwrap();
    let mut last = 0;
    for i in 0..1500u32 {
        let p = src.next_piece().unwrap().expect("looped replay never ends");
        assert_eq!(p.frame_end, Some(i));
        assert!(p.at_ns >= last);
        last = p.at_ns;
    }
}
