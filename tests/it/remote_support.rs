//! Shared by the remote tests: an `esbench agent` process the test owns, a raw control
//! connection, the short scenario, and reading a run's results back.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const EXE: &str = env!("CARGO_BIN_EXE_esbench");
/// 16 random bytes in hex: the agent refuses weaker tokens.
pub const TOKEN: &str = "5f3a9c2e7b1d4068a2c4e6f8091b3d5e";

/// A one-board scenario with a command every 300 ms, short enough for a test.
pub const SCENARIO: &str = "name = \"remote-test\"\n\
description = \"remote tests: one board, one client, LED commands\"\n\
[boards]\ncount = 1\nsource = \"synth\"\nseed = 1\nframe_period_ms = 25.0\n\
[clients]\nper_board = 1\npoll_period_ms = 33.0\n\
[[clients.commands]]\npaths = [\"/leds/Red/100\", \"/leds/Red/0\"]\nevery_ms = 300.0\n\
[workload]\nwatchdog_period_ms = 25.0\n\
[run]\nwarmup_s = 0.5\nduration_s = 3.0\nquick_duration_s = 3.0\nmodels = [\"threads\"]\n";

/// A scratch directory holding the token file, the scenario and the agent's `--dir`.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        std::fs::write(dir.path().join("scenario.toml"), SCENARIO).unwrap();
        std::fs::create_dir(dir.path().join("agent")).unwrap();
        Scratch { dir }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// An agent process, killed (by its pid) when dropped.
pub struct AgentProc {
    pub child: Child,
    pub addr: String,
}

impl AgentProc {
    /// Starts `[prefix…] esbench agent --listen LISTEN …` with `env`, and waits for its
    /// `agent: listening on ADDR` line.
    pub fn start(s: &Scratch, prefix: &[&str], listen: &str, env: &[(&str, &str)]) -> AgentProc {
        let (program, args): (&str, Vec<&str>) = match prefix.split_first() {
            Some((p, rest)) => (p, rest.iter().copied().chain([EXE]).collect()),
            None => (EXE, Vec::new()),
        };
        let mut c = Command::new(program);
        c.args(args)
            .arg("agent")
            .arg("--listen")
            .arg(listen)
            .arg("--token-file")
            .arg(s.path("token"))
            .arg("--dir")
            .arg(s.path("agent"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().expect("start esbench agent");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("agent: listening on ")
            .unwrap_or_else(|| panic!("unexpected agent output {line:?}"))
            .to_string();
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        AgentProc { child, addr }
    }

    /// Waits for the agent to exit by itself (a test hook), up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let end = std::time::Instant::now() + limit;
        while std::time::Instant::now() < end {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The pids of the agent's own children right now (a started `serve` shows here).
    pub fn children(&self) -> Vec<i32> {
        let me = self.child.id() as i32;
        let mut kids = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            let ppid: i32 = rest.split_whitespace().nth(1).unwrap().parse().unwrap();
            if ppid == me {
                kids.push(pid);
            }
        }
        kids
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw control connection: one JSON line out, one back.
pub struct Raw {
    stream: BufReader<TcpStream>,
}

impl Raw {
    pub fn connect(addr: &str) -> Raw {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Raw {
            stream: BufReader::new(s),
        }
    }
    pub fn ask(&mut self, line: &str) -> serde_json::Value {
        let s = self.stream.get_mut();
        s.write_all(line.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
        let mut answer = String::new();
        self.stream.read_line(&mut answer).unwrap();
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
    }
}

/// `[prefix…] esbench run SCENARIO --out OUT [extra…]`; returns (exit code, stderr).
pub fn run(prefix: &[&str], scenario: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let (program, args): (&str, Vec<&str>) = match prefix.split_first() {
        Some((p, rest)) => (p, rest.iter().copied().chain([EXE]).collect()),
        None => (EXE, Vec::new()),
    };
    let o = Command::new(program)
        .args(args)
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(["--no-history", "--no-report"])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    (o.status.code().unwrap_or(-1), format!("{out}\n{err}"))
}

pub fn results(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}
