//! `esbench device`: a virtual Esplora on a pseudo-terminal, for the bridge, for `cat`, for
//! Python's `serial`, for anything that would open a real board.

use crate::device::{DeviceConfig, VirtualBoard};
use crate::scenario::Scenario;
use crate::source::line::LineOptions;
use crate::source::synth::SynthOptions;
use crate::source::SourceSpec;
use crate::units::parse_duration;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs a virtual Esplora on a pseudo-terminal; prints `device: /dev/pts/N` first.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench device                                   # synthetic board until Ctrl-C
  esbench device --link /tmp/esplora --log commands.jsonl --duration 60s
  esbench device --replay scenarios/streams/classroom-synth.esrec
  esbench device --scenario scenarios/bursty.toml  # the scenario's board 0

Then, from another shell (the board streams only after it reads `C`):
  exec 3<>/tmp/esplora; printf C >&3; head -n 5 <&3")]
pub struct DeviceArgs {
    /// Stream the seeded synthetic board (the default).
    #[arg(long, conflicts_with = "replay")]
    pub synth: bool,
    /// Stream a recording made with `esbench record` instead.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Play the recording once, then stay silent, instead of looping it.
    #[arg(long, requires = "replay")]
    pub once: bool,
    /// Seed of the synthetic board [default: 1, or the scenario's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop after this long (e.g. `90s`, `500ms`, `2m`, or plain seconds).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Take source, seed, timing quirks and line noise from a scenario file.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Which of the scenario's boards to be (seed = boards.seed + BOARD).
    #[arg(long, default_value_t = 0, requires = "scenario")]
    pub board: u32,
    /// Also create a symlink to the pty here (replaced if it exists, removed at exit).
    #[arg(long, value_name = "PATH")]
    pub link: Option<PathBuf>,
    /// Append every received command as a JSON line with its CLOCK_MONOTONIC time.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Stamp each frame's sequence number into tkInput A/B (harness instrumentation).
    #[arg(long)]
    pub stamp_seq: bool,
    /// Freeze the stream this long after each numeric command, like the sketch's parseInt
    /// timeout (the sketch: 1000; default: 0, or the scenario's).
    #[arg(long, value_name = "MS")]
    pub command_freeze_ms: Option<u64>,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Makes SIGINT, SIGTERM and SIGHUP set a flag instead of killing the process, so commands
/// can clean up (remove `--link`, finish files) whichever way they are stopped: Ctrl-C, a
/// service manager, a closed terminal. Returns the flag.
pub fn stop_on_signals() -> anyhow::Result<&'static AtomicBool> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(&STOP)
}

fn config(args: &DeviceArgs) -> anyhow::Result<DeviceConfig> {
    let mut cfg = match &args.scenario {
        Some(path) => {
            let s = Scenario::load(path)?;
            anyhow::ensure!(
                args.board < s.boards.count,
                "--board {} but {} has {} board(s)",
                args.board,
                path.display(),
                s.boards.count
            );
            DeviceConfig::from_scenario(&s, args.board)
        }
        None => DeviceConfig::synth(1),
    };
    cfg.stamp_seq = args.stamp_seq;
    if let Some(path) = &args.replay {
        cfg.source = SourceSpec::Replay {
            path: path.clone(),
            looped: !args.once,
            line: LineOptions::default(),
        };
    }
    if let Some(seed) = args.seed {
        match &mut cfg.source {
            SourceSpec::Synth(o) => o.seed = seed,
            SourceSpec::Replay { .. } => anyhow::bail!("--seed only applies to a synthetic board"),
        }
    }
    if args.synth {
        if let SourceSpec::Replay { .. } = cfg.source {
            cfg.source = SourceSpec::Synth(SynthOptions {
                seed: args.seed.unwrap_or(1),
                ..SynthOptions::default()
            });
        }
    }
    if let Some(ms) = args.command_freeze_ms {
        cfg.command_freeze_ms = ms;
    }
    cfg.link = args.link.clone();
    cfg.log = args.log.clone();
    cfg.duration = args.duration;
    Ok(cfg)
}

pub fn exec(args: DeviceArgs) -> anyhow::Result<i32> {
    let cfg = config(&args)?;
    let stop = stop_on_signals()?;
    let board = VirtualBoard::start(cfg.clone())?;
    let mut out = std::io::stdout().lock();
    // Whoever started us may stop reading after the first line (`| head -1`, a test, the
    // driver), or never read at all; a closed stdout must not take the board down, so all
    // of this is best effort.
    let _ = writeln!(out, "device: {}", board.path().display()).and_then(|_| out.flush());
    if let Some(link) = &cfg.link {
        let _ = writeln!(out, "link: {}", link.display()).and_then(|_| out.flush());
    }
    drop(out);
    let what = match &cfg.source {
        SourceSpec::Synth(o) => format!("synthetic board, seed {}", o.seed),
        SourceSpec::Replay { path, .. } => format!("replaying {}", path.display()),
    };
    let _ = writeln!(
        std::io::stderr(),
        "esbench device: {what}; waiting for `C` (Ctrl-C to stop)"
    );
    while !stop.load(Ordering::Relaxed) && !board.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = board.stop()?;
    let _ = writeln!(
        std::io::stderr(),
        "esbench device: {} frames written, {} dropped, {} commands, reader opened {} time(s)",
        stats.frames_written,
        stats.frames_dropped,
        stats.commands,
        stats.reader_opens
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3d")
            .unwrap_err()
            .contains("is not a duration"));
        assert!(parse_duration("-1s").is_err());
    }
}
