//! System calls the kernel counts for free: `syscr` and `syscw` of `/proc/<pid>/io`.
//!
//! They are kept for I/O accounting on every task, summed over all threads of the process,
//! exited ones included, and read without tracing (strace, the profile's syscall pass, slows
//! the child and may never run in a timed window). What they count is narrow and must be said
//! with the figure: `syscr` is the read family that goes through the VFS — `read`, `readv`,
//! `pread64`, `preadv`(2), on files, pipes, ptys, sockets, eventfds and timerfds alike;
//! `syscw` the write family — `write`, `writev`, `pwrite64`, `pwritev`(2), plus `sendfile`
//! and `copy_file_range`. Not counted: `recv*`/`send*` on sockets, `epoll_wait`/`poll`,
//! `futex`, `accept`, `clock_*`, `timerfd_settime` and the rest. For this bridge (ptys read
//! and written with `read`/`write`, HTTP with `read`/`write` or `recv`/`send` depending on the
//! runtime) they are a steady per-event count, not the total number of system calls.

/// Read-family and write-family system calls of a process so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoCalls {
    pub syscr: u64,
    pub syscw: u64,
}

impl IoCalls {
    /// `self - earlier`.
    pub fn since(&self, earlier: &IoCalls) -> IoCalls {
        IoCalls {
            syscr: self.syscr.saturating_sub(earlier.syscr),
            syscw: self.syscw.saturating_sub(earlier.syscw),
        }
    }
}

/// Parses the text of `/proc/<pid>/io`; `None` when either line is missing.
pub fn parse(text: &str) -> Option<IoCalls> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(IoCalls {
        syscr: field("syscr:")?,
        syscw: field("syscw:")?,
    })
}

/// Reads `/proc/<pid>/io`; `None` when it cannot be read (another user's process, a kernel
/// without task I/O accounting, the process gone).
pub fn read(pid: i32) -> Option<IoCalls> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_subtracts() {
        let t = "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 3\nread_bytes: 0\n";
        let a = parse(t).unwrap();
        assert_eq!(
            a,
            IoCalls {
                syscr: 10,
                syscw: 3
            }
        );
        assert_eq!(parse("rchar: 1\n"), None);
        let b = IoCalls {
            syscr: 15,
            syscw: 3,
        };
        assert_eq!(b.since(&a), IoCalls { syscr: 5, syscw: 0 });
    }

    #[test]
    fn own_reads_are_counted() {
        let me = std::process::id() as i32;
        let before = read(me).expect("own /proc/self/io");
        for _ in 0..5 {
            let _ = std::fs::read_to_string("/proc/self/stat");
        }
        let after = read(me).unwrap();
        assert!(after.since(&before).syscr >= 5, "{before:?} {after:?}");
    }
}
