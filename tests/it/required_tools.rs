//! The rule for tests whose outside tool may be missing: `ESBENCH_REQUIRE` names the tools
//! whose absence fails a test, `ESBENCH_REQUIRE_TOOLS=1` still requires them all.

use crate::common;

use common::required_by;

#[test]
fn nothing_is_required_by_default() {
    for tool in common::TOOLS {
        assert_eq!(required_by(tool, None, None), Ok(false));
        assert_eq!(required_by(tool, Some(""), Some("0")), Ok(false));
        assert_eq!(required_by(tool, None, Some("")), Ok(false));
    }
}

#[test]
fn a_list_requires_exactly_what_it_names() {
    let require = Some("chromium, strace");
    assert_eq!(required_by("chromium", require, None), Ok(true));
    assert_eq!(required_by("strace", require, None), Ok(true));
    assert_eq!(required_by("perf", require, None), Ok(false));
    assert_eq!(required_by("schedstat", require, None), Ok(false));
    assert_eq!(required_by("perf", Some("all"), None), Ok(true));
}

#[test]
fn the_older_switch_requires_every_tool() {
    for tool in common::TOOLS {
        assert_eq!(required_by(tool, None, Some("1")), Ok(true));
        assert_eq!(required_by(tool, Some("strace"), Some("1")), Ok(true));
    }
}

#[test]
fn a_misspelt_tool_is_an_error_naming_it() {
    let e = required_by("perf", Some("strace,chromum"), None).unwrap_err();
    assert!(
        e.contains("\"chromum\"") && e.contains("chromium, strace, perf, schedstat"),
        "{e}"
    );
}

#[test]
fn the_binary_helper_runs_esbench() {
    let out = common::run(&["--version"]);
    assert!(out.status.success());
    assert!(common::text(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}
