//! Every model in `models::ALL` gets the same scripted board and the same scripted Scratch
//! client, through a real pty and real TCP on loopback; the transcripts (every HTTP answer
//! and the exact bytes the board received) must be identical, and correct.

/// `(step, status, body)` per request, in order.
type Transcript = Vec<(String, u16, String)>;

#[path = "bridge_support/mod.rs"]
mod support;

use support::*;

/// One model's transcript: `(what, status, body)` per step, plus the board's bytes.
fn script(model: &str) -> (Transcript, String, esbench::bridge::ServeStats) {
    let mut board = FakeBoard::new();
    let serve = Serve::start(model, &board.link);
    let mut c = Client::connect(serve.addr);
    let mut t = Vec::new();
    fn log(t: &mut Transcript, what: &str, r: Reply) {
        t.push((what.to_string(), r.status, r.body));
    }

    // The first request of any kind starts the stream; no frame yet, no problem yet.
    log(&mut t, "first poll", c.get("/poll"));
    assert_eq!(
        board.wait_received(1),
        b"C",
        "{model}: C on the first request"
    );

    board.send_frame(1);
    let body = poll_until(&mut c, "frame 1", |b| b.contains(&seq_lines(1)));
    t.push(("poll after frame 1".into(), 200, body));
    for path in [
        "/slider",
        "/buttons/Down",
        "/joystick/Left-Right_(X)",
        "/temp",
        "/tkInput/B",
    ] {
        log(&mut t, path, c.get(path));
    }

    // Corrupted bytes are counted and survived; the next valid frame still gets through.
    board.write(b"ESP,1,2,zz,PSE\r\n\x00\xff garbage\r\nESP,1,1,1,1,430,973,17,0\r\n");
    board.send_frame(2);
    let body = poll_until(&mut c, "frame 2", |b| b.contains(&seq_lines(2)));
    t.push(("poll after corruption".into(), 200, body));

    // Host-side settings change the next answer without touching the board.
    log(
        &mut t,
        "/orientation",
        c.get("/orientation/Joystick_On_Right"),
    );
    log(&mut t, "/temp_units", c.get("/temp_units/Fahrenheit"));
    log(&mut t, "poll turned", c.get("/poll"));
    log(&mut t, "/temp F", c.get("/temp"));

    for path in [
        "/leds/Red/100",
        "/leds/Green/0",
        "/leds/Blue/255",
        "/board_led/On",
        "/board_led/Off",
        "/play_tone/A",
        "/tone2/440",
        "/tinker_out/A/7",
        "/tinker_out/B/255",
        "/reset_all",
        // Refused: nothing may reach the board.
        "/leds/Red/256",
        "/leds/Pink/1",
        "/play_tone/H",
        "/tone2/-5",
        "/tinker_out/C/1",
        "/orientation/Sideways",
        "/nothing/here",
    ] {
        log(&mut t, path, c.get(path));
    }
    let cross = c.get("/crossdomain.xml");
    t.push((
        "/crossdomain.xml".into(),
        cross.status,
        cross.body.replace(&serve.addr.port().to_string(), "PORT"),
    ));

    let expected_cmds = "CR100G0B255L 1L 0T880T440Y7Z255T0";
    let cmds = String::from_utf8(board.wait_received(expected_cmds.len())).unwrap();
    // Give a stray late write the chance to show up before judging.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let cmds_final = String::from_utf8(board.received().to_vec()).unwrap();
    assert_eq!(cmds, cmds_final, "{model}: extra bytes reached the board");
    drop(c);
    let stats = serve.stop();
    (t, cmds_final, stats)
}

#[test]
fn every_model_behaves_identically() {
    let models = all_models();
    assert!(models.len() >= 5, "models: {models:?}");
    let mut reference: Option<(String, Transcript, String)> = None;
    for model in models {
        let (t, cmds, stats) = script(model);

        // Correct, not just identical.
        assert_eq!(cmds, "CR100G0B255L 1L 0T880T440Y7Z255T0", "{model}");
        let get = |what: &str| t.iter().find(|s| s.0 == what).unwrap().clone();
        assert_eq!(get("first poll"), ("first poll".into(), 200, String::new()));
        let p1 = get("poll after frame 1").2;
        assert_eq!(
            p1,
            "buttons/Down 0\nbuttons/Left 0\nbuttons/Up 0\nbuttons/Right 0\nslider 593\n\
             light 973\ntemp 17\nsound 0\njoystick/Button 0\njoystick/Left-Right_(X) 1\n\
             joystick/Up-Down_(Y) -3\naccel/X__Side-Twist -17\naccel/Y__Front-Twist -21\n\
             accel/Z__Raise-Lower 157\ntkInput/A 0\ntkInput/B 1\n",
            "{model}"
        );
        assert_eq!(get("/slider").2, "593", "{model}");
        assert_eq!(get("/temp F").2, "63", "{model}: 17 C is 62.6 F");
        for bad in [
            "/leds/Red/256",
            "/play_tone/H",
            "/tinker_out/C/1",
            "/orientation/Sideways",
        ] {
            let (_, status, body) = get(bad);
            assert_eq!(status, 400, "{model} {bad}");
            assert!(body.contains("usage"), "{model} {bad}: {body}");
        }
        assert_eq!(get("/nothing/here").1, 404, "{model}");
        assert!(
            get("/crossdomain.xml").2.contains("to-ports=\"PORT\""),
            "{model}"
        );

        let b = &stats.boards[0];
        assert_eq!(stats.model, model);
        assert_eq!(b.frames_accepted, 2, "{model}: {b:?}");
        assert!(b.frames_rejected >= 2, "{model}: {b:?}");
        assert!(!b.rejected_by_reason.is_empty(), "{model}");
        assert_eq!(b.commands, 12, "{model}: 10 board commands + 2 settings");
        assert_eq!(b.commands_rejected, 6, "{model}");
        assert!(b.polls >= 4, "{model}");
        assert!(
            b.watchdog_lateness.count > 0,
            "{model}: the watchdog never ran"
        );
        assert_eq!(
            b.ingest.iter().map(|e| e.0).collect::<Vec<_>>(),
            [1, 2],
            "{model}"
        );
        assert_eq!(b.reconnects, 0, "{model}");

        match &reference {
            None => reference = Some((model.to_string(), t, cmds)),
            Some((first, rt, rc)) => {
                assert_eq!(&cmds, rc, "{model} vs {first}: board bytes differ");
                for (a, b) in t.iter().zip(rt) {
                    assert_eq!(a, b, "{model} vs {first}: answers differ");
                }
                assert_eq!(t.len(), rt.len());
            }
        }
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
