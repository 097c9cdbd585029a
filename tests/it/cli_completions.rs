//! `esbench completions SHELL` and `esbench man` come from the clap definitions; `--version`
//! names the build; the short flags of the most used options parse.

use crate::common;

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let o = common::run(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", common::text(&o.stderr));
        let text = common::text(&o.stdout);
        assert!(
            text.contains("sweep") && text.contains("export-csv"),
            "{shell}: {text}"
        );
    }
    let o = common::run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2), "an unknown shell is refused");
}

#[test]
fn man_pages_are_written_for_every_visible_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let o = common::run(&["man", "--out", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    for page in [
        "esbench.1",
        "esbench-run.1",
        "esbench-check.1",
        "esbench-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    assert!(
        !dir.path().join("esbench-floor-child.1").exists(),
        "hidden: no page"
    );
    let run = std::fs::read_to_string(dir.path().join("esbench-run.1")).unwrap();
    assert!(run.contains("\\-\\-export\\-json"), "{run}");
}

#[test]
fn version_names_the_build() {
    let o = common::run(&["--version"]);
    let text = common::text(&o.stdout);
    assert!(text.starts_with("esbench 0."), "{text}");
    assert!(
        text.contains("(commit ") && text.contains("features: "),
        "{text}"
    );
}

#[test]
fn short_flags_parse() {
    // -d 0.1 is refused by its own check, proving -d reached --duration's parser.
    let o = common::run(&[
        "run",
        "-q",
        "-m",
        "threads",
        "-o",
        "/nonexistent/x",
        "-d",
        "0.1",
    ]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--duration") && err.contains("0.5 s to 86400 s"),
        "{err}"
    );
}
