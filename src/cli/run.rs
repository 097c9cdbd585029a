//! `esbench run`: the main job — every model under the same load, measured honestly.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::driver::options::{check_duration_s, RoundsOptions, RunOptions, MAX_DURATION_S};
use crate::driver::place::Place;
use crate::driver::session::{default_out_dir, run_scenario_with};
use crate::driver::variant::Variant;
use crate::driver::{interrupt, latest};
use crate::load::bridge_template::BridgeSpec;
use crate::metrics::results::Results;
use crate::render::format::{term, term_lines};
use crate::report::run_table;

/// Run scenarios against every concurrency model and measure CPU, latency and jitter.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench run                                   # classroom scenario, every model (~4 min)
  esbench run --quick                           # the same, short (under a minute)
  esbench run scenarios/lab.toml -m smol,tokio -d 30   # --models, --duration
  esbench run --quick --out /tmp/smoke --no-history
  esbench run --quick --profile --models smol,rayon   # plus a profiling pass per model
  esbench run --quick --valgrind --models coop   # plus instructions per event under valgrind
  esbench run --rounds 10 --seed 7              # ten interleaved rounds, a reproducible order
  esbench run --quick --export-csv run.csv --export-markdown -   # figures to a file and stdout
  esbench run --quick --models coop --bridge 'mine=python3 my_bridge.py {serial} --port {port}'

Each model runs as its own `esbench serve` child process, never two at once, after a floor
probe of the machine's own timer latency. Its measured time is split into rounds (6 by
default, 3 with --quick), interleaved across models with the order shuffled per round, each
round a fresh child after its own warm-up; the table shows each figure's interval over the
rounds and names a single best model only when its interval clears the runner-up's. Results go to reports/<UTC timestamp>/results.json
(or --out DIR) after every model, with the HTML report next to them; reports/latest then
points at that directory (for runs written under reports/ only). Ctrl-C, SIGTERM and SIGHUP
stop cleanly and keep what was measured (rows marked interrupted, report and history written). On a terminal a progress bar shows where the run is; otherwise
(CI logs, pipes) one plain line per model start and finish goes to stderr.

