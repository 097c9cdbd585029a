//! "Where the CPU goes": the HTML fragment for the profiling pass (`profile` objects in
//! results.json), included by the report. Inline SVG (plotters) and HTML only; every text
//! from the results is escaped.
//!
//! It answers "why does this model cost more?" in figures: which threads hold the CPU and
//! how often they wake, which syscalls dominate per handled event, which functions hold the
//! samples — and links each model's flamegraph.

use crate::metrics::profile::PassStatus;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;

use crate::metrics::profile::{ProfileReport, ThreadGroup};
use crate::metrics::results::Results;
use crate::render::chart::{self, truncate};
use crate::render::format::esc;

/// Thread names drawn with their own colour in the charts; the rest is "other threads".
const MAX_SERIES: usize = 8;
/// The report's palette without its grey (kept for "other threads") and its olive.
const PALETTE: [RGBColor; MAX_SERIES] = [
    chart::PALETTE[0],
    chart::PALETTE[1],
    chart::PALETTE[2],
    chart::PALETTE[3],
    chart::PALETTE[4],
    chart::PALETTE[5],
    chart::PALETTE[6],
    chart::PALETTE[9],
];
const OTHER: RGBColor = RGBColor(170, 170, 170);

/// The section, or `None` when no model in `results` was profiled.
pub fn section(results: &Results) -> Option<String> {
    section_with_links(results, &|p, file| {
        let dir = p.out_dir.trim_end_matches('/');
        if dir.is_empty() {
            file.to_string()
        } else {
            format!("{dir}/{file}")
        }
    })
}

/// Like [`section`], with the report choosing each flamegraph link (e.g. a path relative to
/// its index.html when it copies the SVGs next to it). `href(profile, svg_file_name)`.
pub(crate) fn section_with_links(
    results: &Results,
    href: &dyn Fn(&ProfileReport, &str) -> String,
) -> Option<String> {
    let profiles: Vec<(String, ProfileReport)> = results
        .models
        .iter()
        .filter_map(|m| {
            let p = m.profile.clone()?;
            Some((m.name.clone(), p))
        })
        .collect();
    if profiles.is_empty() {
        return None;
    }
    let mut h = String::new();
    h.push_str(
        "<section class=\"profile\" id=\"where-the-cpu-goes\">\n<h2>Where the CPU goes</h2>\n",
    );
    h.push_str(
        "<p class=\"note\"><strong>These figures come from a separate profiling pass</strong>, run \
         after each model's measured pass, because profilers perturb what they watch. They are \
         never mixed into the measured latency and CPU figures above. Per-thread CPU and \
         wake-ups are read from <code>/proc</code> while <code>perf</code> samples the stacks; \
         <code>strace</code>, which slows every system call, gets a window of its own after \
         that.</p>\n",
    );
    let window = profiles[0].1.window_s;
    let _ = writeln!(
        h,
        "<p>Each window lasted {}&nbsp;s per model. A <em>wake-up</em> is a voluntary context \
         switch: the thread blocked, then was woken again. A <em>preemption</em> is an \
         involuntary one: the thread wanted to run on.</p>",
        fmt_num(window)
    );

    let names = series_names(&profiles);
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>CPU of each model's threads, % of one core (profiling pass).</figcaption></figure>",
        stacked_svg(&profiles, &names, "CPU, % of one core", |g| g.cpu_percent)
    );
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>Wake-ups per second of each model's threads.</figcaption></figure>",
        stacked_svg(&profiles, &names, "wake-ups per second", |g| g
            .wakeups_per_s)
    );

    in_short(&mut h, &profiles);
    summary_table(&mut h, &profiles, href);
    thread_tables(&mut h, &profiles);
    syscall_table(&mut h, &profiles);
    function_tables(&mut h, &profiles);
    notes(&mut h, &profiles);
    h.push_str("</section>\n");
    Some(h)
}

