//! Captures the build's identity at build time, so the binary knows what it is wherever it
//! runs: the git commit and whether the tree had uncommitted changes (`dirty`), and the
//! enabled Cargo features. `esbench --version` prints them and every results.json records
//! them. A source tree without git (a release tarball) builds too: the commit is then
//! unknown, unless the packager sets `ESBENCH_BUILD_COMMIT` (and `ESBENCH_BUILD_DIRTY`).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=ESBENCH_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=ESBENCH_BUILD_DIRTY");
    // Sources, manifest and the lock file change what "dirty" says; git's own files say
    // when HEAD or the index moved (a commit, a checkout, an `add`).
    for p in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let toplevel = git(&["rev-parse", "--show-toplevel"]);
    let ours = toplevel.as_deref().is_some_and(|t| {
        Path::new(t).canonicalize().ok()
            == Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().ok()
    });
    if ours {
        for what in ["HEAD", "index"] {
            if let Some(p) = git(&["rev-parse", "--git-path", what]) {
                let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(p) = git(&["rev-parse", "--git-path", &r]) {
                let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    // Only this crate's own repository counts: a tarball unpacked inside some other
    // checkout must not take that checkout's commit.
    let (commit, dirty) = match std::env::var("ESBENCH_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => (
            c.trim().to_string(),
            std::env::var("ESBENCH_BUILD_DIRTY").is_ok_and(|d| d == "1" || d == "true"),
        ),
        _ if ours => {
            let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
            // Untracked files are left out: a stray scratch file changes no built code.
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            (commit, dirty)
        }
        _ => (String::new(), false),
    };
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_")
                .map(|f| f.to_lowercase().replace('_', "-"))
        })
        .filter(|f| f != "default")
        .collect();
    features.sort();
    println!("cargo:rustc-env=ESBENCH_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=ESBENCH_BUILD_DIRTY={dirty}");
    println!(
        "cargo:rustc-env=ESBENCH_BUILD_FEATURES={}",
        features.join(",")
    );
    let short: String = commit.chars().take(10).collect();
    let version = format!(
        "{} (commit {}{}; features: {})",
        env!("CARGO_PKG_VERSION"),
        if short.is_empty() { "unknown" } else { &short },
        if dirty { ", dirty" } else { "" },
        if features.is_empty() {
            "none".to_string()
        } else {
            features.join(", ")
        }
    );
    println!("cargo:rustc-env=ESBENCH_BUILD_VERSION={version}");
}
