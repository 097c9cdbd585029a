//! The control protocol between driver and agent: one JSON object per line over TCP.
//!
//! Line-delimited JSON keeps it inspectable (`nc HOST PORT` and type a request) and needs no
//! new dependency. Every request carries the token; the agent answers every line with one
//! reply line, `"reply": "error"` with a message when it refuses. The protocol only ever
//! names esbench's own models and paths inside the agent's allow-list: there is no request
//! that runs a command.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::bridge::stats::ServeStats;
use crate::load::boards::BoardRecord;
use crate::metrics::results::{Cpu, Machine};

/// Protocol version, checked at `hello`: a driver and an agent of different versions refuse
/// each other instead of misreading.
pub const PROTOCOL: &str = "esbench.remote/1";

/// Longest reply line the driver accepts (a board's frame log at 40 Hz for a long window is
/// large; 256 MiB is far beyond any sane one and still bounds a broken peer).
pub const MAX_REPLY_LINE: u64 = 256 << 20;
/// Longest request line the agent accepts: requests hold at most a scenario's text, so
/// 1 MiB is plenty, and a peer without the token cannot make the agent hold more.
pub const MAX_REQUEST_LINE: u64 = 1 << 20;

/// One request: the token and what is asked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    pub token: String,
    #[serde(flatten)]
    pub op: Op,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Who are you: protocol, version, machine.
    Hello,
    /// Read your monotonic clock (a clock-join exchange); also says whether the child lives.
    Time,
    /// Start the boards and `esbench serve --model M` for one model run.
    Start(StartSpec),
    /// The measured window begins now: start the CPU accounting and the floor probe.
    Measure { duration_ns: u64 },
    /// Stop everything and hand back what was measured.
    Stop,
}

/// What one model run on the agent is.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StartSpec {
    /// A name from the model registry; anything else is refused.
    pub model: String,
    /// The scenario file's text (its boards, workload and run settings).
    pub scenario_text: String,
    /// Bridge-side fault specs (`serve --inject`), checked by the agent's own parser.
    #[serde(default)]
    pub inject: Vec<String>,
    /// The model process's timer slack and CPUs (on the agent's machine).
    pub timer_slack_ns: u64,
    #[serde(default)]
    pub cpus: Option<Vec<usize>>,
    /// A real serial port instead of virtual boards: one of the agent's `--serial` ports or
    /// a path inside its `--dir`s.
    #[serde(default)]
    pub serial: Option<PathBuf>,
    /// Where the agent keeps this run's scratch files (scenario copy, serve statistics);
    /// must be inside one of its `--dir`s. Default: a fresh directory in the first one.
    #[serde(default)]
    pub out_dir: Option<PathBuf>,
    /// The `smol` model's `block_on` (the driver's `run.smol_block_on`, after its
    /// `--smol-block-on`), passed on as `serve --smol-block-on`.
    #[serde(default)]
    pub smol_block_on: crate::scenario::SmolBlockOn,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Hello {
        protocol: String,
        version: String,
        machine: Machine,
        pid: u32,
    },
    Time {
        agent_ns: u64,
        /// `Some(exit)` once the model's process has ended (a crash mid-run).
        child_exit: Option<String>,
    },
    Started {
        /// The bridge's HTTP port for each board, on the agent's address.
        ports: Vec<u16>,
        pid: i32,
    },
    Measuring {
        agent_ns: u64,
        timerslack_ns: Option<u64>,
        cpus_allowed: Option<String>,
        nice: Option<i64>,
    },
    Stopped(Box<AgentReport>),
    Error {
        error: String,
    },
}

/// Everything the agent measured for one model run, with its own monotonic timestamps.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AgentReport {
    /// How the child ended (`exit code 0`, `killed by SIGKILL`, ...).
    pub exit: String,
    pub exit_success: bool,
    /// True if it did not stop within the grace after SIGTERM.
    pub killed: bool,
    /// True if it ended before `stop` asked it to (a crash); `exit_at_ns` says when.
    pub crashed: bool,
    pub exit_at_ns: Option<u64>,
    /// The end of the child's stderr (its log), for the row's status.
    pub stderr_note: String,
    /// The measured window's CPU row (as the local driver computes it) and lifetime counters.
    pub cpu: Cpu,
    pub counters: BTreeMap<String, u64>,
    /// Agent clock at the start and end of its CPU window.
    pub window_agent_ns: (u64, u64),
    /// Per board: `(seq, written ns)` and `(read ns, command bytes)`.
    pub boards: Vec<BoardRecord>,
    /// The floor probe's `(deadline ns, lateness ns)` ticks on the agent.
    pub floor_ticks: Vec<(u64, u64)>,
    /// The bridge's own statistics file, or why there is none.
    pub stats: Option<ServeStats>,
    pub stats_error: Option<String>,
}

/// One TCP connection carrying lines both ways.
pub struct LineConn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    max_line: u64,
}

impl LineConn {
    /// A connection that accepts incoming lines of up to `max_line` bytes.
    pub fn new(stream: TcpStream, max_line: u64) -> Result<LineConn> {
        let writer = stream
            .try_clone()
            .context("cannot clone the control socket")?;
        Ok(LineConn {
            reader: BufReader::new(stream),
            writer,
            max_line,
        })
    }

    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }

    /// Sends one value as one line.
    pub fn send<T: Serialize>(&mut self, value: &T) -> Result<()> {
        let mut line = serde_json::to_vec(value).context("cannot encode a control message")?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .context("the control connection is gone (write failed)")
    }

    /// Reads one line; `Ok(None)` at a clean end of stream.
    pub fn recv_line(&mut self) -> Result<Option<String>> {
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(self.max_line + 1)
            .read_until(b'\n', &mut buf)
            .context("the control connection is gone (read failed)")?;
        if n == 0 {
            return Ok(None);
        }
        if buf.last() != Some(&b'\n') {
            if n as u64 > self.max_line {
                bail!("a control line is longer than {} bytes", self.max_line);
            }
            bail!("the control connection ended in the middle of a line");
        }
        String::from_utf8(buf)
            .map(Some)
            .map_err(|_| anyhow::anyhow!("a control line is not UTF-8"))
    }
}
