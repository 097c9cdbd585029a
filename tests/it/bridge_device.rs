//! Every model against the real virtual board (`device::VirtualBoard`, the sketch's
//! behaviour on a pty): the stream starts on the first request, polls follow the board's
//! frames in order, and the board receives exactly the same commands under every model.

use crate::bridge_support as support;

use std::time::Duration;

use esbench::device::{DeviceConfig, VirtualBoard};
use esbench::protocol::command::Command;
use support::*;

fn seq_of(body: &str) -> Option<u32> {
    let get = |k: &str| -> Option<u32> {
        body.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(get("tkInput/A ")? * 1024 + get("tkInput/B ")?)
}

#[test]
fn every_model_drives_the_virtual_board_identically() {
    for model in models() {
        let vb = VirtualBoard::start(DeviceConfig {
            stamp_seq: true,
            ..DeviceConfig::synth(7)
        })
        .unwrap();
        let serve = Serve::start(model, vb.path());
        let mut c = Client::connect(serve.addr);
        let mut seqs = Vec::new();
        for i in 0..45 {
            let r = c.get("/poll");
            assert_eq!(r.status, 200, "{model}");
            if let Some(s) = seq_of(&r.body) {
                seqs.push(s);
            }
            match i {
                10 => assert_eq!(c.get("/leds/Red/100").status, 200),
                20 => assert_eq!(c.get("/leds/Red/lots").status, 400),
                25 => assert_eq!(c.get("/leds/Red/0").status, 200),
                30 => assert_eq!(c.get("/play_tone/C").status, 200),
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(33));
        }
        // The newest frame always wins: sequence numbers never go back.
        assert!(
            seqs.len() > 10,
            "{model}: the stream never started: {seqs:?}"
        );
        assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "{model}: {seqs:?}");
        let stats = serve.stop();
        // Give the board a moment to read the last command's digits.
        std::thread::sleep(Duration::from_millis(100));
        let written: Vec<u32> = vb.frame_times().iter().map(|f| f.0).collect();
        let cmds: Vec<Command> = vb.commands().into_iter().map(|c| c.1).collect();
        vb.stop().unwrap();
        assert_eq!(
            cmds,
            [
                Command::Start,
                Command::Red(100),
                Command::Red(0),
                Command::Tone(523)
            ],
            "{model}"
        );
        let b = &stats.boards[0];
        let ingested: Vec<u32> = b.ingest.iter().map(|e| e.0).collect();
        assert!(ingested.windows(2).all(|w| w[0] < w[1]), "{model}");
        assert!(
            ingested.iter().all(|s| written.contains(s)),
            "{model}: the bridge saw a frame the board never wrote"
        );
        assert_eq!(b.frames_rejected, 0, "{model}: a clean line");
        assert!(b.polls >= 45, "{model}");
        assert_eq!((b.commands, b.commands_rejected), (3, 1), "{model}");
    }
}
