//! The HTML report: reads results files (never runs anything) and writes one self-contained
//! `index.html` — headline, summary table, plots as inline SVG, context, "how to read this",
//! and an A-vs-B comparison when given several files — plus every plot as its own `.svg`
//! and a `summary.md` for CI comments.
//!
//! Every string that comes from a results file is HTML-escaped (`format::esc`); plots are
//! SVG text from plotters, which escapes its own text.

pub(crate) mod compare;
pub(crate) mod export;
pub mod headline;
pub(crate) mod instrument;
pub(crate) mod links;
pub(crate) mod page;
pub(crate) mod plot_compare;
pub(crate) mod plot_cpu;
pub(crate) mod plot_hist;
pub(crate) mod plot_latency;
pub(crate) mod plot_verdict;
pub mod profile_section;
pub(crate) mod profile_text;
pub mod run_table;
pub mod table;
pub(crate) mod valgrind_section;
pub(crate) mod validate;

use crate::render::format;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::metrics::results::{write_atomic, Results};
use crate::render::format::esc;

/// A plot written next to `index.html` and inlined into it.
pub(crate) struct Plot {
    /// File name inside the output directory, e.g. `cpu_over_time.svg`.
    pub file: String,
    /// Caption under the plot in the page.
    pub caption: String,
    pub svg: String,
}

/// Loads results files for a report, each error naming the file and what is wrong with it.
pub(crate) fn load_inputs(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Results)>> {
    if paths.is_empty() {
        bail!("no results files given");
    }
    paths
        .iter()
        .map(|p| {
            // A run directory stands for the results.json inside it.
            let p = &if p.is_dir() {
                p.join("results.json")
            } else {
                p.clone()
            };
            let r = Results::load(p)?;
            validate::check(&r)
                .with_context(|| format!("{} is not a usable results file", p.display()))?;
            Ok((p.clone(), r))
        })
        .collect()
}

/// Writes `index.html`, one `.svg` per plot and `summary.md` into `out_dir` (created if
/// needed) and returns the path of `index.html`. With several inputs, runs of the same
/// scenario are compared (see [`comparison_pairs`]); every run also gets its own full section.
pub fn write_report(inputs: &[(PathBuf, Results)], out_dir: &Path) -> Result<PathBuf> {
    write_report_judged(inputs, out_dir, None)
}

/// [`write_report`] with the comparisons judged by `judge` (`esbench check`'s outcome, handed
/// in by the caller: the report never judges by a rule of its own).
pub fn write_report_judged(
    inputs: &[(PathBuf, Results)],
    out_dir: &Path,
    judge: Option<compare::Judge<'_>>,
) -> Result<PathBuf> {
    if inputs.is_empty() {
        bail!("write_report needs at least one results file");
    }
    for (path, r) in inputs {
        validate::check(r)
            .with_context(|| format!("{} is not a usable results file", path.display()))?;
    }
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create report directory {}", out_dir.display()))?;
    let several = inputs.len() > 1;
    let labels: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(k, (p, _))| {
            if several {
                format!("{} ({})", letter(k), p.display())
            } else {
                p.display().to_string()
            }
        })
        .collect();

    let mut body = String::new();
    let mut md = String::new();
    let pairs = comparison_pairs(inputs);
    let title = if !several {
        format!("esbench report — {}", inputs[0].1.scenario.name)
    } else if pairs.is_empty() {
        format!("esbench report — {} scenarios", inputs.len())
    } else {
        format!("esbench report — {} runs compared", inputs.len())
    };
    body.push_str(&format!("<h1>{}</h1>\n", esc(&title)));
    md.push_str(&format!("# {}\n\n", format::md_text(&title)));
    body.push_str(&nav(inputs, !pairs.is_empty()));
    let mut plots = comparisons(inputs, &pairs, judge, &mut body, &mut md)?;
    plots.extend(run_sections(inputs, &labels, out_dir, &mut body, &mut md)?);
    body.push_str(page::HOW_TO_READ);
    body.push_str(&format!(
        "<p class=\"small\">Written by esbench {} from {}.</p>\n",
        esc(env!("CARGO_PKG_VERSION")),
        esc(&labels.join(", "))
    ));

    for p in &plots {
        write_atomic(&out_dir.join(&p.file), p.svg.as_bytes())?;
    }
    write_atomic(&out_dir.join("summary.md"), md.as_bytes())?;
    let index = out_dir.join("index.html");
    write_atomic(&index, page::document(&title, &body).as_bytes())?;
    Ok(index)
}

