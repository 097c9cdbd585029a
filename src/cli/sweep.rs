//! `esbench sweep`: one scenario, one knob, several values — where does each model break?

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::cli::run::parse_measured_s;
use crate::driver::interrupt;
use crate::driver::options::RunOptions;
use crate::driver::place::Place;
use crate::driver::session::default_out_dir;
use crate::sweep::execute::{self, SweepPlan};
use crate::sweep::manifest::Setting;
use crate::sweep::overrides::{parse_fixed, parse_knob, Knob};
use crate::sweep::page;

/// Run one scenario once per value of a knob and plot each model's CPU and latency against it.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  esbench sweep --set clients.per_board=1,2,4,8,16 --quick
  esbench sweep scenarios/blocking-call.toml --set workload.blocking_sleep_us=0,1000,5000,20000 \\
      --models threads,tokio-current,smol
  esbench sweep --set workload.poll_work_us=0,200,1000,5000 --with boards.count=4 --duration 10
  esbench sweep --set boards.count=1,2,4,8 --dry-run      # check the values, print the plan
  esbench sweep scenarios/school.toml --set boards.count=1 --until-knee --quick
  esbench sweep --from reports/sweep-20261122-140000       # re-render without running
  esbench sweep --resume reports/sweep-20261122-140000     # finish an interrupted sweep

KEY is a dotted scenario key (clients.per_board, boards.count, workload.poll_work_us,
workload.blocking_sleep_us, clients.poll_period_ms, ...); values keep the type the scenario
expects and every point is validated before anything runs. Each point is a full `esbench
run` (floor, every model in its own child process) written to
<out>/<KEY>=<VALUE>/results.json with its own report; <out>/sweep.json lists the points,
sweep.md holds the table and sweep.html the plots of metric vs value, one line per model;
under the table each model's knee (by the rule printed), its fixed and marginal CPU cost
with intervals, and where models cross (judged only with rounds); analysis.json holds them
for scripts. --until-knee keeps doubling the last value until every model has broken or a
limit stops it (--max-value, --max-wall, a point where the driver limits every model still
without a knee, a failed point), and says which.
A point that fails is recorded and the sweep goes on; Ctrl-C, SIGTERM or SIGHUP keeps what
was measured, and --resume later runs the points that are not done.

Exit code: 0 all points and models ok, 3 some point or model failed, 130/143/129 interrupted
by Ctrl-C/SIGTERM/SIGHUP, 2 the sweep could not be done (bad arguments or scenario: nothing
ran).")]
pub struct SweepArgs {
    /// Scenario file (default: scenarios/classroom.toml).
    pub scenario: Option<PathBuf>,
    /// The knob and its values: KEY=V1,V2,... (run in this order).
    #[arg(long = "set", value_name = "KEY=V1,V2,...", value_parser = parse_knob,
          required_unless_present_any = ["from", "resume"])]
    pub set: Option<Knob>,
    /// Hold another knob fixed for every point: KEY=VALUE (repeatable).
    #[arg(long = "with", value_name = "KEY=VALUE", value_parser = parse_fixed)]
    pub with: Vec<(String, String)>,
    /// Models to run, comma-separated (default: the scenario's list, else all).
    #[arg(long, short, value_delimiter = ',')]
    pub models: Vec<String>,
    /// The load driver at every point, `threads` or `events` (the same as `--with
    /// run.driver=...`; `--set run.driver=threads,events` sweeps it).
    #[arg(long, value_name = "DRIVER", value_parser = crate::scenario::DriverKind::parse)]
    pub driver: Option<crate::scenario::DriverKind>,
    /// Short points: the scenario's quick_duration_s and a 0.5 s warm-up.
    #[arg(long, short)]
    pub quick: bool,
    /// Measured time per model at every point, e.g. `10`, `10s` or `1500ms`.
    #[arg(long, short, value_parser = parse_measured_s)]
    pub duration: Option<f64>,
    /// Directory for the sweep (default: reports/sweep-<UTC timestamp>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Pin the driver to one CPU and the model to the others.
    #[arg(long)]
    pub pin: bool,
    /// Do not write each point's HTML report.
    #[arg(long)]
    pub no_point_reports: bool,
    /// Validate every point and print the plan and its estimated time, without running.
    #[arg(long)]
    pub dry_run: bool,
    /// Re-render sweep.md and sweep.html from a finished (or interrupted) sweep: its
    /// sweep.json or its directory. Nothing is run.
    #[arg(long, value_name = "SWEEP_JSON_OR_DIR",
          conflicts_with_all = ["scenario", "set", "with", "models", "driver", "quick", "duration", "out", "pin", "dry_run", "resume"])]
    pub from: Option<PathBuf>,
    /// Finish an interrupted or partly failed sweep: run again, with its original options,
    /// every point that is not done, keeping the done ones. Give its directory or sweep.json
    /// (run from the directory the sweep was started in, for its scenario path).
    #[arg(long, value_name = "SWEEP_JSON_OR_DIR",
          conflicts_with_all = ["scenario", "set", "with", "models", "driver", "quick", "duration", "out", "pin"])]
    pub resume: Option<PathBuf>,
    /// Keep doubling the last value of --set (whole numbers, e.g. boards.count=1,2,4 or a
    /// start value boards.count=1) until every model has broken by the knee rule, or a limit
    /// stops it: --max-value, --max-wall, a point where the driver limits every model still without
    /// a knee, a failed point. The output says
    /// which.
    #[arg(long, requires = "set", conflicts_with_all = ["from", "resume"])]
    pub until_knee: bool,
    /// With --until-knee: the largest value run.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1024,
        requires = "until_knee"
    )]
    pub max_value: u64,
    /// With --until-knee: no point is started that would end past this much measuring
    /// time, e.g. `3600`, `45min`, `2h`.
    #[arg(long, value_name = "TIME", default_value = "1h", value_parser = parse_wall_s,
          requires = "until_knee")]
    pub max_wall: f64,
    /// Run every point's models on a remote `esbench agent` at HOST:PORT (docs/remote.md).
    #[arg(long, value_name = "HOST:PORT", requires = "token_file")]
    pub target: Option<String>,
    /// The file holding the agent's token.
    #[arg(long, value_name = "FILE", requires = "target")]
    pub token_file: Option<PathBuf>,
}

