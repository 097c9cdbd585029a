//! A model under load, for the profiling pass: `esbench serve` as a child, fed by the
//! scenario's virtual boards and polled by its Scratch clients — the very child, boards and
//! clients of `esbench run` (`load/`), so a profiled model does the work a measured one does,
//! started with the same explicit settings.
//!
//! Profiling needs no figures, only the model doing its usual work at the scenario's rates
//! and counts of what it handled so costs can be put per event; the clients' records are
//! dropped when it stops.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::EventCounts;
use crate::clock::now_ns;
use crate::device::VirtualBoard;
use crate::load::boards::start_boards;
use crate::load::child::{free_ports, ServeChild, ServeCommand, STOP_GRACE};
use crate::load::child_settings::ChildSettings;
use crate::load::client::{client_specs, Clients, StopFlag};
use crate::scenario::Scenario;

/// How long serve may take to print its addresses.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// What [`ModelUnderLoad::start_with`] adds to a plain start.
#[derive(Clone, Debug, Default)]
pub struct Extra {
    /// Bridge-side fault specs (`serve --inject`).
    pub inject: Vec<String>,
    /// A program and its arguments that run serve (`valgrind --tool=callgrind …`).
    pub wrapper: Vec<std::ffi::OsString>,
    /// How long serve may take to print its addresses (default 15 s; far longer under
    /// valgrind, which translates the binary as it first runs it).
    pub ready_timeout: Option<Duration>,
}

/// A running `esbench serve` with its boards and clients. Stop it with [`Self::stop`]
/// (dropping it also stops it).
pub struct ModelUnderLoad {
    child: Option<ServeChild>,
    clients: Option<Clients>,
    boards: Vec<VirtualBoard>,
    stats_path: PathBuf,
}

impl ModelUnderLoad {
    /// Starts `exe serve --model MODEL` on the scenario's boards, traceable by the
    /// profiler, waits until it listens, then starts the scenario's clients.
    pub fn start(exe: &Path, model: &str, scenario: &Scenario) -> Result<ModelUnderLoad> {
        Self::start_with(exe, model, scenario, &Extra::default())
    }

    /// [`Self::start`] with bridge-side faults and a wrapper program around serve (the
    /// valgrind pass: side B's `--inject-b` faults, `valgrind …`).
    pub fn start_with(
        exe: &Path,
        model: &str,
        scenario: &Scenario,
        extra: &Extra,
    ) -> Result<ModelUnderLoad> {
        // A scenario has at least one board (validation refuses `boards.count = 0`).
        // The profiling pass's own loops: they end with its boards.
        let boards = start_boards(scenario, &crate::device::BoardLoops::default())?;
        let base = free_ports(boards.len())?;
        let stats_path = std::env::temp_dir().join(format!(
            "esbench-profile-{}-{}.json",
            std::process::id(),
            now_ns()
        ));
        let cmd = ServeCommand {
            exe: exe.to_path_buf(),
            model: model.to_string(),
            serials: boards.iter().map(|b| b.path().to_path_buf()).collect(),
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], base)),
            scenario: scenario.path.clone(),
            stats_out: stats_path.clone(),
            // The model's own timer slack, not the inherited one (see load::child_settings).
            settings: ChildSettings {
                timer_slack_ns: scenario.run.model_timer_slack_ns,
                cpus: None,
            },
            inject: extra.inject.clone(),
            smol_block_on: scenario.run.smol_block_on,
        };
        let child = ServeChild::spawn_wrapped(
            &cmd,
            extra.ready_timeout.unwrap_or(READY_TIMEOUT),
            &extra.wrapper,
        )
        .with_context(|| format!("`esbench serve --model {model}` did not start listening"))?;
        let specs = client_specs(scenario, &child.addrs);
        let clients = Clients::start(&specs, now_ns() + 20_000_000, u64::MAX, StopFlag::new())?;
        Ok(ModelUnderLoad {
            child: Some(child),
            clients: Some(clients),
            boards,
            stats_path,
        })
    }

    /// The serve child's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.pid as u32)
    }

    /// Cumulative events handled so far: answered polls, frames the boards wrote, commands
    /// answered.
    pub fn events(&self) -> EventCounts {
        let live = self.clients.as_ref().map(|c| c.live());
        let count = |f: fn(&crate::load::client::LiveCounts) -> u64| live.map_or(0, f);
        EventCounts {
            polls: count(|l| l.polls.load(std::sync::atomic::Ordering::Relaxed)),
            frames: self.boards.iter().map(|b| b.stats().frames_written).sum(),
            commands: count(|l| l.commands.load(std::sync::atomic::Ordering::Relaxed)),
        }
    }

    /// SIGTERM to serve (it must exit cleanly), then stops the clients and boards.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let mut result = Ok(());
        if let Some(clients) = self.clients.take() {
            clients.stop();
            if let Some(mut child) = self.child.take() {
                result = match child.stop(STOP_GRACE) {
                    Ok((_, _, true)) => {
                        Err(anyhow::anyhow!("serve did not stop on SIGTERM; killed"))
                    }
                    Ok((exit, _, false)) if !exit.success() => Err(anyhow::anyhow!(
                        "serve exited with {exit}{}",
                        child.stderr_note()
                    )),
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                };
            }
            drop(clients.join());
        }
        for b in self.boards.drain(..) {
            let _ = b.stop();
        }
        let _ = std::fs::remove_file(&self.stats_path);
        result
    }
}

impl Drop for ModelUnderLoad {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
