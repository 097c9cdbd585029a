//! An external bridge as the model child: the user's own program (any language), started
//! from its command template beside the virtual boards, stopped, and accounted over its
//! whole process tree. The counterpart of [`ServeChild`](super::child::ServeChild) for a
//! program that is not `esbench serve`: it prints no addresses (it is ready when `/poll`
//! answers), writes no statistics, and may start other processes.
//!
//! It runs with the run's child settings (timer slack, CPUs; read back from `/proc` like a
//! model's), in a process group of its own and, where the machine allows, a cgroup of its own
//! ([`BridgeCgroup`]); it is stopped with SIGTERM to the whole group, then SIGKILL to the
//! group and the cgroup after the grace period, so no process it started is left behind.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::bridge_template::{BridgeSpec, Vars};
use super::cgroup::BridgeCgroup;
use super::child::keep_tail;
use super::child_settings::ChildSettings;
use super::conform::{probe, Probe};
use crate::metrics::process::{exited_once, Exit, Rusage};
use crate::metrics::tree_cpu::TreeScope;

/// Lines of the bridge's output kept for error messages.
const OUTPUT_TAIL: usize = 20;

/// A running external bridge.
pub struct ExternalChild {
    /// The first process (the leader of its process group).
    pub pid: i32,
    /// Board i's HTTP address (`{port}` + i on `{host}`).
    pub addrs: Vec<SocketAddr>,
    /// The argv it was started with (the template with its variables replaced).
    pub argv: Vec<String>,
    /// How its tree's CPU is counted.
    pub scope: TreeScope,
    /// Why there is no cgroup, when there is none.
    pub no_cgroup: Option<String>,
    cgroup: Option<BridgeCgroup>,
    tail: Arc<Mutex<Vec<String>>>,
    reaped: Option<(Exit, Rusage)>,
}

/// How [`ExternalChild::stop`] went.
#[derive(Clone, Copy, Debug)]
pub struct Stopped {
    pub exit: Exit,
    pub rusage: Rusage,
    /// SIGTERM was not enough: something had to be SIGKILLed after the grace period.
    pub killed: bool,
    /// Processes still alive after everything (0 unless even SIGKILL failed).
    pub left: usize,
}

