//! The report checked in a real browser: headless Chromium loads index.html (written from
//! fabricated results of the default run's models), must log no console message, must lay out every plot as
//! a non-empty SVG, and takes a full-page screenshot (kept when ESBENCH_KEEP_REPORT is set).
//!
//! Skipped, with the reason printed, when no Chromium is installed
//! (`scripts/install-chromium.sh` installs Debian's) — except where the tools are required
//! (`ESBENCH_REQUIRE=chromium`, or `ESBENCH_REQUIRE_TOOLS=1`, which `.ci/run` sets): there a missing browser fails the
//! test, so CI can never pass by not running it.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::out_dir;
use esbench::metrics::fixture::fabricate_results;
use esbench::report::write_report;

/// The browser to use: `ESBENCH_CHROMIUM` when set, else the usual Debian paths.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ESBENCH_CHROMIUM") {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!("ESBENCH_CHROMIUM={} does not exist", p.display()))
        };
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .ok_or_else(|| {
        "no Chromium installed (run scripts/install-chromium.sh, or set ESBENCH_CHROMIUM)"
            .to_string()
    })
}

/// The browser, or `None` after printing why this test is skipped; panics instead when
/// chromium is required (`ESBENCH_REQUIRE`, or `ESBENCH_REQUIRE_TOOLS` as in CI).
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    match chromium() {
        Ok(b) => Some(b),
        Err(why) => {
            common::skip_or_fail(test, "chromium", &why);
            None
        }
    }
}

/// Runs headless Chromium on `page` with `extra` flags; returns (stdout, stderr).
fn run_chromium(bin: &Path, profile: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let mut cmd = Command::new("timeout");
    cmd.arg("120")
        .arg(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()));
    let out = cmd.output().expect("cannot start chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Console messages (errors, uncaught exceptions, warnings) Chromium logged for the page.
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// A copy of the report with a probe script appended that records, for every plot, its
/// laid-out size, its drawn extent and how many shapes it has. The report itself has no
/// script; the probe only measures it.
fn probe_page(index: &Path) -> PathBuf {
    let html = std::fs::read_to_string(index).unwrap();
    let probe = r#"<script>
const svgs = [...document.querySelectorAll('figure svg')].map(s => {
  const r = s.getBoundingClientRect(), b = s.getBBox();
  return [Math.round(r.width), Math.round(r.height), Math.round(b.width), Math.round(b.height),
          s.querySelectorAll('path,polyline,rect,circle,line,polygon,text').length];
});
const out = {svgs, height: document.documentElement.scrollHeight, title: document.title,
             tables: document.querySelectorAll('table').length};
document.body.insertAdjacentHTML('beforeend', '<pre id="probe">' + JSON.stringify(out) + '</pre>');
</script></body>"#;
    let page = index.with_file_name("probe.html");
    std::fs::write(&page, html.replace("</body>", probe)).unwrap();
    page
}

fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// Loads `index` in Chromium: no console message, `plots` laid-out non-empty SVG figures, a
/// full-page screenshot written next to it. Returns the screenshot path.
fn check_in_browser(bin: &Path, tmp: &Path, index: &Path, plots: usize) -> PathBuf {
    // Layout: every plot laid out with real size and drawn content.
    let probe = probe_page(index);
    let (dom, err) = run_chromium(bin, &tmp.join("p1"), &probe, &["--dump-dom".into()]);
    let json = dom
        .rsplit("<pre id=\"probe\">")
        .next()
        .filter(|s| s.starts_with('{'))
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("probe did not run; dom:\n{dom}\nstderr:\n{err}"));
    let v: serde_json::Value = serde_json::from_str(&json.replace("&amp;", "&")).unwrap();
    assert!(v["title"].as_str().unwrap().starts_with("esbench report"));
    assert!(v["tables"].as_u64().unwrap() >= 2);
    let svgs = v["svgs"].as_array().unwrap();
    assert_eq!(svgs.len(), plots, "{svgs:?}");
    for s in svgs {
        let n: Vec<u64> = s
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert!(n[0] > 300 && n[1] > 100, "plot laid out too small: {n:?}");
        assert!(n[2] > 300 && n[3] > 100, "plot drawing is empty: {n:?}");
        assert!(n[4] > 20, "plot has too few shapes: {n:?}");
    }

    // The report itself: no console message at all, and a full-page screenshot.
    let height = v["height"].as_u64().unwrap().clamp(800, 16_000);
    let shot = index.with_file_name("screenshot.png");
    let (_, err) = run_chromium(
        bin,
        &tmp.join("p2"),
        index,
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size=1280,{height}"),
        ],
    );
    let console = console_lines(&err);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let (w, h) = png_size(&shot);
    assert_eq!(w, 1280);
    assert!(h as u64 >= height.min(8000), "screenshot {w}x{h}");
    // A blank page of this size compresses to a few KB; plots and tables make it large.
    let bytes = shot.metadata().unwrap().len();
    assert!(bytes > 150_000, "screenshot looks empty ({bytes} bytes)");
    shot
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(bin) = chromium_or_skip("report_renders_in_headless_chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();

    // The detector works: a page with a script error is caught.
    let bad = tmp.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><p>x</p><script>throw new Error('boom')</script>",
    )
    .unwrap();
    let (_, err) = run_chromium(&bin, &tmp.path().join("p0"), &bad, &["--dump-dom".into()]);
    assert!(
        console_lines(&err).iter().any(|l| l.contains("boom")),
        "console detection does not work with this Chromium:\n{err}"
    );

    let out = out_dir(tmp.path(), "browser");
    let r = fabricate_results(77);
    let index = write_report(&[(PathBuf::from("fixture/results.json"), r)], &out).unwrap();
    // The verdict chart first, then 1 CPU + 7 latency + 1 histogram plot.
    let html = std::fs::read_to_string(&index).unwrap();
    let (verdicts, cpu) = (html.find("verdicts.svg"), html.find("cpu_over_time.svg"));
    assert!(
        verdicts.is_some() && verdicts < cpu,
        "the report opens with the verdict chart"
    );
    check_in_browser(&bin, tmp.path(), &index.canonicalize().unwrap(), 10);
}

