//! What machine and which build produced a result: recorded so that numbers from different
//! machines or commits are never compared without knowing it.

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use super::results::Machine;

/// Describes this machine (CPU model, cores, kernel, memory). Fields sysinfo cannot read stay
/// empty rather than failing the run.
pub fn describe_machine() -> Machine {
    let refresh = RefreshKind::nothing()
        .with_cpu(CpuRefreshKind::nothing())
        .with_memory(MemoryRefreshKind::nothing().with_ram());
    let sys = System::new_with_specifics(refresh).ok();
    let cpu_model = sys
        .as_ref()
        .and_then(|s| s.cpus().first().map(|c| c.brand().trim().to_string()))
        .unwrap_or_default();
    let logical_cores = sys
        .as_ref()
        .map(|s| s.cpus().len())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    Machine {
        hostname: System::host_name().unwrap_or_default(),
        os: System::long_os_version().unwrap_or_default(),
        kernel: System::kernel_version().unwrap_or_default(),
        cpu_model,
        logical_cores,
        physical_cores: System::physical_core_count().ok(),
        memory_kib: sys.map(|s| s.total_memory() / 1024).unwrap_or(0),
    }
}

/// A note on how busy the machine was when the run started: other work shows up as latency,
/// so a reader should know. None when the load cannot be read.
pub fn load_note() -> Option<String> {
    let l = System::load_average().ok()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some(format!(
        "load average at start: {:.2} {:.2} {:.2} (1/5/15 min) on {cores} cores",
        l.one, l.five, l.fifteen
    ))
}

/// The commit this binary was built from (None from a tree without git), captured when it
/// was built (`crate::build_info`): asking git now would name whatever the checkout holds
/// after a `git pull`, not the code that runs.
pub fn git_commit() -> Option<String> {
    crate::build_info::commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_this_machine() {
        let m = describe_machine();
        assert!(m.logical_cores >= 1);
        assert!(m.memory_kib > 0);
        assert!(!m.kernel.is_empty());
    }

    #[test]
    fn load_note_names_the_cores() {
        assert!(load_note().unwrap().contains("cores"));
    }

    #[test]
    fn commit_is_a_hash_when_known() {
        if let Some(c) = git_commit() {
            assert_eq!(c.len(), 40, "{c}");
        }
    }
}
