//! `esbench record`: capture a board's stream (or any tty's) into a `.esrec` recording that
//! `esbench device --replay` and `source = "replay"` scenarios play back with its timing.

use crate::cli::device::stop_on_signals;
use crate::clock::now_ns;
use crate::protocol::frame::FrameDecoder;
use crate::source::recording::{Header, RecordingWriter};
use crate::source::serial::{SerialLink, DEFAULT_BAUD};
use crate::units::parse_duration;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Captures a board's (or any tty's) stream into a replayable .esrec file.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench record --serial /dev/ttyACM0 --out my-board.esrec --duration 60s
  esbench record --serial /dev/pts/3 --out synth.esrec --duration 30s \\
      --origin \"synthetic: esbench device --synth --seed 1 (not a real board)\"

Sends `C` first (so the board starts streaming) and `S` at the end. Stops after --duration
or on Ctrl-C; the file only appears once the capture ended cleanly.")]
pub struct RecordArgs {
    /// The serial port: a real Esplora (/dev/ttyACM0) or a virtual one (/dev/pts/N).
    #[arg(long, value_name = "PATH")]
    pub serial: PathBuf,
    /// Where to write the recording.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How long to capture (e.g. `60s`, `2m`); default: until Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    pub baud: u32,
    /// What the bytes are, for whoever replays them [default: "captured from PATH"].
    /// Label synthetic streams as such.
    #[arg(long, value_name = "TEXT")]
    pub origin: Option<String>,
    /// Do not send `C` first (the board is already streaming).
    #[arg(long)]
    pub no_start: bool,
}

pub fn exec(args: RecordArgs) -> anyhow::Result<i32> {
    let stop = stop_on_signals()?;
    let mut link = SerialLink::open(&args.serial, args.baud, Duration::from_millis(50))?;
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| format!("captured from {}", args.serial.display()));
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = Header::new(&origin)
        .with("port", args.serial.display())
        .with("baud", args.baud)
        .with("recorded_unix", unix)
        .with("tool", format!("esbench {}", env!("CARGO_PKG_VERSION")))
        .with("start_command", if args.no_start { "none" } else { "C" });
    let mut writer = RecordingWriter::create(&args.out, &header)?;
    let mut decoder = FrameDecoder::new();

    let start = now_ns();
    if !args.no_start {
        link.send(b"C")?;
    }
    let end = args.duration.map(|d| start + d.as_nanos() as u64);
    crate::errln!(
        "esbench record: capturing {} into {}{}",
        args.serial.display(),
        args.out.display(),
        if end.is_some() {
            ""
        } else {
            " (Ctrl-C to stop)"
        }
    );
    loop {
        if stop.load(Ordering::Relaxed) || end.is_some_and(|e| now_ns() >= e) {
            break;
        }
        if let Some((at, bytes)) = link.read_chunk()? {
            if end.is_some_and(|e| at >= e) {
                break;
            }
            decoder.feed(bytes, |_| {});
            writer.chunk(at.saturating_sub(start), bytes)?;
        }
    }
    let stopped = now_ns();
    if !args.no_start {
        // Leave the board as we found it; a board that went away cannot hear this anyway.
        let _ = link.send(b"S");
    }
    let (chunks, bytes) = (writer.chunks, writer.bytes);
    let path = writer.finish(end.unwrap_or(stopped).min(stopped) - start)?;
    let s = decoder.stats();
    crate::errln!(
        "esbench record: wrote {}: {chunks} chunks, {bytes} bytes, {} valid frames, {} rejected lines",
        path.display(),
        s.frames,
        s.rejected_lines
    );
    if s.frames == 0 {
        crate::errln!("esbench record: warning: no valid frame was captured");
    }
    Ok(0)
}
