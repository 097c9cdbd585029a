//! The messages of `esbench run` and `sweep` say what is true: a scenario path that is a
//! directory is called one, a model given twice is named without pointing at a hidden flag,
//! `--rounds` states the range it accepts, and a run refused at validation leaves no empty
//! `--out` directory.

use crate::common;

fn stderr_of(args: &[&str]) -> (Option<i32>, String) {
    let out = common::run(args);
    (out.status.code(), common::text(&out.stderr))
}

#[test]
fn run_and_sweep_messages_say_what_is_true() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();

    for cmd in [
        &["run", d][..],
        &["sweep", d, "--set", "boards.count=1,2", "--dry-run"],
    ] {
        let (code, e) = stderr_of(cmd);
        assert_eq!(code, Some(2), "{e}");
        assert!(e.contains("is a directory, not a scenario file"), "{e}");
    }

    let out = dir.path().join("o");
    let (code, e) = stderr_of(&[
        "run",
        "--models",
        "threads,threads",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("\"threads\" twice"), "{e}");
    assert!(
        !e.contains("--variant"),
        "no hidden flag in the advice: {e}"
    );
    assert!(!out.exists(), "no empty --out directory");

    for bad in ["--rounds=-3", "--rounds=0", "--rounds=1001"] {
        let (code, e) = stderr_of(&["run", bad]);
        assert_eq!(code, Some(2), "{e}");
        assert!(e.contains("is outside 1 to 1000"), "{bad}: {e}");
        assert!(!e.contains("4294967295"), "{bad}: {e}");
    }

    // Refused at validation: the --out directory it would have made is not left behind.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[boards]\ncount = 9999\n").unwrap();
    let (code, e) = stderr_of(&["run", bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("boards.count"), "{e}");
    assert!(
        !out.exists(),
        "no empty --out directory after a refused scenario"
    );
}