Exit code: 0 all models ok, 3 some model failed or crashed (its row says why),
130/143/129 interrupted by Ctrl-C/SIGTERM/SIGHUP, 2 the run itself could not be done (bad
scenario, unknown model, results.json not writable), 4 measured but the report, the history
row or an --export-* file could not be written (the error names the file). A closed stdout
(`| head`) changes nothing: the output is dropped, the run goes on.")]
pub struct RunArgs {
    /// Scenario files (default: scenarios/classroom.toml).
    pub scenarios: Vec<PathBuf>,
    /// Models to run, comma-separated (default: the scenario's list, else every model but
    /// the teaching ones; see `esbench models`).
    #[arg(long, short, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Also measure your own bridge program as a row named NAME (repeatable). COMMAND is a
    /// template: {serial} the board's pty, {port} and {host} where to listen, {serial0}…,
    /// {serials}, {port0}… with several boards; no shell unless you write one. See
    /// docs/bridges.md.
    #[arg(long, value_name = "NAME=COMMAND", value_parser = parse_bridge)]
    pub bridge: Vec<BridgeSpec>,
    /// Measured time per model, e.g. `20`, `20s` or `1500ms`: 0.5 s to 24 h (default: the
    /// scenario's).
    #[arg(long, short, value_parser = parse_measured_s, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Short run: the scenario's quick_duration_s and a 0.5 s warm-up.
    #[arg(long, short)]
    pub quick: bool,
    /// Also write the run's figures (every figure, its interval over the rounds, the ★) as
    /// JSON to FILE (`-`: stdout); one scenario per run.
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
    /// The same as CSV, one line per model and figure.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// The same as Markdown: the report's summary table and the verdicts.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,
    /// Print the table with every column (poll p99.9 and max, service time, staleness,
    /// watchdog p99 and its floor ratio, timer slack, driver health); the default fits 100
    /// columns with the figures the verdicts use.
    #[arg(long)]
    pub wide: bool,
    /// Directory for results.json and the report (default: reports/<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Pin the driver to one CPU and the model to the others (when there are two or more).
    #[arg(long)]
    pub pin: bool,
    /// History database the run is recorded in.
    #[arg(long, default_value = "reports/history.sqlite")]
    pub history: PathBuf,
    /// Do not record the run in the history database.
    #[arg(long)]
    pub no_history: bool,
    /// Do not write the HTML report.
    #[arg(long)]
    pub no_report: bool,
    /// After each model's measured pass, a separate profiling pass on a fresh child:
    /// per-thread CPU and wake-ups, syscalls (strace), flamegraph (perf). Its figures go in
    /// the report's "Where the CPU goes", never in the measured table (see `esbench profile`).
    #[arg(long)]
    pub profile: bool,
    /// After the timed rounds, count each model's instructions per handled event under
    /// valgrind (callgrind), for machines without hardware counters: --valgrind-passes fresh
    /// serve children per model (per side with --against) under the scenario's load, each
    /// counting SECONDS (default 10) after start-up and warm-up. The figure is
    /// cpu.valgrind_instructions_per_event, never mixed into the timed figures (see
    /// docs/figures.md). Needs valgrind; external bridges are not counted.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true,
          default_missing_value = "10", value_parser = parse_duration_s,
          conflicts_with = "target")]
    pub valgrind: Option<f64>,
    /// Passes per model of --valgrind: 5 (the default) is the fewest that give an interval
    /// of the median, which a paired run needs to judge the per-pass ratios B/A.
    #[arg(long, value_name = "N", requires = "valgrind", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub valgrind_passes: u32,
    /// Inject a known fault to check the measuring machinery (repeatable): freeze=1.5s@1s,
    /// poll-delay=100ms, drop-command=10, fail-poll=5%, timer-late=1ms, frame-cpu=50us.
    /// The run is recorded as injected (results.json `injected`), never as a measurement.
    #[arg(long = "inject", value_name = "SPEC", value_parser = parse_fault)]
    pub inject: Vec<String>,
    /// Run the models on a remote `esbench agent` at HOST:PORT (the device), with the
    /// Scratch clients here; see docs/remote.md. Needs --token-file. Not with --profile or
    /// --pin, which act on this machine's processes.
    #[arg(long, value_name = "HOST:PORT", requires = "token_file",
          conflicts_with_all = ["profile", "pin"])]
    pub target: Option<String>,
    /// The file holding the agent's token (its first line).
    #[arg(long, value_name = "FILE", requires = "target")]
    pub token_file: Option<PathBuf>,
    /// How the load driver runs its boards and clients: `threads` (one per board and client
    /// connection) or `events` (a few event loops); default: the scenario's `run.driver`.
    #[arg(long, value_name = "DRIVER", value_parser = crate::scenario::DriverKind::parse)]
    pub driver: Option<crate::scenario::DriverKind>,
    /// How long before each send the Scratch clients stop sleeping and spin on the clock, in
    /// µs, 0 to 10000 (0 = plain sleeps); default: the scenario's `run.send_spin_us` (200).
    /// Recorded in results.json's `settings`. See docs/instrument.md.
    #[arg(long, value_name = "US", allow_hyphen_values = true,
          value_parser = clap::value_parser!(u64).range(0..=crate::scenario::MAX_SEND_SPIN_US))]
    pub send_spin_us: Option<u64>,
    /// The `block_on` the smol model runs its executor under: `async-io` (smol's own) or
    /// `futures-lite`; default: the scenario's `run.smol_block_on` (`async-io`). Recorded in
    /// results.json's `settings`. See docs/model-costs.md.
    #[arg(long, value_name = "NAME", value_parser = crate::scenario::SmolBlockOn::parse)]
    pub smol_block_on: Option<crate::scenario::SmolBlockOn>,
    /// Interleaved rounds each model's measured time is split into, 1 to 1000 (default:
    /// the scenario's run.rounds, else 6, or 3 with --quick, or 24 in a paired run
    /// (--against), fewer when the duration holds fewer rounds of 0.5 s).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_rounds)]
    pub rounds: Option<u32>,
    /// Seed of the per-round shuffle of the model order (default: a fresh one; the seed and
    /// the orders are recorded in results.json either way).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Test-only: run a registered model again under another name, optionally with faults
    /// of its own, to check the verdicts: NAME=MODEL[:FAULT,…], e.g.
    /// hot=threads:frame-cpu=120us. The run is recorded as injected.
    #[arg(long = "variant", value_name = "NAME=MODEL[:FAULT,…]", value_parser = Variant::parse, hide = true)]
    pub variants: Vec<Variant>,
    /// Paired run: measure every selected model twice per round, side A served by
    /// OTHER_EXE's `serve` (typically the previous build) and side B by this build, in the
    /// same interleaved rounds; the table and report show B against A per figure (the
    /// per-round ratio B/A and its interval), and `esbench check --paired` judges it
    #[arg(long, value_name = "OTHER_EXE")]
    pub against: Option<PathBuf>,
    /// With --against, for measuring the paired gate: inject a fault into side B's rows
    /// only (repeatable), e.g. frame-cpu=20us
    #[arg(long = "inject-b", value_name = "SPEC", value_parser = parse_fault, requires = "against", hide = true)]
    pub inject_b: Vec<String>,
}

