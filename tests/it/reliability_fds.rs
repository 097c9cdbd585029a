//! No connection outlives its client, on any model: half-closed clients (FIN after the
//! request, or in the middle of one) and clients that reset the connection must leave no fd
//! and no CLOSE-WAIT socket behind in `esbench serve`.

use crate::bridge_support as support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::proc_probe::open_fds;
use support::*;

/// Clients per case: enough that a leak is unmistakable, few enough for a loaded machine.
const CLIENTS: usize = 20;

/// Waits (generously: the machine is shared) until the child's fd count is back to `base`.
fn wait_for_fds(pid: u32, base: usize) -> usize {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let n = open_fds(pid);
        if n <= base || Instant::now() > end {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Makes `close` send RST instead of FIN (SO_LINGER with a zero timeout).
fn reset_on_close(s: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt SO_LINGER");
}

/// The cases the issue found leaking on coop-v2 and coop-fastio. Returns the sockets that
/// stay open on this side (their server end must close anyway).
fn half_close_and_reset_battery(addr: std::net::SocketAddr) -> Vec<TcpStream> {
    let mut keep = Vec::new();
    for _ in 0..CLIENTS {
        // A whole request, then FIN: the answer must still come (then the server closes).
        let s = TcpStream::connect(addr).unwrap();
        (&s).write_all(b"GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut c = Client::from_stream(s);
        let reply = c.read_reply().expect("an answer to a half-closed request");
        assert_eq!(reply.status, 200, "{reply:?}");
        keep.push(c.stream);
        // FIN in the middle of a request: nothing to answer, the server just closes.
        let s = TcpStream::connect(addr).unwrap();
        (&s).write_all(b"GET /poll HTTP/1.1\r\nHo").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        keep.push(s);
        // RST in the middle of a request.
        let s = TcpStream::connect(addr).unwrap();
        (&s).write_all(b"GET /poll HTTP/1.1\r\n").unwrap();
        reset_on_close(&s);
        drop(s);
        // RST right after a whole request.
        let s = TcpStream::connect(addr).unwrap();
        (&s).write_all(b"GET /poll HTTP/1.1\r\n\r\n").unwrap();
        reset_on_close(&s);
        drop(s);
    }
    keep
}

/// True when the server closed its end of `s` (EOF or a reset within a short wait).
fn closed_by_server(mut s: &TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut sink = [0u8; 256];
    loop {
        match s.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn half_closed_and_reset_clients_leave_no_fd_behind_on_any_model() {
    let mut leaks = Vec::new();
    for model in models() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        assert_eq!(c.get("/poll").status, 200, "{model}");
        // Baseline with the polling client connected, after the model's start-up.
        std::thread::sleep(Duration::from_millis(100));
        let base = open_fds(serve.pid());
        let keep = half_close_and_reset_battery(serve.addr);
        // Our half-closed sockets are still open here: the server must have closed its end.
        let after = wait_for_fds(serve.pid(), base);
        let open = keep.iter().filter(|s| !closed_by_server(s)).count();
        drop(keep);
        // The server still answers on the connection it had.
        assert_eq!(c.get("/poll").status, 200, "{model}");
        if after > base || open > 0 {
            leaks.push(format!(
                "{model}: {base} fds before, {after} after; {open} half-closed connections \
                 not closed by the server"
            ));
        }
        serve.stop();
    }
    assert!(leaks.is_empty(), "connections leaked: {leaks:?}");
}
