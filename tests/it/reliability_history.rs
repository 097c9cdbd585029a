//! A history database the user may not write: reading commands still work (and change
//! nothing), writing is refused as "read-only", and every error names the file.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Output;

use esbench::history::record_run;
use esbench::metrics::fixture::fabricate_results;

/// The user `esbench` runs as: root ignores file modes, so as root the command runs as
/// `nobody` (65534), for whom a mode-0444 root-owned file is really read-only.
fn esbench_as_unprivileged(args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = common::esbench();
    cmd.args(args);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    cmd.output().unwrap()
}

/// A recorded database made read-only, in a directory the user cannot write either.
fn read_only_history(dir: &Path) -> std::path::PathBuf {
    let sub = dir.join("ro");
    std::fs::create_dir(&sub).unwrap();
    let db = sub.join("history.sqlite");
    record_run(&db, &fabricate_results(7), Path::new("r.json")).unwrap();
    // The directory and everything above it must be traversable by `nobody`.
    for d in [dir, &sub] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    db
}

#[test]
fn a_read_only_history_can_be_listed_and_refuses_writes_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = read_only_history(dir.path());
    let before = std::fs::read(&db).unwrap();

    let out = esbench_as_unprivileged(&["history".as_ref(), "--db".as_ref(), db.as_os_str()]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "history on a read-only db: {stderr}");
    assert!(stdout.contains("#1"), "the run is listed: {stdout}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "reading changed nothing"
    );

    // Recording into it is refused, saying why and naming the file.
    let results = dir.path().join("results.json");
    std::fs::write(
        &results,
        serde_json::to_string(&fabricate_results(8)).unwrap(),
    )
    .unwrap();
    std::fs::set_permissions(&results, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = esbench_as_unprivileged(&[
        "history".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--record".as_ref(),
        results.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(stderr.contains(&db.display().to_string()), "{stderr}");
}

#[test]
fn history_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(
        &junk,
        b"this is not a database at all, just text\n".repeat(200),
    )
    .unwrap();
    let missing = dir.path().join("missing.sqlite");
    for db in [&junk, &missing] {
        let out = common::esbench()
            .args(["history", "--db"])
            .arg(db)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&db.display().to_string()), "{stderr}");
    }
    assert!(!missing.exists(), "a reading command creates no database");
}
