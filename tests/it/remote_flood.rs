//! An agent flooded by clients without the token — hundreds idle, some dripping a byte a
//! second, one guessing tokens — under a soft fd limit of 256 still serves the real driver a
//! whole run; the drip is closed at the first-request deadline, wrong guesses are slowed, and
//! the agent's threads stay bounded. Also: a guessable token file is refused at start.

use crate::remote_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use remote_support::{results, run, AgentProc, Scratch, EXE};

/// The agent's thread count, from /proc.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_flooded_agent_still_serves_the_driver() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED a_flooded_agent_still_serves_the_driver: no prlimit");
        return;
    }
    let s = Scratch::new();
    let agent = AgentProc::start(&s, &["prlimit", "--nofile=256:4096"], "127.0.0.1:0", &[]);
    let pid = agent.child.id();
    let stop = Arc::new(AtomicBool::new(false));

    // First a guesser on one connection: its answers come slower and slower.
    let answered = {
        let mut answered = Vec::new();
        let c = TcpStream::connect(&agent.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(c.try_clone().unwrap());
        let mut w = c;
        for k in 0..4 {
            let t = Instant::now();
            let line = format!("{{\"token\":\"guess{k}\",\"op\":\"time\"}}\n");
            w.write_all(line.as_bytes()).unwrap();
            let mut answer = String::new();
            r.read_line(&mut answer).unwrap();
            assert!(answer.contains("wrong token"), "{answer}");
            answered.push(t.elapsed());
        }
        answered
    };
    assert!(
        answered[3] >= Duration::from_millis(350) && answered[3] > answered[0],
        "the fourth wrong guess is answered after at least 400 ms: {answered:?}"
    );

    // 300 idle connections: more than the fd limit would allow, were each kept.
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(&agent.addr).ok())
        .collect();
    assert!(idle.len() > 250);

    // Four clients dripping a byte a second: each must be closed by the deadline (10 s).
    let drips: Vec<_> = (0..4)
        .map(|_| {
            let addr = agent.addr.clone();
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(&addr).unwrap();
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(60) {
                    if c.write_all(b"{").is_err() {
                        break;
                    }
                    // A shut-down socket reads end-of-file at once.
                    c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                    match c.read(&mut [0u8; 64]) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => break,
                    }
                }
                start.elapsed()
            })
        })
        .collect();

    // Meanwhile more idle connections keep coming, as a flood would.
    let flooder = {
        let (addr, stop) = (agent.addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                if let Ok(c) = TcpStream::connect(&addr) {
                    held.push(c);
                }
                if held.len() > 200 {
                    held.drain(..100);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // The real driver: a whole run through the flood.
    let out = s.path("out");
    let token = s.path("token");
    let (code, log) = run(
        &[],
        &s.path("scenario.toml"),
        &out,
        &[
            "--target",
            &agent.addr,
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    let peak_threads = threads(pid);
    stop.store(true, Ordering::SeqCst);
    assert_eq!(code, 0, "{log}");
    assert_eq!(results(&out)["models"][0]["status"], "ok");
    assert!(
        peak_threads <= 40,
        "the agent's threads are bounded (28 connections and its own): {peak_threads}"
    );

    for d in drips {
        let lasted = d.join().unwrap();
        assert!(
            lasted < Duration::from_secs(30),
            "a drip was closed at the deadline, not kept: {lasted:?}"
        );
    }
    flooder.join().unwrap();
    drop(idle);
}

#[test]
fn a_guessable_token_file_is_refused() {
    let s = Scratch::new();
    std::fs::write(s.path("weak"), "hunter2\n").unwrap();
    let out = std::process::Command::new(EXE)
        .args(["agent", "--listen", "127.0.0.1:0", "--token-file"])
        .arg(s.path("weak"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("guessable") && stderr.contains(&s.path("weak").display().to_string()),
        "{stderr}"
    );
}