/// The links along the top: the comparison, each run's headline (and, for one run, its
/// sections), how to read the report.
fn nav(inputs: &[(PathBuf, Results)], compared: bool) -> String {
    let several = inputs.len() > 1;
    let mut body = String::from("<nav>");
    if compared {
        body.push_str("<a href=\"#compare\">comparison</a>");
    }
    for (k, (_, r)) in inputs.iter().enumerate() {
        let id = run_id(k, several);
        body.push_str(&format!(
            "<a href=\"#{id}-headline\">{}</a>",
            esc(&if several {
                format!("run {}: {}", letter(k), r.scenario.name)
            } else {
                "headline".into()
            })
        ));
        if !several {
            for (anchor, name) in [
                ("verdicts", "verdict chart"),
                ("summary", "summary"),
                ("cpu", "CPU"),
                ("latency", "latency"),
                ("jitter", "jitter"),
                ("context", "scenario & machine"),
            ] {
                body.push_str(&format!("<a href=\"#{id}-{anchor}\">{name}</a>"));
            }
        }
    }
    body.push_str("<a href=\"#howto\">how to read this</a></nav>\n");
    body
}

/// The comparison section (HTML into `body`, Markdown into `md`); returns its plots.
fn comparisons(
    inputs: &[(PathBuf, Results)],
    pairs: &[(usize, usize)],
    judge: Option<compare::Judge<'_>>,
    body: &mut String,
    md: &mut String,
) -> Result<Vec<Plot>> {
    let mut compare_plots = Vec::new();
    if !pairs.is_empty() {
        body.push_str("<h2 id=\"compare\">Comparison</h2>\n");
        md.push_str("## Comparison\n\n");
    }
    for &(j, k) in pairs {
        let (a, b) = (&inputs[j].1, &inputs[k].1);
        let cmp = compare::judged(judge, &inputs[j], &inputs[k])?;
        let (la, lb) = (letter(j), letter(k));
        body.push_str(&format!(
            "<h3>{} vs {}</h3>\n",
            esc(&format!("{la}: {}", a.scenario.name)),
            esc(&format!("{lb}: {}", b.scenario.name))
        ));
        let (pa, pb) = (
            inputs[j].0.display().to_string(),
            inputs[k].0.display().to_string(),
        );
        body.push_str(&compare::html(&cmp, &pa, &pb));
        md.push_str(&compare::markdown(&cmp, &pa, &pb));
        for (metric, name) in [
            ("poll_latency", "Poll latency"),
            ("watchdog_lateness", "Watchdog lateness"),
        ] {
            let title = format!("{name}, {la} vs {lb}");
            if let Some(svg) = plot_compare::plot(a, b, metric, &title)? {
                let caption = format!("{title}: percentile curves per model.");
                let p = Plot {
                    file: format!(
                        "compare-{}-{}-{metric}.svg",
                        la.to_lowercase(),
                        lb.to_lowercase()
                    ),
                    svg: with_title(&svg, &caption),
                    caption,
                };
                body.push_str(&figure(&p));
                compare_plots.push(p);
            }
        }
        md.push('\n');
    }
    Ok(compare_plots)
}

