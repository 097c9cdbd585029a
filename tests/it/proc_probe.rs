//! What the tests read of a process in `/proc`: each thread's scheduler time, the open file
//! descriptors, the threads of this test process by name.
#![allow(dead_code)]

use std::collections::HashMap;

/// Per thread of `pid`: on-CPU ns + run-queue ns (`/proc/PID/task/TID/schedstat`).
pub fn runnable_ns(pid: u32) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(e.path().join("schedstat")) else {
            continue;
        };
        let f: Vec<u64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() >= 2 {
            out.insert(e.file_name().to_string_lossy().into_owned(), f[0] + f[1]);
        }
    }
    out
}

/// File descriptors `pid` has open (0 once it is gone).
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Threads of this process whose name starts with `prefix`. Every test of the binary shares
/// the process: count only names that the code under test gives its own threads.
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}
