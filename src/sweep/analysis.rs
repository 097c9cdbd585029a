//! What a sweep found, beyond the table: each model's knee (by the stated rule), its fixed
//! and marginal cost, where models cross, and why an `--until-knee` sweep stopped — for the
//! terminal, sweep.md, sweep.html, and `analysis.json` (what scripts read, so no figure is
//! scraped from prose).

use serde::Serialize;

use crate::render::format::{esc, md_cell};

use super::cost::{self, show_estimate, ModelFit};
use super::cross::{self, Crossings};
use super::knee::{self, Knee, RULE};
use super::manifest::{LoadedSweep, UntilKnee};

/// Schema identifier of `analysis.json`.
pub const ANALYSIS_SCHEMA: &str = "esbench.sweep-analysis/1";

/// Everything the analysis says about one sweep.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Analysis {
    pub schema: &'static str,
    pub key: String,
    pub knee_rule: &'static str,
    pub knees: Vec<Knee>,
    pub fit_rule: &'static str,
    pub fits: Vec<ModelFit>,
    pub crossings: Crossings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_knee: Option<UntilKnee>,
}

/// How the cost is fitted, in the words every output prints.
pub(crate) const FIT_RULE: &str = "CPU % = fixed + marginal × events/s, least squares over the \
points where the model copes (driver-limited points and points where it broke the knee rule are left out), \
with 95 % intervals from a bootstrap over points (their rounds kept together; none under five points); an event is a \
frame parsed or a poll answered in the measured window";

pub(crate) fn analyse(sweep: &LoadedSweep) -> Analysis {
    Analysis {
        schema: ANALYSIS_SCHEMA,
        key: sweep.manifest.key.clone(),
        knee_rule: RULE,
        knees: knee::knees(sweep),
        fit_rule: FIT_RULE,
        fits: cost::fits(sweep),
        crossings: cross::crossings(sweep),
        until_knee: sweep.manifest.until_knee.clone(),
    }
}

fn until_line(u: &UntilKnee) -> String {
    match &u.stopped {
        Some(why) => format!("--until-knee stopped: {why}"),
        None => format!(
            "--until-knee not finished (limits: value {}, {:.0} s of wall time); \
             `esbench sweep --resume` goes on",
            u.max_value, u.max_wall_s
        ),
    }
}

fn width(a: &Analysis) -> usize {
    a.knees
        .iter()
        .map(|k| k.model.chars().count())
        .max()
        .unwrap_or(0)
}

/// For the terminal.
pub(crate) fn text(a: &Analysis) -> String {
    if a.knees.is_empty() {
        return String::new();
    }
    let w = width(a);
    let mut s = format!("\nknee across {} — rule: {}\n", a.key, a.knee_rule);
    for k in &a.knees {
        s.push_str(&format!("  {:>w$}  {}\n", k.model, k.describe()));
    }
    s.push_str(&format!("\ncost per unit of work — {}\n", a.fit_rule));
    for f in &a.fits {
        s.push_str(&format!("  {:>w$}  {}\n", f.model, f.describe()));
    }
    s.push_str("\ncrossings:\n");
    for line in a.crossings.lines(&a.key) {
        s.push_str(&format!("  {line}\n"));
    }
    if let Some(u) = &a.until_knee {
        s.push_str(&format!("\n{}\n", until_line(u)));
    }
    s
}

fn est_cell(f: &ModelFit, pick: fn(&cost::Fit) -> &cost::Estimate) -> String {
    f.fit
        .as_ref()
        .map_or("—".into(), |fit| show_estimate(pick(fit), " %"))
}

fn left_out(f: &ModelFit) -> String {
    let mut parts: Vec<String> = f.missing.iter().cloned().collect();
    parts.extend(f.left_out.iter().map(|(v, why)| format!("{v}: {why}")));
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join("; ")
    }
}

