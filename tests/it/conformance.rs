//! esbench serve as a drop-in for esp4s, for every model in the registry: the requests a
//! Scratch 2 project and a Snap! project send (fractional, negative and out-of-range numbers,
//! both orientations, both temperature units, bad words), replayed through a real pty and real
//! TCP, must give the exact answer bytes and the exact bytes at the board that the table
//! below says. The table is written from esp4s's own sources (its HTTP server, command
//! handlers and serial reader, and the v1.00 sketch that reads the bytes); every row where
//! esbench deliberately answers or writes something else is a [`Row::differs`] row carrying
//! esp4s's bytes and the reason, and the test checks that the difference is real.
//!
//! The table is run twice per model: with `--no-command-terminator` the board bytes must be
//! the table's exactly; by default each numeric command is followed by `\n` (which the
//! sketch ignores), and nothing else changes.

/// `(raw frame bytes, tkInput/B value it carries)`: a frame the board sends, and the marker
/// the test waits for in `/poll` before going on.
type Frame = (&'static str, i32);

use crate::bridge_support as support;

use std::io::Write;
use support::*;

/// The `/poll` keys in esp4s's order (written here, not taken from the crate, so a change
/// there fails this test).
const KEYS: [&str; 16] = [
    "buttons/Down",
    "buttons/Left",
    "buttons/Up",
    "buttons/Right",
    "slider",
    "light",
    "temp",
    "sound",
    "joystick/Button",
    "joystick/Left-Right_(X)",
    "joystick/Up-Down_(Y)",
    "accel/X__Side-Twist",
    "accel/Y__Front-Twist",
    "accel/Z__Raise-Lower",
    "tkInput/A",
    "tkInput/B",
];

/// esp4s's `/poll` body: `key value\n` per value, then the CRLF its `send_resp` adds.
fn poll_body(values: [i32; 16]) -> String {
    let mut s: String = KEYS
        .iter()
        .zip(values)
        .map(|(k, v)| format!("{k} {v}\n"))
        .collect();
    s.push_str("\r\n");
    s
}

/// The captured frame of the reference notes.
const F1: Frame = (
    "ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n",
    8,
);
/// F1 again, so a setting changed in esp4s (which normalises when a frame arrives) shows.
const F1B: Frame = (
    "ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,9,PSE\r\n",
    9,
);
const F1C: Frame = (
    "ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,10,PSE\r\n",
    10,
);
const F1D: Frame = (
    "ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,11,PSE\r\n",
    11,
);
/// Down and Left pressed, joystick pushed in and over, −3 °C.
const F2: Frame = (
    "ESP,0,0,1,1,200,500,-3,40,5,-100,250,-160,80,-20,11,22,PSE\r\n",
    22,
);
const F2B: Frame = (
    "ESP,0,0,1,1,200,500,-3,40,5,-100,250,-160,80,-20,11,23,PSE\r\n",
    23,
);
const F2C: Frame = (
    "ESP,0,0,1,1,200,500,-3,40,5,-100,250,-160,80,-20,11,24,PSE\r\n",
    24,
);

/// F1 with the joystick on the left (the default), in °C.
const F1_LEFT: [i32; 16] = [0, 0, 0, 0, 593, 973, 17, 0, 0, 1, -3, -17, -21, 157, 376, 8];

/// Which program sends a row (for the failure messages and the docs' table).
#[derive(Clone, Copy, Debug)]
enum Who {
    Scratch,
    Snap,
}

/// One request and everything expected of it.
struct Row {
    who: Who,
    path: &'static str,
    status: u16,
    /// esbench's exact body.
    body: String,
    /// esbench's exact bytes at the board, without the terminator.
    board: &'static str,
    /// `Some((esp4s's body or what it does instead, esp4s's board bytes, why esbench differs))`.
    esp4s: Option<(String, &'static str, &'static str)>,
}

impl Row {
    /// esbench answers 200 with exactly what esp4s answers and writes.
    fn same(who: Who, path: &'static str, body: impl Into<String>, board: &'static str) -> Row {
        Row {
            who,
            path,
            status: 200,
            body: body.into(),
            board,
            esp4s: None,
        }
    }

    /// A deliberate difference: esbench's status, body and board bytes, then esp4s's body
    /// (or what it does instead of answering) and board bytes, and the reason.
    #[allow(clippy::too_many_arguments)]
    fn differs(
        who: Who,
        path: &'static str,
        status: u16,
        body: impl Into<String>,
        board: &'static str,
        esp4s_body: impl Into<String>,
        esp4s_board: &'static str,
        why: &'static str,
    ) -> Row {
        Row {
            who,
            path,
            status,
            body: body.into(),
            board,
            esp4s: Some((esp4s_body.into(), esp4s_board, why)),
        }
    }
}

/// A step of the replay: a request, or a frame from the board.
enum Step {
    Get(Row),
    Frame(Frame),
}

/// esp4s answers every command with "okay", which its `send_resp` turns into an empty body.
const OKAY: &str = "";
/// What esp4s does on a path it has no handler or menu word for: the handler raises, and
/// Python's HTTP server drops the connection without an answer.
const DROPS: &str = "(no answer: the connection is dropped)";

fn bad(path: &str, usage: &str) -> String {
    format!("bad command {path:?}; usage: {usage}\n")
}

/// The replay, in order: a Scratch 2 project (the author's own LED toggle, reporter-driven
/// numbers, the menus, the green flag and stop sign), then a Snap! project reading one value
/// per block.
fn steps() -> Vec<Step> {
    use Step::{Frame as F, Get};
    use Who::{Scratch as Sc, Snap as Sn};
    let leds = "/leds/{Red|Green|Blue}/{0-255}";
    let f1_right = [0, 0, 0, 0, 430, 973, 17, 0, 0, -1, 3, -17, -21, 157, 376, 9];
    let f1_right_f = [
        0, 0, 0, 0, 430, 973, 62, 0, 0, -1, 3, -17, -21, 157, 376, 10,
    ];
    let f2_left = [
        1, 1, 0, 0, 823, 500, -3, 40, 1, 100, -250, 160, -80, -20, 11, 22,
    ];
    vec![
        // Before the first frame: the first request of any kind starts the stream.
        Get(Row::same(Sc, "/poll", OKAY, "C")),
        Get(Row::same(Sn, "/slider", OKAY, "")),
        Get(Row::differs(
            Sc,
            "/crossdomain.xml",
            200,
            "<cross-domain-policy>\n  <allow-access-from domain=\"*\" to-ports=\"PORT\"/>\n\
             </cross-domain-policy>\n\r\n",
            "",
            "<cross-domain-policy>\n  <allow-access-from domain=\"*\" \
             to-ports=\"/dev/ttyACM0\"/>\n</cross-domain-policy>\n\0\r\n",
            "",
            "esp4s names the serial port in to-ports and ends with a NUL; esbench names the TCP port",
        )),
        Get(Row::same(Sc, "/reset_all", OKAY, "T0")),
        F(F1),
        Get(Row::same(Sc, "/poll", poll_body(F1_LEFT), "")),
        // The author's own script: Red LED on and off.
        Get(Row::same(Sc, "/leds/Red/100", OKAY, "R100")),
        Get(Row::same(Sc, "/leds/Red/0", OKAY, "R0")),
        Get(Row::same(Sc, "/leds/Green/0", OKAY, "G0")),
        Get(Row::same(Sc, "/leds/Blue/255", OKAY, "B255")),
        // `set Red LED to (slider / 4)`: Scratch sends the reporter's value as it prints it.
        Get(Row::differs(
            Sc,
            "/leds/Red/255.75",
            200,
            OKAY,
            "R255",
            OKAY,
            "R255.75",
            "truncated on the host; the sketch's parseInt also keeps 255 and drops \".75\"",
        )),
        Get(Row::differs(
            Sc,
            "/leds/Green/148.25",
            200,
            OKAY,
            "G148",
            OKAY,
            "G148.25",
            "truncated on the host, as the sketch would (148)",
        )),
        Get(Row::differs(
            Sc,
            "/leds/Blue/-5",
            200,
            OKAY,
            "B0",
            OKAY,
            "B-5",
            "clamped to 0; on esp4s the board wraps -5 to 251",
        )),
        Get(Row::differs(
            Sc,
            "/leds/Blue/300",
            200,
            OKAY,
            "B255",
            OKAY,
            "B300",
            "clamped to 255; on esp4s the board wraps 300 to 44",
        )),
        Get(Row::differs(
            Sc,
            "/leds/Red/1e+21",
            200,
            OKAY,
            "R255",
            OKAY,
            "R1e+21",
            "read as the number it is (clamped to 255); the sketch reads 1 and drops \"e+21\"",
        )),
        Get(Row::differs(
            Sc,
            "/leds/Red/abc",
            400,
            bad("/leds/Red/abc", leds),
            "",
            OKAY,
            "Rabc",
            "text that is no number is refused; on esp4s the sketch waits 1 s and sets 0",
        )),
        Get(Row::same(Sc, "/tinker_out/A/7", OKAY, "Y7")),
        Get(Row::same(Sc, "/tinker_out/B/255", OKAY, "Z255")),
        Get(Row::differs(
            Sc,
            "/tinker_out/B/-0.5",
            200,
            OKAY,
            "Z0",
            OKAY,
            "Z-0.5",
            "truncated toward zero on the host; the sketch also reads 0",
        )),
        Get(Row::differs(
            Sc,
            "/tinker_out/A/1023",
            200,
            OKAY,
            "Y255",
            OKAY,
            "Y1023",
            "clamped to 255; on esp4s the board wraps 1023 to 255 too",
        )),
        Get(Row::same(Sc, "/tone2/440", OKAY, "T440")),
        Get(Row::differs(
            Sc,
            "/tone2/261.63",
            200,
            OKAY,
            "T261",
            OKAY,
            "T261.63",
            "truncated on the host, as the sketch would (261 Hz)",
        )),
        Get(Row::differs(
            Sc,
            "/tone2/-1",
            200,
            OKAY,
            "T0",
            OKAY,
            "T-1",
            "clamped to 0 (silence); on esp4s the board wraps -1 to a 65535 Hz tone",
        )),
        Get(Row::differs(
            Sc,
            "/tone2/70000",
            200,
            OKAY,
            "T65535",
            OKAY,
            "T70000",
            "clamped to 65535; on esp4s the board wraps 70000 to 4464 Hz",
        )),
        Get(Row::same(Sc, "/play_tone/C", OKAY, "T523")),
        Get(Row::same(Sc, "/play_tone/F_Sharp--G_Flat", OKAY, "T740")),
        Get(Row::same(Sc, "/play_tone/B", OKAY, "T958")),
        Get(Row::same(Sc, "/play_tone/Note_Off", OKAY, "T0")),
        Get(Row::same(Sc, "/board_led/On", OKAY, "L 1")),
        Get(Row::same(Sc, "/board_led/Off", OKAY, "L 0")),
        // Menus: the board held the other way round, then in Fahrenheit, then back.
        Get(Row::same(Sc, "/orientation/Joystick_On_Right", OKAY, "")),
        F(F1B),
        Get(Row::same(Sc, "/poll", poll_body(f1_right), "")),
        Get(Row::same(Sc, "/temp_units/Fahrenheit", OKAY, "")),
        F(F1C),
        Get(Row::same(Sc, "/poll", poll_body(f1_right_f), "")),
        Get(Row::same(Sc, "/orientation/Joystick_On_Left", OKAY, "")),
        Get(Row::same(Sc, "/temp_units/Celsius", OKAY, "")),
        F(F1D),
        Get(Row::same(Sc, "/poll", poll_body(with_b(F1_LEFT, 11)), "")),
        // The stop sign.
        Get(Row::same(Sc, "/reset_all", OKAY, "T0")),
        // Snap!: one GET per reporter block, the value and esp4s's CRLF.
        F(F2),
        Get(Row::same(Sn, "/slider", "823\r\n", "")),
        Get(Row::same(Sn, "/light", "500\r\n", "")),
        Get(Row::same(Sn, "/temp", "-3\r\n", "")),
        Get(Row::same(Sn, "/sound", "40\r\n", "")),
        Get(Row::same(Sn, "/buttons/Down", "1\r\n", "")),
        Get(Row::same(Sn, "/buttons/Left", "1\r\n", "")),
        Get(Row::same(Sn, "/buttons/Up", "0\r\n", "")),
        Get(Row::same(Sn, "/buttons/Right", "0\r\n", "")),
        Get(Row::same(Sn, "/joystick/Left-Right_(X)", "100\r\n", "")),
        Get(Row::same(Sn, "/joystick/Up-Down_(Y)", "-250\r\n", "")),
        Get(Row::same(Sn, "/joystick/Button", "1\r\n", "")),
        Get(Row::same(Sn, "/accel/X__Side-Twist", "160\r\n", "")),
        Get(Row::same(Sn, "/accel/Y__Front-Twist", "-80\r\n", "")),
        Get(Row::same(Sn, "/accel/Z__Raise-Lower", "-20\r\n", "")),
        Get(Row::same(Sn, "/tkInput/A", "11\r\n", "")),
        Get(Row::same(Sn, "/tkInput/B", "22\r\n", "")),
        Get(Row::same(Sc, "/poll", poll_body(f2_left), "")),
        Get(Row::same(Sn, "/orientation/Joystick_On_Right", OKAY, "")),
        F(F2B),
        Get(Row::same(Sn, "/buttons/Down", "0\r\n", "")),
        Get(Row::same(Sn, "/buttons/Up", "1\r\n", "")),
        Get(Row::same(Sn, "/buttons/Left", "0\r\n", "")),
        Get(Row::same(Sn, "/buttons/Right", "1\r\n", "")),
        Get(Row::same(Sn, "/slider", "200\r\n", "")),
        Get(Row::same(Sn, "/joystick/Left-Right_(X)", "-100\r\n", "")),
        Get(Row::same(Sn, "/joystick/Up-Down_(Y)", "250\r\n", "")),
        Get(Row::same(Sn, "/accel/X__Side-Twist", "160\r\n", "")),
        Get(Row::same(Sn, "/temp_units/Fahrenheit", OKAY, "")),
        F(F2C),
        // (-3 * 9) / 5 + 32 in Python 2 integers: -27 / 5 floors to -6, so 26 (26.6 °F).
        Get(Row::same(Sn, "/temp", "26\r\n", "")),
        Get(Row::same(Sn, "/leds/Red/100", OKAY, "R100")),
        Get(Row::differs(
            Sn,
            "/leds/Red/12.9",
            200,
            OKAY,
            "R12",
            OKAY,
            "R12.9",
            "truncated on the host, as the sketch would (12)",
        )),
        Get(Row::same(Sn, "/reset_all", OKAY, "T0")),
        // Words outside the menus.
        Get(Row::differs(
            Sn,
            "/leds/Purple/5",
            400,
            bad("/leds/Purple/5", leds),
            "",
            OKAY,
            "",
            "refused with the reason; esp4s answers okay and sends nothing",
        )),
        Get(Row::differs(
            Sn,
            "/tinker_out/C/1",
            400,
            bad("/tinker_out/C/1", "/tinker_out/{A|B}/{0-255}"),
            "",
            OKAY,
            "Z1",
            "refused; esp4s takes any pin but A as B",
        )),
        Get(Row::differs(
            Sn,
            "/board_led/Maybe",
            400,
            bad("/board_led/Maybe", "/board_led/{On|Off}"),
            "",
            OKAY,
            "L 0",
            "refused; esp4s takes any word but On as Off",
        )),
        Get(Row::differs(
            Sn,
            "/play_tone/H",
            400,
            bad("/play_tone/H", "/play_tone/{C|C_Sharp--D_Flat|D|...|B|Note_Off}"),
            "",
            DROPS,
            "",
            "answered with the reason instead of a dropped connection",
        )),
        Get(Row::differs(
            Sn,
            "/buttons/Middle",
            404,
            "no route \"/buttons/Middle\"\n",
            "",
            DROPS,
            "",
            "answered 404 instead of a dropped connection",
        )),
        Get(Row::differs(
            Sc,
            "/nothing/here",
            404,
            "no route \"/nothing/here\"\n",
            "",
            DROPS,
            "",
            "answered 404 instead of a dropped connection",
        )),
    ]
}

fn with_b(mut v: [i32; 16], b: i32) -> [i32; 16] {
    v[15] = b;
    v
}

/// The board bytes esbench writes by default: `\n` after every numeric command.
fn terminated(board: &str) -> String {
    match board.as_bytes().last() {
        Some(b) if b.is_ascii_digit() => format!("{board}\n"),
        _ => board.to_string(),
    }
}

/// A scenario whose only change is a silence threshold far beyond the test's length, so no
/// `_problem` line depends on how fast the machine runs the replay.
fn patient_scenario(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("patient.toml");
    std::fs::write(&p, "[workload]\nsilent_after_ms = 600000\n").unwrap();
    p
}

/// Replays `steps()` against one model; panics at the first byte that is not the table's.
fn replay(model: &str, terminator: bool) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = patient_scenario(dir.path());
    let mut board = FakeBoard::new();
    let mut extra = vec!["--scenario", scenario.to_str().unwrap()];
    if !terminator {
        extra.push("--no-command-terminator");
    }
    let serve = Serve::start_with(model, &board.link, &extra);
    let port = serve.addr.port().to_string();
    let mut c = Client::connect(serve.addr);
    let mode = if terminator {
        "default"
    } else {
        "--no-command-terminator"
    };
    let mut at_board = String::new();
    let (mut commands, mut refused) = (0u64, 0u64);
    for (i, step) in steps().into_iter().enumerate() {
        match step {
            Step::Frame((bytes, marker)) => {
                board.write(bytes.as_bytes());
                let line = format!("tkInput/B {marker}\n");
                poll_until(&mut c, &line, |b| b.contains(&line));
            }
            Step::Get(row) => {
                let what = format!("{model} ({mode}) row {i} {:?} {}", row.who, row.path);
                let r = c.get(row.path);
                assert_eq!(r.status, row.status, "{what}: {r:?}");
                assert_eq!(r.body.replace(&port, "PORT"), row.body, "{what}");
                assert!(
                    r.head.contains("Access-Control-Allow-Origin: *"),
                    "{what}: {}",
                    r.head
                );
                let expected = if terminator {
                    terminated(row.board)
                } else {
                    row.board.to_string()
                };
                at_board.push_str(&expected);
                let got = board.wait_received(at_board.len());
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    at_board,
                    "{what}: bytes at the board"
                );
                let route = row.path.split('/').nth(1).unwrap_or("");
                let is_command = [
                    "leds",
                    "board_led",
                    "play_tone",
                    "tone2",
                    "tinker_out",
                    "orientation",
                    "temp_units",
                    "reset_all",
                ]
                .contains(&route);
                match (is_command, row.status) {
                    (true, 200) => commands += 1,
                    (true, 400) => refused += 1,
                    _ => {}
                }
            }
        }
    }
    // A stray late write would show up now.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        String::from_utf8_lossy(board.received()),
        at_board,
        "{model} ({mode}): extra bytes reached the board"
    );
    drop(c);
    let stats = serve.stop();
    let b = &stats.boards[0];
    assert_eq!(stats.model, model);
    assert_eq!(b.commands, commands, "{model}: {b:?}");
    assert_eq!(b.commands_rejected, refused, "{model}: {b:?}");
    assert_eq!(b.frames_rejected, 0, "{model}: {b:?}");
    assert_eq!(b.reconnects, 0, "{model}");
}

