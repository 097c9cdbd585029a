//! `esbench serve`'s start-up check of `--serial`, through the real binary: a path that is not
//! a terminal (`/dev/null`, a regular file) or does not exist is refused at once with the
//! path named, instead of being "reconnected" twenty times a second; a pseudo-terminal is
//! accepted.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn spawn(args: &[&str]) -> Child {
    common::esbench()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits up to `limit` for the child to exit; kills it (and fails) if it does not.
fn exits_within(mut child: Child, limit: Duration) -> (i32, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("esbench serve was still running after {limit:?}: it accepted the path");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn non_terminals_and_missing_paths_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-board.txt");
    std::fs::write(&file, "ESP,1,2,3\n").unwrap();
    let missing = dir.path().join("ttyACM9");
    for (path, expect) in [
        ("/dev/null", "/dev/null is not a terminal"),
        (file.to_str().unwrap(), "not-a-board.txt is not a terminal"),
        (missing.to_str().unwrap(), "ttyACM9 does not exist"),
        (dir.path().to_str().unwrap(), "is a directory"),
    ] {
        let child = spawn(&["serve", "--serial", path, "--listen", "127.0.0.1:0"]);
        let (code, err) = exits_within(child, Duration::from_secs(10));
        assert_eq!(code, 2, "{path}: {err}");
        assert!(err.contains(expect), "{path}: {err}");
    }
}

#[test]
fn a_pseudo_terminal_is_accepted() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let mut child = spawn(&[
        "serve",
        "--serial",
        slave.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let mut line = String::new();
    // Kept open until the child is gone: it prints its statistics there on SIGTERM.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let (code, err) = exits_within(child, Duration::from_secs(20));
    assert!(line.starts_with("listening "), "{line:?} {err}");
    assert_eq!(code, 0, "{err}");
    drop((pty, stdout));
}

/// Starts `esbench serve` on a fresh pty with `args` (the pty path replaces `{pty}`; the
/// listen port must not be 50209), reads its four start-up lines (listening, the two files,
/// the port note), stops it, and returns them.
fn start_up_lines(args: &[&str]) -> Vec<String> {
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let slave = slave.to_str().unwrap();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "{pty}" { slave } else { a })
        .collect();
    let mut child = spawn(&args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    while lines.len() < 4 {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push(line.trim_end().to_string());
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let (code, err) = exits_within(child, Duration::from_secs(20));
    assert_eq!(code, 0, "{args:?}: {err}");
    drop((pty, stdout));
    lines
}

#[test]
fn the_serial_port_can_be_given_positionally_as_esp4s_takes_it() {
    let lines = start_up_lines(&["serve", "{pty}", "--listen", "127.0.0.1:0"]);
    assert!(lines[0].starts_with("listening 127.0.0.1:"), "{lines:?}");
    let lines = start_up_lines(&["serve", "--serial", "{pty}", "--listen", "127.0.0.1:0"]);
    assert!(lines[0].starts_with("listening 127.0.0.1:"), "{lines:?}");
}

#[test]
fn without_a_port_it_is_esp4s_default_and_both_forms_at_once_are_refused() {
    if std::path::Path::new("/dev/ttyACM0").exists() {
        println!("SKIPPED the default-port half: this machine has a /dev/ttyACM0");
    } else {
        let child = spawn(&["serve", "--listen", "127.0.0.1:0"]);
        let (code, err) = exits_within(child, Duration::from_secs(10));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("/dev/ttyACM0 does not exist"), "{err}");
    }
    let child = spawn(&["serve", "/dev/pts/1", "--serial", "/dev/pts/2"]);
    let (code, err) = exits_within(child, Duration::from_secs(10));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn serve_prints_where_the_scratch_and_snap_files_are() {
    let lines = start_up_lines(&["serve", "{pty}", "--listen", "127.0.0.1:0"]);
    let file_of = |prefix: &str| {
        let line = lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {lines:?}"));
        std::path::PathBuf::from(line[prefix.len()..].trim())
    };
    let s2e = file_of("scratch 2 extension ");
    let snap = file_of("snap! blocks ");
    assert!(
        s2e.ends_with("docs/scratch/esbench.s2e") && s2e.is_file(),
        "{s2e:?}"
    );
    assert!(snap.ends_with("docs/scratch/esbench_snap_blocks.xml") && snap.is_file());
    // Port 0 is not the files' 50209: the user is told.
    assert!(
        lines[3].starts_with("note: those files talk to port 50209"),
        "{lines:?}"
    );
}
