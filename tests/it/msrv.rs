//! The minimum Rust that `Cargo.toml`'s `rust-version` and the README claim is the true one:
//! the highest `rust-version` among the locked dependencies (for this platform). A dependency
//! update that raises it fails here until the claim follows (`scripts/msrv.sh` prints it).

use std::process::Command;

fn version(text: &str) -> Vec<u64> {
    let mut v: Vec<u64> = text.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    v.resize(3, 0);
    v
}

fn host() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(String::from))
        .expect("a host line")
}

#[test]
fn rust_version_is_the_highest_of_the_locked_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let resolved: Vec<&str> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    let mut claim = None;
    let mut needed: Option<(Vec<u64>, String)> = None;
    for p in meta["packages"].as_array().unwrap() {
        let Some(rv) = p["rust_version"].as_str() else {
            continue;
        };
        if p["name"] == "esbench" {
            claim = Some(rv.to_string());
        } else if resolved.contains(&p["id"].as_str().unwrap()) {
            let who = format!("{} {} needs {rv}", p["name"], p["version"]);
            if needed.as_ref().is_none_or(|(v, _)| version(rv) > *v) {
                needed = Some((version(rv), who));
            }
        }
    }
    let claim = claim.expect("Cargo.toml states a rust-version");
    let (needed, who) = needed.expect("some dependency states one");
    assert_eq!(
        version(&claim),
        needed,
        "Cargo.toml says rust-version = {claim:?}, but {who}: update rust-version and the README"
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust {claim} or newer")),
        "the README must say \"Rust {claim} or newer\""
    );
}
