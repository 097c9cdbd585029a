//! `esbench serve` limits, on every model: a request head dribbled byte by byte (slowloris)
//! is answered 408 and closed, an idle connection is closed, one connection over the cap is
//! answered 503 — while a Scratch-like client polling every 33 ms is never disturbed.

use crate::bridge_support as support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;

/// Small limits so the test is quick; the defaults are seconds and thousands.
const FLAGS: &[&str] = &[
    "--header-timeout-ms",
    "400",
    "--idle-timeout-s",
    "1",
    "--max-connections",
    "4",
];

/// Generous bound for "eventually" on a loaded machine; the point is "not forever".
const EVENTUALLY: Duration = Duration::from_secs(15);

/// Reads until EOF or reset; None if the server kept the connection open past `EVENTUALLY`.
fn read_until_closed(mut s: &TcpStream) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(EVENTUALLY)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(out),
            Err(_) => return None,
        }
    }
}

/// Polls like Scratch (every 33 ms, one keep-alive connection) until `stop` is set; returns
/// how many polls were answered, panicking on any other outcome.
fn scratch_in_background(
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    model: &'static str,
) -> std::thread::JoinHandle<u64> {
    let mut c = Client::connect(addr);
    std::thread::spawn(move || {
        let mut answered = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            assert_eq!(c.get("/poll").status, 200, "{model}: Scratch's poll");
            answered += 1;
            std::thread::sleep(Duration::from_millis(33));
        }
        answered
    })
}

#[test]
fn slowloris_idle_and_excess_connections_are_cut_off_on_every_model() {
    // Each model in its own thread: the checks mostly wait for timeouts. The connection
    // cap is per process, so each `esbench serve` child has its own.
    let runs: Vec<_> = models()
        .into_iter()
        .map(|model| (model, std::thread::spawn(move || check_limits(model))))
        .collect();
    let failed: Vec<&str> = runs
        .into_iter()
        .filter_map(|(model, t)| t.join().is_err().then_some(model))
        .collect();
    assert!(failed.is_empty(), "limits not enforced on {failed:?}");
}

fn check_limits(model: &'static str) {
    let board = FakeBoard::new();
    let serve = Serve::start_with(model, &board.link, FLAGS);
    // Polls throughout, on one connection, for longer than the idle timeout: a polling
    // client is never idle, and its connection is one of the four allowed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let scratch = scratch_in_background(serve.addr, stop.clone(), model);
    std::thread::sleep(Duration::from_millis(1500));

    // Slowloris: a byte of header every 100 ms, never finishing the head.
    let slow = TcpStream::connect(serve.addr).unwrap();
    let started = Instant::now();
    (&slow).write_all(b"GET /poll HTTP/1.1\r\n").unwrap();
    let writer = {
        let s = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..100 {
                if (&s).write_all(b"X").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let got = read_until_closed(&slow).unwrap_or_else(|| panic!("{model}: slowloris held"));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{model}: {text:?}");
    assert!(started.elapsed() < EVENTUALLY, "{model}");
    drop(slow);
    writer.join().unwrap();

    // Idle: connects and says nothing.
    let idle = TcpStream::connect(serve.addr).unwrap();
    assert_eq!(
        read_until_closed(&idle).as_deref(),
        Some(&b""[..]),
        "{model}: an idle connection is closed without an answer"
    );

    // The cap: Scratch's connection plus three more fill it; the next is refused.
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(serve.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let extra = TcpStream::connect(serve.addr).unwrap();
    let refused = read_until_closed(&extra).expect("a refusal, then close");
    let text = String::from_utf8_lossy(&refused);
    assert!(text.starts_with("HTTP/1.1 503"), "{model}: {text:?}");
    assert!(text.contains("the limit is 4"), "{model}: {text:?}");
    drop(held);
    drop(extra);
    // Places are given back: a new client gets in again (once the server saw the FINs).
    let end = Instant::now() + EVENTUALLY;
    loop {
        let mut c = Client::connect(serve.addr);
        let r = c.get("/poll");
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < end, "{model}: the cap never freed: {r:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered = scratch.join().expect("Scratch's polls were all answered");
    assert!(answered > 10, "{model}: {answered} polls");
    serve.stop();
}
