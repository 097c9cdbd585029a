//! The in-process entry point (`models::start` / `RunningServe::stop`) that benches and the
//! driver can use: every model starts, answers, stops promptly, returns its statistics and
//! releases its listening socket and serial device.

#[path = "bridge_support/mod.rs"]
mod support;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use esbench::models::{start, ServeConfig};
use support::*;

#[test]
fn every_model_starts_serves_and_stops_in_process() {
    for model in models() {
        let mut board = FakeBoard::new();
        let cfg = ServeConfig::new(
            model,
            vec![board.link.clone()],
            "127.0.0.1:0".parse().unwrap(),
        );
        let running = start(&cfg).unwrap();
        let addr = running.addrs()[0];
        let mut c = Client::connect(addr);
        c.get("/poll");
        assert_eq!(board.wait_received(1), b"C", "{model}");
        board.send_frame(5);
        poll_until(&mut c, "frame 5", |b| b.contains(&seq_lines(5)));
        // An idle connection left open must not keep the model from stopping.
        let _idle = TcpStream::connect(addr).unwrap();

        assert!(
            !board.slave_released(),
            "{model}: the bridge holds the device while running"
        );

        let t = Instant::now();
        let stats = running.stop().unwrap();
        assert!(
            t.elapsed() < TIMEOUT,
            "{model}: stop took {:?}",
            t.elapsed()
        );
        assert_eq!(stats.model, model);
        assert_eq!(stats.boards[0].frames_accepted, 1, "{model}");
        assert!(stats.boards[0].polls >= 1, "{model}");
        assert!(stats.runtime.is_some(), "{model}");

        // The port is free again and the open connection was closed.
        let end = Instant::now() + TIMEOUT;
        while TcpListener::bind(addr).is_err() {
            assert!(Instant::now() < end, "{model}: port {addr} still held");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(c.is_closed(), "{model}: client connection left open");
        let end = Instant::now() + TIMEOUT;
        while !board.slave_released() {
            assert!(Instant::now() < end, "{model}: serial device still open");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn unknown_model_and_missing_device_are_clear_errors() {
    let board = FakeBoard::new();
    let cfg = ServeConfig::new(
        "fibers",
        vec![board.link.clone()],
        "127.0.0.1:0".parse().unwrap(),
    );
    let err = start(&cfg).err().expect("unknown model").to_string();
    assert!(
        err.contains("unknown model") && err.contains("threads"),
        "{err}"
    );
    let cfg = ServeConfig::new(
        "threads",
        vec!["/nonexistent/tty".into()],
        "127.0.0.1:0".parse().unwrap(),
    );
    let err = format!("{:#}", start(&cfg).err().expect("missing device"));
    assert!(err.contains("/nonexistent/tty"), "{err}");
}
