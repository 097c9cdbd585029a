//! The report's parts of the page: the context of a run (scenario, machine, commit, notes)
//! and the "how to read this" text; the page around them is `render::page`.

use crate::metrics::results::Results;
use crate::render::format::{esc, short_commit, utc};
pub use crate::render::page::document;

/// Scenario, machine, commit and notes of one run.
pub fn context(r: &Results) -> String {
    let m = &r.machine;
    let s = &r.scenario;
    let cores = match m.physical_cores {
        Some(p) => format!("{} logical / {} physical", m.logical_cores, p),
        None => format!("{} logical", m.logical_cores),
    };
    let rows = [
        ("scenario", format!("{} ({})", s.name, s.path)),
        (
            "measured",
            format!(
                "{} s per model after {} s warm-up{}",
                s.duration_s,
                s.warmup_s,
                if s.quick { " (quick run)" } else { "" }
            ),
        ),
        ("started", utc(r.started_unix)),
        ("commit", r.commit_label()),
        (
            "esbench",
            match &r.build {
                Some(b) if !b.features.is_empty() => {
                    format!(
                        "{} (features: {})",
                        r.esbench_version,
                        b.features.join(", ")
                    )
                }
                _ => r.esbench_version.clone(),
            },
        ),
        ("host", m.hostname.clone()),
        ("OS / kernel", format!("{} / {}", m.os, m.kernel)),
        ("CPU", format!("{} ({cores})", m.cpu_model)),
        (
            "memory",
            format!("{:.1} GiB", m.memory_kib as f64 / 1024.0 / 1024.0),
        ),
        ("model process", model_process(r)),
        (
            "injected faults",
            if r.injected.is_empty() {
                "none (a real measurement)".into()
            } else {
                r.injected.join(", ")
            },
        ),
        ("results schema", r.schema.clone()),
    ];
    let mut h = String::from("<dl class=\"context\">\n");
    for (k, v) in rows {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(&v)));
    }
    if let Some(v) = settings(r) {
        h.push_str(&format!("<dt>settings</dt><dd>{}</dd>\n", esc(&v)));
    }
    if let Some(t) = &r.target_machine {
        // Remote mode: the rows above are the driver's machine (clients, floors).
        let v = format!(
            "{} — {}, {} logical cores, {} / {} (the host above ran the clients)",
            t.hostname, t.cpu_model, t.logical_cores, t.os, t.kernel
        );
        h.push_str(&format!("<dt>models ran on</dt><dd>{}</dd>\n", esc(&v)));
    }
    h.push_str("</dl>\n");
    if !s.text.is_empty() {
        h.push_str(&format!(
            "<details><summary>The scenario file as it was run</summary><pre>{}</pre></details>\n",
            esc(&s.text)
        ));
    }
    h
}

/// The settings each model's process ran with: the timer slack the driver set and, per
/// model, what `/proc` said during its window (slack, allowed CPUs, nice).
fn model_process(r: &Results) -> String {
    let set = match r.model_timer_slack_ns {
        Some(ns) => format!("timer slack set to {ns} ns before exec"),
        None => "timer slack not set explicitly (results from before it was)".into(),
    };
    let seen: Vec<String> = r
        .models
        .iter()
        .filter(|m| m.timerslack_ns.is_some() || m.cpus_allowed.is_some())
        .map(|m| {
            format!(
                "{}: slack {} ns, CPUs {}, nice {}",
                m.name,
                m.timerslack_ns.map_or("?".into(), |n| n.to_string()),
                m.cpus_allowed.as_deref().unwrap_or("?"),
                m.nice.map_or("?".into(), |n| n.to_string()),
            )
        })
        .collect();
    if seen.is_empty() {
        set
    } else {
        format!("{set}; read back from /proc: {}", seen.join("; "))
    }
}