/// The thread names that get their own colour: the busiest ones across all models.
fn series_names(profiles: &[(String, ProfileReport)]) -> Vec<String> {
    let mut cpu: BTreeMap<String, f64> = BTreeMap::new();
    for (_, p) in profiles {
        for g in p.threads.iter().flat_map(|t| &t.groups) {
            // Weight wake-ups too, so a thread that wakes a lot but costs little is named.
            *cpu.entry(g.name.clone()).or_default() += g.cpu_percent + g.wakeups_per_s / 100.0;
        }
    }
    let mut v: Vec<(String, f64)> = cpu.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().take(MAX_SERIES).map(|(n, _)| n).collect()
}

/// One stacked bar per model, one segment per named thread group (+ other threads).
fn stacked_svg(
    profiles: &[(String, ProfileReport)],
    names: &[String],
    y_label: &str,
    value: fn(&ThreadGroup) -> f64,
) -> String {
    // Per model: (segment colour index or None for other, value).
    let bars: Vec<Vec<(Option<usize>, f64)>> = profiles
        .iter()
        .map(|(_, p)| {
            let mut segs = vec![(None, 0.0); 0];
            let mut other = 0.0;
            for g in p.threads.iter().flat_map(|t| &t.groups) {
                match names.iter().position(|n| *n == g.name) {
                    Some(i) => segs.push((Some(i), value(g))),
                    None => other += value(g),
                }
            }
            segs.sort_by_key(|s| s.0);
            segs.push((None, other));
            segs
        })
        .collect();
    let max = bars
        .iter()
        .map(|b| b.iter().map(|s| s.1).sum::<f64>())
        .fold(0.0, f64::max);
    let y_max = if max > 0.0 { max * 1.15 } else { 1.0 };
    let width = (160 + 90 * profiles.len() as u32).max(520);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (chart_area, legend_area) = root.split_horizontally(width - 170);
        let n = profiles.len() as u32;
        let chart = ChartBuilder::on(&chart_area)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            // Integer ranges are inclusive in plotters: 0..n-1 gives n slots.
            .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0.0..y_max);
        let Ok(mut chart) = chart else {
            return String::new();
        };
        let labels: Vec<String> = profiles.iter().map(|(m, _)| m.clone()).collect();
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .y_desc(y_label)
            .x_labels(profiles.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    labels.get(*i as usize).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .draw();
        for (i, segs) in bars.iter().enumerate() {
            let mut y0 = 0.0;
            for (series, v) in segs {
                if *v <= 0.0 {
                    continue;
                }
                let color = series.map(|s| PALETTE[s]).unwrap_or(OTHER);
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i as u32), y0),
                        (SegmentValue::Exact(i as u32 + 1), y0 + v),
                    ],
                    color.filled(),
                );
                r.set_margin(0, 0, 12, 12);
                let _ = chart.draw_series(std::iter::once(r));
                y0 += v;
            }
        }
        // Legend: plotters' series labels need line series; a drawn key is simpler.
        let mut y = 20;
        let entries = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), PALETTE[i]))
            .chain(std::iter::once(("other threads", OTHER)));
        for (name, color) in entries {
            let _ = legend_area.draw(&Rectangle::new([(5, y), (17, y + 12)], color.filled()));
            let _ = legend_area.draw(&Text::new(
                truncate(name, 22),
                (22, y),
                ("sans-serif", 12).into_font(),
            ));
            y += 18;
        }
        let _ = root.present();
    }
    svg
}

/// One sentence per model, in figures: threads, who holds the CPU, who wakes, the dominant
/// syscall, where the samples are.
fn in_short(h: &mut String, profiles: &[(String, ProfileReport)]) {
    h.push_str("<h3>In short</h3>\n<ul class=\"profile-in-short\">\n");
    for (model, p) in profiles {
        let _ = writeln!(
            h,
            "<li><strong>{}</strong>: {}</li>",
            esc(model),
            esc(&explain(p))
        );
    }
    h.push_str("</ul>\n");
}

