//! Run history: every `esbench run` appends its headline figures to an SQLite database
//! (`reports/history.sqlite` by default) so trends across commits can be listed and plotted.
//!
//! The database is embedded (rusqlite with bundled SQLite: nothing to install). Its schema is
//! versioned with `PRAGMA user_version`; a newer or foreign database is refused with a clear
//! error instead of being modified, and an older one is migrated when opened for writing (read
//! as it is when opened for reading). Version 2 keeps, beside each figure, its interval over
//! the run's rounds (the order-statistic interval of the median, `metrics::rounds`), so a
//! trend can show whether a move is outside noise; rows from version 1 have none. Each run is written in one transaction in WAL mode, so a
//! write interrupted at any point (crash, kill -9, power loss) leaves the previous runs intact
//! and the half-written run invisible.

pub mod trend;

use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, Transaction};

use crate::metrics::figures::Figure;
use crate::metrics::results::Results;
use crate::metrics::status::Status;

/// The schema version this build writes and reads.
/// 2: `runs.rounds`, `model_runs.rounds_ok` and each figure's `<figure>_lo` / `<figure>_hi`.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// The oldest version this build reads (and migrates when it writes).
pub(crate) const OLDEST_READABLE: i64 = 1;

/// The default database path, relative to the working directory.
pub(crate) const DEFAULT_DB: &str = "reports/history.sqlite";

/// The per-model figures kept: the registry's [`HISTORY`], each in the column [`column_name`]
/// names.
pub(crate) use crate::metrics::figures::HISTORY as MODEL_FIGURES;

const SCHEMA_V1: &str = "
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_unix REAL NOT NULL,
    started_unix  REAL NOT NULL,
    commit_hash   TEXT,
    esbench_version TEXT NOT NULL,
    hostname      TEXT NOT NULL,
    machine_json  TEXT NOT NULL,
    scenario      TEXT NOT NULL,
    scenario_path TEXT NOT NULL,
    quick         INTEGER NOT NULL,
    duration_s    REAL NOT NULL,
    floor_timer_p50 INTEGER,
    floor_timer_p99 INTEGER,
    results_path  TEXT NOT NULL
);
CREATE TABLE model_runs (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model         TEXT NOT NULL,
    status        TEXT NOT NULL,
    cpu_percent   REAL,
    ctx_switches_per_s REAL,
    max_rss_kib   REAL,
    threads       REAL,
    poll_p50      REAL,
    poll_p99      REAL,
    poll_p999     REAL,
    poll_max      REAL,
    staleness_p99 REAL,
    command_p99   REAL,
    watchdog_p50  REAL,
    watchdog_p99  REAL,
    results_path  TEXT NOT NULL,
    PRIMARY KEY (run_id, model)
);
CREATE INDEX runs_by_scenario ON runs(scenario, started_unix);
CREATE INDEX model_runs_by_model ON model_runs(model);
";

/// The database column a kept figure is stored in: its legacy name, which the v1 schema used
/// (every figure of [`MODEL_FIGURES`] has one; a unit test checks).
pub(crate) fn column_name(f: &Figure) -> &'static str {
    f.legacy
        .unwrap_or_else(|| panic!("{} is kept in the history without a column name", f.key))
}

/// v1 → v2: the rounds a run had, and per figure its interval over them. Old rows keep NULL
/// there: they were measured in one pass and have no interval.
fn migration_v2() -> String {
    let mut sql = String::from(
        "ALTER TABLE runs ADD COLUMN rounds INTEGER;\n\
         ALTER TABLE model_runs ADD COLUMN rounds_ok INTEGER;\n",
    );
    for key in MODEL_FIGURES.iter().map(column_name) {
        sql.push_str(&format!(
            "ALTER TABLE model_runs ADD COLUMN {key}_lo REAL;\n\
             ALTER TABLE model_runs ADD COLUMN {key}_hi REAL;\n"
        ));
    }
    sql
}

