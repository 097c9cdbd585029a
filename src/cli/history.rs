//! `esbench history`: lists recorded runs and plots their headline figures over time.

use std::path::PathBuf;

use anyhow::Context;

use crate::history::{self, Filter};
use crate::metrics::figures::TREND;
use crate::render::figures::show;
use crate::render::format::{short_commit, term, utc};

/// List recorded runs; with --html, plot their headline figures over time
///
/// Reads the SQLite history that `esbench run` appends to (one row per run and model).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  esbench history
  esbench history --scenario classroom --model smol
  esbench history --html --out reports/trend
  esbench history --record reports/20261122-150704/results.json")]
pub struct HistoryArgs {
    /// The history database written by `esbench run`.
    #[arg(long, value_name = "PATH", default_value = history::DEFAULT_DB)]
    pub db: PathBuf,
    /// Only runs of this scenario.
    #[arg(long, value_name = "S")]
    pub scenario: Option<String>,
    /// Only this model.
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Also write history.html with trend plots.
    #[arg(long)]
    pub html: bool,
    /// Where history.html goes [default: the database's directory].
    #[arg(long, value_name = "DIR", requires = "html")]
    pub out: Option<PathBuf>,
    /// Append these results files to the history first (`esbench run` does this itself).
    #[arg(long, value_name = "RESULTS.json")]
    pub record: Vec<PathBuf>,
}

pub fn exec(args: HistoryArgs) -> anyhow::Result<i32> {
    if !args.record.is_empty() {
        for (path, results) in crate::report::load_inputs(&args.record)? {
            // A run already there is found without writing (a read-only database may hold
            // it); any doubt (no file yet, an empty one another writer is creating) goes to
            // `record`, which checks and adds in one write transaction, so concurrent first
            // writers on a new database each keep their rows.
            let known = history::open_read(&args.db)
                .ok()
                .and_then(|conn| history::find_run(&conn, &results).ok().flatten());
            if let Some(id) = known {
                crate::outln!("{} is already recorded as run #{id}", path.display());
                continue;
            }
            let rec = history::record(&args.db, &results, &path)?;
            if rec.added {
                crate::outln!(
                    "recorded {} as run #{} in {}",
                    path.display(),
                    rec.id,
                    args.db.display()
                );
            } else {
                crate::outln!("{} is already recorded as run #{}", path.display(), rec.id);
            }
        }
    }
    let conn = history::open_read(&args.db)?;
    let filter = Filter {
        scenario: args.scenario.clone(),
        model: args.model.clone(),
    };
    let named = || format!("history database {}", args.db.display());
    let runs = history::list_runs(&conn, &filter).with_context(named)?;
    if runs.is_empty() {
        crate::outln!(
            "{}",
            no_match(&conn, &filter, &args.db).with_context(named)?
        );
    } else {
        crate::out!(
            "{:>5}  {:<23}  {:<10}  {:<14}  {:<16}",
            "run",
            "started",
            "commit",
            "scenario",
            "model"
        );
        for f in TREND {
            crate::out!("  {:>14}", f.label);
        }
        crate::outln!("  status");
        for r in &runs {
            for m in &r.models {
                crate::out!(
                    "{:>5}  {:<23}  {:<10}  {:<14}  {:<16}",
                    format!("#{}", r.id),
                    utc(r.started_unix),
                    term(&short_commit(r.commit.as_deref())),
                    term(&r.scenario),
                    term(&m.model)
                );
                for f in TREND {
                    crate::out!("  {:>14}", show(f, m.get(f)));
                }
                crate::outln!("  {}", term(&m.status.to_string()));
            }
        }
    }
    if args.html {
        let out = args.out.clone().unwrap_or_else(|| {
            args.db
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
        });
        let page = history::trend::write_html(&runs, &args.db, &out)?;
        crate::outln!("history: {}", page.display());
    }
    Ok(0)
}

/// "No runs match", with what the database does hold, so a misspelt name is obvious.
fn no_match(
    conn: &rusqlite::Connection,
    filter: &Filter,
    db: &std::path::Path,
) -> anyhow::Result<String> {
    let all = history::list_runs(conn, &Filter::default())?;
    if all.is_empty() {
        return Ok(format!("no runs recorded in {} yet", db.display()));
    }
    let mut scenarios: Vec<&str> = all.iter().map(|r| r.scenario.as_str()).collect();
    let mut models: Vec<&str> = all
        .iter()
        .flat_map(|r| r.models.iter().map(|m| m.model.as_str()))
        .collect();
    for v in [&mut scenarios, &mut models] {
        v.sort_unstable();
        v.dedup();
    }
    let asked = [
        filter.scenario.as_ref().map(|s| format!("scenario {s:?}")),
        filter.model.as_ref().map(|m| format!("model {m:?}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" and ");
    Ok(format!(
        "no runs with {asked} in {}; it holds scenarios: {}; models: {}",
        db.display(),
        term(&scenarios.join(", ")),
        term(&models.join(", "))
    ))
}