/// The measurement variants the run used (`results.settings`); none in results from before
/// they were recorded.
fn settings(r: &Results) -> Option<String> {
    r.settings.as_ref().map(|s| {
        format!(
            "send spin margin {} µs (run.send_spin_us{}); smol block_on {} (run.smol_block_on)",
            s.send_spin_us,
            if s.send_spin_us == 0 {
                ": plain sleeps"
            } else {
                ""
            },
            s.smol_block_on
        )
    })
}

/// A warning that the run had faults injected on purpose, and one that its binary came from
/// a dirty tree (empty string when neither).
pub fn injected(r: &Results) -> String {
    let mut out = String::new();
    if r.dirty_build() {
        out.push_str(&format!(
            "<p class=\"warn\"><b>Dirty build</b>: the esbench that measured this run was built \
             from commit {} with uncommitted changes, so the commit does not identify the code \
             that ran.</p>\n",
            esc(&short_commit(r.commit.as_deref()))
        ));
    }
    if r.injected.is_empty() {
        return out;
    }
    out + &format!(
        "<p class=\"warn\"><b>Injected faults: {}</b> — this run checks the measuring \
         machinery; its figures are not a measurement of the models.</p>\n",
        esc(&r.injected.join(", "))
    )
}

/// The run's notes as a list (empty string when there are none).
pub fn notes(r: &Results) -> String {
    if r.notes.is_empty() {
        return String::new();
    }
    let items: Vec<String> = r
        .notes
        .iter()
        .map(|n| format!("<li>{}</li>", esc(n)))
        .collect();
    format!("<ul class=\"warn\">{}</ul>\n", items.join(""))
}

/// A one-line description of a run for titles: scenario, time and commit.
pub fn run_line(r: &Results) -> String {
    format!(
        "scenario {} · {} · commit {} · {}",
        r.scenario.name,
        utc(r.started_unix),
        short_commit(
            crate::build_info::history_commit(r.commit.as_deref(), r.dirty_build()).as_deref()
        ),
        r.machine.hostname
    )
}