/// Opens (creating if needed) a history database for writing and brings its schema to this
/// version. A file the user may not write is refused as read-only (SQLite would otherwise
/// open it read-only without a word, and the first write would fail obscurely).
pub fn open(db: &Path) -> Result<Connection> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let mut conn = Connection::open(db)
        .with_context(|| format!("cannot open history database {}", db.display()))?;
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        bail!(
            "history database {} is read-only: cannot record runs in it (make it writable, or \
             pass another --db / --no-history)",
            db.display()
        );
    }
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .with_context(|| format!("history database {}", db.display()))?;
    prepare(&mut conn).with_context(|| format!("history database {}", db.display()))?;
    Ok(conn)
}

/// Opens an existing history database for reading only: listing and plotting work on a
/// file the user may not write, and never change it (no schema, no journal mode). A WAL
/// database in a directory the user cannot write is read as immutable.
pub fn open_read(db: &Path) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let named = |e: anyhow::Error| e.context(format!("history database {}", db.display()));
    if !db.is_file() {
        bail!(
            "no history database at {} (esbench run creates it; or pass --db)",
            db.display()
        );
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(db, flags)
        .with_context(|| format!("cannot open history database {}", db.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| named(e.into()))?;
    match check_schema(&conn) {
        Ok(()) => Ok(conn),
        // WAL needs its -shm file; without write access to create it, read immutably.
        Err(e) if is_cannot_open(&e) => {
            let uri = format!("file:{}?immutable=1", uri_path(db));
            let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                .with_context(|| format!("cannot open history database {}", db.display()))?;
            check_schema(&conn).map_err(named)?;
            Ok(conn)
        }
        Err(e) => Err(named(e)),
    }
}

fn is_cannot_open(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
        )
    })
}

/// `path` percent-encoded for an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(*b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Checks, without writing, that the database holds this version's schema.
fn check_schema(conn: &Connection) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite_cause)?;
    match version {
        OLDEST_READABLE..=SCHEMA_VERSION => Ok(()),
        0 if tables(conn)? == 0 => bail!(
            "it is empty (a first write that did not complete, e.g. on a full disk, leaves it \
             so): it holds no runs yet; the next `esbench run` or `history --record` \
             initialises it"
        ),
        0 => bail!("it holds no esbench schema: not an esbench history database"),
        v if v > SCHEMA_VERSION => bail!(
            "schema version {v} is newer than this esbench understands ({SCHEMA_VERSION}); \
             use a newer esbench or another --db"
        ),
        v => bail!("unknown schema version {v}"),
    }
}

/// The number of tables in the database.
fn tables(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?)
}

/// An SQLite error as what it is: "not an SQLite database" only when SQLite says so (a full
/// disk or a lock is no damage).
fn sqlite_cause(e: rusqlite::Error) -> anyhow::Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            anyhow::Error::new(e).context("not an SQLite database (or it is damaged)")
        }
        _ => e.into(),
    }
}

/// Sets the journal mode and creates or checks the schema. The version is read and the schema
/// created in one immediate (write-locked) transaction, so concurrent first writers on a new
/// file create it once and each then adds its rows (the busy timeout makes them wait).
fn prepare(conn: &mut Connection) -> Result<()> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(sqlite_cause)?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Some file systems cannot do WAL; the rollback journal is just as safe, only slower.
        conn.execute_batch("PRAGMA journal_mode=DELETE")?;
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON")?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    match version {
        0 => {
            if tables(&tx)? > 0 {
                bail!("it holds other tables and no esbench schema version: not an esbench history database");
            }
            tx.execute_batch(SCHEMA_V1)?;
            tx.execute_batch(&migration_v2())?;
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        }
        1 => {
            // In one transaction: a migration interrupted at any point leaves version 1.
            tx.execute_batch(&migration_v2())
                .context("cannot migrate the history schema from version 1 to 2")?;
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        }
        SCHEMA_VERSION => {}
        v if v > SCHEMA_VERSION => bail!(
            "schema version {v} is newer than this esbench understands ({SCHEMA_VERSION}); \
             use a newer esbench or another --db"
        ),
        v => bail!("unknown schema version {v}"),
    }
    tx.commit()?;
    Ok(())
}

