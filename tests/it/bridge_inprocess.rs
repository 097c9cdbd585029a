//! The in-process entry point (`models::start` / `RunningServe::stop`) that benches and the
//! driver can use: every model starts, answers, stops promptly, returns its statistics and
//! releases its listening socket and serial device.

use crate::bridge_support as support;

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

#[test]
fn each_board_has_its_own_port_and_state() {
    for model in models() {
        let mut a = FakeBoard::new();
        let mut b = FakeBoard::new();
        let cfg = ServeConfig::new(
            model,
            vec![a.link.clone(), b.link.clone()],
            "127.0.0.1:0".parse().unwrap(),
        );
        let running = start(&cfg).unwrap();
        let (pa, pb) = (running.addrs()[0], running.addrs()[1]);
        assert_ne!(pa, pb);
        let mut ca = Client::connect(pa);
        ca.get("/poll");
        assert_eq!(a.wait_received(1), b"C", "{model}");
        // Board b has not been asked for anything yet: it must not have been started.
        std::thread::sleep(Duration::from_millis(100));
        assert!(b.received().is_empty(), "{model}");
        let mut cb = Client::connect(pb);
        cb.get("/leds/Blue/3");
        assert_eq!(b.wait_received(4), b"CB3\n", "{model}");
        a.send_frame(21);
        b.send_frame(22);
        poll_until(&mut ca, "a's frame", |s| s.contains(&seq_lines(21)));
        poll_until(&mut cb, "b's frame", |s| s.contains(&seq_lines(22)));
        let stats = running.stop().unwrap();
        assert_eq!(stats.boards.len(), 2);
        assert_eq!(stats.boards[0].ingest[0].0, 21, "{model}");
        assert_eq!(stats.boards[1].ingest[0].0, 22, "{model}");
        assert_eq!(stats.boards[1].commands, 1, "{model}");
        assert_eq!(stats.boards[0].commands, 0, "{model}");
    }
}
