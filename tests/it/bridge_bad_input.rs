//! Bad input against every model: malformed and oversized HTTP, a client that leaves
//! mid-request, pipelining, a board unplugged and plugged back, a board that goes silent,
//! and a thousand idle connections while polls still get answered.

use crate::bridge_support as support;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use support::*;

#[test]
fn malformed_oversized_and_abandoned_requests_are_survived() {
    for model in models() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);

        // Malformed: 400, connection closed, server still serving.
        let mut c = Client::connect(serve.addr);
        c.stream
            .write_all(b"BLAH /poll HTTP/1.1\r\nbad header line\r\n\r\n")
            .unwrap();
        let r = c.read_reply().expect("an answer");
        assert_eq!(r.status, 400, "{model}: {r:?}");
        assert!(r.head.contains("Connection: close"), "{model}");
        assert!(c.is_closed(), "{model}: should close after 400");

        // Oversized head: 431 even while the client keeps sending.
        let mut c = Client::connect(serve.addr);
        let mut big = b"GET /poll HTTP/1.1\r\nX-Filler: ".to_vec();
        big.extend(vec![b'x'; 20_000]);
        big.extend_from_slice(b"\r\n\r\n");
        c.stream.write_all(&big).unwrap();
        let r = c.read_reply().expect("an answer");
        assert_eq!(r.status, 431, "{model}: {r:?}");

        // A client that disconnects mid-request.
        {
            let mut s = TcpStream::connect(serve.addr).unwrap();
            s.write_all(b"GET /po").unwrap();
        }
        // One that sends half a request and resets.
        {
            let s = TcpStream::connect(serve.addr).unwrap();
            (&s).write_all(b"GET /poll HTTP/1.1\r\nHost:").unwrap();
            s.shutdown(std::net::Shutdown::Both).unwrap();
        }

        // Pipelined requests on a fresh connection are answered in order.
        let mut c = Client::connect(serve.addr);
        c.stream
            .write_all(b"GET /poll HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nGET /leds/Red/9 HTTP/1.1\r\n\r\n")
            .unwrap();
        let codes: Vec<u16> = (0..3).map(|_| c.read_reply().unwrap().status).collect();
        assert_eq!(codes, [200, 404, 200], "{model}");
        // And the connection is still usable.
        assert_eq!(c.get("/poll").status, 200, "{model}");
        let stats = serve.stop();
        assert_eq!(stats.boards[0].commands, 1, "{model}");
    }
}

#[test]
fn unplugged_board_is_reported_and_reconnected() {
    for model in models() {
        let mut board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        c.get("/poll");
        assert_eq!(board.wait_received(1), b"C");
        board.send_frame(7);
        poll_until(&mut c, "frame 7", |b| b.contains(&seq_lines(7)));

        board.unplug();
        let body = poll_until(&mut c, "the disconnect problem", |b| {
            b.contains("_problem board disconnected")
        });
        assert!(
            body.contains(&seq_lines(7)),
            "{model}: last values are kept: {body}"
        );
        // Commands are refused while the board is away, and say why.
        let r = c.get("/leds/Red/1");
        assert_eq!(r.status, 503, "{model}: {r:?}");

        board.plug();
        // A started board gets `C` again after the reconnect (a replugged Esplora reboots).
        assert_eq!(board.wait_received(1), b"C", "{model}");
        board.send_frame(8);
        let body = poll_until(&mut c, "frame 8 after the reconnect", |b| {
            b.contains(&seq_lines(8)) && !b.contains("_problem")
        });
        assert!(!body.contains("_problem"));
        assert_eq!(c.get("/leds/Red/2").status, 200);
        board.wait_received(1 + 3);
        assert_eq!(board.received(), b"CR2\n", "{model}");

        let stats = serve.stop();
        let b = &stats.boards[0];
        assert!(b.reconnects >= 1, "{model}: {b:?}");
        assert_eq!(b.frames_accepted, 2, "{model}");
    }
}

#[test]
fn silent_board_is_reported_by_the_watchdog() {
    for model in models() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        assert_eq!(c.get("/poll").body, "", "{model}");
        board.send_frame(3);
        poll_until(&mut c, "frame 3", |b| b.contains(&seq_lines(3)));
        // No more frames: after 500 ms the watchdog flags it; a new frame clears it.
        let body = poll_until(&mut c, "the silence problem", |b| {
            b.contains("_problem no data from the board")
        });
        assert!(body.contains(&seq_lines(3)), "{model}");
        board.send_frame(4);
        poll_until(&mut c, "frame 4", |b| {
            b.contains(&seq_lines(4)) && !b.contains("_problem")
        });
        serve.stop();
    }
}

#[test]
fn a_thousand_idle_connections_do_not_stop_polls() {
    // The test process needs the fds too.
    let _ = esbench::fd_limit::raise_nofile_limit();
    for model in models() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        c.get("/poll");
        board.send_frame(11);
        poll_until(&mut c, "frame 11", |b| b.contains(&seq_lines(11)));

        let idle: Vec<TcpStream> = (0..1000)
            .map(|_| TcpStream::connect(serve.addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        for _ in 0..20 {
            let r = c.get("/poll");
            assert_eq!(r.status, 200, "{model}");
            assert!(r.body.contains(&seq_lines(11)), "{model}");
        }
        // A fresh connection and some of the idle ones are still answered.
        assert_eq!(Client::connect(serve.addr).get("/slider").status, 200);
        for s in idle.iter().step_by(100) {
            let mut ic = Client::from_stream(s.try_clone().unwrap());
            assert_eq!(ic.get("/poll").status, 200, "{model}: idle connection");
        }
        drop(idle);
        serve.stop();
    }
}