/// Appends one run (all its models) in a single transaction and returns the run id. A run
/// already recorded (same start time, host and scenario) is not added twice: its existing id
/// is returned.
pub fn record_run(db: &Path, results: &Results, results_path: &Path) -> Result<i64> {
    record(db, results, results_path).map(|r| r.id)
}

/// What [`record`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub id: i64,
    /// False: the run was already recorded under `id` and nothing was added.
    pub added: bool,
}

/// [`record_run`], saying whether the run was added or already there. The check and the
/// insert share one write transaction, so concurrent writers never record a run twice.
pub(crate) fn record(db: &Path, results: &Results, results_path: &Path) -> Result<Recorded> {
    let named = || format!("history database {}", db.display());
    let mut conn = open(db)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .with_context(named)?;
    if let Some(id) = find_run(&tx, results).with_context(named)? {
        return Ok(Recorded { id, added: false });
    }
    let id = insert_run(&tx, results, results_path).with_context(named)?;
    tx.commit()
        .with_context(|| format!("cannot commit the run to {}", db.display()))?;
    Ok(Recorded { id, added: true })
}

/// The id of the recorded run with `results`' start time, host and scenario, if any.
pub(crate) fn find_run(conn: &Connection, results: &Results) -> Result<Option<i64>> {
    let mut stmt = conn.prepare(
        "SELECT id FROM runs WHERE started_unix = ?1 AND hostname = ?2 AND scenario = ?3
         ORDER BY id LIMIT 1",
    )?;
    let mut rows = stmt.query(params![
        results.started_unix,
        results.machine.hostname,
        results.scenario.name
    ])?;
    Ok(match rows.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    })
}

/// Inserts one run inside the caller's transaction (nothing is visible until it commits).
pub fn insert_run(tx: &Transaction, results: &Results, results_path: &Path) -> Result<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let path = results_path.display().to_string();
    let floor = &results.floor.timer_lateness;
    let (fp50, fp99) = if floor.count > 0 {
        (Some(floor.p50 as i64), Some(floor.p99 as i64))
    } else {
        (None, None)
    };
    tx.execute(
        "INSERT INTO runs (recorded_unix, started_unix, commit_hash, esbench_version, hostname,
             machine_json, scenario, scenario_path, quick, duration_s, floor_timer_p50,
             floor_timer_p99, results_path, rounds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            now,
            results.started_unix,
            crate::build_info::history_commit(results.commit.as_deref(), results.dirty_build()),
            results.esbench_version,
            results.machine.hostname,
            serde_json::to_string(&results.machine)?,
            results.scenario.name,
            results.scenario.path,
            results.scenario.quick,
            results.scenario.duration_s,
            fp50,
            fp99,
            path,
            results.rounds.as_ref().map(|r| r.count),
        ],
    )?;
    let run_id = tx.last_insert_rowid();
    let mut cols: Vec<String> = MODEL_FIGURES
        .iter()
        .map(|f| column_name(f).into())
        .collect();
    for key in MODEL_FIGURES.iter().map(column_name) {
        cols.push(format!("{key}_lo"));
        cols.push(format!("{key}_hi"));
    }
    cols.push("rounds_ok".into());
    cols.push("results_path".into());
    let marks: Vec<String> = (4..4 + cols.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO model_runs (run_id, model, status, {}) VALUES (?1, ?2, ?3, {})",
        cols.join(", "),
        marks.join(", ")
    );
    let mut stmt = tx.prepare(&sql)?;
    let null = || rusqlite::types::Value::Null;
    for m in &results.models {
        let mut values: Vec<rusqlite::types::Value> = vec![
            run_id.into(),
            m.name.clone().into(),
            m.status.to_string().into(),
        ];
        for f in MODEL_FIGURES {
            values.push(
                f.of_model(m, results.scenario.duration_s)
                    .map_or_else(null, Into::into),
            );
        }
        for f in MODEL_FIGURES {
            match f.interval(m) {
                Some(i) => {
                    values.push(i.lo.into());
                    values.push(i.hi.into());
                }
                None => {
                    values.push(null());
                    values.push(null());
                }
            }
        }
        let ok_rounds = m.rounds.iter().filter(|r| r.is_ok()).count() as i64;
        values.push(if m.rounds.is_empty() {
            null()
        } else {
            ok_rounds.into()
        });
        values.push(path.clone().into());
        stmt.execute(rusqlite::params_from_iter(values))
            .with_context(|| format!("cannot record model {}", m.name))?;
    }
    Ok(run_id)
}

