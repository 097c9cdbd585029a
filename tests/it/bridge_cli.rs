//! `esbench models` and `esbench serve`'s start-up errors, through the real binary.

use crate::common;

fn esbench(args: &[&str]) -> (i32, String, String) {
    let out = common::esbench().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn models_lists_every_model_name_first() {
    let (code, out, _) = esbench(&["models"]);
    assert_eq!(code, 0);
    // The default run first; the teaching group follows after a blank line.
    let lines: Vec<&str> = out.lines().take_while(|l| !l.is_empty()).collect();
    let default = esbench::models::default_run();
    assert_eq!(lines.len(), default.len());
    for (line, m) in lines.iter().zip(default) {
        assert_eq!(line.split_whitespace().next(), Some(m.name));
        assert!(line.contains(m.description), "{line}");
    }
    for name in ["threads", "tokio", "tokio-current", "smol", "rayon"] {
        assert!(esbench::models::find(name).is_some(), "{name}");
    }
    #[cfg(feature = "async-std-model")]
    assert!(esbench::models::find("async-std")
        .unwrap()
        .description
        .contains("discontinued"));
    let (_, names, _) = esbench(&["models", "--names"]);
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        esbench::models::ALL
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
    );
}

#[test]
fn serve_start_up_errors_are_clear() {
    let (code, _, err) = esbench(&["serve", "--model", "fibers", "--serial", "/dev/null"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("unknown model \"fibers\"") && err.contains("tokio"),
        "{err}"
    );
    let (code, _, err) = esbench(&[
        "serve",
        "--serial",
        "/nonexistent/ttyACM0",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/ttyACM0"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[workload]\nframe_work_us = \"lots\"\n").unwrap();
    let (code, _, err) = esbench(&[
        "serve",
        "--serial",
        "/dev/null",
        "--listen",
        "127.0.0.1:0",
        "--scenario",
        bad.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.toml"), "{err}");
    // No port at all means esp4s's default, which this machine has not got.
    if !std::path::Path::new("/dev/ttyACM0").exists() {
        let (code, _, err) = esbench(&["serve", "--listen", "127.0.0.1:0"]);
        assert_eq!(code, 2);
        assert!(err.contains("/dev/ttyACM0 does not exist"), "{err}");
    }
}