/// `--rounds`: 1 to `MAX_ROUNDS`, and a message naming that range whatever was given (a
/// negative number or 0 included).
fn parse_rounds(text: &str) -> Result<u32, String> {
    let max = crate::driver::rounds::MAX_ROUNDS;
    match text.trim().parse::<i64>() {
        Ok(n) if (1..=i64::from(max)).contains(&n) => Ok(n as u32),
        Ok(n) => Err(format!("--rounds = {n} is outside 1 to {max}")),
        Err(_) => Err(format!("{text:?} is not a number of rounds (1 to {max})")),
    }
}

/// A fault spec, checked at once and kept in its canonical form.
fn parse_fault(text: &str) -> Result<String, String> {
    crate::bridge::inject::Fault::parse(text).map(|f| f.to_string())
}

/// Seconds from `20`, `20s`, `1.5s`, `1500ms` (any spelling of `crate::units::parse_seconds`): any positive length up to 24 h (shared by
/// `profile --window`, where short windows make sense; `run --duration` is stricter).
pub fn parse_duration_s(text: &str) -> Result<f64, String> {
    let secs = crate::units::parse_seconds(text)?;
    if secs.is_nan() || secs <= 0.0 || secs > MAX_DURATION_S {
        return Err(format!(
            "{text:?} is not a usable duration: give more than 0 s and at most \
             {MAX_DURATION_S} s (24 h), e.g. 20, 20s or 1500ms"
        ));
    }
    Ok(secs)
}

/// A measured time per model (`run --duration`, `sweep --duration`): like
/// [`parse_duration_s`], within the range of [`check_duration_s`].
pub fn parse_measured_s(text: &str) -> Result<f64, String> {
    let secs = crate::units::parse_seconds(text)?;
    check_duration_s(secs).map_err(|why| format!("{text:?} {why}"))?;
    Ok(secs)
}

pub fn exec(args: RunArgs) -> anyhow::Result<i32> {
    let scenarios = if args.scenarios.is_empty() {
        vec![PathBuf::from("scenarios/classroom.toml")]
    } else {
        args.scenarios.clone()
    };
    for s in &scenarios {
        check_scenario_path(s)?;
    }
    if let Some(dup) = duplicate(&args.models) {
        bail!("--models names {dup:?} twice: give each model once");
    }
    let exporting =
        args.export_json.is_some() || args.export_csv.is_some() || args.export_markdown.is_some();
    if exporting && scenarios.len() > 1 {
        // An export holds one run's figures; silently keeping only the last would lose some.
        bail!(
            "--export-json/--export-csv/--export-markdown write one run's figures: give one scenario per run (this run has {})",
            scenarios.len()
        );
    }
    let out = args.out.clone().unwrap_or_else(default_out_dir);
    // A run that fails before measuring anything (validation) leaves no empty directory.
    let made_out = !out.exists();
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let outcome = run_into(&args, &scenarios, &out);
    if made_out && outcome.is_err() {
        let _ = std::fs::remove_dir(&out);
    }
    outcome
}

/// A scenario argument that is a readable file, or why not (missing, a directory, …).
pub(crate) fn check_scenario_path(s: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(s) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) if m.is_dir() => bail!(
            "scenario {} is a directory, not a scenario file (give a .toml file, e.g. {}/classroom.toml)",
            s.display(),
            s.display()
        ),
        Ok(_) => bail!("scenario {} is not a regular file", s.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "scenario file {} not found (run from the esbench directory, or give a path)",
            s.display()
        ),
        Err(e) => Err(e).with_context(|| format!("cannot read scenario file {}", s.display())),
    }
}