/// Every run's own section (HTML into `body`, Markdown into `md`); returns their plots.
fn run_sections(
    inputs: &[(PathBuf, Results)],
    labels: &[String],
    out_dir: &Path,
    body: &mut String,
    md: &mut String,
) -> Result<Vec<Plot>> {
    let several = inputs.len() > 1;
    let mut plots = Vec::new();
    for (k, (_, r)) in inputs.iter().enumerate() {
        let prefix = if several {
            format!("{}-", letter(k).to_lowercase())
        } else {
            String::new()
        };
        let run_plots = make_plots(r, &prefix)?;
        body.push_str(&run_section(
            r,
            &labels[k],
            &run_id(k, several),
            &run_plots,
            several,
            out_dir,
        ));
        if several {
            md.push_str(&format!("## Run {}\n\n", format::md_text(&labels[k])));
        }
        md.push_str(&format!("{}\n\n", format::md_text(&page::run_line(r))));
        if !r.injected.is_empty() {
            md.push_str(&format!(
                "**Injected faults: {}** — this run checks the measuring machinery; it is not \
                 a measurement of the models.\n\n",
                r.injected.join(", ")
            ));
        }
        md.push_str(&headline::markdown(r));
        md.push('\n');
        md.push_str(&table::markdown(r));
        md.push('\n');
        plots.extend(run_plots);
    }
    Ok(plots)
}

/// Which inputs are compared, as (A, B) index pairs. Runs of one scenario: each against the
/// first. Runs of several scenarios (e.g. `esbench run` over a scenario list): each against
/// the first earlier run of the same scenario, if any — comparing models across different
/// scenarios would mix two questions.
pub fn comparison_pairs(inputs: &[(PathBuf, Results)]) -> Vec<(usize, usize)> {
    let name = |k: usize| inputs[k].1.scenario.name.as_str();
    let one_scenario = (1..inputs.len()).all(|k| name(k) == name(0));
    (1..inputs.len())
        .filter_map(|k| {
            if one_scenario {
                Some((0, k))
            } else {
                (0..k).find(|&j| name(j) == name(k)).map(|j| (j, k))
            }
        })
        .collect()
}

fn letter(k: usize) -> String {
    if k < 26 {
        ((b'A' + k as u8) as char).to_string()
    } else {
        format!("R{}", k + 1)
    }
}

fn run_id(k: usize, several: bool) -> String {
    if several {
        format!("run-{}", letter(k).to_lowercase())
    } else {
        "run".into()
    }
}

/// Every plot of one run, file names prefixed with `prefix`.
pub(crate) fn make_plots(r: &Results, prefix: &str) -> Result<Vec<Plot>> {
    let mut plots = Vec::new();
    if let Some(svg) = plot_verdict::plot(r)? {
        plots.push(Plot {
            file: format!("{prefix}verdicts.svg"),
            caption: "The verdicts at a glance: per model, the median over the rounds (dot) \
                      and its 95 % interval (bar) of CPU, poll latency p99 and watchdog \
                      lateness p50, the floor dashed; ★ and a filled dot where the verdict \
                      names the model. Overlapping bars tie."
                .into(),
            svg,
        });
    }
    if let Some(svg) = plot_cpu::plot(r)? {
        plots.push(Plot {
            file: format!("{prefix}cpu_over_time.svg"),
            caption: "CPU of each model's process over the measured window.".into(),
            svg,
        });
    }
    for mp in &plot_latency::METRIC_PLOTS {
        if let Some(svg) = plot_latency::plot(r, mp)? {
            plots.push(Plot {
                file: format!("{prefix}latency_{}.svg", mp.metric),
                caption: if mp.floor_label.is_empty() {
                    format!("{}: percentile distribution per model.", mp.metric)
                } else {
                    format!(
                        "{}: percentile distribution per model, {} dashed.",
                        mp.metric, mp.floor_label
                    )
                },
                svg,
            });
        }
    }
    if let Some(svg) = plot_hist::plot(r)? {
        plots.push(Plot {
            file: format!("{prefix}watchdog_lateness_hist.svg"),
            caption: "Watchdog lateness histograms, one panel per model.".into(),
            svg,
        });
    }
    for p in &mut plots {
        p.svg = with_title(&p.svg, &p.caption);
    }
    Ok(plots)
}

/// `svg` with a `<title>` (tooltip and screen-reader name) right after its opening tag.
fn with_title(svg: &str, title: &str) -> String {
    match svg.find('>') {
        Some(i) if svg.starts_with("<svg") => format!(
            "{} role=\"img\"><title>{}</title>{}",
            &svg[..i],
            esc(title),
            &svg[i + 1..]
        ),
        _ => svg.to_string(),
    }
}

