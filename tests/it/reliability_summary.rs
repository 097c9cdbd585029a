//! `summary.md` (pasted into CI comments, which render HTML and Markdown) shows names and
//! statuses from a results file as text, never as markup.

use esbench::metrics::fixture::fabricate_results;
use esbench::metrics::status::Status;

#[test]
fn scenario_names_statuses_and_hosts_are_escaped_in_summary_md() {
    let mut r = fabricate_results(3);
    r.scenario.name = "<img src=x onerror=alert(1)>".into();
    r.machine.hostname = "host<script>alert(2)</script>".into();
    r.models[0].status = Status::parse("error: <b>boom</b> | [link](http://x) **bold**");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("results.json");
    esbench::report::write_report(&[(input, r)], dir.path()).unwrap();
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    for raw in ["<img", "<script", "<b>", "[link](", "**bold**"] {
        assert!(!md.contains(raw), "{raw:?} reached summary.md:\n{md}");
    }
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
    assert!(
        md.contains("&lt;b&gt;boom&lt;/b&gt; \\| \\[link\\]"),
        "{md}"
    );
}
