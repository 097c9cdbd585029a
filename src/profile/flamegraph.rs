//! CPU flamegraph of a running process: `perf record` (software `cpu-clock` event, so it
//! works in VMs without hardware counters) + `perf script`, folded and drawn by `inferno`.
//!
//! Why perf from outside rather than a profiler inside `serve`: the bridge and the models
//! stay free of measurement code, and the same recipe profiles any pid. The folded stacks
//! also give the "top functions" table, so the report can name functions in plain figures
//! without anyone opening the SVG.

use crate::metrics::profile::PassStatus;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::metrics::profile::{FlameProfile, FnShare};

/// Sampling settings.
#[derive(Clone, Debug)]
pub struct FlameOptions {
    pub frequency_hz: u32,
    /// `dwarf` unwinds Rust code built without frame pointers; `fp` is cheaper.
    pub call_graph: String,
    /// Rows kept in `top_self` / `top_total`.
    pub top: usize,
    /// Title drawn on the SVG.
    pub title: String,
}

impl Default for FlameOptions {
    fn default() -> Self {
        FlameOptions {
            frequency_hz: 999,
            call_graph: "dwarf".into(),
            top: 12,
            title: "esbench CPU flamegraph".into(),
        }
    }
}

/// Checks that `perf record` works here (installed, and perf events permitted), with the
/// reason when not.
pub fn perf_check(scratch: &Path) -> Result<(), String> {
    let data = scratch.join(format!(".perf-check-{}.data", std::process::id()));
    let out = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-o"])
        .arg(&data)
        .args(["--", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let _ = std::fs::remove_file(&data);
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(
            "perf is not installed: no flamegraph (install `linux-perf` / `linux-tools`)".into(),
        ),
        Err(e) => Err(format!("cannot run perf: {e}")),
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "perf record does not work here (perf_event_paranoid? container?): {}",
            first_line(&String::from_utf8_lossy(&o.stderr))
        )),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Samples `pid` for `window` and writes `<stem>.svg` and `<stem>.folded` into `out_dir`.
/// Never errors: failures become a `status` and a `note`.
pub fn record_pid(
    pid: u32,
    window: Duration,
    out_dir: &Path,
    stem: &str,
    opts: &FlameOptions,
) -> FlameProfile {
    let mut prof = FlameProfile {
        window_s: window.as_secs_f64(),
        frequency_hz: opts.frequency_hz,
        call_graph: opts.call_graph.clone(),
        ..Default::default()
    };
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        return FlameProfile::not_done(
            PassStatus::Failed,
            format!("cannot create {}: {e}", out_dir.display()),
        );
    }
    if let Err(note) = perf_check(out_dir) {
        let status = if note.contains("not installed") {
            PassStatus::Unavailable
        } else {
            PassStatus::Failed
        };
        return FlameProfile::not_done(status, note);
    }
    let data = out_dir.join(format!(".{stem}.perf.data"));
    let call_graph = if opts.call_graph == "dwarf" {
        "dwarf,16384".to_string()
    } else {
        opts.call_graph.clone()
    };
    let child = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-F"])
        .arg(opts.frequency_hz.to_string())
        .args(["--call-graph", &call_graph, "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return FlameProfile::not_done(PassStatus::Failed, format!("cannot start perf: {e}"))
        }
    };
    let started = Instant::now();
    super::sleep(window);
    prof.window_s = started.elapsed().as_secs_f64();
    // perf writes its data on SIGINT; a perf that hangs is killed and reported.
    let status = super::interrupt_and_wait(&mut child, Duration::from_secs(30));
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    // perf may report the SIGINT in its exit status; the data file is what counts.
    let wrote = std::fs::metadata(&data).is_ok_and(|m| m.len() > 0);
    if status.is_none() || !wrote {
        let _ = std::fs::remove_file(&data);
        return FlameProfile::not_done(
            PassStatus::Failed,
            format!(
                "perf record wrote no data ({status:?}): {}",
                first_line(&err)
            ),
        );
    }
    let script = match perf_script(&data) {
        Ok(s) => s,
        Err(note) => return FlameProfile::not_done(PassStatus::Failed, note),
    };
    let folded = match collapse(&script) {
        Ok(f) => f,
        Err(e) => {
            return FlameProfile::not_done(PassStatus::Failed, format!("cannot fold stacks: {e}"))
        }
    };
    let stats = FoldedStats::from_folded(&folded);
    prof.samples = stats.samples;
    prof.by_thread = stats.top(&stats.by_root, usize::MAX);
    prof.top_self = stats.top(&stats.self_samples, opts.top);
    prof.top_total = stats.top(&stats.total_samples, opts.top);
    prof.top_code = stats.top(&stats.code_samples, opts.top);
    prof.by_crate = stats.top(&stats.crate_samples, opts.top);
    let folded_name = format!("{stem}.folded");
    if std::fs::write(out_dir.join(&folded_name), &folded).is_ok() {
        prof.folded = Some(folded_name);
    }
    if stats.samples == 0 {
        prof.status = PassStatus::Ok;
        prof.note = Some("no CPU samples: the process stayed off the CPU during the window".into());
        return prof;
    }
    let svg_name = format!("{stem}.svg");
    match draw_svg(&folded, &opts.title) {
        Ok(svg) => match super::write_file(&out_dir.join(&svg_name), &svg) {
            Ok(()) => prof.svg = Some(svg_name),
            Err(e) => prof.note = Some(format!("cannot write flamegraph: {e:#}")),
        },
        Err(e) => prof.note = Some(format!("cannot draw flamegraph: {e}")),
    }
    prof.status = PassStatus::Ok;
    prof
}