/// The sentence for one model (plain text; escaped by the caller).
pub(crate) fn explain(p: &ProfileReport) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &p.threads {
        let mut s = format!(
            "{}% of a core over {} threads",
            fmt_num(t.total.cpu_percent),
            t.total.threads
        );
        if let Some(top) = t.groups.first().filter(|g| g.cpu_s > 0.0) {
            let share = 100.0 * top.cpu_s / t.total.cpu_s.max(1e-12);
            let _ = write!(
                s,
                "; {}{} holds {}% of it",
                top.name,
                if top.threads > 1 {
                    format!(" ×{}", top.threads)
                } else {
                    String::new()
                },
                fmt_num(share)
            );
        }
        let _ = write!(s, "; {} wake-ups/s in all", fmt_num(t.total.wakeups_per_s));
        if let Some(w) = t
            .groups
            .iter()
            .max_by(|a, b| a.wakeups_per_s.total_cmp(&b.wakeups_per_s))
        {
            if w.wakeups_per_s > 0.0 {
                let _ = write!(s, ", most by {} ({}/s)", w.name, fmt_num(w.wakeups_per_s));
            }
        }
        if let Some(pre) = t
            .groups
            .iter()
            .find(|g| g.preemptions_per_s > 2.0 * g.wakeups_per_s.max(50.0))
        {
            let _ = write!(
                s,
                "; {} is preempted {}/s (it spins or yields rather than sleeps)",
                pre.name,
                fmt_num(pre.preemptions_per_s)
            );
        }
        if let Some(w) = p.wakeups_per_event {
            let _ = write!(s, "; {} wake-ups per handled event", fmt_num(w));
        }
        parts.push(s);
    }
    if p.syscalls.status == PassStatus::Ok {
        if let Some(r) = p.syscalls.rows.first() {
            let rate = r.calls as f64 / p.syscalls.window_s.max(1e-9);
            let per = r
                .per_event
                .map(|e| format!(", {} per event", fmt_num(e)))
                .unwrap_or_default();
            parts.push(format!(
                "{} syscalls/s, led by {} ({}/s{per})",
                fmt_num(p.syscalls.calls_per_s),
                r.syscall,
                fmt_num(rate)
            ));
        }
    }
    let f = &p.flamegraph;
    if f.samples > 0 {
        let mut s = String::from("CPU samples");
        if let Some(c) = f.by_crate.first() {
            let _ = write!(s, " mostly in {} ({}%)", c.function, fmt_num(c.percent));
        }
        if let Some(func) = f.top_code.first().or(f.top_self.first()) {
            let _ = write!(
                s,
                ", top function {} ({}%)",
                truncate(&func.function, 60),
                fmt_num(func.percent)
            );
        }
        parts.push(s);
    }
    if parts.is_empty() {
        "no profile figures (see the notes below)".into()
    } else {
        parts.join(". ") + "."
    }
}

fn summary_table(
    h: &mut String,
    profiles: &[(String, ProfileReport)],
    href: &dyn Fn(&ProfileReport, &str) -> String,
) {
    h.push_str(
        "<h3>Per model</h3>\n<table class=\"profile-summary\">\n<thead><tr><th>model</th>\
         <th>threads</th><th>CPU % (1 core)</th><th>wake-ups/s</th><th>preemptions/s</th>\
         <th>events/s</th><th>wake-ups per event</th><th>CPU µs per event</th>\
         <th>syscalls/s</th><th>syscalls per event</th><th>top function</th>\
         <th>flamegraph</th></tr></thead>\n<tbody>\n",
    );
    for (model, p) in profiles {
        let t = p.threads.as_ref().map(|t| &t.total);
        let ev_rate = match (&p.events, &p.threads) {
            (Some(e), Some(t)) if t.window_s > 0.0 => Some(e.total() as f64 / t.window_s),
            _ => None,
        };
        let sys_ok = p.syscalls.status == PassStatus::Ok;
        let top_fn = p
            .flamegraph
            .top_code
            .first()
            .or(p.flamegraph.top_self.first())
            .map(|f| {
                format!(
                    "{} ({}%)",
                    esc(&truncate(&f.function, 60)),
                    fmt_num(f.percent)
                )
            })
            .unwrap_or_else(|| "–".into());
        let flame = match &p.flamegraph.svg {
            Some(svg) => format!(
                "<a href=\"{}\">{} samples</a>",
                esc(&href(p, svg)),
                p.flamegraph.samples
            ),
            None => format!(
                "<span title=\"{}\">none</span>",
                esc(p.flamegraph.note.as_deref().unwrap_or(""))
            ),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(model),
            t.map(|t| t.threads.to_string())
                .unwrap_or_else(|| "–".into()),
            opt(t.map(|t| t.cpu_percent)),
            opt(t.map(|t| t.wakeups_per_s)),
            opt(t.map(|t| t.preemptions_per_s)),
            opt(ev_rate),
            opt(p.wakeups_per_event),
            opt(p.cpu_us_per_event),
            opt(sys_ok.then_some(p.syscalls.calls_per_s)),
            opt(p.syscalls.calls_per_event),
            top_fn,
            flame,
        );
    }
    h.push_str("</tbody></table>\n");
}