/// The first name given twice, if any.
pub(crate) fn duplicate(names: &[String]) -> Option<&String> {
    names
        .iter()
        .enumerate()
        .find_map(|(i, a)| names[..i].contains(a).then_some(a))
}

/// The run proper, once its arguments are checked and `out` exists.
fn run_into(args: &RunArgs, scenarios: &[PathBuf], out: &Path) -> anyhow::Result<i32> {
    let out = out.to_path_buf();
    interrupt::install()?;
    if args.profile || args.valgrind.is_some() {
        crate::cli::profile::stop_profiles_on_signals()?;
    }
    let (opts, against) = options(args)?;
    let mut all: Vec<(PathBuf, Results)> = Vec::new();
    let dirs = result_dirs(scenarios);
    for (scenario, dir) in scenarios.iter().zip(&dirs) {
        if interrupt::interrupted() {
            break;
        }
        let path = out.join(dir).join("results.json");
        let rounds = RoundsOptions {
            rounds: args.rounds,
            seed: args.seed,
            variants: args.variants.clone(),
            against: against.clone(),
        };
        let r = run_scenario_with(&opts, &rounds, scenario, &path)?;
        crate::outln!("\n{} — {}", term(&r.scenario.name), path.display());
        let layout = if args.wide {
            run_table::Layout::Wide
        } else {
            run_table::Layout::Compact
        };
        crate::out!("{}", term_lines(&run_table::render_as(&r, layout)));
        if r.paired.is_some() {
            crate::out!("{}", term_lines(&super::paired_view::terminal(&path)));
        }
        all.push((path, r));
    }

    // A report, history row or export that cannot be written is the run's failure too (exit
    // 4): a full disk must never pass for success. The others are still tried.
    let mut unwritten = false;
    if let Some((_, r)) = all.last() {
        unwritten |= !export(args, r);
    }
    unwritten |= !report(args, &all, &out, against.is_some());
    unwritten |= !record_history(args, &all);
    if !all.is_empty() {
        match latest::update_latest(Path::new(latest::REPORTS_DIR), &out) {
            Ok(Some(link)) => crate::outln!("latest: {} -> {}", link.display(), out.display()),
            Ok(None) => {}
            Err(e) => crate::errln!("warning: {e:#}"),
        }
    }

    if interrupt::interrupted() {
        return Ok(interrupt::exit_code());
    }
    if unwritten {
        return Ok(4);
    }
    let all_ok = all.iter().all(|(_, r)| r.models.iter().all(|m| m.is_ok()));
    Ok(if all_ok { 0 } else { 3 })
}

