//! coop's I/O: readiness on a pty and on TCP, and cancelling a task blocked in a read.

use esbench::coop::{self, AsyncFd, Config, IoPollEvery, Runtime, TcpListener, TcpStream};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::time::Duration;

fn raw_pty() -> (OwnedFd, OwnedFd) {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
    nix::sys::termios::cfmakeraw(&mut t);
    nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
    (pty.master, pty.slave)
}

#[test]
fn pty_readiness() {
    for mode in [IoPollEvery::Task, IoPollEvery::Tasks(8), IoPollEvery::Pass] {
        let (master, slave) = raw_pty();
        let mut master = std::fs::File::from(master);
        let runtime = Runtime::new(Config {
            io_poll_every: mode,
            ..Config::default()
        })
        .unwrap();
        let writer = std::thread::spawn(move || {
            for chunk in [&b"ESP,1,2"[..], b",3,PSE\r\n", b"second\r\n"] {
                std::thread::sleep(Duration::from_millis(5));
                master.write_all(chunk).unwrap();
            }
            let mut back = [0u8; 2];
            master.read_exact(&mut back).unwrap();
            back
        });
        let got = runtime.block_on(async {
            let port = AsyncFd::new(slave).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while !got.ends_with(b"second\r\n") {
                let n = port.read(&mut buf).await.unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            port.write_all(b"R1").await.unwrap();
            got
        });
        assert_eq!(got, b"ESP,1,2,3,PSE\r\nsecond\r\n");
        assert_eq!(&writer.join().unwrap(), b"R1");
        let s = runtime.stats();
        assert!(s.epoll_events >= 1, "reads waited on epoll ({mode})");
    }
}

#[test]
fn tcp_accept_read_write() {
    let runtime = Runtime::new(Config::default()).unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /poll HTTP/1.1\r\n\r\n").unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).unwrap();
            reply
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 16];
        while !req.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0);
            req.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        drop(stream);
        let reply = client.join().unwrap();
        assert!(reply.ends_with("\r\n\r\nok"), "{reply}");

        // A coop client against the coop listener, both on the loop.
        let server = coop::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut b = [0u8; 5];
            let n = s.read(&mut b).await.unwrap();
            s.write_all(&b[..n]).await.unwrap();
        });
        let c = TcpStream::connect(addr).unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut b = [0u8; 5];
        let mut n = 0;
        while n < 5 {
            n += c.read(&mut b[n..]).await.unwrap();
        }
        assert_eq!(&b, b"hello");
        server.await.unwrap();
    });
}

#[test]
fn aborting_a_task_blocked_in_a_read() {
    let (master, slave) = raw_pty();
    let runtime = Runtime::new(Config::default()).unwrap();
    runtime.block_on(async {
        let reader = coop::spawn_named("reader", async move {
            let port = AsyncFd::new(slave).unwrap();
            let mut buf = [0u8; 8];
            port.read(&mut buf).await
        });
        coop::sleep(Duration::from_millis(5)).await;
        assert!(!reader.is_finished(), "nothing was written");
        reader.abort();
        assert_eq!(reader.await.unwrap_err(), coop::JoinError::Cancelled);
        // Data arriving after the cancellation wakes nobody and breaks nothing.
        std::fs::File::from(master).write_all(b"late").unwrap();
        coop::sleep(Duration::from_millis(5)).await;
    });
    assert_eq!(runtime.stats().tasks_live, 0);
}

/// After a short read coop waits for the next read event instead of asking the kernel again;
/// data that arrives while no task waits (its event taken by a zero-timeout poll between
/// tasks) must still be read at once, not left until more data comes.
#[test]
fn a_short_read_then_data_arriving_while_nobody_waits_is_not_lost() {
    for mode in [IoPollEvery::Task, IoPollEvery::Tasks(8), IoPollEvery::Pass] {
        let (master, slave) = raw_pty();
        let mut master = std::fs::File::from(master);
        let runtime = Runtime::new(Config {
            io_poll_every: mode,
            ..Config::default()
        })
        .unwrap();
        let got = runtime.block_on(async move {
            let port = AsyncFd::new(slave).unwrap();
            let mut buf = [0u8; 64];
            master.write_all(b"first").unwrap();
            let n = port.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"first", "a short read ({mode})");
            // More data while no read is pending; give the pty time to deliver it and the
            // loop a few turns (each may poll epoll with a zero timeout and take the event).
            master.write_all(b"second").unwrap();
            std::thread::sleep(Duration::from_millis(20));
            for _ in 0..20 {
                coop::yield_now().await;
            }
            coop::timeout(Duration::from_secs(2), port.read(&mut buf))
                .await
                .map(|r| buf[..r.unwrap()].to_vec())
        });
        assert_eq!(got.as_deref(), Ok(&b"second"[..]), "{mode}");
    }
}

/// The last data and the peer's FIN often come in one edge-triggered event: the short read
/// that takes the data must not make the next read wait for an event that never comes (the
/// CLOSE-WAIT leak of coop-v2 and coop-fastio): it must see the end of file.
#[test]
fn data_and_end_of_file_in_one_event_still_reach_end_of_file() {
    for mode in [IoPollEvery::Task, IoPollEvery::Tasks(8), IoPollEvery::Pass] {
        let runtime = Runtime::new(Config {
            io_poll_every: mode,
            ..Config::default()
        })
        .unwrap();
        let got = runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().await.unwrap();
            // Both arrive before the server's first read.
            client.write_all(b"request").unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            for _ in 0..20 {
                coop::yield_now().await;
            }
            let mut buf = [0u8; 64];
            let n = server.read(&mut buf).await.unwrap();
            let first = buf[..n].to_vec();
            let eof = coop::timeout(Duration::from_secs(2), server.read(&mut buf)).await;
            (first, eof.map(|r| r.unwrap()))
        });
        assert_eq!(got.0, b"request", "{mode}");
        assert_eq!(
            got.1,
            Ok(0),
            "{mode}: the end of file is read, not waited for"
        );
    }
}

/// The bridge reads the serial port through one fd and writes commands through another fd
/// of the same pty; each command makes the pty report write readiness on the read fd too. A
/// fd registered with `AsyncFd::reader` is not woken by that edge (one wake-up per command
/// less), and refuses writes instead of waiting for an edge that would never come.
#[test]
fn a_reader_is_not_woken_by_writes_through_another_fd() {
    let events = |reader: bool| {
        let (master, slave) = raw_pty();
        let mut master = std::fs::File::from(master);
        let mut commands = std::fs::File::from(slave.try_clone().unwrap());
        let runtime = Runtime::new(Config::default()).unwrap();
        let other = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            commands.write_all(b"R1").unwrap();
            let mut back = [0u8; 2];
            master.read_exact(&mut back).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            master.write_all(b"frame\n").unwrap();
            (back, master) // kept open: a hung-up pty discards unread input
        });
        let got = runtime.block_on(async {
            let port = if reader {
                AsyncFd::reader(slave).unwrap()
            } else {
                AsyncFd::new(slave).unwrap()
            };
            if reader {
                let e = port.write(b"x").await.unwrap_err();
                assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
            }
            let mut buf = [0u8; 64];
            let n = port.read(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        assert_eq!(got, b"frame\n");
        assert_eq!(&other.join().unwrap().0, b"R1");
        runtime.stats().epoll_events
    };
    assert_eq!(events(true), 1, "only the frame's read event");
    assert!(
        events(false) > 1,
        "the command's write-readiness edge woke the loop too"
    );
}