fn figure(p: &Plot) -> String {
    format!(
        "<figure>{}<figcaption>{} (<a href=\"{}\">{}</a>)</figcaption></figure>\n",
        p.svg,
        esc(&p.caption),
        esc(&p.file),
        esc(&p.file)
    )
}

/// One run's full section: headline, table, floor, plots, context, profiling.
fn run_section(
    r: &Results,
    label: &str,
    id: &str,
    plots: &[Plot],
    several: bool,
    out_dir: &Path,
) -> String {
    let mut s = String::from("<section class=\"run\">\n");
    if several {
        s.push_str(&format!(
            "<details class=\"run\" open><summary>Run {}</summary>\n",
            esc(label)
        ));
    }
    s.push_str(&format!(
        "<p class=\"sub\">{}</p>\n",
        esc(&page::run_line(r))
    ));
    s.push_str(&page::injected(r));
    s.push_str(&page::notes(r));
    s.push_str(&format!("<h2 id=\"{id}-headline\">Headline</h2>\n"));
    // The verdicts as one picture first, then in words.
    for p in plots.iter().filter(|p| p.file.ends_with("verdicts.svg")) {
        s.push_str(&format!("<div id=\"{id}-verdicts\">{}</div>\n", figure(p)));
    }
    s.push_str(&headline::html(r));
    s.push_str(&format!(
        "<h2 id=\"{id}-summary\">Summary, one row per model</h2>\n"
    ));
    if r.models.is_empty() {
        s.push_str("<p class=\"warn\">This results file has no models.</p>\n");
    } else {
        s.push_str(&table::html(r));
        s.push_str(&table::rounds_html(r));
    }
    let polls = table::poll_views_html(r);
    if !polls.is_empty() {
        s.push_str("<h3>Three views of the same polls</h3>\n");
        s.push_str(&polls);
    }
    s.push_str(&table::counters_html(r));
    s.push_str("<h3>The floor: what the machine and the driver add by themselves</h3>\n");
    s.push_str(&table::floor_html(r));
    s.push_str(&instrument::html(r));

    let is = |p: &&Plot, part: &str| p.file.contains(part);
    s.push_str(&format!("<h2 id=\"{id}-cpu\">CPU over time</h2>\n"));
    let mut any = false;
    for p in plots.iter().filter(|p| is(p, "cpu_over_time")) {
        s.push_str(&figure(p));
        any = true;
    }
    if !any {
        s.push_str("<p class=\"small\">No CPU series in this results file.</p>\n");
    }
    s.push_str(&format!(
        "<h2 id=\"{id}-latency\">Latency percentile distributions</h2>\n"
    ));
    for p in plots.iter().filter(|p| is(p, "latency_")) {
        s.push_str(&figure(p));
    }
    s.push_str(&format!(
        "<h2 id=\"{id}-jitter\">Watchdog lateness histograms</h2>\n"
    ));
    for p in plots.iter().filter(|p| is(p, "watchdog_lateness_hist")) {
        s.push_str(&figure(p));
    }
    // Flamegraph links relative to index.html, so a report directory that is moved, copied
    // or served over HTTP together with its run keeps working links.
    let link = |p: &crate::metrics::profile::ProfileReport, file: &str| {
        links::relative_href(out_dir, &Path::new(&p.out_dir).join(file))
    };
    if let Some(profile) = profile_section::section_with_links(r, &link) {
        s.push_str("<div class=\"profile\">\n");
        s.push_str(&profile);
        s.push_str("</div>\n");
    }
    if let Some(v) = valgrind_section::section(r) {
        s.push_str(&v);
    }
    s.push_str(&format!(
        "<h2 id=\"{id}-context\">Scenario, machine, commit</h2>\n"
    ));
    s.push_str(&page::context(r));
    if several {
        s.push_str("</details>\n");
    }
    s.push_str("</section>\n");
    s
}
