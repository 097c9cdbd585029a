//! Every file esbench writes fails loudly, and concurrent writers lose nothing: six first
//! writers on a new history database keep every row; an empty database left by a failed
//! first write is recognised and initialised; a full disk (a small tmpfs, or a directory made
//! read-only midway where mounting is not allowed) makes the command fail, naming the file,
//! with no temp file left.

use crate::common;

use std::path::{Path, PathBuf};

use esbench::history::{list_runs, open_read, Filter};
use esbench::metrics::fixture::fabricate_results;

/// Writes `count` fabricated results files (distinct runs: seeds from `first`) into `dir`.
fn results_files(dir: &Path, first: u64, count: u64) -> Vec<PathBuf> {
    (first..first + count)
        .map(|seed| {
            let p = dir.join(format!("r{seed}.json"));
            std::fs::write(&p, serde_json::to_vec(&fabricate_results(seed)).unwrap()).unwrap();
            p
        })
        .collect()
}

#[test]
fn six_concurrent_first_writers_keep_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new").join("h.sqlite");
    let writers: Vec<_> = (0..6u64)
        .map(|w| {
            let files = results_files(dir.path(), w * 100, 20);
            let mut cmd = common::esbench();
            cmd.arg("history").arg("--db").arg(&db);
            for f in &files {
                cmd.arg("--record").arg(f);
            }
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in writers {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a writer failed: {}",
            common::text(&out.stderr)
        );
    }
    let runs = list_runs(&open_read(&db).unwrap(), &Filter::default()).unwrap();
    assert_eq!(runs.len(), 120, "every run of every writer is kept");
}

#[test]
fn an_empty_history_file_is_recognised_and_initialised_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    std::fs::write(&db, b"").unwrap();
    let db_s = db.to_str().unwrap();

    let out = common::run(&["history", "--db", db_s]);
    let stderr = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("is empty"), "{stderr}");
    assert!(!stderr.contains("damaged"), "{stderr}");

    let files = results_files(dir.path(), 1, 1);
    let out = common::run(&[
        "history",
        "--db",
        db_s,
        "--record",
        files[0].to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stdout).contains("as run #1"));
}

/// A directory of `kib` KiB where writes run out of space: a tmpfs when this process may
/// mount one (root in CI), else `None`.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(kib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Where no tmpfs can be mounted: the same failures through a directory made read-only (as
/// root, whom modes do not stop and who could have mounted, this is skipped).
fn read_only_instead(results: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        println!("SKIPPED a_full_disk_fails_loudly_naming_the_file: root, and no tmpfs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let db = ro.join("h.sqlite");
    let db_s = db.to_str().unwrap();
    let results_s = results.to_str().unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();

    let out_dir = ro.join("rep");
    let out = common::run(&["report", results_s, "--out", out_dir.to_str().unwrap()]);
    let stderr = common::text(&out.stderr);
    assert!(
        !out.status.success(),
        "a report into a read-only directory must fail"
    );
    assert!(
        stderr.contains(out_dir.to_str().unwrap()),
        "names the file: {stderr}"
    );
    let out = common::run(&["history", "--db", db_s, "--record", results_s]);
    let stderr = common::text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(db_s), "names the file: {stderr}");

    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = common::run(&["history", "--db", db_s, "--record", results_s]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
}

/// Grows `filler` until its file system is full, then gives back `kib` KiB.
fn leave_free(filler: &Path, kib: u64) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(filler)
        .unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(kib * 1024)).unwrap();
}

/// Files under `dir` whose names say they are temporary.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in walk(dir) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".tmp.") || name.contains(".partial.") {
            found.push(e.display().to_string());
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `esbench report` and `history --record` on a full disk: a non-zero exit with one line
/// naming the file and the cause, and no temp file behind. Without a tmpfs, the same through a
/// read-only directory ([`read_only_instead`]).
#[test]
fn a_full_disk_fails_loudly_naming_the_file() {
    let src = tempfile::tempdir().unwrap();
    // Large enough that the report does not fit in what is left.
    let mut r = fabricate_results(3);
    esbench::metrics::fixture::add_rounds(&mut r, 6, 3, 0.1);
    let results = src.path().join("results.json");
    std::fs::write(&results, serde_json::to_vec(&r).unwrap()).unwrap();
    let results_s = results.to_str().unwrap();

    let Some(disk) = SmallDisk::mount(1024) else {
        read_only_instead(&results);
        return;
    };
    // Fill the disk but for a few KiB.
    let filler = disk.path().join("filler");
    leave_free(&filler, 8);

    let out_dir = disk.path().join("rep");
    let out = common::run(&["report", results_s, "--out", out_dir.to_str().unwrap()]);
    let stderr = common::text(&out.stderr);
    assert!(!out.status.success(), "a report on a full disk must fail");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains(out_dir.to_str().unwrap()),
        "names the file: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert_eq!(temp_files(disk.path()), Vec::<String>::new());

    // The history database's first write fails on the full disk ...
    leave_free(&filler, 0);
    let db = disk.path().join("h.sqlite");
    let db_s = db.to_str().unwrap();
    let out = common::run(&["history", "--db", db_s, "--record", results_s]);
    let stderr = common::text(&out.stderr);
    assert!(!out.status.success(), "history on a full disk must fail");
    assert!(stderr.contains(db_s), "names the file: {stderr}");
    assert!(
        !stderr.contains("damaged"),
        "a full disk is no damage: {stderr}"
    );
    assert!(stderr.contains("full"), "says the disk is full: {stderr}");

    // ... and once there is room, the next write initialises whatever it left.
    std::fs::remove_file(&filler).unwrap();
    std::fs::remove_dir_all(&out_dir).unwrap();
    let out = common::run(&["history", "--db", db_s, "--record", results_s]);
    assert!(
        out.status.success(),
        "{} {:?}",
        common::text(&out.stderr),
        walk(disk.path())
            .iter()
            .map(|p| (p.clone(), p.metadata().unwrap().len()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        list_runs(&open_read(&db).unwrap(), &Filter::default())
            .unwrap()
            .len(),
        1
    );
}
