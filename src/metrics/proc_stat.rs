//! The one reader of a process's or thread's `/proc` lines: `stat` (name, state, CPU ticks,
//! threads) and the context-switch counters of `status`. The child's CPU sampler
//! (`metrics::process`), the profiler's per-thread table (`profile::threads`) and the read-back
//! of the child's settings (`load::child_settings`, its nice value) all read
//! through it, so a name with spaces or parentheses is handled once.

use anyhow::{bail, Context, Result};

/// A `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` line split into the command name and
/// the fields after it. The name is in parentheses and may itself contain spaces and
/// parentheses, so it runs from the first `(` to the last `)`.
#[derive(Clone, Debug)]
pub struct StatLine<'a> {
    pub name: &'a str,
    /// Field 3 (state) onwards.
    rest: Vec<&'a str>,
}

impl<'a> StatLine<'a> {
    pub fn parse(text: &'a str) -> Result<StatLine<'a>> {
        let open = text.find('(').context("no '(' in /proc stat line")?;
        let close = text.rfind(')').context("no ')' in /proc stat line")?;
        let name = text
            .get(open + 1..close)
            .context("no name in /proc stat line")?;
        let rest = text[close + 1..].split_whitespace().collect();
        Ok(StatLine { name, rest })
    }

    /// Field `n`, numbered as in proc(5) (3 is the state, 14 utime, 15 stime, 20 threads).
    pub fn field(&self, n: usize) -> Result<&'a str> {
        n.checked_sub(3)
            .and_then(|i| self.rest.get(i).copied())
            .with_context(|| {
                format!(
                    "short /proc stat line (no field {n}, {} fields)",
                    self.rest.len() + 2
                )
            })
    }

    /// Field `n` as a number.
    pub fn num(&self, n: usize) -> Result<u64> {
        let f = self.field(n)?;
        f.parse::<u64>()
            .with_context(|| format!("bad /proc stat field {n}: {f:?}"))
    }

    /// The state letter (`R`, `S`, `Z`, ...).
    pub fn state(&self) -> Result<char> {
        self.field(3)?.chars().next().context("empty state field")
    }
}

/// Fields of `/proc/<pid>/stat` the CPU sampler needs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcStat {
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    pub threads: u64,
}

/// Parses `/proc/<pid>/stat`; every field up to the thread count must be there.
pub fn parse_proc_stat(text: &str) -> Result<ProcStat> {
    let s = StatLine::parse(text)?;
    if s.rest.len() < 18 {
        bail!("short /proc stat line ({} fields)", s.rest.len());
    }
    Ok(ProcStat {
        utime_ticks: s.num(14)?,
        stime_ticks: s.num(15)?,
        threads: s.num(20)?,
    })
}

/// Reads `/proc/<pid>/stat`.
pub fn read_proc_stat(pid: i32) -> Result<ProcStat> {
    parse_proc_stat(&read_stat(pid)?)
}

/// The text of `/proc/<pid>/stat`.
pub fn read_stat(pid: i32) -> Result<String> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))
}

/// The voluntary and involuntary context switches in a `/proc/…/status` text; `None`
/// unless both are there.
pub fn parse_switches(text: &str) -> Option<(u64, u64)> {
    let mut v = None;
    let mut iv = None;
    for line in text.lines() {
        if let Some(x) = line.strip_prefix("voluntary_ctxt_switches:") {
            v = x.trim().parse().ok();
        } else if let Some(x) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
            iv = x.trim().parse().ok();
        }
    }
    Some((v?, iv?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_names() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 7 0 \
                    5000 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_proc_stat(line).unwrap();
        assert_eq!(
            s,
            ProcStat {
                utime_ticks: 250,
                stime_ticks: 30,
                threads: 7
            }
        );
        let l = StatLine::parse(line).unwrap();
        assert_eq!(l.name, "my (odd) name");
        assert_eq!(l.state().unwrap(), 'S');
        assert!(parse_proc_stat("1 (x) S 1 2").is_err());
        assert!(StatLine::parse("garbage").is_err());
        assert!(l.field(2).is_err() && l.field(99).is_err());
    }

    #[test]
    fn switches_need_both_counters() {
        let text = "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(parse_switches(text), Some((12, 3)));
        assert_eq!(parse_switches("Name:\tx\n"), None);
    }
}