#[test]
fn comparison_and_profile_section_render_in_headless_chromium() {
    let Some(bin) = chromium_or_skip("comparison_and_profile_section_render_in_headless_chromium")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let a = fabricate_results(78);
    let mut b = fabricate_results(79);
    for m in b.models.iter_mut().take(2) {
        m.profile = Some(profile_of(&m.name));
    }
    let fragment = esbench::report::profile_section::section(&b).expect("profiled models");
    let out = out_dir(tmp.path(), "browser-compare");
    let inputs = vec![
        (PathBuf::from("a/results.json"), a),
        (PathBuf::from("b/results.json"), b),
    ];
    let index = write_report(&inputs, &out).unwrap();
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(
        html.contains(&fragment),
        "the profile section is included as given"
    );
    let profile_svgs = fragment.matches("<svg").count();
    check_in_browser(
        &bin,
        tmp.path(),
        &index.canonicalize().unwrap(),
        22 + profile_svgs,
    );
}

/// A small profiling result, as the profile room writes it.
fn profile_of(model: &str) -> esbench::profile::ProfileReport {
    use esbench::profile::{ProfileReport, ThreadGroup, ThreadProfile, PROFILE_SCHEMA};
    let group = |name: &str, cpu: f64, wake: f64| ThreadGroup {
        name: name.into(),
        threads: 1,
        cpu_s: cpu / 100.0 * 5.0,
        user_s: cpu / 100.0 * 5.0,
        cpu_percent: cpu,
        wakeups_per_s: wake,
        ..Default::default()
    };
    let groups = vec![group("main", 0.4, 40.0), group("worker", 0.3, 80.0)];
    ProfileReport {
        schema: PROFILE_SCHEMA.into(),
        label: model.into(),
        window_s: 5.0,
        threads: Some(ThreadProfile {
            window_s: 5.0,
            readings: 25,
            precise_cpu: true,
            total: group("all threads", 0.7, 120.0),
            groups,
        }),
        ..Default::default()
    }
}
