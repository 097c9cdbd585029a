//! Valgrind's side of the instruction pass: the command that runs `serve` under callgrind,
//! the monitor commands sent to it through `vgdb`, and the reading of its dump files.
//!
//! Why callgrind and not cachegrind: valgrind 3.19's cachegrind counts a process from exec
//! to exit, start-up and warm-up included, and cannot be told when to start (its client
//! requests for that came in 3.22). Callgrind can: started with `--instr-atstart=no` it
//! counts nothing until `instrumentation on`, `zero` forgets what it counted, and `dump`
//! writes what it counted since. So
//! one pass counts exactly the window, without the subtraction of two pass lengths (each
//! with its own start-up noise) that cachegrind would need.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The tool as results.json names it.
pub const TOOL: &str = "callgrind (--instr-atstart=no; instrumentation on for the warm-up, \
                        zero at the window's start, dump at its end)";

/// How long one monitor command may take (valgrind answers between two basic blocks of the
/// guest, or when vgdb interrupts a guest blocked in a system call).
const MONITOR_TIMEOUT: Duration = Duration::from_secs(20);

/// What `valgrind --version` prints, and whether `vgdb` (which sends the monitor commands)
/// is there too; `Err` says what is missing, in one line.
pub fn available() -> Result<String, String> {
    let out = Command::new("valgrind")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("valgrind is not installed or not runnable here ({e})"))?;
    if !out.status.success() {
        return Err(format!("`valgrind --version` failed ({})", out.status));
    }
    if !on_path("vgdb") {
        return Err("valgrind's vgdb is not on PATH (it sends callgrind its commands)".into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(d.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The wrapper that runs serve under callgrind, counting nothing until told to, and writing
/// its dumps to `out` (`out.1` for the first `dump`).
pub fn wrapper(out: &Path) -> Vec<OsString> {
    let mut file = OsString::from("--callgrind-out-file=");
    file.push(out);
    [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--vgdb=yes",
        "--quiet",
    ]
    .iter()
    .map(OsString::from)
    .chain([file])
    .collect()
}

/// The file callgrind writes for the `n`th `dump` of a run whose output file is `out`.
pub fn dump_file(out: &Path, n: u32) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Sends one callgrind monitor command (`instrumentation on`, `zero`, `dump`) to the valgrind
/// process `pid` and waits until valgrind has run it.
pub fn monitor(pid: u32, command: &str) -> Result<(), String> {
    let mut child = Command::new("vgdb")
        .arg(format!("--pid={pid}"))
        // Interrupt a guest blocked in a system call after 10 ms rather than the default
        // 100 ms: the window's boundaries are where the command lands.
        .arg("--max-invoke-ms=10")
        .args(command.split_whitespace())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run vgdb: {e}"))?;
    let deadline = Instant::now() + MONITOR_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                let last = err.lines().rev().find(|l| !l.trim().is_empty());
                return Err(format!(
                    "vgdb {command:?} to pid {pid} failed ({st}){}",
                    last.map(|l| format!(": {}", l.trim())).unwrap_or_default()
                ));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "vgdb {command:?} to pid {pid}: no answer within {MONITOR_TIMEOUT:?}"
                ));
            }
            Err(e) => return Err(format!("waiting for vgdb: {e}")),
        }
    }
}

/// The instructions (`Ir`) a callgrind dump counted, from its `totals:` line (older files:
/// `summary:`). `Err` says why the text is not such a dump.
pub fn parse_totals(text: &str) -> Result<u64, String> {
    let events = text
        .lines()
        .find_map(|l| l.strip_prefix("events:"))
        .ok_or("no `events:` line: not a callgrind dump")?;
    if events.split_whitespace().next() != Some("Ir") {
        return Err(format!(
            "the dump's first event is {:?}, not Ir (instructions)",
            events.trim()
        ));
    }
    let line = |key: &str| text.lines().find_map(|l| l.strip_prefix(key));
    let totals = line("totals:")
        .or_else(|| line("summary:"))
        .ok_or("no `totals:` or `summary:` line: the dump is incomplete")?;
    let first = totals.split_whitespace().next().unwrap_or("");
    first
        .parse()
        .map_err(|_| format!("`totals:` holds {first:?}, not a count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head and tail of a real dump (valgrind 3.19, `esbench serve --model coop`).
    const DUMP: &str = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\n\
        pid: 32209\ncmd:  /work/wt/gp-bin/esbench serve --model coop --serial /dev/pts/2\n\
        part: 1\n\n\ndesc: I1 cache: \ndesc: D1 cache: \ndesc: LL cache: \n\n\
        desc: Timerange: Basic block 0 - 380170\ndesc: Trigger: dump\n\n\
        positions: line\nevents: Ir\nsummary: 1583197\n\n\nob=(1) /usr/lib/x.so\n\
        fl=(1) ???\nfn=(1) 0x000000000001d2b0\n0 5\n\ntotals: 1583197\n";

    #[test]
    fn reads_the_instruction_total_of_a_dump() {
        assert_eq!(parse_totals(DUMP), Ok(1_583_197));
        // Without `totals:` (older writers), `summary:` holds the same.
        let old = DUMP.replace("totals: 1583197\n", "");
        assert_eq!(parse_totals(&old), Ok(1_583_197));
        // Several events: the first is Ir.
        let two = DUMP
            .replace("events: Ir", "events: Ir Dr")
            .replace("totals: 1583197", "totals: 42 7");
        assert_eq!(parse_totals(&two), Ok(42));
    }

    #[test]
    fn refuses_what_is_not_a_complete_instruction_dump() {
        assert!(parse_totals("")
            .unwrap_err()
            .contains("not a callgrind dump"));
        let e = parse_totals(&DUMP.replace("events: Ir", "events: Dr")).unwrap_err();
        assert!(e.contains("not Ir"), "{e}");
        let cut = DUMP
            .replace("totals: 1583197\n", "")
            .replace("summary: 1583197\n", "");
        assert!(parse_totals(&cut).unwrap_err().contains("incomplete"));
        let e = parse_totals(&DUMP.replace("totals: 1583197", "totals: lots")).unwrap_err();
        assert!(e.contains("\"lots\""), "{e}");
    }

    #[test]
    fn the_wrapper_counts_nothing_until_told_and_dumps_are_numbered() {
        let w = wrapper(Path::new("/tmp/x/cg.out"));
        assert_eq!(w[0], "valgrind");
        assert!(w.iter().any(|a| a == "--instr-atstart=no"));
        assert!(w.iter().any(|a| a == "--callgrind-out-file=/tmp/x/cg.out"));
        assert_eq!(
            dump_file(Path::new("/tmp/x/cg.out"), 1),
            PathBuf::from("/tmp/x/cg.out.1")
        );
    }
}
