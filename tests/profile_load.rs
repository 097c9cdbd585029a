//! `profile_model` (fresh serve child, boards, pollers: `run --profile`, `profile --model`) against a fake
//! `serve`: this test binary re-executed as `serve`. It must feed frames at the scenario's
//! rate through the pty, poll at the scenario's rate, send the commands, and stop the child
//! with SIGTERM; the profile must see the fake serve's named threads and cost per event.
//!
//! harness = false: the binary's `main` decides whether it is the test or the fake serve.

use esbench::metrics::profile::PassStatus;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use esbench::profile::{profile_model, ProfileOptions};
use esbench::scenario::Scenario;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        fake_serve(&args[2..]);
        return;
    }
    model_under_load_feeds_polls_and_stops();
    a_failing_pass_is_a_profile_with_notes();
    println!("profile_load: ok");
}

/// Just enough of `esbench serve`: counts frames from each `--serial`, answers any GET on
/// `--listen` port + i, prints `listening <addr>`, exits 0 on SIGTERM.
fn fake_serve(args: &[String]) {
    use nix::sys::signal::{SigSet, Signal};
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.thread_block().unwrap();
    let mut serials = Vec::new();
    let mut listen = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--serial" => serials.push(it.next().unwrap().clone()),
            "--listen" => {
                listen = Some(it.next().unwrap().parse::<std::net::SocketAddr>().unwrap())
            }
            _ => {}
        }
    }
    let base = listen.unwrap();
    let frames = Arc::new(AtomicU64::new(0));
    for (i, path) in serials.iter().enumerate() {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        f.write_all(b"C").unwrap(); // the board streams once told to start, like the sketch
        let fr = frames.clone();
        std::thread::Builder::new()
            .name(format!("fake-serial-{i}"))
            .spawn(move || {
                let mut buf = [0u8; 512];
                while let Ok(n) = f.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let lines = buf[..n].iter().filter(|&&b| b == b'\n').count();
                    fr.fetch_add(lines as u64, Ordering::Relaxed);
                }
            })
            .unwrap();
        let addr = std::net::SocketAddr::new(base.ip(), base.port() + i as u16);
        let l = TcpListener::bind(addr).unwrap();
        std::thread::Builder::new()
            .name(format!("fake-http-{i}"))
            .spawn(move || {
                for conn in l.incoming().flatten() {
                    std::thread::spawn(move || serve_conn(conn));
                }
            })
            .unwrap();
        println!("listening {addr}");
    }
    std::io::stdout().flush().unwrap();
    mask.wait().unwrap();
    std::process::exit(0);
}

fn serve_conn(mut c: std::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            let body = b"ok\n";
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            if c.write_all(head.as_bytes())
                .and_then(|_| c.write_all(body))
                .is_err()
            {
                return;
            }
        }
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn model_under_load_feeds_polls_and_stops() {
    let exe = std::env::current_exe().unwrap();
    let scenario = Scenario::default(); // classroom: 40 frames/s, 30 polls/s, 1 command/s
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ProfileOptions::new(Duration::from_secs(2), dir.path(), "fake");
    opts.strace = false;
    opts.perf = false;
    // The whole pass: start, warm up, profile, SIGTERM (an error if serve did not exit 0).
    let report = profile_model(&exe, "fake", &scenario, &opts, Duration::from_millis(300)).unwrap();
    assert!(
        report.notes.iter().all(|n| !n.contains("stopping serve")),
        "{:?}",
        report.notes
    );

    let json = serde_json::to_string_pretty(&report).unwrap();
    let ev = report.events.expect("events counted");
    let w = report.threads.as_ref().unwrap().window_s;
    let per_s = |n: u64| n as f64 / w;
    // Rates within a generous band of the scenario's: 40 frames/s, 1000/33 polls/s.
    assert!(
        (20.0..60.0).contains(&per_s(ev.frames)),
        "frames {ev:?}\n{json}"
    );
    assert!(
        (12.0..45.0).contains(&per_s(ev.polls)),
        "polls {ev:?}\n{json}"
    );
    assert!(ev.commands >= 1, "{ev:?}");
    let names: Vec<&str> = report
        .threads
        .as_ref()
        .unwrap()
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert!(names.contains(&"fake-serial"), "{names:?}");
    assert!(names.contains(&"fake-http"), "{names:?}");
    // The serial reader wakes for each frame (~40/s), at least a good part of them.
    let serial = report
        .threads
        .as_ref()
        .unwrap()
        .groups
        .iter()
        .find(|g| g.name == "fake-serial")
        .unwrap();
    assert!(serial.wakeups_per_s > 15.0, "{json}");
    assert!(report.wakeups_per_event.unwrap() > 0.0);
}

/// `profiling_pass` (what `run --profile` calls) never fails the run: a serve that cannot
/// start gives a profile value whose notes say why.
fn a_failing_pass_is_a_profile_with_notes() {
    let dir = tempfile::tempdir().unwrap();
    let p = esbench::profile::profiling_pass(
        std::path::Path::new("/nonexistent/esbench"),
        "smol",
        &Scenario::default(),
        dir.path(),
        Duration::from_millis(100),
        Duration::ZERO,
    );
    assert_eq!(p.label, "smol");
    assert_eq!(p.syscalls.status, PassStatus::Failed);
    assert!(p.notes[0].contains("could not run"), "{:?}", p.notes);
}
