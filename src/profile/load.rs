//! A model under load, for the profiling pass: `esbench serve` as a child, fed by the
//! scenario's virtual boards (`device::VirtualBoard`, on ptys) and polled by Scratch-like
//! clients over loopback.
//!
//! Deliberately small: `esbench run` has the faithful driver (latency from intended times,
//! floor, measured windows); profiling only needs the model doing its usual work at the
//! scenario's rates, and counts of what it handled so costs can be put per event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::EventCounts;
use crate::device::{DeviceConfig, VirtualBoard};
use crate::scenario::Scenario;

#[derive(Default)]
struct Counters {
    polls: AtomicU64,
    commands: AtomicU64,
}

/// A running `esbench serve` with its boards and clients. Stop it with [`Self::stop`]
/// (dropping it also stops it).
pub struct ModelUnderLoad {
    child: Option<Child>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    threads: Vec<JoinHandle<()>>,
    boards: Vec<VirtualBoard>,
}

impl ModelUnderLoad {
    /// Starts `exe serve --model MODEL` on the scenario's boards and waits until it listens,
    /// then starts the pollers and command senders.
    pub fn start(exe: &Path, model: &str, scenario: &Scenario) -> Result<ModelUnderLoad> {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let mut boards = Vec::new();
        for i in 0..scenario.boards.count.max(1) {
            let board = VirtualBoard::start(DeviceConfig::from_scenario(scenario, i))
                .with_context(|| format!("cannot start virtual board {i}"))?;
            boards.push(board);
        }
        let serials: Vec<PathBuf> = boards.iter().map(|b| b.path().to_path_buf()).collect();
        let base = free_port_base(serials.len() as u16)?;
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--model", model]);
        for p in &serials {
            cmd.arg("--serial").arg(p);
        }
        cmd.arg("--listen").arg(format!("127.0.0.1:{base}"));
        if let Some(p) = &scenario.path {
            cmd.arg("--scenario").arg(p);
        }
        allow_any_tracer(&mut cmd);
        // The model's own timer slack, not the inherited one (see driver::child_settings).
        crate::driver::child_settings::ChildSettings {
            timer_slack_ns: scenario.run.model_timer_slack_ns,
            cpus: None,
        }
        .install(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {} serve", exe.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut me = ModelUnderLoad {
            child: Some(child),
            stop,
            counters,
            threads: Vec::new(),
            boards,
        };
        let addrs = wait_listening(stdout, serials.len(), Duration::from_secs(15))
            .with_context(|| format!("`esbench serve --model {model}` did not start listening"))?;
        for (b, addr) in addrs.iter().enumerate() {
            for k in 0..scenario.clients.per_board.max(1) {
                let (s, c, a) = (me.stop.clone(), me.counters.clone(), *addr);
                let period = Duration::from_secs_f64(scenario.clients.poll_period_ms / 1e3);
                me.threads.push(
                    std::thread::Builder::new()
                        .name(format!("poller-{b}-{k}"))
                        .spawn(move || poll_loop(a, period, &s, &c))?,
                );
            }
            for pat in &scenario.clients.commands {
                let (s, c, a, paths) = (
                    me.stop.clone(),
                    me.counters.clone(),
                    *addr,
                    pat.paths.clone(),
                );
                let period = Duration::from_secs_f64(pat.every_ms / 1e3);
                me.threads.push(
                    std::thread::Builder::new()
                        .name(format!("commands-{b}"))
                        .spawn(move || command_loop(a, &paths, period, &s, &c))?,
                );
            }
        }
        Ok(me)
    }

    /// The serve child's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Cumulative events handled so far: answered polls, frames the boards wrote, commands
    /// answered.
    pub fn events(&self) -> EventCounts {
        EventCounts {
            polls: self.counters.polls.load(Ordering::Relaxed),
            frames: self.boards.iter().map(|b| b.stats().frames_written).sum(),
            commands: self.counters.commands.load(Ordering::Relaxed),
        }
    }

