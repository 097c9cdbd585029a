//! Instructions a child retired over the measured window, from the CPU's hardware counter
//! (`perf_event_open`, `PERF_COUNT_HW_INSTRUCTIONS`, user space only so an unprivileged run
//! at `perf_event_paranoid` 2 may open it).
//!
//! Why: an instruction count does not move with the machine's load the way CPU time does,
//! so a per-event count is the steadiest cost figure there is — where the CPU exposes the
//! counter. Most VMs do not (the kernel answers `ENOENT`/`EOPNOTSUPP`); then the figure is
//! "not available" with the kernel's reason, never a zero.
//!
//! One counter per thread of the child, opened at the window's start and for every thread
//! the CPU sampler sees born during it; a thread that lives and dies between two samples
//! (≤ 200 ms) is not counted, and the row says how many threads were counted.

use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd};

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER0` (64 bytes), which every kernel
/// since 2.6.31 accepts.
#[repr(C)]
#[derive(Default)]
struct Attr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_INSTRUCTIONS: u64 = 1;
const EXCLUDE_KERNEL: u64 = 1 << 5;
const EXCLUDE_HV: u64 = 1 << 6;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// Opens an instruction counter on thread `tid` (0: the calling thread), counting now;
/// `Err((errno, why))`.
fn open(tid: i32) -> Result<OwnedFd, (i32, String)> {
    let attr = Attr {
        kind: PERF_TYPE_HARDWARE,
        size: std::mem::size_of::<Attr>() as u32,
        config: PERF_COUNT_HW_INSTRUCTIONS,
        flags: EXCLUDE_KERNEL | EXCLUDE_HV,
        ..Attr::default()
    };
    // SAFETY: a valid attr of the size it declares; the fd returned is owned here.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const Attr,
            tid,
            -1i32,
            -1i32,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        let errno = e.raw_os_error().unwrap_or(0);
        return Err((
            errno,
            match errno {
                libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV => {
                    format!("no hardware instruction counter on this machine (a VM?): {e}")
                }
                libc::EACCES | libc::EPERM => {
                    format!("perf_event_open refused (kernel.perf_event_paranoid?): {e}")
                }
                _ => format!("perf_event_open failed: {e}"),
            },
        ));
    }
    // SAFETY: the kernel just returned this descriptor to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn read_count(fd: &OwnedFd) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let mut v: u64 = 0;
    // SAFETY: reading 8 bytes into a u64.
    let n = unsafe { libc::read(fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    (n == 8).then_some(v)
}

/// Whether this machine can count instructions: `Err` holds why not, in words.
pub fn available() -> Result<(), String> {
    open(0).map(|_| ()).map_err(|(_, why)| why)
}

/// The counters on one process's threads over a window.
pub struct InstructionCounters {
    /// tid → (counter, value when opened).
    threads: HashMap<i32, (OwnedFd, u64)>,
    /// Last value read of each counter (kept for threads that exit).
    last: HashMap<i32, u64>,
}

impl InstructionCounters {
    /// Opens a counter on each of `tids`; `Err` (why) when the first cannot be opened.
    pub fn start(tids: impl IntoIterator<Item = i32>) -> Result<InstructionCounters, String> {
        let mut c = InstructionCounters {
            threads: HashMap::new(),
            last: HashMap::new(),
        };
        for tid in tids {
            match open(tid) {
                Ok(fd) => {
                    let v = read_count(&fd).unwrap_or(0);
                    c.threads.insert(tid, (fd, v));
                }
                // A thread that exited between listing and opening is not an error.
                Err((errno, why)) if c.threads.is_empty() && errno != libc::ESRCH => {
                    return Err(why)
                }
                Err(_) => {}
            }
        }
        Ok(c)
    }

    /// Reads every counter and opens one on each thread in `tids` not seen before (born
    /// during the window: all it does from now counts).
    pub fn update(&mut self, tids: impl IntoIterator<Item = i32>) {
        for tid in tids {
            if let std::collections::hash_map::Entry::Vacant(e) = self.threads.entry(tid) {
                if let Ok(fd) = open(tid) {
                    e.insert((fd, 0));
                }
            }
        }
        for (tid, (fd, _)) in &self.threads {
            if let Some(v) = read_count(fd) {
                self.last.insert(*tid, v);
            }
        }
    }

    /// Instructions over the window so far, and how many threads were counted.
    pub fn total(&self) -> (u64, usize) {
        let sum = self
            .threads
            .iter()
            .map(|(tid, (_, start))| self.last.get(tid).map_or(0, |v| v.saturating_sub(*start)))
            .sum();
        (sum, self.threads.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attr_is_the_kernels_first_size() {
        assert_eq!(std::mem::size_of::<Attr>(), 64);
    }

    #[test]
    fn counts_or_says_why_not() {
        match available() {
            Ok(()) => {
                let mut c = InstructionCounters::start([0]).expect("available");
                let mut x = 0u64;
                for i in 0..100_000u64 {
                    x = x.wrapping_add(std::hint::black_box(i));
                }
                std::hint::black_box(x);
                c.update([]);
                assert!(c.total().0 > 100_000, "{:?}", c.total());
            }
            Err(why) => assert!(!why.is_empty()),
        }
    }
}