#[test]
fn every_model_answers_scratch_and_snap_like_esp4s() {
    let models = all_models();
    assert!(models.len() >= 5, "models: {models:?}");
    for model in models {
        replay(model, false);
        replay(model, true);
    }
}

/// The table itself: every row marked as a difference really differs from esp4s, every
/// other row is a 200 (esp4s answers nothing else), and the numeric commands are the ones
/// the terminator applies to.
#[test]
fn the_table_marks_every_difference_and_only_real_ones() {
    let rows: Vec<Row> = steps()
        .into_iter()
        .filter_map(|s| match s {
            Step::Get(r) => Some(r),
            Step::Frame(_) => None,
        })
        .collect();
    let mut differences = 0;
    for r in &rows {
        match &r.esp4s {
            None => assert_eq!(r.status, 200, "{}: esp4s only answers 200", r.path),
            Some((body, board, why)) => {
                differences += 1;
                assert!(!why.is_empty());
                let same = r.status == 200 && *body == r.body && *board == r.board;
                assert!(!same, "{} is marked as a difference but is not one", r.path);
            }
        }
    }
    assert!(
        differences >= 10 && differences < rows.len() / 2,
        "{differences}"
    );
    assert_eq!(terminated("R100"), "R100\n");
    assert_eq!(terminated("L 1"), "L 1\n");
    assert_eq!(terminated("C"), "C");
    assert_eq!(terminated(""), "");
}