/// The run's options and, for `--against`, the other build's side.
fn options(
    args: &RunArgs,
) -> anyhow::Result<(RunOptions, Option<crate::driver::against::Against>)> {
    let place = match (&args.target, &args.token_file) {
        (Some(addr), Some(file)) => crate::cli::agent::connect_target(addr, file)?,
        _ => Place::Local,
    };
    let opts = RunOptions {
        place,
        profile: args.profile,
        valgrind: args
            .valgrind
            .map(|window_s| crate::driver::options::ValgrindRun {
                window_s,
                passes: args.valgrind_passes,
            }),
        inject: args.inject.clone(),
        driver: args.driver,
        send_spin_us: args.send_spin_us,
        smol_block_on: args.smol_block_on,
        bridges: args.bridge.clone(),
        ..RunOptions::new(
            args.models.clone(),
            args.duration,
            args.quick,
            args.pin,
            crate::load::child::own_exe()?,
        )
    };

    let against = match &args.against {
        Some(exe) => {
            let faults = crate::bridge::inject::parse_all(&args.inject_b)
                .map_err(|e| anyhow::anyhow!("--inject-b: {e}"))?;
            Some(crate::driver::against::Against::new(exe, faults).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    Ok((opts, against))
}

/// The HTML report of the run (a paired run's shows side A against side B); false (after
/// saying why) when it could not be written.
fn report(args: &RunArgs, all: &[(PathBuf, Results)], out: &Path, paired: bool) -> bool {
    let mut ok = true;
    if paired && !args.no_report {
        // A paired run's report: side A and side B as the two runs of the comparison view.
        for (path, _) in all {
            match super::paired_view::report(path, out) {
                Ok(index) => crate::outln!("report: {}", index.display()),
                Err(e) => {
                    crate::errln!("esbench: error: the report was not written: {e:#}");
                    ok = false;
                }
            }
        }
    } else if !args.no_report && !all.is_empty() {
        match crate::report::write_report(all, out) {
            Ok(index) => crate::outln!("report: {}", index.display()),
            Err(e) => {
                crate::errln!("esbench: error: the report was not written: {e:#}");
                ok = false;
            }
        }
    }
    ok
}

/// One history row per scenario run (not for paired or injected runs); false (after saying
/// why) when one could not be written.
fn record_history(args: &RunArgs, all: &[(PathBuf, Results)]) -> bool {
    let mut ok = true;
    if !args.no_history {
        for (path, r) in all {
            if r.paired.is_some() {
                // Two builds' rows under side names: not a point of any model's history.
                crate::outln!("history: not recorded (a paired run of two builds)");
                continue;
            }
            if !r.injected.is_empty() {
                // A run with faults injected on purpose is no point of a model's history.
                crate::outln!(
                    "history: not recorded (injected faults: {})",
                    r.injected.join(", ")
                );
                continue;
            }
            match crate::history::record(&args.history, r, path) {
                Ok(rec) => crate::outln!("history: run {} in {}", rec.id, args.history.display()),
                Err(e) => {
                    crate::errln!("esbench: error: the run was not recorded in history: {e:#}");
                    ok = false;
                }
            }
        }
    }

    ok
}

/// Writes the exports asked for; false (after saying why) when one could not be written.
fn export(args: &RunArgs, r: &Results) -> bool {
    use crate::report::export::{self, Format};
    let mut ok = true;
    for (dest, format) in [
        (&args.export_json, Format::Json),
        (&args.export_csv, Format::Csv),
        (&args.export_markdown, Format::Markdown),
    ] {
        if let Some(dest) = dest {
            if let Err(e) = export::write(r, format, dest) {
                crate::errln!("esbench: error: {e:#}");
                ok = false;
            }
        }
    }
    ok
}

/// The directory under `--out` for each scenario: none for a single one, else its file
/// stem, with `-2`, `-3`... for stems already taken (`a/x.toml` and `b/x.toml` must not
/// write the same results.json).
fn result_dirs(scenarios: &[PathBuf]) -> Vec<String> {
    if scenarios.len() == 1 {
        return vec![String::new()];
    }
    let mut taken = std::collections::HashSet::new();
    scenarios
        .iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into());
            let name = (1..)
                .map(|n| {
                    if n == 1 {
                        stem.clone()
                    } else {
                        format!("{stem}-{n}")
                    }
                })
                .find(|n| !taken.contains(n))
                .expect("some suffix is free");
            taken.insert(name.clone());
            name
        })
        .collect()
}

fn parse_bridge(s: &str) -> Result<BridgeSpec, String> {
    BridgeSpec::parse_cli(s).map_err(|e| format!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_named_scenarios_get_their_own_directories() {
        let paths: Vec<PathBuf> = ["a/x.toml", "b/x.toml", "x-2.toml", "c/x.toml"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(result_dirs(&paths), ["x", "x-2", "x-2-2", "x-3"]);
        assert_eq!(result_dirs(&paths[..1]), [""]);
    }

    #[test]
    fn durations() {
        for parse in [parse_duration_s, parse_measured_s] {
            assert_eq!(parse("20"), Ok(20.0));
            assert_eq!(parse("2.5s"), Ok(2.5));
            assert_eq!(parse("1500ms"), Ok(1.5));
            assert_eq!(parse("86400"), Ok(86_400.0));
            for bad in ["soon", "0", "-1", "-5s", "NaN", "inf", "1e9", "90000s"] {
                assert!(parse(bad).is_err(), "{bad}");
            }
        }
        // A profiling window may be short; a measured window may not.
        assert_eq!(parse_duration_s("300ms"), Ok(0.3));
        for bad in [
            "0", "-1", "-5s", "NaN", "inf", "0.1", "100ms", "1e9", "90000s",
        ] {
            let e = parse_measured_s(bad).unwrap_err();
            assert!(e.contains("0.5 s to 86400 s"), "{bad}: {e}");
        }
        assert_eq!(parse_measured_s("500ms"), Ok(0.5));
    }
}