/// `perf script`'s text of the samples in `data` (which it removes), or why there is none.
fn perf_script(data: &Path) -> Result<Vec<u8>, String> {
    let script = Command::new("perf")
        // No `period` field: inferno would weight stacks by it; we want sample counts.
        .args([
            "script",
            "--no-inline",
            "-F",
            "comm,pid,tid,time,event,ip,sym,dso",
            "-i",
        ])
        .arg(data)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let _ = std::fs::remove_file(data);
    match script {
        Ok(o) if o.status.success() => Ok(o.stdout),
        Ok(o) => Err(format!("perf script failed ({})", o.status)),
        Err(e) => Err(format!("cannot run perf script: {e}")),
    }
}

/// `perf script` text to folded stacks (inferno's stackcollapse-perf).
pub fn collapse(perf_script: &[u8]) -> std::io::Result<String> {
    use inferno::collapse::Collapse;
    let mut opts = inferno::collapse::perf::Options::default();
    opts.nthreads = 1;
    // Kernel frames get a `_[k]` suffix so samples can be put on the kernel (see `crate_of`).
    opts.annotate_kernel = true;
    let mut folder = inferno::collapse::perf::Folder::from(opts);
    let mut out = Vec::new();
    folder.collapse(BufReader::new(perf_script), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Folded stacks to an interactive SVG flamegraph.
pub fn draw_svg(folded: &str, title: &str) -> std::io::Result<Vec<u8>> {
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    opts.count_name = "samples".into();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opts, folded.lines(), &mut svg)?;
    Ok(svg)
}

/// Sample counts per function, from folded stacks. The root frame is the thread name.
#[derive(Debug, Default)]
pub struct FoldedStats {
    pub samples: u64,
    pub by_root: BTreeMap<String, u64>,
    pub self_samples: BTreeMap<String, u64>,
    pub total_samples: BTreeMap<String, u64>,
    pub code_samples: BTreeMap<String, u64>,
    pub crate_samples: BTreeMap<String, u64>,
}

/// Crates whose frames are plumbing rather than "whose code runs".
const PLUMBING: [&str; 6] = ["core", "std", "alloc", "kernel", "native", "unknown"];

/// The crate a frame belongs to: `kernel` (annotated `_[k]`), `unknown` (`[unknown]`), the
/// first `ident::` path segment (so `<I as core::iter::Iterator>::next` is `core`), or
/// `native` for C symbols (libc, the runtime's start-up).
pub fn crate_of(frame: &str) -> &str {
    if frame.ends_with("_[k]") {
        return "kernel";
    }
    if frame.starts_with("[unknown]") {
        return "unknown";
    }
    let b = frame.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if frame[i..].starts_with("::") && b[start].is_ascii_lowercase() {
                return &frame[start..i];
            }
        } else {
            i += 1;
        }
    }
    "native"
}

/// A frame name for people: without inferno's `_[k]` kernel marker.
fn display_name(frame: &str) -> &str {
    frame.strip_suffix("_[k]").unwrap_or(frame)
}

