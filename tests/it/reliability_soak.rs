//! The fault soak (run by `scripts/soak.sh`, ignored in a plain `cargo test`): every model's
//! `esbench serve` runs at the same time, each with its own pty board, under a mixed fault
//! load for `SOAK_SECONDS`:
//! - the board streams sequence-stamped frames every 25 ms with junk lines between them,
//!   and is unplugged for 300 ms every few seconds, then plugged back;
//! - a Scratch client polls every 33 ms and sends an LED command every second, throughout;
//! - a bad-HTTP flood (malformed, oversized, unsupported), slow clients dribbling a header,
//!   half-closed and reset connections.
//!
//! Per model it reports panics, fd count and RSS before and after the load, frames sent and
//! accepted, polls answered, and the time from each replug until Scratch sees a new frame.
//! It fails on any panic, any lost valid frame (every frame sent must appear in the bridge's
//! ingest log), a failed Scratch poll, an fd count that does not come back to
//! [`FD_SLACK`] of where it started, or RSS growth beyond [`rss_bound_kib`].

use crate::common;

use crate::bridge_support as support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::proc_probe::open_fds;
use support::*;

/// Extra fds allowed at the end over the start (after the load stopped and drained).
const FD_SLACK: usize = 2;

/// RSS growth allowed: 16 MiB plus a quarter of the starting RSS (allocator arenas of
/// per-connection threads settle at a few MiB; a leak of a connection's buffers per fault
/// connection over minutes would far exceed it).
fn rss_bound_kib(start: u64) -> u64 {
    16 * 1024 + start / 4
}

const UNPLUG_EVERY: Duration = Duration::from_secs(4);
const UNPLUGGED_FOR: Duration = Duration::from_millis(300);

#[derive(Default, Debug, Clone)]
struct Row {
    model: String,
    panics: usize,
    fds: (usize, usize),
    rss_kib: (u64, u64),
    frames_sent: u64,
    frames_accepted: u64,
    frames_lost: u64,
    polls_ok: u64,
    polls_failed: u64,
    fault_connections: u64,
    replugs: u64,
    recovery_ms: Vec<f64>,
    problems: Vec<String>,
}