/// One recorded run with the models that matched the query.
#[derive(Clone, Debug)]
pub struct RunRow {
    pub id: i64,
    pub started_unix: f64,
    pub commit: Option<String>,
    pub hostname: String,
    pub scenario: String,
    pub quick: bool,
    pub results_path: String,
    /// Rounds per model (`None`: one pass, or a row from before version 2).
    pub rounds: Option<u32>,
    pub models: Vec<ModelRow>,
}

/// One model's recorded figures; `figures` and `intervals` follow `MODEL_FIGURES`.
#[derive(Clone, Debug)]
pub struct ModelRow {
    pub model: String,
    pub status: Status,
    pub figures: Vec<Option<f64>>,
    /// Each figure's interval over the rounds, (lo, hi); `None` without rounds.
    pub intervals: Vec<Option<(f64, f64)>>,
    /// The ok rounds the intervals came from (fewer than 5: the interval is a range).
    pub rounds_ok: Option<u32>,
    pub results_path: String,
}

impl ModelRow {
    /// Figure `f` as recorded; `None` also when the history does not keep it.
    pub(crate) fn get(&self, f: &Figure) -> Option<f64> {
        self.figures[kept(f)?]
    }

    /// Figure `f`'s interval over the rounds; `None` also when the history does not keep it.
    pub(crate) fn interval(&self, f: &Figure) -> Option<(f64, f64)> {
        self.intervals[kept(f)?]
    }
}

/// The position of `f` in `MODEL_FIGURES`, if the history keeps it.
fn kept(f: &Figure) -> Option<usize> {
    MODEL_FIGURES.iter().position(|k| k.key == f.key)
}

/// The schema version of an open database.
fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Which runs to list.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub scenario: Option<String>,
    pub model: Option<String>,
}

