//! `esbench conform`: checks a bridge of your own against what `esbench run` needs before it
//! measures it (the checks are `load::conform`'s), without running a benchmark.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::device::{DeviceConfig, VirtualBoard};
use crate::load::bridge_template::{BridgeSpec, DEFAULT_READY_TIMEOUT};
use crate::load::child::{free_ports, STOP_GRACE};
use crate::load::child_settings::ChildSettings;
use crate::load::conform::check_bridge;
use crate::load::external::ExternalChild;

/// Check that your own bridge (any language) answers like the Scratch extension protocol wants
#[derive(clap::Args, Debug)]
#[command(after_help = "\
The command is a template: {serial} is the virtual board's pty, {port} and {host} where to
listen (see docs/bridges.md). No shell runs unless you write one.

Examples:
  esbench conform --bridge 'python3 examples/bridges/asyncio_bridge.py {serial} --port {port}'
  esbench conform --bridge 'sh -c \"cd mybridge && exec node index.js {serial} {port}\"'

Exit code: 0 when every check passes, 1 when one fails, 2 on a usage error.")]
pub struct ConformArgs {
    /// The bridge's command template.
    #[arg(long, value_name = "COMMAND")]
    pub bridge: String,
    /// Directory to start it in.
    #[arg(long)]
    pub cwd: Option<std::path::PathBuf>,
    /// Extra environment for the bridge, KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// How long it may take to answer its first /poll.
    #[arg(long, value_parser = crate::units::parse_duration)]
    pub ready_timeout: Option<Duration>,
}

pub fn exec(args: ConformArgs) -> anyhow::Result<i32> {
    let mut spec = BridgeSpec::new("bridge", &args.bridge)?;
    spec.cwd = args.cwd;
    spec.env = parse_env(&args.env)?;
    spec.ready_timeout = args.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT);
    let board = VirtualBoard::start(DeviceConfig {
        stamp_seq: true,
        ..DeviceConfig::synth(1)
    })
    .context("cannot start a virtual board")?;
    let port = free_ports(1)?;
    let mut child = ExternalChild::spawn(
        &spec,
        &[board.path().to_path_buf()],
        port,
        &ChildSettings::default(),
    )?;
    println!("started: {}", shell_words(&child.argv));
    println!("cpu accounting: {}", child.scope.describe());
    if let Some(why) = &child.no_cgroup {
        println!("  (no cgroup: {why})");
    }
    let mut failed = false;
    match child.wait_until_answering(spec.ready_timeout) {
        Err(e) => {
            println!("FAIL  ready: {e:#}");
            failed = true;
        }
        Ok(()) => {
            println!("ok    ready: GET /poll answered on {}", child.addrs[0]);
            let c = check_bridge(child.addrs[0], &board, Duration::from_secs(2));
            for check in &c.checks {
                let mark = if check.ok { "ok  " } else { "FAIL" };
                println!("{mark}  {}: {}", check.name, check.detail);
            }
            failed |= !c.passed();
            for n in &c.notes {
                println!("note  {n}");
            }
        }
    }
    let stopped = child.stop(STOP_GRACE)?;
    if stopped.killed {
        println!("FAIL  stop: still running {STOP_GRACE:?} after SIGTERM; killed with SIGKILL");
        failed = true;
    } else {
        println!("ok    stop: ended on SIGTERM ({})", stopped.exit);
    }
    if stopped.left > 0 {
        println!("FAIL  stop: {} process(es) survived SIGKILL", stopped.left);
        failed = true;
    }
    let _ = board.stop();
    Ok(i32::from(failed))
}

/// `KEY=VALUE` pairs.
pub fn parse_env(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--env wants KEY=VALUE, got {p:?}");
        };
        if k.is_empty() {
            bail!("--env {p:?}: the name is empty");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// An argv as one line a person can read (words with spaces quoted).
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "'\"\\$".contains(c)) {
                format!("'{}'", w.replace('\'', "'\\''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
