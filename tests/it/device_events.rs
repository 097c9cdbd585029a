//! Virtual boards on the shared event loops (`run.driver = "events"`) behave as boards on
//! their own threads do: silent until `C`, the same stamped frames at the same cadence,
//! commands logged, a reader that leaves and comes back survived, a prompt stop, and a
//! hundred boards on a handful of threads. Timing tolerances are generous: the machine is
//! shared and loaded.

use crate::proc_probe::threads_named;
use crate::serial_board::{frame_times_for, open, read_for};
use esbench::device::{BoardLoops, DeviceConfig, VirtualBoard};
use esbench::protocol::command::Command;
use esbench::protocol::frame::{FrameDecoder, RawFrame};
use esbench::scenario::DriverKind;
use esbench::source::serial::SerialLink;
use std::time::{Duration, Instant};

fn board(runner: DriverKind, seed: u64) -> VirtualBoard {
    VirtualBoard::start(DeviceConfig {
        stamp_seq: true,
        runner,
        ..DeviceConfig::synth(seed)
    })
    .unwrap()
}

fn frames(bytes: &[u8]) -> Vec<RawFrame> {
    let mut d = FrameDecoder::new();
    let mut out = Vec::new();
    d.feed(bytes, |f| out.push(f));
    assert_eq!(d.stats().rejected_bytes, 0);
    out
}

#[test]
fn an_event_loop_board_acts_like_the_sketch() {
    let b = board(DriverKind::Events, 3);
    let mut link = open(&b);
    assert!(
        read_for(&mut link, Duration::from_millis(200)).is_empty(),
        "silent before C"
    );
    link.send(b"C").unwrap();
    let got = frames(&read_for(&mut link, Duration::from_secs(2)));
    // 40 frames/s for 2 s; a loaded machine may delay some, never lose or reorder them.
    assert!(
        (50..=90).contains(&got.len()),
        "{} frames in 2 s",
        got.len()
    );
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.seq(), i as u32);
    }
    let times = frame_times_for(&b, got.len());
    assert!(
        times.len() >= got.len(),
        "{} times, {} frames",
        times.len(),
        got.len()
    );
    assert!(times.windows(2).all(|w| w[1].1 >= w[0].1));

    link.send(b"R100\n").unwrap();
    link.send(b"V").unwrap();
    let after = read_for(&mut link, Duration::from_millis(300));
    assert!(
        after.windows(6).any(|w| w == b"1.00\r\n"),
        "the version reply"
    );
    let cmds: Vec<Command> = b.commands().into_iter().map(|(_, c)| c).collect();
    assert!(cmds.contains(&Command::Start), "{cmds:?}");
    assert!(
        cmds.iter().any(|c| c.to_wire_string() == "R100"),
        "{cmds:?}"
    );

    // The reader leaves and comes back: the board notices both, and keeps streaming.
    drop(link);
    std::thread::sleep(Duration::from_millis(200));
    let mut link = open(&b);
    let again = read_for(&mut link, Duration::from_millis(500));
    assert!(!frames(&again).is_empty() || again.is_empty());
    drop(link);
    let started = Instant::now();
    let stats = b.stop().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "a prompt stop");
    assert!(stats.reader_opens >= 2, "{stats:?}");
    assert!(stats.frames_written >= 50, "{stats:?}");
}

#[test]
fn both_runners_write_the_same_frames() {
    let mut streams = Vec::new();
    for runner in [DriverKind::Threads, DriverKind::Events] {
        let b = board(runner, 42);
        let mut link = open(&b);
        link.send(b"C").unwrap();
        let got = frames(&read_for(&mut link, Duration::from_millis(700)));
        drop(link);
        b.stop().unwrap();
        streams.push(got);
    }
    let n = streams[0].len().min(streams[1].len());
    assert!(n >= 15, "{n} frames");
    assert_eq!(streams[0][..n], streams[1][..n], "same seed, same frames");
}

#[test]
fn a_hundred_boards_run_on_a_few_threads() {
    // One owner's loops, as a run's boards share its session's.
    let owner = BoardLoops::default();
    let boards: Vec<VirtualBoard> = (0..100)
        .map(|i| {
            let cfg = DeviceConfig {
                stamp_seq: true,
                runner: DriverKind::Events,
                ..DeviceConfig::synth(i)
            };
            VirtualBoard::start_on(cfg, &owner).unwrap()
        })
        .collect();
    assert!(
        (1..=esbench::device::MAX_BOARD_LOOPS).contains(&owner.running()),
        "{} loops for 100 boards",
        owner.running()
    );
    let mut links: Vec<SerialLink> = boards.iter().map(open).collect();
    for l in &mut links {
        l.send(b"C").unwrap();
    }
    // A thread names itself once it runs: wait (generously) for the loops to show. (Other
    // tests' boards run loops of their own in this process, so only "at least" is checked
    // of the names; the owner counts its own.)
    let named_by = Instant::now() + Duration::from_secs(5);
    let mut loops = threads_named("board-events-");
    while loops < owner.running() && Instant::now() < named_by {
        std::thread::sleep(Duration::from_millis(5));
        loops = threads_named("board-events-");
    }
    assert!(loops >= owner.running(), "{loops} loop threads seen");
    std::thread::sleep(Duration::from_millis(500));
    // Every board streams: its frames are written to its pty (read or not, they count).
    for (i, l) in links.iter_mut().enumerate() {
        let got = frames(&read_for(l, Duration::from_millis(20)));
        assert!(!got.is_empty(), "board {i} wrote nothing");
    }
    drop(links);
    for b in boards {
        b.stop().unwrap();
    }
}