/// `90`, `90s`, `45min`, `2h` (any spelling of `crate::units::parse_seconds`) → seconds.
fn parse_wall_s(text: &str) -> Result<f64, String> {
    match crate::units::parse_seconds(text)? {
        v if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "{text:?} is not a positive time (use seconds like 3600, or 45min, 2h)"
        )),
    }
}

pub fn exec(args: SweepArgs) -> anyhow::Result<i32> {
    if let Some(from) = &args.from {
        return render_from(from);
    }
    let place = match (&args.target, &args.token_file) {
        (Some(addr), Some(file)) => super::agent::connect_target(addr, file)?,
        _ => Place::Local,
    };
    if let Some(dir) = &args.resume {
        return resume(dir, args.dry_run, place);
    }
    let knob = args
        .set
        .clone()
        .context("--set KEY=V1,V2,... is required")?;
    let scenario_path = args
        .scenario
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::scenario::DEFAULT_SCENARIO));
    crate::cli::run::check_scenario_path(&scenario_path)?;
    if let Some(dup) = crate::cli::run::duplicate(&args.models) {
        bail!("--models names {dup:?} twice: give each model once");
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let stamp = default_out_dir();
        let name = stamp
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        PathBuf::from("reports").join(format!("sweep-{name}"))
    });
    let plan = SweepPlan {
        scenario_path,
        knob,
        fixed: args
            .with
            .iter()
            .map(|(key, value)| Setting {
                key: key.clone(),
                value: value.clone(),
            })
            .chain(args.driver.map(|d| Setting {
                key: "run.driver".into(),
                value: d.name().into(),
            }))
            .collect(),
        // No profiling pass: one per model and point would double a long sweep; profile the
        // interesting point afterwards with `esbench run --profile` on its scenario.toml.
        run: RunOptions {
            place,
            ..RunOptions::new(
                args.models.clone(),
                args.duration,
                args.quick,
                args.pin,
                crate::load::child::own_exe()?,
            )
        },
        out: out.clone(),
        point_reports: !args.no_point_reports,
        command: std::env::args().collect(),
        until_knee: None,
    };
    let mut plan = plan;
    if args.until_knee {
        let last = execute::check_doubling(&plan.knob)?;
        if last > args.max_value {
            bail!(
                "--set {}={} already goes past --max-value {}",
                plan.knob.key,
                plan.knob.values.join(","),
                args.max_value
            );
        }
        plan.until_knee = Some(crate::sweep::manifest::UntilKnee {
            max_value: args.max_value,
            max_wall_s: args.max_wall,
            ..Default::default()
        });
    }
    let points = execute::prepare(&plan)?;
    let estimate = execute::estimate_s(&plan, &points);
    crate::outln!(
        "sweep {} over {} value(s) of {}, about {}; output in {}",
        plan.scenario_path.display(),
        points.len(),
        plan.knob.key,
        human_duration(estimate),
        out.display()
    );
    if let Some(u) = &plan.until_knee {
        crate::outln!(
            "then --until-knee: doubling {} until every model has broken (rule: {}), or up \
             to {} at most, or {} of measuring at most, or a point where the driver limits every model \
             still without a knee",
            plan.knob.key,
            crate::sweep::knee::RULE,
            u.max_value,
            human_duration(u.max_wall_s)
        );
    }
    if args.dry_run {
        for p in &points {
            crate::outln!(
                "  {}={}: models {}",
                plan.knob.key,
                p.value,
                p.models.join(", ")
            );
        }
        return Ok(0);
    }
    interrupt::install()?;
    let outcome = execute::run(&plan, &points)?;
    finish(&outcome, &out)
}

