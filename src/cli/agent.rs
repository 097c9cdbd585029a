//! `esbench agent`: the device side of a remote run (see docs/remote.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::driver::place::Place;
use crate::remote::access::{read_token_file, AllowList};
use crate::remote::agent::{Agent, AgentConfig};
use crate::remote::Target;

/// Run the device side of a remote run: on a driver's request, virtual boards (or a real
/// serial port) and `esbench serve --model M`, measured as a local run measures them.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench agent --token-file ~/.esbench-token                    # loopback only
  esbench agent --listen 0.0.0.0:7878 --token-file ~/.esbench-token --dir /tmp/esbench
  esbench agent --listen 0.0.0.0:7878 --token-file t --serial /dev/ttyACM0

Then, on the laptop: esbench run --target DEVICE:7878 --token-file t

The agent starts only esbench's own models (`esbench models`), never a command the driver
names, and refuses any path outside its --dir directories and --serial ports. It prints
`agent: listening on ADDR` once ready and runs one model at a time (a second driver is
told the agent is busy).

Ctrl-C, SIGTERM and SIGHUP stop it: the model it runs is stopped with it (SIGTERM, as a
run's end does) and it exits 130, 143 or 129.")]
pub struct AgentArgs {
    /// Control address; the bridge under test listens on the same IP.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// The token every request must carry (the file's first line).
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// Directories a driver may name (scratch files, recordings); repeatable. Default: a
    /// fresh one under the system's temporary directory.
    #[arg(long = "dir", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// A real serial port to use instead of virtual boards (repeatable; the first is used
    /// unless the driver names another of these).
    #[arg(long = "serial", value_name = "PATH")]
    pub serials: Vec<PathBuf>,
}

pub fn exec(args: AgentArgs) -> Result<i32> {
    let token = read_token_file(&args.token_file)?;
    let mut dirs = args.dirs.clone();
    if dirs.is_empty() {
        let d = std::env::temp_dir().join(format!("esbench-agent-{}", std::process::id()));
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
        dirs.push(d);
    }
    let allow = AllowList::new(&dirs, &args.serials)?;
    stop_on_signals()?;
    // Empty unless built with the `test-hooks` feature.
    let hooks = crate::remote::test_hooks::from_env()?;
    let clock_offset_ns = hooks.clock_offset_ns;
    let mut agent = Agent::bind(AgentConfig {
        listen: args.listen,
        token,
        allow: allow.clone(),
        exe: crate::load::child::own_exe()?,
        clock_offset_ns,
        exit_after_measure: hooks.exit_after_measure,
    })?;
    if clock_offset_ns != 0 {
        crate::errln!("agent: TEST clock offset {clock_offset_ns} ns on every timestamp");
    }
    let dirs: Vec<String> = allow
        .dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    crate::errln!("agent: directories {}", dirs.join(", "));
    crate::outln!("agent: listening on {}", agent.local_addr()?);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    agent.serve_forever()?;
    Ok(0)
}

/// Ctrl-C, SIGTERM and SIGHUP end the agent the same way: a message, then exit with the
/// signal's code. The model children it started get SIGTERM from their parent-death signal
/// (set when they are spawned) and stop as at a run's end.
fn stop_on_signals() -> Result<()> {
    use crate::driver::interrupt;
    interrupt::install()?;
    std::thread::Builder::new()
        .name("agent-signals".into())
        .spawn(|| {
            interrupt::wait();
            eprintln!("agent: stopped ({})", interrupt::status());
            std::process::exit(interrupt::exit_code());
        })
        .context("cannot start the agent's signal thread")?;
    Ok(())
}

/// `run --target`, `sweep --target`: the agent at `addr` (checked now), as the place every
/// model of the run goes to.
pub fn connect_target(addr: &str, token_file: &Path) -> Result<Place> {
    let token = read_token_file(token_file)?;
    let place = Place::remote(Target {
        addr: addr.to_string(),
        token,
    })
    .with_context(|| format!("--target {addr}"))?;
    if let Some(machine) = place.target_machine() {
        crate::errln!(
            "target: {} ({}, {} cores) at {addr}",
            machine.hostname,
            machine.cpu_model,
            machine.logical_cores
        );
    }
    Ok(place)
}
