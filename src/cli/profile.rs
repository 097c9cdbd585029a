//! `esbench profile`: where a model's CPU goes — per-thread CPU and wake-ups, syscalls,
//! a flamegraph — for one running process (`--pid`) or one model started for the purpose
//! (`--model`, with a virtual board and Scratch pollers like `esbench run` uses).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::metrics::profile::ProfileReport;
use crate::metrics::results::write_atomic;
use crate::profile::{self, ProfileOptions};
use crate::report::profile_text;
use crate::scenario::Scenario;

/// Profile a model (or any process): per-thread CPU and wake-ups, syscall table, flamegraph.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    esbench profile --model tokio scenarios/classroom.toml\n  \
    esbench profile --pid 4242 --label my-serve --window 5\n  \
    esbench profile --model smol --into reports/20261122-150704/results.json\n\n\
Writes <out>/profile-<label>.json (schema esbench.profile/1) and <out>/flame-<label>.svg.\n\
strace and perf are used when they work here; otherwise the profile says so and goes on.\n\
Ctrl-C, SIGTERM or SIGHUP end the windows early: the profile of the time they lasted is\n\
written, the model stopped, and the exit code is 130, 143 or 129.")]
pub struct ProfileArgs {
    /// Model to start and profile (see `esbench models`).
    #[arg(long, conflicts_with = "pid", required_unless_present = "pid")]
    pub model: Option<String>,
    /// Scenario file for `--model` (default: the classroom scenario).
    pub scenario: Option<PathBuf>,
    /// Profile this already-running process instead of starting a model.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Name used in file names and tables (default: the model name, or `pid-N`).
    #[arg(long)]
    pub label: Option<String>,
    /// Length of each profiling window (the /proc + perf window, then the strace window):
    /// seconds like `10`, `10s` or `1500ms`.
    #[arg(long, default_value = "10", value_parser = super::run::parse_duration_s)]
    pub window: f64,
    /// Seconds the model runs before profiling starts (`--model` only).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Output directory.
    #[arg(long, default_value = "reports/profile")]
    pub out: PathBuf,
    /// Skip the strace pass.
    #[arg(long)]
    pub no_strace: bool,
    /// Skip the perf pass.
    #[arg(long)]
    pub no_perf: bool,
    /// Stack unwinding for perf: `dwarf` (works without frame pointers) or `fp` (cheaper).
    #[arg(long, default_value = "dwarf")]
    pub call_graph: String,
    /// Also store the profile in this results.json, in the row of the model with this label.
    #[arg(long)]
    pub into: Option<PathBuf>,
    /// The `block_on` the smol model runs under (`async-io` or `futures-lite`; `--model`
    /// only); default: the scenario's `run.smol_block_on`.
    #[arg(long, value_name = "NAME", conflicts_with = "pid",
          value_parser = crate::scenario::SmolBlockOn::parse)]
    pub smol_block_on: Option<crate::scenario::SmolBlockOn>,
}

pub fn exec(args: ProfileArgs) -> Result<i32> {
    if !(args.window > 0.0 && args.window.is_finite()) {
        bail!("--window must be a positive number of seconds");
    }
    if !matches!(args.call_graph.as_str(), "dwarf" | "fp" | "lbr") {
        bail!("--call-graph must be dwarf, fp or lbr");
    }
    stop_profiles_on_signals()?;
    let report = match (args.pid, &args.model) {
        (Some(pid), _) => {
            let label = args.label.clone().unwrap_or_else(|| format!("pid-{pid}"));
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                bail!("no process with pid {pid}");
            }
            crate::errln!("profiling pid {pid} for 2 × {} s ...", args.window);
            profile::profile_with(pid, &options(&args, &label), None)
        }
        (None, Some(model)) => {
            if crate::models::find(model).is_none() {
                bail!(
                    "unknown model {model:?}; available: {}",
                    crate::models::names()
                );
            }
            let label = args.label.clone().unwrap_or_else(|| model.clone());
            profile_model(&args, model, &label)?
        }
        (None, None) => bail!("give --model M or --pid PID"),
    };
    let mut report = report;
    let interrupted = crate::driver::interrupt::interrupted();
    if interrupted {
        report.notes.push(format!(
            "{}: the windows were cut short (their rates use the time they lasted)",
            crate::driver::interrupt::status()
        ));
    }
    let json_path = args.out.join(format!(
        "profile-{}.json",
        profile::file_safe(&report.label)
    ));
    write_atomic(&json_path, &serde_json::to_vec_pretty(&report)?)?;
    crate::out!("{}", profile_text::render(&report));
    crate::outln!("profile written to {}", json_path.display());
    if let Some(svg) = &report.flamegraph.svg {
        crate::outln!("flamegraph: {}", args.out.join(svg).display());
    }
    if let Some(path) = &args.into {
        profile::store_in_results(path, &report)?;
        crate::outln!("stored in {} (model {})", path.display(), report.label);
    }
    Ok(if interrupted {
        crate::driver::interrupt::exit_code()
    } else {
        0
    })
}

/// Installs the Ctrl-C/SIGTERM/SIGHUP handlers and ends the profiling windows when one comes
/// (`profile` and `run --profile`): a thread blocked on the signal pipe, no polling.
pub fn stop_profiles_on_signals() -> Result<()> {
    use crate::driver::interrupt;
    interrupt::install()?;
    std::thread::Builder::new()
        .name("profile-signals".into())
        .spawn(|| {
            interrupt::wait();
            profile::stop();
        })
        .context("cannot start the profile's signal thread")?;
    Ok(())
}

fn options(args: &ProfileArgs, label: &str) -> ProfileOptions {
    let mut o = ProfileOptions::new(Duration::from_secs_f64(args.window), &args.out, label);
    o.strace = !args.no_strace;
    o.perf = !args.no_perf;
    o.flame.call_graph = args.call_graph.clone();
    o
}

/// Loads the scenario (classroom by default) and runs the library's profiling pass.
fn profile_model(args: &ProfileArgs, model: &str, label: &str) -> Result<ProfileReport> {
    let mut scenario = match &args.scenario {
        Some(p) => Scenario::load(p).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Scenario::default(),
    };
    if let Some(b) = args.smol_block_on {
        scenario.run.smol_block_on = b;
    }
    let exe = std::env::current_exe().context("cannot find the esbench executable")?;
    crate::errln!(
        "profiling `esbench serve --model {model}` on scenario {}: {} s warm-up, then 2 × {} s ...",
        scenario.name,
        args.warmup,
        args.window
    );
    profile::profile_model(
        &exe,
        model,
        &scenario,
        &options(args, label),
        Duration::from_secs_f64(args.warmup.max(0.0)),
    )
}