/// What each figure means and how it was measured.
pub const HOW_TO_READ: &str = r#"
<h2 id="howto">How to read this</h2>
<ul>
<li><b>Every model runs as its own child process</b> serving the same bridge logic; the
driver (the Scratch emulator) and the virtual board run outside it, so their cost is not
charged to the model.</li>
<li><b>Rounds, intervals and verdicts.</b> Each model's measured time is split into rounds,
interleaved across models (every model's round k before any model's round k+1, the order
shuffled per round), each a fresh child after its own warm-up, so a machine that drifts during
the run spreads over every model instead of reading as a difference between the models
measured early and late. The table's figures are over the whole measured time (histograms
merged); the small figure under each is half the 95 % distribution-free interval of its
median over the rounds, or <code>[lo–hi]</code> when fewer than 5 rounds make it only a
range. The headline and the ★ name a single model only when its interval clears the
runner-up's; otherwise they name the group that cannot be told apart ("tie within noise").
A failed row is never crowned, nor a DRIVER-LIMITED one on latency (the driver's late
sends are part of it) or, when its driver was saturated, on CPU; a failed round is left out of the
intervals.</li>
<li><b>CPU %</b> is the child process's user + system CPU time (the kernel's per-process CPU
clock, ns resolution, all threads) divided by the wall time of the measured window, in % of one core.
The line plot samples the same process at 5 Hz or more. <b>Context switches/s</b> counts
voluntary and involuntary switches; <b>peak RSS</b> and <b>threads</b> are the process's
own.</li>
<li><b>Poll latency</b> has one sample per <em>planned slot</em> of a constant-rate plan
(one poll per <code>clients.poll_period_ms</code>: 33 ms by default, like Scratch), measured
from the slot's intended time. Like Scratch, the client never has two polls in flight: the
slots that pass while an answer is late are not sent, and each gets a sample from its
intended time to the answer that freed the client (HdrHistogram's expected-interval
correction); a failed or timed-out poll counts at the time it failed. A stall therefore
weighs what it lasted instead of vanishing ("coordinated omission").
<b>Poll answered</b> (results.json) is the per-answer view, one sample per answered poll from
its intended time. <b>Poll service</b> (the table's "service" columns) is actual send →
answer read: the model's own response time, without the driver's wake-up error.</li>
<li><b>Staleness</b>: every frame the virtual board writes carries a sequence number, so the
driver knows which frame a poll answer showed; staleness is answer received − that frame's
write time. With frames every 25 ms and polls at an unrelated 33 ms its p99 is about one
frame period whatever the model does. <b>Staleness excess</b> is the part a model can change:
how far the served frame is behind the newest frame the board had finished writing when the
request was sent (0 when it served the newest; also in frames in results.json).</li>
<li><b>Ingest latency</b>: frame written to the serial device → parsed by the bridge.
<b>Command latency</b>: intended send time of an HTTP command → bytes read by the board; each
read is paired with the latest request of the same bytes sent before it, and a request the
board never read is counted as <code>commands_unmatched</code>.</li>
<li><b>Watchdog lateness</b>: how late the bridge's periodic timer
(<code>workload.watchdog_period_ms</code>, 25 ms by default) woke up after its
deadline — the model's timer jitter, shown per model as histograms. Like the other latencies
it covers the measured window only (ticks due in it), not start-up or warm-up; so does
frame inter-arrival (gaps ending in it).</li>
<li><b>The floor</b> is a plain timer thread beside the model, not what the machine can do:
an absolute-deadline <code>clock_nanosleep</code> loop at the watchdog period with the
model's timer slack and, under <code>--pin</code>, the model's CPUs, run once on the idle
machine before the models and again during each model's measured window, starting at a
random phase against the board's frames (recorded as <code>timer_floor_phase_us</code>,
beside the watchdog's <code>watchdog_phase_us</code>). <code>wd/floor</code> compares a
model's watchdog with it. The driver's own send error is measured alongside with the
driver's 1 ns slack. Latency plots draw a floor dashed in black.</li>
<li><b>The model's process</b> gets its own settings before exec — the timer slack of
<code>run.model_timer_slack_ns</code> (the kernel's default 50 µs unless a scenario says
otherwise), the CPUs of <code>--pin</code> — never the driver's; what it ran with (slack,
CPUs, nice) is read back from <code>/proc</code> during its window and listed under
"Scenario, machine, commit".</li>
<li><b>Percentile plots</b> use an HdrHistogram-style axis: x is log<sub>10</sub>(1/(1−q)), so
90 %, 99 %, 99.9 % are equally spaced and the tail gets as much room as the median; y is
logarithmic. Markers sit on p50, p90, p99 and p99.9. A line stops where its sample count
runs out and ends at the max.</li>
<li><b>Headline</b>: cheapest = lowest CPU %; lowest latency = lowest poll latency p99;
steadiest = smallest poll latency p99 − p50. Only models whose status is <code>ok</code>
compete; ★ in the table marks the best value per column among them.</li>
<li><b>Profiled figures</b> (when the run used profiling) come from a separate pass under a
sampler and are never mixed into the table or the plots above.</li>
<li><b>Comparisons</b> (two or more results files): a change counts only when it exceeds a
noise band — 10 % (CPU, RSS, medians), 25 % (p99) or 50 % (p99.9, max), and at least the
floor's timer-lateness p50 (min 20 µs) for latencies, 0.1 % of a core for CPU. Percentiles
with fewer than 5 samples beyond them are not judged. For a pass/fail verdict use
<code>esbench check</code>.</li>
</ul>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::results::Settings;

    #[test]
    fn the_context_shows_the_measurement_settings_when_recorded() {
        let mut r = crate::metrics::fixture::fabricate_results(1);
        assert!(!context(&r).contains("<dt>settings</dt>"), "none recorded");
        r.settings = Some(Settings {
            send_spin_us: 0,
            smol_block_on: "futures-lite".into(),
        });
        let h = context(&r);
        assert!(
            h.contains("<dt>settings</dt><dd>send spin margin 0 µs (run.send_spin_us: plain sleeps); smol block_on futures-lite (run.smol_block_on)</dd>"),
            "{h}"
        );
    }
}