/// The CORS / private-network preflight a browser sends before Snap! (on an https origin)
/// may read from the bridge on localhost: answered on any path, for every model, and the
/// connection stays usable. (esp4s's Python server answers 501 to OPTIONS, so Snap! in a
/// current Chrome cannot reach it: a deliberate difference.)
#[test]
fn every_model_answers_the_browser_preflight() {
    for model in all_models() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        for path in ["/slider", "/poll", "/nothing/here"] {
            let req = format!(
                "OPTIONS {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://snap.berkeley.edu\r\n\
                 Access-Control-Request-Method: GET\r\n\
                 Access-Control-Request-Private-Network: true\r\n\r\n"
            );
            c.stream.write_all(req.as_bytes()).unwrap();
            let r = c.read_reply().expect("an answer");
            assert_eq!(r.status, 204, "{model} {path}: {r:?}");
            for h in [
                "Access-Control-Allow-Origin: *",
                "Access-Control-Allow-Methods: GET, HEAD, OPTIONS",
                "Access-Control-Allow-Private-Network: true",
            ] {
                assert!(r.head.contains(h), "{model} {path}: {h} in {}", r.head);
            }
            assert_eq!(r.body, "");
            // esp4s-threads answers one request per connection, as esp4s did.
            if r.head.contains("Connection: close") {
                c = Client::connect(serve.addr);
            }
        }
        assert_eq!(c.get("/slider").status, 200, "{model}: still usable");
        drop(board);
        drop(serve);
    }
}