/// The knee and cost tables, for sweep.md.
pub(crate) fn markdown(a: &Analysis) -> String {
    if a.knees.is_empty() {
        return String::new();
    }
    let key = md_cell(&a.key);
    let mut s = format!(
        "\n## Knee\n\nRule: {}.\n\n| model | knee ({key}) | copes at (value before) | why |\n\
         |---|---:|---:|---|\n",
        md_cell(a.knee_rule)
    );
    for k in &a.knees {
        let before = match (&k.before, k.gap_before_knee) {
            (Some(b), true) => format!("{b} (gap: values between not judged)"),
            (Some(b), false) => b.clone(),
            (None, _) => "—".into(),
        };
        let why = if k.knee.is_some() {
            k.why.join("; ")
        } else {
            "copes at every judged value".into()
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            md_cell(&k.model),
            k.knee.as_deref().map_or("none".into(), md_cell),
            md_cell(&before),
            md_cell(&why)
        ));
    }
    let unjudged: Vec<String> = (a.knees.iter())
        .flat_map(|k| (k.unjudged.iter()).map(move |(v, why)| format!("{}, {v}: {why}", k.model)))
        .collect();
    if !unjudged.is_empty() {
        s.push_str("\nNot judged:\n\n");
        for u in unjudged {
            s.push_str(&format!("- {}\n", md_cell(&u)));
        }
    }
    s.push_str(&format!(
        "\n## Cost per unit of work\n\n{}.\n\n| model | fixed (% of a core) | marginal (% of a \
         core per 1,000 events/s) | points | left out |\n|---|---:|---:|---:|---|\n",
        md_cell(a.fit_rule)
    ));
    for f in &a.fits {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            md_cell(&f.model),
            est_cell(f, |x| &x.fixed_percent),
            est_cell(f, |x| &x.marginal_percent_per_1k),
            f.fit.as_ref().map_or("0".into(), |x| x.points.to_string()),
            md_cell(&left_out(f))
        ));
    }
    s.push_str("\n## Crossings\n\n");
    for line in a.crossings.lines(&a.key) {
        s.push_str(&format!("- {}\n", md_cell(&line)));
    }
    if let Some(u) = &a.until_knee {
        s.push_str(&format!("\n{}\n", md_cell(&until_line(u))));
    }
    s
}

/// The same for sweep.html.
pub(crate) fn html(a: &Analysis) -> String {
    if a.knees.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "<h2 id=\"knee\">Knee</h2>\n<p class=\"small\">Rule: {}.</p>\n<div class=\"scroll\">\
         <table>\n<thead><tr><th>model</th><th>knee ({})</th><th>copes at (value before)</th>\
         <th>why</th></tr></thead>\n<tbody>\n",
        esc(a.knee_rule),
        esc(&a.key)
    );
    for k in &a.knees {
        let before = match (&k.before, k.gap_before_knee) {
            (Some(b), true) => format!("{b} (values between not judged)"),
            (Some(b), false) => b.clone(),
            (None, _) => "—".into(),
        };
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&k.model),
            esc(k.knee.as_deref().unwrap_or("none")),
            esc(&before),
            esc(&if k.knee.is_some() {
                k.why.join("; ")
            } else {
                "copes at every judged value".into()
            })
        ));
    }
    s.push_str("</tbody></table></div>\n");
    s.push_str(&format!(
        "<h2 id=\"cost\">Cost per unit of work</h2>\n<p class=\"small\">{}.</p>\n\
         <div class=\"scroll\"><table>\n<thead><tr><th>model</th><th>fixed (% of a core)</th>\
         <th>marginal (% per 1,000 events/s)</th><th>points</th><th>left out</th></tr></thead>\n\
         <tbody>\n",
        esc(a.fit_rule)
    ));
    for f in &a.fits {
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&f.model),
            esc(&est_cell(f, |x| &x.fixed_percent)),
            esc(&est_cell(f, |x| &x.marginal_percent_per_1k)),
            f.fit.as_ref().map_or(0, |x| x.points),
            esc(&left_out(f))
        ));
    }
    s.push_str("</tbody></table></div>\n<h3>Crossings</h3>\n<ul>\n");
    for line in a.crossings.lines(&a.key) {
        s.push_str(&format!("<li>{}</li>\n", esc(&line)));
    }
    s.push_str("</ul>\n");
    if let Some(u) = &a.until_knee {
        s.push_str(&format!("<p><b>{}</b></p>\n", esc(&until_line(u))));
    }
    s
}