    /// SIGTERM to serve (it exits cleanly), then stops the boards and clients.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let mut result = Ok(());
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match child.try_wait() {
                    Ok(Some(st)) => {
                        if !st.success() {
                            result = Err(anyhow::anyhow!("serve exited with {st}"));
                        }
                        break;
                    }
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        result = Err(anyhow::anyhow!("serve did not stop on SIGTERM; killed"));
                        break;
                    }
                }
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for b in self.boards.drain(..) {
            let _ = b.stop();
        }
        result
    }
}

impl Drop for ModelUnderLoad {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Under Yama `ptrace_scope` 1 (Ubuntu's default) only a process's ancestors may trace it,
/// and strace is our child, not serve's parent: the serve child declares any tracer of its
/// uid welcome (Yama keeps this across exec; without Yama it changes nothing).
fn allow_any_tracer(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and nothing is allocated between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0);
            Ok(())
        });
    }
}

/// Reads `listening <addr>` lines until there is one per board.
fn wait_listening(
    stdout: std::process::ChildStdout,
    boards: usize,
    timeout: Duration,
) -> Result<Vec<SocketAddr>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if let Some(a) = line.strip_prefix("listening ") {
                if let Ok(addr) = a.trim().parse::<SocketAddr>() {
                    if tx.send(addr).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut addrs = Vec::new();
    while addrs.len() < boards {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(a) => addrs.push(a),
            Err(_) => bail!("saw {} of {boards} `listening` lines", addrs.len()),
        }
    }
    addrs.sort();
    Ok(addrs)
}

/// A base port with `n` free consecutive ports after it (serve puts board i on base + i).
fn free_port_base(n: u16) -> Result<u16> {
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let base = l.local_addr()?.port();
        drop(l);
        if base.checked_add(n).is_some()
            && (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return Ok(base);
        }
    }
    bail!("no {n} consecutive free loopback ports")
}

/// One keep-alive HTTP/1.1 GET; reconnects on error. Returns true on a 2xx answer.
fn get(conn: &mut Option<TcpStream>, addr: SocketAddr, path: &str) -> bool {
    if conn.is_none() {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                *conn = Some(s);
            }
            Err(_) => return false,
        }
    }
    let Some(s) = conn.as_mut() else { return false };
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let ok = s.write_all(req.as_bytes()).is_ok() && read_response(s).is_some_and(|c| c / 100 == 2);
    if !ok {
        *conn = None;
    }
    ok
}

/// Reads one response (headers + Content-Length body); its status code.
fn read_response(s: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        if let Ok(httparse::Status::Complete(head)) = resp.parse(&buf) {
            let code = resp.code?;
            let len: usize = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < head + len {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(code);
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
}

fn poll_loop(addr: SocketAddr, period: Duration, stop: &AtomicBool, counters: &Counters) {
    paced(period, stop, |conn| {
        if get(conn, addr, "/poll") {
            counters.polls.fetch_add(1, Ordering::Relaxed);
        }
    });
}

fn command_loop(
    addr: SocketAddr,
    paths: &[String],
    period: Duration,
    stop: &AtomicBool,
    counters: &Counters,
) {
    if paths.is_empty() {
        return;
    }
    let mut k = 0;
    paced(period, stop, |conn| {
        if get(conn, addr, &paths[k % paths.len()]) {
            counters.commands.fetch_add(1, Ordering::Relaxed);
        }
        k += 1;
    });
}

/// Calls `f` every `period` on absolute deadlines until `stop` (skipping missed ticks:
/// like Scratch, never two requests in flight).
fn paced(period: Duration, stop: &AtomicBool, mut f: impl FnMut(&mut Option<TcpStream>)) {
    let period = period.max(Duration::from_millis(1));
    let mut conn = None;
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        f(&mut conn);
        next += period;
        let now = Instant::now();
        while next < now {
            next += period;
        }
        std::thread::sleep(next - now);
    }
}