impl Row {
    fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `esbench serve` with its stderr collected (panics are looked for there).
struct Child2 {
    child: Child,
    addr: SocketAddr,
    stats: std::path::PathBuf,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

fn start_serve(model: &str, serial: &Path) -> Child2 {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let mut child = common::esbench()
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
        .arg(&stats)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("{model}: {line:?}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = out.read_to_string(&mut sink);
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let (mut err, text) = (child.stderr.take().unwrap(), stderr.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    Child2 {
        child,
        addr,
        stats,
        stderr,
        _dir: dir,
    }
}

/// One tiny deterministic generator per thread (no shared state, repeatable runs).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// A junk line for the noisy line: never contains `E` (so never a frame start).
fn junk(rng: &mut Lcg) -> Vec<u8> {
    let n = 1 + rng.next() as usize % 40;
    let mut v: Vec<u8> = (0..n)
        .map(|_| match rng.next() as u8 {
            b'E' => b'e',
            b => b,
        })
        .collect();
    v.extend_from_slice(b"\r\n");
    v
}

fn reset_on_close(s: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
}

/// Bad HTTP, slow clients, half-closed and reset connections until `stop`; returns how many
/// fault connections were made.
fn fault_load(addr: SocketAddr, stop: &AtomicBool, seed: u64) -> u64 {
    let mut rng = Lcg(seed);
    let mut made = 0u64;
    let mut slow: Vec<(TcpStream, Instant)> = Vec::new();
    let bad: [&[u8]; 5] = [
        b"BLAH /poll HTTP/1.1\r\nbad header line\r\n\r\n",
        b"GET /poll HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /leds/Red/999 HTTP/1.1\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
    ];
    while !stop.load(Ordering::Relaxed) {
        let short = Some(Duration::from_secs(5));
        // Bad requests: each must be answered (or the connection closed), never hang.
        for _ in 0..3 {
            if let Ok(s) = TcpStream::connect(addr) {
                made += 1;
                let _ = s.set_read_timeout(short);
                let req = bad[rng.next() as usize % bad.len()];
                let _ = (&s).write_all(req);
                let mut sink = [0u8; 512];
                let _ = (&s).read(&mut sink);
            }
        }
        // Oversized head.
        if let Ok(s) = TcpStream::connect(addr) {
            made += 1;
            let _ = s.set_read_timeout(short);
            let mut big = b"GET /poll HTTP/1.1\r\nX-Filler: ".to_vec();
            big.extend(vec![b'x'; 20_000]);
            let _ = (&s).write_all(&big);
            let mut sink = [0u8; 512];
            let _ = (&s).read(&mut sink);
        }
        // Half-closed after a whole request, and in the middle of one.
        for req in [
            &b"GET /poll HTTP/1.1\r\n\r\n"[..],
            b"GET /poll HTTP/1.1\r\nHo",
        ] {
            if let Ok(s) = TcpStream::connect(addr) {
                made += 1;
                let _ = s.set_read_timeout(short);
                let _ = (&s).write_all(req);
                let _ = s.shutdown(std::net::Shutdown::Write);
                let mut sink = Vec::new();
                let _ = (&s).read_to_end(&mut sink);
            }
        }
        // Reset mid-request.
        if let Ok(s) = TcpStream::connect(addr) {
            made += 1;
            let _ = (&s).write_all(b"GET /poll HTTP/1.1\r\n");
            reset_on_close(&s);
        }
        // Slow clients: keep three dribbling a header a byte a second (cut off by the
        // bridge's header timeout); replace the ones it closed.
        slow.retain(|(s, _)| {
            let mut b = [0u8; 256];
            let _ = s.set_nonblocking(true);
            // Still open only while a read would block: an answer (408), EOF or a reset
            // means the bridge cut it off.
            matches!((&*s).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        });
        while slow.len() < 3 {
            match TcpStream::connect(addr) {
                Ok(s) => {
                    made += 1;
                    let _ = (&s).write_all(b"GET /poll HTTP/1.1\r\n");
                    slow.push((s, Instant::now()));
                }
                Err(_) => break,
            }
        }
        for (s, last) in slow.iter_mut() {
            if last.elapsed() >= Duration::from_secs(1) {
                let _ = s.set_nonblocking(false);
                let _ = (&*s).write_all(b"X");
                *last = Instant::now();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    made
}

/// Scratch: a poll every 33 ms and an LED command every second on one keep-alive
/// connection, until `stop`. Returns (answered, failed).
fn scratch(addr: SocketAddr, stop: &AtomicBool) -> (u64, u64) {
    let (mut ok, mut failed) = (0, 0);
    let mut c = Client::connect(addr);
    let mut next_cmd = Instant::now();
    let mut led = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let path = if Instant::now() >= next_cmd {
            next_cmd += Duration::from_secs(1);
            led = (led + 1) % 2;
            format!("/leds/Red/{}", led * 100)
        } else {
            "/poll".to_string()
        };
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        let answered = c.stream.write_all(req.as_bytes()).is_ok()
            && matches!(c.read_reply(), Some(r) if r.status == 200 || (r.status == 503 && path != "/poll"));
        if answered {
            ok += 1;
        } else {
            failed += 1;
            c = Client::connect(addr);
        }
        std::thread::sleep(Duration::from_millis(33));
    }
    (ok, failed)
}

/// Polls on `c` until the body shows frame `seq`; the time it took, or None after 10 s.
fn wait_for_seq(c: &mut Client, seq: u32) -> Option<Duration> {
    let start = Instant::now();
    let want = seq_lines(seq);
    while start.elapsed() < Duration::from_secs(10) {
        if c.get("/poll").body.contains(&want) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Waits until the bridge wrote `C` to a freshly plugged board.
fn wait_for_start(board: &mut FakeBoard) -> bool {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if board.received().contains(&b'C') {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn soak_one(model: &'static str, duration: Duration, seed: u64) -> Row {
    let mut row = Row {
        model: model.to_string(),
        ..Row::default()
    };
    let mut board = FakeBoard::new();
    let mut serve = start_serve(model, &board.link);
    let pid = serve.child.id();
    let addr = serve.addr;
    let mut checker = Client::connect(addr);
    checker.get("/poll");
    let mut sent = BTreeSet::new();
    let mut rng = Lcg(seed);
    let mut seq = 1u32;
    if !wait_for_start(&mut board) {
        row.problems.push("the bridge never sent C".into());
    }
    // Warm-up: frames flowing, Scratch polling, no faults yet; then the baseline.
    let stop_scratch = Arc::new(AtomicBool::new(false));
    let scratch_thread = {
        let stop = stop_scratch.clone();
        std::thread::spawn(move || scratch(addr, &stop))
    };
    let warm_end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < warm_end {
        board.send_frame(seq);
        sent.insert(seq);
        seq += 1;
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = wait_for_seq(&mut checker, seq - 1);
    row.fds.0 = open_fds(pid);
    row.rss_kib.0 = rss_kib(pid);

    let stop_faults = Arc::new(AtomicBool::new(false));
    let faults = {
        let stop = stop_faults.clone();
        std::thread::spawn(move || fault_load(addr, &stop, seed))
    };
    let end = Instant::now() + duration;
    let mut next_unplug = Instant::now() + UNPLUG_EVERY;
    while Instant::now() < end {
        if rng.next().is_multiple_of(3) {
            board.write(&junk(&mut rng));
        }
        board.send_frame(seq);
        sent.insert(seq);
        seq += 1;
        std::thread::sleep(Duration::from_millis(25));
        if Instant::now() >= next_unplug {
            // Every frame sent so far must be in before the board goes away.
            if wait_for_seq(&mut checker, seq - 1).is_none() {
                row.problems
                    .push(format!("frame {} never reached /poll", seq - 1));
            }
            board.unplug();
            std::thread::sleep(UNPLUGGED_FOR);
            let plugged = Instant::now();
            board.plug();
            row.replugs += 1;
            if !wait_for_start(&mut board) {
                row.problems.push("no C after a replug".into());
                break;
            }
            board.send_frame(seq);
            sent.insert(seq);
            seq += 1;
            match wait_for_seq(&mut checker, seq - 1) {
                Some(_) => row.recovery_ms.push(plugged.elapsed().as_secs_f64() * 1e3),
                None => row
                    .problems
                    .push("no frame reached /poll after a replug".into()),
            }
            next_unplug = Instant::now() + UNPLUG_EVERY;
        }
    }
    stop_faults.store(true, Ordering::Relaxed);
    row.fault_connections = faults.join().unwrap_or(0);
    let _ = wait_for_seq(&mut checker, seq - 1);
    // Let the bridge close what the fault load left (slow clients, lingering closes).
    let settle = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) > row.fds.0 && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
    }
    row.fds.1 = open_fds(pid);
    row.rss_kib.1 = rss_kib(pid);
    stop_scratch.store(true, Ordering::Relaxed);
    let (ok, failed) = scratch_thread.join().unwrap_or((0, u64::MAX));
    row.polls_ok = ok;
    row.polls_failed = failed;
    drop(checker);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = serve.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stderr = serve.stderr.lock().unwrap().clone();
    row.panics = stderr.matches("panicked").count();
    if !status.success() {
        row.problems.push(format!("serve exited with {status}"));
    }
    let accepted: BTreeSet<u32> = match std::fs::read_to_string(&serve.stats)
        .ok()
        .and_then(|t| serde_json::from_str::<esbench::bridge::ServeStats>(&t).ok())
    {
        Some(stats) => {
            row.frames_accepted = stats.boards[0].frames_accepted;
            stats.boards[0].ingest.iter().map(|(s, _)| *s).collect()
        }
        None => {
            row.problems.push("no stats file".into());
            BTreeSet::new()
        }
    };
    row.frames_sent = sent.len() as u64;
    row.frames_lost = sent.difference(&accepted).count() as u64;

    if row.panics > 0 {
        row.problems
            .push(format!("{} panics: {stderr}", row.panics));
    }
    if row.frames_lost > 0 {
        row.problems
            .push(format!("{} valid frames lost", row.frames_lost));
    }
    if row.polls_failed > 0 {
        row.problems
            .push(format!("{} Scratch requests failed", row.polls_failed));
    }
    if row.fds.1 > row.fds.0 + FD_SLACK {
        row.problems
            .push(format!("fds grew {} -> {}", row.fds.0, row.fds.1));
    }
    if row.rss_kib.1 > row.rss_kib.0 + rss_bound_kib(row.rss_kib.0) {
        row.problems.push(format!(
            "RSS grew {} -> {} KiB",
            row.rss_kib.0, row.rss_kib.1
        ));
    }
    row
}

fn percentile(v: &[f64], p: f64) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| v[((v.len() - 1) as f64 * p).round() as usize])
}

/// The Markdown table of the soak (what `scripts/soak.sh` puts into docs/reliability.md).
fn table(rows: &[Row], secs: u64) -> String {
    let mut s = format!(
        "Soak: {secs} s per model, all models at once. fd and RSS: after the warm-up → after \
         the fault load stopped. Recovery: replug → first new frame seen by a poll \
         (median / max of the replugs).\n\n\
         | model | result | panics | fds | RSS KiB | frames sent | accepted | lost | \
         Scratch requests ok / failed | fault connections | replugs | recovery ms |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
    );
    for r in rows {
        let rec = match (
            percentile(&r.recovery_ms, 0.5),
            percentile(&r.recovery_ms, 1.0),
        ) {
            (Some(m), Some(x)) => format!("{m:.0} / {x:.0}"),
            _ => "—".into(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} → {} | {} → {} | {} | {} | {} | {} / {} | {} | {} | {} |\n",
            r.model,
            if r.passed() { "pass" } else { "**FAIL**" },
            r.panics,
            r.fds.0,
            r.fds.1,
            r.rss_kib.0,
            r.rss_kib.1,
            r.frames_sent,
            r.frames_accepted,
            r.frames_lost,
            r.polls_ok,
            r.polls_failed,
            r.fault_connections,
            r.replugs,
            rec
        ));
    }
    s
}

#[test]
#[ignore = "the fault soak: scripts/soak.sh [--minutes N]"]
fn fault_soak_every_model() {
    let secs: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let _ = esbench::fd_limit::raise_nofile_limit();
    let seeds = AtomicU64::new(1);
    let threads: Vec<_> = models()
        .into_iter()
        .map(|m| {
            let seed = seeds.fetch_add(1, Ordering::Relaxed);
            std::thread::spawn(move || soak_one(m, Duration::from_secs(secs), seed))
        })
        .collect();
    let rows: Vec<Row> = threads
        .into_iter()
        .map(|t| t.join().expect("a soak thread panicked"))
        .collect();
    let text = table(&rows, secs);
    println!("{text}");
    if let Ok(path) = std::env::var("SOAK_REPORT") {
        std::fs::write(&path, &text).unwrap();
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{}: {}", r.model, r.problems.join("; ")))
        .collect();
    assert!(failed.is_empty(), "soak failures:\n{}", failed.join("\n"));
}
