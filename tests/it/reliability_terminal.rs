//! Text from a (hand-edited) results file never reaches a terminal raw: a scenario name, a
//! model name and a status holding an OSC title sequence, a screen clear, BEL and a line
//! break are printed escaped by `history` and `check`, and `check --format markdown` prints
//! `<script>` as inert text, as the HTML report already does.

use crate::common;

use esbench::metrics::fixture::fabricate_results;

const EVIL_SCENARIO: &str = "evil\u{1b}]0;pwned\u{7}\nforged line <script>x</script>";

/// Writes a results file whose names and a status carry terminal commands.
fn evil_results(dir: &std::path::Path, seed: u64) -> std::path::PathBuf {
    let mut r = fabricate_results(seed);
    r.scenario.name = EVIL_SCENARIO.into();
    r.models[0].name = "thr\u{1b}[31meads<script>".into();
    r.models[0].status = esbench::metrics::status::Status::parse("error: \u{1b}[2Jcleared");
    r.notes.push("note \u{1b}[31mred".into());
    let p = dir.join(format!("r{seed}.json"));
    std::fs::write(&p, serde_json::to_vec(&r).unwrap()).unwrap();
    p
}

/// No control character but the line breaks, and no line begun by the name's own break.
fn assert_inert(what: &str, out: &std::process::Output) {
    for text in [&out.stdout, &out.stderr] {
        let text = common::text(text);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n')
            .collect();
        assert!(
            bad.is_empty(),
            "{what}: control characters {bad:?} in {text}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("forged line")),
            "{what}: a line forged by a name: {text}"
        );
    }
}

#[test]
fn names_from_results_files_are_escaped_for_terminals_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (evil_results(dir.path(), 1), evil_results(dir.path(), 2));
    let db = dir.path().join("h.sqlite");
    let db_s = db.to_str().unwrap();

    let out = common::run(&["history", "--db", db_s, "--record", a.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert_inert("history", &out);
    assert!(common::text(&out.stdout).contains("evil\\u{1b}]0;pwned"));

    let check = |format: &str| {
        common::run(&[
            "check",
            "--baseline",
            a.to_str().unwrap(),
            "--current",
            b.to_str().unwrap(),
            "--format",
            format,
        ])
    };
    let out = check("table");
    assert_inert("check", &out);
    assert!(common::text(&out.stdout).contains("thr\\u{1b}[31meads"));

    let out = check("markdown");
    assert_inert("check --format markdown", &out);
    let md = common::text(&out.stdout);
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;"), "{md}");
}