/// One small table per model, side by side: its thread groups.
fn thread_tables(h: &mut String, profiles: &[(String, ProfileReport)]) {
    h.push_str("<h3>Threads</h3>\n<div class=\"side-by-side\" style=\"display:flex;flex-wrap:wrap;gap:1em\">\n");
    for (model, p) in profiles {
        let _ = writeln!(
            h,
            "<table class=\"profile-threads\"><caption>{}</caption>\n<thead><tr><th>thread</th>\
             <th>CPU %</th><th>user / sys s</th><th>wake-ups/s</th><th>preempt./s</th>\
             <th title=\"runnable but waiting for a CPU, % of the window\">waited %</th></tr></thead><tbody>",
            esc(model)
        );
        match &p.threads {
            Some(t) => {
                for g in &t.groups {
                    let count = if g.threads > 1 {
                        format!(" ×{}", g.threads)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        h,
                        "<tr><td>{}{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&g.name),
                        count,
                        fmt_num(g.cpu_percent),
                        fmt_num(g.user_s),
                        fmt_num(g.sys_s),
                        fmt_num(g.wakeups_per_s),
                        fmt_num(g.preemptions_per_s),
                        fmt_num(100.0 * g.wait_s / t.window_s.max(1e-9)),
                    );
                }
                if !t.precise_cpu {
                    h.push_str("<tr><td colspan=\"6\">CPU from 10 ms ticks only (no schedstat): coarse.</td></tr>\n");
                }
            }
            None => h.push_str("<tr><td colspan=\"6\">not read (process gone)</td></tr>\n"),
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</div>\n");
}

/// Syscalls as rows, models as columns: calls per second (and per handled event).
fn syscall_table(h: &mut String, profiles: &[(String, ProfileReport)]) {
    h.push_str("<h3>System calls</h3>\n");
    let traced: Vec<&(String, ProfileReport)> = profiles
        .iter()
        .filter(|(_, p)| p.syscalls.status == PassStatus::Ok)
        .collect();
    if traced.is_empty() {
        let why = profiles
            .iter()
            .find_map(|(_, p)| p.syscalls.note.clone())
            .unwrap_or_else(|| "no syscall profile".into());
        let _ = writeln!(h, "<p>No syscall profile: {}</p>", esc(&why));
        return;
    }
    // The syscalls that matter anywhere: each model's top 10 by calls.
    let mut rows: Vec<String> = Vec::new();
    for (_, p) in &traced {
        for r in p.syscalls.rows.iter().take(10) {
            if !rows.contains(&r.syscall) {
                rows.push(r.syscall.clone());
            }
        }
    }
    let rate = |p: &ProfileReport, name: &str| -> f64 {
        p.syscalls
            .rows
            .iter()
            .find(|r| r.syscall == name)
            .map(|r| r.calls as f64 / p.syscalls.window_s.max(1e-9))
            .unwrap_or(0.0)
    };
    rows.sort_by(|a, b| {
        let ta: f64 = traced.iter().map(|(_, p)| rate(p, a)).sum();
        let tb: f64 = traced.iter().map(|(_, p)| rate(p, b)).sum();
        tb.total_cmp(&ta).then(a.cmp(b))
    });
    h.push_str(
        "<p>Calls per second during the strace window; in brackets, calls per handled event \
         (poll, frame or command) when the events were counted. Errors are counted by strace \
         (e.g. <code>EAGAIN</code> on a non-blocking read).</p>\n<table class=\"profile-syscalls\">\
         <thead><tr><th>syscall</th>",
    );
    for (m, _) in &traced {
        let _ = write!(h, "<th>{}</th>", esc(m));
    }
    h.push_str("</tr></thead><tbody>\n");
    for name in &rows {
        let _ = write!(h, "<tr><td>{}</td>", esc(name));
        for (_, p) in &traced {
            match p.syscalls.rows.iter().find(|r| r.syscall == *name) {
                Some(r) => {
                    let per = r
                        .per_event
                        .map(|e| format!(" ({})", fmt_num(e)))
                        .unwrap_or_default();
                    let err = if r.errors > 0 {
                        format!(" <small>{} err</small>", r.errors)
                    } else {
                        String::new()
                    };
                    let _ = write!(h, "<td>{}{}{}</td>", fmt_num(rate(p, name)), per, err);
                }
                None => h.push_str("<td>–</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("<tr><th>all</th>");
    for (_, p) in &traced {
        let per = p
            .syscalls
            .calls_per_event
            .map(|e| format!(" ({})", fmt_num(e)))
            .unwrap_or_default();
        let _ = write!(h, "<th>{}{}</th>", fmt_num(p.syscalls.calls_per_s), per);
    }
    h.push_str("</tr>\n</tbody></table>\n");
}

/// Where the samples are: by crate, then each model's top functions.
fn function_tables(h: &mut String, profiles: &[(String, ProfileReport)]) {
    h.push_str(
        "<h3>Functions holding the CPU samples</h3>\n<p>From <code>perf</code> samples of the \
         CPU time (an idle thread yields none). <em>By crate</em> puts each sample on the \
         crate of the function it was taken in (<code>kernel</code>: inside a system call or \
         the scheduler; <code>native</code>: C code such as libc). <em>Function</em> is the \
         innermost function outside core/std/alloc, libc and the kernel — whose code was \
         running.</p>\n<div class=\"side-by-side\" style=\"display:flex;flex-wrap:wrap;gap:1em\">\n",
    );
    for (model, p) in profiles {
        let f = &p.flamegraph;
        let _ = writeln!(
            h,
            "<table class=\"profile-functions\"><caption>{} — {} samples at {} Hz</caption><tbody>",
            esc(model),
            f.samples,
            f.frequency_hz
        );
        if f.samples == 0 {
            let why = f.note.as_deref().unwrap_or("no samples");
            let _ = writeln!(h, "<tr><td colspan=\"2\">{}</td></tr>", esc(why));
        }
        if !f.by_crate.is_empty() {
            h.push_str("<tr><th>by crate</th><th>%</th></tr>\n");
        }
        for c in f.by_crate.iter().take(6) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&c.function),
                fmt_num(c.percent)
            );
        }
        let funcs = if f.top_code.is_empty() {
            &f.top_self
        } else {
            &f.top_code
        };
        if !funcs.is_empty() {
            h.push_str("<tr><th>function</th><th>%</th></tr>\n");
        }
        for s in funcs.iter().take(8) {
            let _ = writeln!(
                h,
                "<tr><td title=\"{}\">{}</td><td>{}</td></tr>",
                esc(&s.function),
                esc(&truncate(&s.function, 70)),
                fmt_num(s.percent)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</div>\n");
}

fn notes(h: &mut String, profiles: &[(String, ProfileReport)]) {
    let all: Vec<(String, String)> = profiles
        .iter()
        .flat_map(|(m, p)| p.notes.iter().map(move |n| (m.clone(), n.clone())))
        .collect();
    if all.is_empty() {
        return;
    }
    h.push_str("<h3>Profiling notes</h3>\n<ul>\n");
    for (m, n) in all {
        let _ = writeln!(h, "<li>{}: {}</li>", esc(&m), esc(&n));
    }
    h.push_str("</ul>\n");
}

fn opt(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_else(|| "–".into())
}

/// Three significant figures (`units::sig3`), with a dash for no figure and a bare `0`.
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v == 0.0 {
        "0".into()
    } else {
        crate::units::sig3(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_significant_figures() {
        // The digits are units::sig3's (tested there); what fmt_num adds is the bare 0 and
        // the dash.
        assert_eq!(fmt_num(9.999), "10.0");
        assert_eq!((fmt_num(0.0), fmt_num(f64::NAN)), ("0".into(), "–".into()));
        assert_eq!(
            esc("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