/// `--resume`: the not-done points of an existing sweep, with its original options.
fn resume(from: &std::path::Path, dry_run: bool, place: Place) -> anyhow::Result<i32> {
    let json = sweep_json(from);
    let manifest = crate::sweep::manifest::SweepManifest::load(&json)?;
    let dir = json
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let plan = execute::resume_plan(&manifest, &dir, crate::load::child::own_exe()?, place);
    if !plan.scenario_path.is_file() {
        bail!(
            "the sweep's scenario {} is not found from here; run --resume from the directory \
             the sweep was started in",
            plan.scenario_path.display()
        );
    }
    let points = execute::prepare(&plan)?;
    let todo: Vec<execute::PreparedPoint> = points
        .iter()
        .zip(&manifest.points)
        .filter(|(_, m)| m.status != crate::sweep::manifest::PointStatus::Done)
        .map(|(p, _)| p.clone())
        .collect();
    crate::outln!(
        "resuming {}: {} of {} point(s) to run, about {}",
        dir.display(),
        todo.len(),
        points.len(),
        human_duration(execute::estimate_s(&plan, &todo))
    );
    let may_grow = manifest
        .until_knee
        .as_ref()
        .is_some_and(|u| u.stopped.is_none());
    if may_grow && todo.is_empty() {
        crate::outln!("every point is done; --until-knee goes on doubling");
    }
    if dry_run || (todo.is_empty() && !may_grow) {
        return Ok(0);
    }
    interrupt::install()?;
    let outcome = execute::resume(&plan, &points, manifest)?;
    finish(&outcome, &dir)
}

/// Prints the tables, writes sweep.md and sweep.html, and returns the exit code.
fn finish(outcome: &execute::Outcome, out: &std::path::Path) -> anyhow::Result<i32> {
    let loaded = crate::sweep::manifest::LoadedSweep::load(outcome.manifest.clone(), out);
    crate::out!(
        "{}",
        crate::render::format::term_lines(&page::terminal(&loaded))
    );
    let written = page::write_outputs(&loaded, out)?;
    crate::outln!(
        "\nsweep: {}\ntable: {}\nplots: {}",
        out.join("sweep.json").display(),
        written.markdown.display(),
        written.html.display()
    );
    Ok(outcome.exit_code(out))
}

fn sweep_json(from: &std::path::Path) -> PathBuf {
    if from.is_dir() {
        from.join("sweep.json")
    } else {
        from.to_path_buf()
    }
}

/// `--from`: sweep.json (or its directory) → sweep.md and sweep.html, printed table.
fn render_from(from: &std::path::Path) -> anyhow::Result<i32> {
    let json = sweep_json(from);
    let loaded = page::load(&json)?;
    let dir = json.parent().unwrap_or(std::path::Path::new("."));
    crate::out!(
        "{}",
        crate::render::format::term_lines(&page::terminal(&loaded))
    );
    let written = page::write_outputs(&loaded, dir)?;
    crate::outln!(
        "\ntable: {}\nplots: {}",
        written.markdown.display(),
        written.html.display()
    );
    Ok(0)
}

/// `45 s`, `3.5 min`, `1.2 h`.
fn human_duration(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}