/// Runs in time order (oldest first), each with its models (filtered by `filter.model`).
/// Runs with no matching model are left out when a model is asked for.
pub fn list_runs(conn: &Connection, filter: &Filter) -> Result<Vec<RunRow>> {
    // A version-1 database opened for reading is read as it is: no rounds, no intervals.
    let v2 = version(conn)? >= 2;
    let or_null = |col: String| if v2 { col } else { "NULL".to_string() };
    let mut stmt = conn.prepare(&format!(
        "SELECT id, started_unix, commit_hash, hostname, scenario, quick, results_path, {}
         FROM runs WHERE (?1 IS NULL OR scenario = ?1) ORDER BY started_unix, id",
        or_null("rounds".into())
    ))?;
    let mut runs: Vec<RunRow> = stmt
        .query_map(params![filter.scenario], |r| {
            Ok(RunRow {
                id: r.get(0)?,
                started_unix: r.get(1)?,
                commit: r.get(2)?,
                hostname: r.get(3)?,
                scenario: r.get(4)?,
                quick: r.get(5)?,
                results_path: r.get(6)?,
                rounds: r.get(7)?,
                models: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let n = MODEL_FIGURES.len();
    let mut cols: Vec<String> = MODEL_FIGURES
        .iter()
        .map(|f| column_name(f).into())
        .collect();
    for key in MODEL_FIGURES.iter().map(column_name) {
        cols.push(or_null(format!("{key}_lo")));
        cols.push(or_null(format!("{key}_hi")));
    }
    cols.push(or_null("rounds_ok".into()));
    let sql = format!(
        "SELECT model, status, results_path, {} FROM model_runs
         WHERE run_id = ?1 AND (?2 IS NULL OR model = ?2) ORDER BY rowid",
        cols.join(", ")
    );
    let mut stmt = conn.prepare(&sql)?;
    for run in &mut runs {
        run.models = stmt
            .query_map(params![run.id, filter.model], |r| {
                let figures = (0..n)
                    .map(|i| r.get::<_, Option<f64>>(3 + i))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let intervals = (0..n)
                    .map(|i| {
                        let lo = r.get::<_, Option<f64>>(3 + n + 2 * i)?;
                        let hi = r.get::<_, Option<f64>>(3 + n + 2 * i + 1)?;
                        Ok(lo.zip(hi))
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(ModelRow {
                    model: r.get(0)?,
                    status: Status::parse(&r.get::<_, String>(1)?),
                    figures,
                    intervals,
                    rounds_ok: r.get(3 + 3 * n)?,
                    results_path: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    if filter.model.is_some() {
        runs.retain(|r| !r.models.is_empty());
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::figures;
    use crate::metrics::fixture::{fabricate_results, fabricate_results_with, FIXTURE_MODELS};
    use std::path::PathBuf;

    /// A fresh history database, `name` in a temporary directory that lives as long as the
    /// guard returned with it.
    pub(super) fn scratch_db(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(name);
        (dir, db)
    }

    /// Every run in `db`, oldest first, as `esbench history` lists them.
    pub(super) fn all_runs(db: &Path) -> Vec<RunRow> {
        list_runs(&open(db).unwrap(), &Filter::default()).unwrap()
    }

    /// The error `open` gives for the database at `path` once `prepare` has run on it.
    fn refusal(path: &Path, prepare: &str) -> String {
        Connection::open(path)
            .unwrap()
            .execute_batch(prepare)
            .unwrap();
        format!("{:#}", open(path).unwrap_err())
    }

    #[test]
    fn records_and_lists_runs_with_filters() {
        let (_dir, db) = scratch_db("reports/history.sqlite");
        let a = fabricate_results(1);
        let mut b = fabricate_results_with(2, &["smol", "coop"], 4.0);
        b.scenario.name = "stress".into();
        let id1 = record_run(&db, &a, Path::new("reports/a/results.json")).unwrap();
        let id2 = record_run(&db, &b, Path::new("reports/b/results.json")).unwrap();
        assert!(id2 > id1);
        // Recording the same run again does not duplicate it.
        assert_eq!(
            record_run(&db, &a, Path::new("elsewhere.json")).unwrap(),
            id1
        );
        let conn = open(&db).unwrap();
        let all = list_runs(&conn, &Filter::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].models.len(), FIXTURE_MODELS.len());
        let smol = a.model("smol").unwrap();
        let row = all[0].models.iter().find(|m| m.model == "smol").unwrap();
        assert_eq!(
            row.get(&figures::POLL_LATENCY_P99),
            Some(smol.poll_latency.p99 as f64)
        );
        assert_eq!(row.get(&figures::CPU_PERCENT), Some(smol.cpu.percent));
        assert_eq!(row.get(&figures::POLL_LATENCY_P90), None, "not kept");
        assert_eq!(row.results_path, "reports/a/results.json");
        let stress = list_runs(
            &conn,
            &Filter {
                scenario: Some("stress".into()),
                model: None,
            },
        )
        .unwrap();
        assert_eq!(stress.len(), 1);
        assert_eq!(stress[0].id, id2);
        let rayon = list_runs(
            &conn,
            &Filter {
                scenario: None,
                model: Some("rayon".into()),
            },
        )
        .unwrap();
        assert_eq!(rayon.len(), 1, "only run a has rayon");
        assert_eq!(rayon[0].models.len(), 1);
    }

    #[test]
    fn uncommitted_transaction_leaves_nothing_behind() {
        let (_dir, db) = scratch_db("h.sqlite");
        record_run(&db, &fabricate_results(1), Path::new("a.json")).unwrap();
        {
            let mut conn = open(&db).unwrap();
            let tx = conn.transaction().unwrap();
            insert_run(&tx, &fabricate_results(2), Path::new("b.json")).unwrap();
            // Dropped without commit: rolled back.
        }
        let conn = open(&db).unwrap();
        let runs = list_runs(&conn, &Filter::default()).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].results_path, "a.json");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM model_runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n as usize, FIXTURE_MODELS.len());
    }

    #[test]
    fn foreign_and_newer_databases_are_refused() {
        let (dir, foreign) = scratch_db("foreign.sqlite");
        let e = refusal(&foreign, "CREATE TABLE t (x)");
        assert!(e.contains("not an esbench history database"), "{e}");

        let newer = dir.path().join("newer.sqlite");
        open(&newer).unwrap();
        let e = refusal(&newer, "PRAGMA user_version = 99");
        assert!(e.contains("newer than this esbench"), "{e}");

        let junk = dir.path().join("junk.sqlite");
        std::fs::write(
            &junk,
            b"this is not a database at all, just text padding it out...",
        )
        .unwrap();
        let e = open(&junk).unwrap_err();
        assert!(format!("{e:#}").contains("junk.sqlite"), "{e:#}");
    }

    /// A version-1 database as esbench wrote it before rounds: one run of two models.
    fn v1_database(db: &Path) {
        let conn = Connection::open(db).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        conn.execute_batch(
            "INSERT INTO runs (id, recorded_unix, started_unix, esbench_version, hostname,
                 machine_json, scenario, scenario_path, quick, duration_s, results_path)
             VALUES (1, 1.0, 1000.0, '0.1.0', 'old-host', '{}', 'fixture', 's.toml', 0, 6.0,
                 'old.json');
             INSERT INTO model_runs (run_id, model, status, cpu_percent, poll_p99, results_path)
             VALUES (1, 'smol', 'ok', 0.7, 450.0, 'old.json');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }

    #[test]
    fn a_v1_database_is_read_as_it_is_and_migrated_when_written() {
        let (_dir, db) = scratch_db("h.sqlite");
        v1_database(&db);
        // Reading leaves it at version 1 and finds no intervals.
        let runs = list_runs(&open_read(&db).unwrap(), &Filter::default()).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].rounds, None);
        let old = &runs[0].models[0];
        assert_eq!(old.get(&figures::POLL_LATENCY_P99), Some(450.0));
        assert_eq!(old.interval(&figures::POLL_LATENCY_P99), None);
        let v: i64 = Connection::open(&db)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1, "reading never migrates");

        // Writing migrates, keeps the old row, and stores the new run's intervals.
        let mut r = fabricate_results(3);
        crate::metrics::fixture::add_rounds(&mut r, 6, 3, 0.05);
        record_run(&db, &r, Path::new("new.json")).unwrap();
        let conn = open_read(&db).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let runs = list_runs(&conn, &Filter::default()).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].models[0].interval(&figures::CPU_PERCENT), None);
        assert_eq!(runs[1].rounds, Some(6));
        let smol = runs[1].models.iter().find(|m| m.model == "smol").unwrap();
        assert_eq!(smol.rounds_ok, Some(6));
        let want = figures::CPU_PERCENT
            .interval(r.model("smol").unwrap())
            .unwrap();
        assert_eq!(
            smol.interval(&figures::CPU_PERCENT),
            Some((want.lo, want.hi))
        );
        let (lo, hi) = smol.interval(&figures::POLL_LATENCY_P99).unwrap();
        assert!(lo <= hi);
        // The stall is kept per round too: the same interval the report shows.
        let want = figures::POLL_LATENCY_MAX
            .interval(r.model("smol").unwrap())
            .unwrap();
        assert_eq!(
            smol.interval(&figures::POLL_LATENCY_MAX),
            Some((want.lo, want.hi))
        );
        // Figures rounds do not keep have no interval.
        assert_eq!(smol.interval(&figures::POLL_LATENCY_P999), None);
        assert!(smol.get(&figures::POLL_LATENCY_P999).is_some());
    }
}
