//! A cgroup (v2) of its own for an external bridge, where the machine allows one: every
//! process the bridge ever starts is born inside it, so the kernel counts their CPU
//! (`cpu.stat`) and can end them all at once (`cgroup.kill`), whatever they do with process
//! groups or sessions.
//!
//! It is made beside the driver, as a child of the driver's own cgroup in the v2 hierarchy
//! (found in `/proc/self/mountinfo` and `/proc/self/cgroup`; on a hybrid machine that is
//! `/sys/fs/cgroup/unified`). Creating it needs write access there (root, or a delegated
//! subtree); when that fails the caller falls back to sampling the process tree and says so.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::metrics::tree_cpu::cgroup_pids;

/// Set (to anything but empty or `0`), no cgroup is made: the process tree is sampled
/// instead, as on a machine without a writable cgroup v2 (for tests, and to compare).
pub const NO_CGROUP_ENV: &str = "ESBENCH_NO_CGROUP";

/// Distinguishes the cgroups of one driver.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A cgroup made for one bridge; removed (after everything in it is killed) on drop.
#[derive(Debug)]
pub struct BridgeCgroup {
    dir: PathBuf,
    /// `cgroup.procs` as a C string, for the child to write itself into before exec.
    procs: CString,
}

impl BridgeCgroup {
    /// Makes a fresh cgroup, or says why it cannot.
    pub fn create() -> Result<BridgeCgroup> {
        if std::env::var_os(NO_CGROUP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
            bail!("{NO_CGROUP_ENV} is set");
        }
        let mount = v2_mount().context("no cgroup v2 hierarchy is mounted")?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .context("cannot read /proc/self/cgroup")?
            .lines()
            .find_map(|l| l.strip_prefix("0::").map(str::to_string))
            .context("this process has no cgroup v2 path")?;
        let parent = mount.join(own.trim().trim_start_matches('/'));
        let dir = parent.join(format!(
            "esbench-bridge-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir)
            .with_context(|| format!("cannot create the cgroup {}", dir.display()))?;
        let me = BridgeCgroup {
            procs: CString::new(
                dir.join("cgroup.procs")
                    .into_os_string()
                    .into_encoded_bytes(),
            )
            .context("cgroup path holds a NUL")?,
            dir,
        };
        if !me.dir.join("cpu.stat").exists() {
            bail!("the cgroup {} has no cpu.stat", me.dir.display());
        }
        Ok(me)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What a child needs to join the cgroup between fork and exec.
    pub fn join_handle(&self) -> CgroupJoin {
        CgroupJoin {
            procs: self.procs.clone(),
        }
    }

    /// Whether `pid` is in this cgroup (read from `/proc/<pid>/cgroup`, which a process
    /// that has already exited but is not reaped still has).
    pub fn holds(&self, pid: i32) -> bool {
        let Some(name) = self.dir.file_name() else {
            return false;
        };
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("0::")
                    .is_some_and(|p| Path::new(p.trim()).file_name() == Some(name))
            })
        })
    }
}

/// The cgroup's `cgroup.procs`, for a child to write itself into.
#[derive(Clone, Debug)]
pub struct CgroupJoin {
    procs: CString,
}

impl CgroupJoin {
    /// Moves the calling process into the cgroup. For a child between fork and exec: only
    /// async-signal-safe calls (open, write, close).
    pub fn join_calling_process(&self) -> std::io::Result<()> {
        unsafe {
            let fd = libc::open(self.procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = libc::write(fd, b"0".as_ptr().cast(), 1);
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if n != 1 {
                return Err(err);
            }
        }
        Ok(())
    }
}

impl BridgeCgroup {
    /// The processes in it now.
    pub fn pids(&self) -> Vec<i32> {
        cgroup_pids(&self.dir)
    }

    /// SIGKILLs everything in it and waits (up to `timeout`) until it is empty.
    pub fn kill_all(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let pids = self.pids();
            if pids.is_empty() {
                return true;
            }
            // cgroup.kill (Linux 5.14) also catches processes forked while we look.
            if std::fs::write(self.dir.join("cgroup.kill"), "1").is_err() {
                for p in pids {
                    unsafe { libc::kill(p, libc::SIGKILL) };
                }
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for BridgeCgroup {
    fn drop(&mut self) {
        // Killed processes leave the cgroup only once reaped; a zombie of ours still counts,
        // so keep trying briefly before removing the directory.
        self.kill_all(Duration::from_secs(2));
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Where the cgroup v2 hierarchy is mounted.
fn v2_mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        if post.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        Some(PathBuf::from(pre.split_whitespace().nth(4)?))
    })
}