impl ExternalChild {
    /// Starts the bridge for boards on `serials`, board i to be served on `base_port` + i.
    pub fn spawn(
        spec: &BridgeSpec,
        serials: &[PathBuf],
        base_port: u16,
        settings: &ChildSettings,
    ) -> Result<ExternalChild> {
        let host = "127.0.0.1";
        let vars = Vars {
            serials: serials
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            host: host.into(),
            port: base_port,
        };
        let argv = spec.argv(&vars)?;
        let (cgroup, no_cgroup) = match BridgeCgroup::create() {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        if let Some(dir) = &spec.cwd {
            c.current_dir(dir);
        }
        c.envs(&spec.env);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
            let settings = settings.clone();
            let procs = cgroup.as_ref().map(|g| g.join_handle());
            // In the child before exec: async-signal-safe calls only. Into the cgroup first,
            // so that everything it ever starts is born there.
            unsafe {
                c.pre_exec(move || {
                    if let Some(p) = &procs {
                        // Failing here only loses the cgroup; it is checked after spawn.
                        let _ = p.join_calling_process();
                    }
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    settings.apply_to_calling_thread()
                });
            }
        }
        let mut child = c.spawn().with_context(|| {
            format!(
                "cannot start {:?}{}",
                argv[0],
                spec.cwd
                    .as_ref()
                    .map(|d| format!(" in {}", d.display()))
                    .unwrap_or_default()
            )
        })?;
        let pid = child.id() as i32;
        let tail = Arc::new(Mutex::new(Vec::new()));
        for (name, out) in [
            (
                "bridge-stdout",
                child
                    .stdout
                    .take()
                    .map(|o| Box::new(o) as Box<dyn Read + Send>),
            ),
            (
                "bridge-stderr",
                child
                    .stderr
                    .take()
                    .map(|o| Box::new(o) as Box<dyn Read + Send>),
            ),
        ] {
            let Some(out) = out else { continue };
            let tail = tail.clone();
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || keep_tail(out, &tail, OUTPUT_TAIL))?;
        }
        // Dropping `child` neither kills nor reaps it: we reap it with wait4 for its rusage.
        drop(child);
        let (scope, cgroup, no_cgroup) = match cgroup {
            Some(g) if g.holds(pid) => (TreeScope::Cgroup(g.dir().to_path_buf()), Some(g), None),
            Some(g) => {
                let why = format!("could not move the bridge into {}", g.dir().display());
                (TreeScope::Descendants { root: pid }, None, Some(why))
            }
            None => (TreeScope::Descendants { root: pid }, None, no_cgroup),
        };
        let addrs = (0..serials.len())
            .map(|i| SocketAddr::from(([127, 0, 0, 1], base_port + i as u16)))
            .collect();
        Ok(ExternalChild {
            pid,
            addrs,
            argv,
            scope,
            no_cgroup,
            cgroup,
            tail,
            reaped: None,
        })
    }

    /// Waits until every board's port answers `/poll` with an HTTP answer. A bridge that
    /// exits, never answers, or answers with something that is not HTTP is an error that
    /// says which.
    pub fn wait_until_answering(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        for addr in self.addrs.clone() {
            let mut last: String;
            loop {
                if let Some(exit) = self.exited()? {
                    std::thread::sleep(Duration::from_millis(50));
                    bail!(
                        "bridge exited before answering ({exit}){}",
                        self.output_note()
                    );
                }
                match probe(addr, "/poll", Duration::from_secs(2)) {
                    Probe::Answer(_) => break,
                    Probe::NotHttp { sent, got } => bail!(
                        "bridge answered `{sent}` on {addr} with something that is not HTTP: \
                         {got}"
                    ),
                    Probe::NoConnection(e) => last = e,
                    Probe::Silent(e) => last = e,
                }
                if Instant::now() > deadline {
                    bail!(
                        "bridge never answered GET /poll on {addr} within {timeout:?} ({last}){}",
                        self.output_note()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// `Some(exit)` once the first process has exited (it is then reaped).
    pub fn exited(&mut self) -> Result<Option<Exit>> {
        exited_once(self.pid, &mut self.reaped)
    }

    /// Every process of the bridge still alive: its cgroup's, else its process group's.
    pub fn alive(&self) -> Vec<i32> {
        match &self.cgroup {
            Some(g) => g.pids(),
            None => group_members(self.pid),
        }
    }

    /// SIGTERM to the whole process group, up to `grace` for everything to end, then
    /// SIGKILL to the group and the cgroup.
    pub fn stop(&mut self, grace: Duration) -> Result<Stopped> {
        self.signal_group(libc::SIGTERM);
        self.signal_group(libc::SIGCONT);
        let deadline = Instant::now() + grace;
        let mut killed = false;
        loop {
            let _ = self.exited()?;
            if self.reaped.is_some() && self.alive().is_empty() {
                break;
            }
            if Instant::now() > deadline {
                killed = true;
                self.signal_group(libc::SIGKILL);
                if let Some(g) = &self.cgroup {
                    g.kill_all(Duration::from_secs(2));
                }
                if self.reaped.is_none() {
                    self.reaped =
                        crate::metrics::process::wait4_timeout(self.pid, Duration::from_secs(2))
                            .ok()
                            .map(|(e, r, _)| (e, r));
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let left = {
            // A process just SIGKILLed may take a moment to go.
            let until = Instant::now() + Duration::from_secs(2);
            loop {
                let n = self.alive().len();
                if n == 0 || Instant::now() > until {
                    break n;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        let (exit, rusage) = self.reaped.context("the bridge could not be reaped")?;
        Ok(Stopped {
            exit,
            rusage,
            killed,
            left,
        })
    }

    fn signal_group(&self, sig: libc::c_int) {
        unsafe { libc::kill(-self.pid, sig) };
        if let Some(g) = &self.cgroup {
            for p in g.pids() {
                unsafe { libc::kill(p, sig) };
            }
        }
    }

    /// The end of the bridge's output, formatted for a status ("" when it said nothing).
    pub fn output_note(&self) -> String {
        let t = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let lines: Vec<&str> = t
            .iter()
            .map(|l| l.as_str())
            .filter(|l| !l.trim().is_empty())
            .collect();
        if lines.is_empty() {
            String::new()
        } else {
            format!(": {}", lines[lines.len().saturating_sub(3)..].join(" | "))
        }
    }
}

impl Drop for ExternalChild {
    fn drop(&mut self) {
        if self.reaped.is_none() || !self.alive().is_empty() {
            let _ = self.stop(Duration::from_secs(2));
        }
    }
}

/// The live (not zombie) processes of process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                return false;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            // f[0] state, f[2] pgrp.
            f.first() != Some(&"Z") && f.get(2).and_then(|g| g.parse().ok()) == Some(pgid)
        })
        .collect()
}
