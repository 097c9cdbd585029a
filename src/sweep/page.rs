//! `sweep.md` and `sweep.html`: rendered from sweep.json and the points' results files only,
//! so `esbench sweep --from` can redo them at any time without measuring anything.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::metrics::results::write_atomic;
use crate::render::format::{esc, md_cell, short_commit, utc};
use crate::render::page::document;

use super::manifest::{LoadedSweep, PointStatus, SweepManifest};
use super::plot::{self, PLOTS};
use super::{analysis, fit_plot, growth, table};

/// What to look for, shown in the page (docs/sweep.md says the same at more length).
const HOW_TO_READ: &str = r#"
<h2 id="howto">What to look for</h2>
<ul>
<li><b>Where a line bends upwards.</b> A model that copes keeps a flat poll p99 while the
knob grows; the value where its p99 leaves the floor (dashed) is where it starts to break.</li>
<li><b>CPU that grows faster than the load.</b> Doubling the clients should at most double a
model's CPU; a steeper line means overhead per request or per wake-up (spinning workers,
extra threads).</li>
<li><b>Watchdog lateness under blocking work.</b> With <code>workload.blocking_sleep_us</code>
or <code>workload.poll_work_us</code> swept, a single event loop (tokio-current, smol, coop)
shows the blocking time directly in its timer lateness; thread pools hide it until they run
out of threads.</li>
<li><b>Crosses on the top edge</b> mark a model that failed at that value (crash, no answer):
the table's notes say why.</li>
<li>Each point is a whole <code>esbench run</code> with its own floor; follow a point's link
for its full report (percentile curves, CPU over time, histograms).</li>
</ul>
"#;

/// The pages written by [`write_outputs`] (its `analysis.json` is for scripts).
pub(crate) struct Written {
    pub markdown: PathBuf,
    pub html: PathBuf,
}

/// Loads `<dir>/sweep.json` and every point's results.
pub(crate) fn load(sweep_json: &Path) -> Result<LoadedSweep> {
    let manifest = SweepManifest::load(sweep_json)?;
    let dir = sweep_json.parent().unwrap_or(Path::new("."));
    Ok(LoadedSweep::load(manifest, dir))
}

/// A one-line context: scenario, swept key, fixed knobs, duration, machine and commit (the
/// latter from the first point with results).
pub(crate) fn context_line(sweep: &LoadedSweep) -> String {
    let m = &sweep.manifest;
    let mut parts = vec![format!("scenario {}", m.scenario)];
    parts.push(format!("{} = {}", m.key, m.values.join(", ")));
    for f in &m.fixed {
        parts.push(format!("{} = {} (fixed)", f.key, f.value));
    }
    if let Some(r) = sweep.points.iter().find_map(|p| p.results.as_ref()) {
        parts.push(format!(
            "{} s per model{}",
            r.scenario.duration_s,
            if r.scenario.quick { " (quick)" } else { "" }
        ));
        parts.push(format!(
            "{} ({} cores)",
            r.machine.hostname, r.machine.logical_cores
        ));
        parts.push(format!("commit {}", short_commit(r.commit.as_deref())));
        parts.push(utc(r.started_unix));
    }
    parts.join(" · ")
}

/// The Markdown document.
pub fn markdown(sweep: &LoadedSweep) -> String {
    let m = &sweep.manifest;
    let mut s = format!("# esbench sweep — {}\n\n", md_cell(&m.key));
    s.push_str(&format!("{}\n\n", context_line(sweep)));
    s.push_str(&table::markdown(sweep));
    s.push_str(&growth::markdown(sweep));
    s.push_str(&analysis::markdown(&analysis::analyse(sweep)));
    if !m.command.is_empty() {
        s.push_str(&format!("\nMade with: `{}`\n", m.command.join(" ")));
    }
    s
}