/// A seeded synthetic stream, chunked and damaged on the line like a bad USB cable, replayed
/// through the pty as fast as it goes: every model must decode exactly what the reference
/// decoder does (same frames in the same order, same rejects by reason), whatever chunks the
/// pty delivers them in.
#[test]
fn every_model_decodes_a_damaged_stream_like_the_reference() {
    use esbench::protocol::frame::{encode_frame, FrameDecoder, RawFrame};
    use esbench::source::line::LineOptions;
    use esbench::source::{SourceSpec, SynthOptions};

    let spec = SourceSpec::Synth(SynthOptions {
        seed: 42,
        line: LineOptions {
            chunking: true,
            corrupt_rate: 0.002,
            drop_rate: 0.001,
        },
        max_frames: Some(300),
        ..SynthOptions::default()
    });
    let mut src = spec.open(true).unwrap();
    let mut pieces = Vec::new();
    while let Some(p) = src.next_piece().unwrap() {
        pieces.push(p.bytes);
    }
    // End any partial line, then a clean marker frame the test can wait for.
    pieces.push(b"\r\n".to_vec());
    let marker_seq = 1_000_000;
    let mut marker = RawFrame { values: BASE_FRAME };
    marker.set_seq(marker_seq);
    let mut m = Vec::new();
    encode_frame(&marker, &mut m);
    pieces.push(m);

    let mut reference = FrameDecoder::new();
    let mut expected_seqs = Vec::new();
    for p in &pieces {
        reference.feed(p, |f| expected_seqs.push(f.seq()));
    }
    let ref_stats = reference.stats().clone();
    assert!(
        ref_stats.rejected_lines > 0,
        "the line damage should reject something"
    );
    assert!(expected_seqs.len() > 250);

    for model in all_models() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        c.get("/poll");
        for p in &pieces {
            board.write(p);
        }
        poll_until(&mut c, "the marker frame", |b| {
            b.contains(&seq_lines(marker_seq))
        });
        let stats = serve.stop();
        let b = &stats.boards[0];
        let seqs: Vec<u32> = b.ingest.iter().map(|e| e.0).collect();
        assert_eq!(
            seqs, expected_seqs,
            "{model}: frames differ from the reference"
        );
        assert_eq!(b.frames_accepted, ref_stats.frames, "{model}");
        assert_eq!(b.frames_rejected, ref_stats.rejected_lines, "{model}");
        let expected_reasons: std::collections::BTreeMap<String, u64> = ref_stats
            .by_reason()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.to_string(), n))
            .collect();
        assert_eq!(b.rejected_by_reason, expected_reasons, "{model}");
    }
}