impl FoldedStats {
    pub fn from_folded(folded: &str) -> FoldedStats {
        let mut s = FoldedStats::default();
        for line in folded.lines() {
            let Some((stack, count)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(count) = count.trim().parse::<u64>() else {
                continue;
            };
            let frames: Vec<&str> = stack.split(';').collect();
            s.samples += count;
            *s.by_root.entry(frames[0].to_string()).or_default() += count;
            // A stack of only the root means perf could not unwind anything.
            let funcs = if frames.len() > 1 {
                &frames[1..]
            } else {
                &frames[..]
            };
            if let Some(leaf) = funcs.last() {
                *s.self_samples
                    .entry(display_name(leaf).to_string())
                    .or_default() += count;
                *s.crate_samples
                    .entry(crate_of(leaf).to_string())
                    .or_default() += count;
                let code = funcs
                    .iter()
                    .rev()
                    .find(|f| !PLUMBING.contains(&crate_of(f)))
                    .unwrap_or(leaf);
                *s.code_samples
                    .entry(display_name(code).to_string())
                    .or_default() += count;
            }
            let distinct: BTreeSet<&str> = funcs.iter().map(|f| display_name(f)).collect();
            for f in distinct {
                *s.total_samples.entry(f.to_string()).or_default() += count;
            }
        }
        s
    }

    /// The `n` largest entries of `map` as shares of all samples.
    pub fn top(&self, map: &BTreeMap<String, u64>, n: usize) -> Vec<FnShare> {
        let mut v: Vec<(&String, &u64)> = map.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .take(n)
            .map(|(f, c)| FnShare {
                function: f.clone(),
                samples: *c,
                percent: 100.0 * *c as f64 / self.samples.max(1) as f64,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like `perf script -F comm,pid,tid,time,event,ip,sym,dso` output.
    const SCRIPT: &str = "\
spinner  100/101    1.000: cpu-clock: 
\t    55d0a1 esbench::spin (/bin/esbench)
\t    55d0b1 std::thread::run (/bin/esbench)

spinner  100/101    1.001: cpu-clock: 
\t    55d0a1 esbench::spin (/bin/esbench)
\t    55d0b1 std::thread::run (/bin/esbench)

esbench  100/100    1.002: cpu-clock: 
\t    55d0c1 esbench::poll (/bin/esbench)
\t    55d0d1 main (/bin/esbench)

";

    #[test]
    fn frames_are_put_on_crates() {
        assert_eq!(crate_of("finish_task_switch.isra.0_[k]"), "kernel");
        assert_eq!(
            crate_of("<I as core::iter::traits::collect::IntoIterator>::into_iter"),
            "core"
        );
        assert_eq!(
            crate_of("<std::sys::thread::unix::Thread>::new::thread_start"),
            "std"
        );
        assert_eq!(crate_of("tokio::runtime::park::Inner::park"), "tokio");
        assert_eq!(crate_of("__GI___libc_write"), "native");
        assert_eq!(crate_of("[unknown]"), "unknown");
        let folded = "t;main;esbench::poll;core::ptr::read;memcpy_[k] 3\nt;main;esbench::poll 1\n";
        let s = FoldedStats::from_folded(folded);
        assert_eq!(s.code_samples.get("esbench::poll"), Some(&4));
        assert_eq!(s.self_samples.get("memcpy"), Some(&3));
        assert_eq!(s.crate_samples.get("kernel"), Some(&3));
    }

    #[test]
    fn perf_script_folds_and_counts() {
        let folded = collapse(SCRIPT.as_bytes()).unwrap();
        let s = FoldedStats::from_folded(&folded);
        assert_eq!(s.samples, 3, "{folded}");
        let top = s.top(&s.self_samples, 5);
        assert_eq!(top[0].function, "esbench::spin");
        assert_eq!(top[0].samples, 2);
        assert!((top[0].percent - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.by_root.get("spinner"), Some(&2));
        assert_eq!(s.total_samples.get("std::thread::run"), Some(&2));
        assert_eq!(s.crate_samples.get("esbench"), Some(&3));
        assert_eq!(s.code_samples.get("esbench::spin"), Some(&2));
        let svg = draw_svg(&folded, "t").unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("esbench::spin"));
    }
}