/// The HTML document, plots inline.
pub fn html(sweep: &LoadedSweep, dir: &Path) -> Result<String> {
    let m = &sweep.manifest;
    let title = format!("esbench sweep — {}", m.key);
    let mut b = format!("<h1>{}</h1>\n", esc(&title));
    b.push_str(&format!(
        "<p class=\"sub\">{}</p>\n",
        esc(&context_line(sweep))
    ));
    b.push_str(
        "<nav><a href=\"#table\">table</a><a href=\"#knee\">knee</a><a href=\"#cost\">cost\
                </a><a href=\"#plots\">plots</a><a href=\"#points\">points</a>\
                <a href=\"#howto\">what to look for</a></nav>\n",
    );
    b.push_str(
        "<h2 id=\"table\">CPU, CPU per 1,000 events, poll p99 and watchdog p99 per value</h2>\n",
    );
    b.push_str(&table::html(sweep));
    b.push_str(&analysis::html(&analysis::analyse(sweep)));
    let g = growth::html(sweep);
    if !g.is_empty() {
        b.push_str(&format!(
            "<h3>From the first to the last value</h3>\n<p class=\"small\">Each figure's \
             first and last measured value, their ratio, and the first value of {} at which \
             it had doubled.</p>\n{g}",
            esc(&m.key)
        ));
    }
    b.push_str("<h2 id=\"plots\">Each figure against the knob</h2>\n");
    let mut any = false;
    for spec in &PLOTS {
        if let Some(svg) = plot::plot(sweep, spec)? {
            any = true;
            b.push_str(&format!(
                "<figure>{svg}<figcaption>{} against {}, one line per model.</figcaption></figure>\n",
                esc(spec.title),
                esc(&m.key)
            ));
        }
    }
    if let Some(svg) = fit_plot::plot(sweep)? {
        any = true;
        b.push_str(&format!(
            "<figure>{svg}<figcaption>CPU % against the events each model served per second \
             at each value of {}; the line is the model's fit (fixed + marginal × events/s), \
             hollow points were left out of it.</figcaption></figure>\n",
            esc(&m.key)
        ));
    }
    if !any {
        b.push_str("<p class=\"small\">No point has results to plot yet.</p>\n");
    }
    b.push_str("<h2 id=\"points\">Points</h2>\n<ul>\n");
    for (p, point) in sweep.points.iter().zip(&m.points) {
        let status = match p.status {
            PointStatus::Done => "done",
            PointStatus::Interrupted => "interrupted",
            PointStatus::Failed => "failed",
            PointStatus::NotRun => "not run",
        };
        let mut item = format!("<li><b>{}={}</b>: {status}", esc(&m.key), esc(&p.value));
        if let Some(rel) = &point.results {
            item.push_str(&format!(
                " — <a href=\"{}\">results.json</a>",
                esc(&href(rel))
            ));
            if let Some(d) = &p.dir {
                let index = d.join("index.html");
                if dir.join(&index).is_file() {
                    item.push_str(&format!(
                        ", <a href=\"{}\">report</a>",
                        esc(&href(&index.display().to_string()))
                    ));
                }
            }
        }
        if let Some(problem) = &p.problem {
            item.push_str(&format!(" <span class=\"small\">({})</span>", esc(problem)));
        }
        item.push_str("</li>\n");
        b.push_str(&item);
    }
    b.push_str("</ul>\n");
    if !m.command.is_empty() {
        b.push_str(&format!(
            "<p class=\"small\">Made with <code>{}</code>.</p>\n",
            esc(&m.command.join(" "))
        ));
    }
    b.push_str(HOW_TO_READ);
    Ok(document(&title, &b))
}

/// Percent-encodes what a point directory name may hold that a URL may not (`=` is fine).
fn href(rel: &str) -> String {
    rel.replace('%', "%25")
        .replace(' ', "%20")
        .replace('#', "%23")
        .replace('?', "%3F")
}

/// What the terminal shows: a narrow table per figure, the growth lines, then the knee,
/// the cost fits and the crossings.
pub fn terminal(sweep: &LoadedSweep) -> String {
    format!(
        "{}{}{}",
        table::text(sweep),
        growth::text(sweep),
        analysis::text(&analysis::analyse(sweep))
    )
}

/// Writes `sweep.md`, `sweep.html` and `analysis.json` next to sweep.json in `dir`.
pub(crate) fn write_outputs(sweep: &LoadedSweep, dir: &Path) -> Result<Written> {
    let md = dir.join("sweep.md");
    write_atomic(&md, markdown(sweep).as_bytes())?;
    let html_path = dir.join("sweep.html");
    write_atomic(&html_path, html(sweep, dir)?.as_bytes())?;
    let json = serde_json::to_vec_pretty(&analysis::analyse(sweep))?;
    write_atomic(&dir.join("analysis.json"), &json)?;
    Ok(Written {
        markdown: md,
        html: html_path,
    })
}
