//! Test plumbing shared by the bridge's integration tests: a scripted board on a real pty
//! (behind a symlink, so it can be "unplugged" and "plugged back"), an `esbench serve`
//! child process, and a minimal blocking HTTP/1.1 client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use esbench::bridge::ServeStats;
use esbench::protocol::frame::{encode_frame, RawFrame};

/// Held while a pty is created and made close-on-exec, and while a child is spawned, so no
/// child of a parallel test inherits another test's pty.
static SPAWN_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Generous: the test machine is shared and slow.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A board on a pty. The bridge opens `link`, a symlink to the current pty slave.
pub struct FakeBoard {
    pub dir: tempfile::TempDir,
    pub link: PathBuf,
    master: Option<OwnedFd>,
    slave: Option<OwnedFd>,
    received: Vec<u8>,
}

impl FakeBoard {
    pub fn new() -> FakeBoard {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("esplora");
        let mut b = FakeBoard {
            dir,
            link,
            master: None,
            slave: None,
            received: Vec::new(),
        };
        b.plug();
        b
    }

    /// Makes a fresh pty and points the link at it (atomically).
    pub fn plug(&mut self) {
        let guard = SPAWN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let pty = nix::pty::openpty(None, None).unwrap();
        // Raw mode before anybody opens it, so nothing is echoed back to us.
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
        nix::fcntl::fcntl(
            &pty.master,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .unwrap();
        // Children (other tests' `esbench serve`) must not inherit the pty, or closing it
        // here would not hang it up.
        for fd in [&pty.master, &pty.slave] {
            nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .unwrap();
        }
        drop(guard);
        let target = nix::unistd::ttyname(&pty.slave).unwrap();
        let tmp = self.dir.path().join("esplora.new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&target, &tmp).unwrap();
        std::fs::rename(&tmp, &self.link).unwrap();
        self.master = Some(pty.master);
        self.slave = Some(pty.slave);
        self.received.clear();
    }

    /// Closes the pty: the bridge's reads fail with EIO, the link dangles.
    pub fn unplug(&mut self) {
        self.master = None;
        self.slave = None;
        let _ = std::fs::remove_file(&self.link);
    }

    /// Drops this side's slave handle and reports whether nobody else holds the slave open
    /// (then a master read fails with EIO instead of EAGAIN).
    pub fn slave_released(&mut self) -> bool {
        self.slave = None;
        let m = self.master.as_ref().expect("plugged");
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(m.as_fd(), &mut buf) {
                Ok(n) if n > 0 => continue,
                Err(nix::errno::Errno::EIO) => return true,
                _ => return false,
            }
        }
    }

    pub fn write(&self, bytes: &[u8]) {
        let m = self.master.as_ref().expect("plugged");
        let mut off = 0;
        while off < bytes.len() {
            match nix::unistd::write(m.as_fd(), &bytes[off..]) {
                Ok(n) => off += n,
                Err(nix::errno::Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => panic!("pty write: {e}"),
            }
        }
    }

    /// Writes one valid frame: `base` values with the sequence number in tkInput A/B.
    pub fn send_frame(&self, seq: u32) {
        let mut f = RawFrame { values: BASE_FRAME };
        f.set_seq(seq);
        let mut out = Vec::new();
        encode_frame(&f, &mut out);
        self.write(&out);
    }

    /// Everything the bridge wrote to the board so far.
    pub fn received(&mut self) -> &[u8] {
        if let Some(m) = self.master.as_ref() {
            let mut buf = [0u8; 1024];
            loop {
                match nix::unistd::read(m.as_fd(), &mut buf) {
                    Ok(0) => break,
                    Ok(n) => self.received.extend_from_slice(&buf[..n]),
                    Err(_) => break,
                }
            }
        }
        &self.received
    }

    /// Waits until the bridge wrote at least `n` bytes to the board.
    pub fn wait_received(&mut self, n: usize) -> Vec<u8> {
        let end = Instant::now() + TIMEOUT;
        while self.received().len() < n {
            assert!(
                Instant::now() < end,
                "board got only {:?}",
                String::from_utf8_lossy(&self.received)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.received.clone()
    }
}

/// The captured frame of docs/protocol.md §1 (tkInput A/B get overwritten by the sequence number).
pub const BASE_FRAME: [i32; 16] = [
    1, 1, 1, 1, 430, 973, 17, 0, 1023, -1, 3, 17, 21, 157, 376, 8,
];

/// An `esbench serve` child process.
pub struct Serve {
    child: Child,
    pub addr: SocketAddr,
    pub stats_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Serve {
    pub fn start(model: &str, serial: &Path) -> Serve {
        Serve::start_with(model, serial, &[])
    }

    pub fn start_with(model: &str, serial: &Path, extra: &[&str]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let stats_path = dir.path().join("stats.json");
        let guard = SPAWN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut child = Command::new(env!("CARGO_BIN_EXE_esbench"))
            .args([
                "serve",
                "--model",
                model,
                "--listen",
                "127.0.0.1:0",
                "--serial",
            ])
            .arg(serial)
            .arg("--stats-out")
            .arg(&stats_path)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        drop(guard);
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{model}: expected `listening ADDR`, got {line:?}"))
            .parse()
            .unwrap();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = lines.read_to_string(&mut sink);
        });
        Serve {
            child,
            addr,
            stats_path,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, wait for a clean exit, read the stats file.
    pub fn stop(mut self) -> ServeStats {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let end = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < end, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "serve exited with {status}");
        let text = std::fs::read_to_string(&self.stats_path).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP/1.1 client on one connection (a new one after an answer that said
/// `Connection: close`, as a browser would).
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).unwrap())
    }

    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn get(&mut self, path: &str) -> Reply {
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        self.stream.write_all(req.as_bytes()).unwrap();
        let r = self
            .read_reply()
            .unwrap_or_else(|| panic!("no answer to {path}"));
        if r.head.to_ascii_lowercase().contains("connection: close") {
            let addr = self.stream.peer_addr().unwrap();
            *self = Client::connect(addr);
        }
        r
    }

    /// Reads one response; None on EOF.
    pub fn read_reply(&mut self) -> Option<Reply> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    let body =
                        String::from_utf8_lossy(&self.buf[end + 4..end + 4 + len]).to_string();
                    self.buf.drain(..end + 4 + len);
                    let status = head[9..12].parse().unwrap();
                    return Some(Reply { status, head, body });
                }
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// True when the server closed the connection (EOF, or a reset).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 64];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Polls until `pred` holds for the `/poll` body (or the timeout).
pub fn poll_until(c: &mut Client, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + TIMEOUT;
    loop {
        let r = c.get("/poll");
        assert_eq!(r.status, 200);
        if pred(&r.body) {
            return r.body;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}; last body {:?}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `(tkInput/A, tkInput/B)` encoding of a sequence number, as `/poll` lines.
pub fn seq_lines(seq: u32) -> String {
    format!("tkInput/A {}\ntkInput/B {}\n", seq / 1024, seq % 1024)
}

/// Every model of this build's default run (the teaching group, wrong on purpose, fails
/// the no-busy-wait and idle-connection tests by design).
pub fn models() -> Vec<&'static str> {
    esbench::models::default_run()
        .iter()
        .map(|m| m.name)
        .collect()
}

/// Every model of this build, the teaching group included (for conformance).
pub fn all_models() -> Vec<&'static str> {
    esbench::models::ALL.iter().map(|m| m.name).collect()
}
