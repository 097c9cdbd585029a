//! The report's "instrument" section: per model, what the driver itself did (its CPU,
//! threads and send error) and whether it may be what limits that row, beside each model's
//! CPU as a multiple of the run's CPU floor.

use crate::metrics::results::{ModelResult, Results};
use crate::render::format::{esc, us};

fn multiple(m: &ModelResult) -> String {
    m.cpu
        .floor_multiple
        .map_or("–".into(), |x| format!("×{x:.1}"))
}

fn send(m: &ModelResult, p: impl Fn(&crate::metrics::summary::Summary) -> u64) -> String {
    let s = &m.driver.send_error;
    if s.count == 0 {
        "–".into()
    } else {
        us(p(s))
    }
}

fn verdict(m: &ModelResult) -> String {
    if m.driver.limited {
        format!("DRIVER-LIMITED: {}", m.driver.limited_why)
    } else if m.driver.threads == 0 {
        "not measured".into()
    } else {
        "the model's".into()
    }
}

/// What the CPU floor was, in one sentence; None when the run has none.
fn floor_sentence(r: &Results) -> Option<String> {
    let f = r.floor.cpu.as_ref()?;
    let spread = f
        .slice_range()
        .map(|(lo, hi)| format!("; one-second slices {lo:.2}–{hi:.2} %"))
        .unwrap_or_default();
    Some(format!(
        "CPU floor: {:.2} % of one core — a process that only wakes up on timerfds at the \
         scenario's {:.0} events/s ({:.0} frames, {:.1} requests, {:.0} watchdog ticks a \
         second), {:.0} wake-ups/s at {:.1} µs of CPU each, timer slack {} ns{}{spread}.",
        f.cpu_percent,
        f.events_per_s,
        f.frames_per_s,
        f.requests_per_s,
        f.ticks_per_s,
        f.wakeups_per_s,
        f.cpu_us_per_wakeup,
        f.timer_slack_ns,
        if f.cpus.is_empty() {
            String::new()
        } else {
            format!(", on the models' CPUs {:?}", f.cpus)
        }
    ))
}

/// The section's HTML.
pub fn html(r: &Results) -> String {
    let mut s = String::from("<h3>The instrument: driver health and the CPU floor</h3>\n");
    match floor_sentence(r) {
        Some(f) => s.push_str(&format!("<p>{}</p>\n", esc(&f))),
        None => s.push_str("<p>No CPU floor was measured in this run.</p>\n"),
    }
    s.push_str(
        "<p class=\"small\">A row is DRIVER-LIMITED when the driver's own send error p99 is more \
         than half the row's poll latency p99 (more of the tail is the driver's than the \
         model's), or when the driver used 90 % or more of the CPUs it may run on.</p>\n\
         <div class=\"scroll\"><table class=\"instrument\"><thead><tr><th>model</th>\
         <th>CPU %</th><th>× CPU floor</th><th>driver CPU %</th><th>driver threads</th>\
         <th>send error p50</th><th>p99</th><th>sends</th><th>verdict</th></tr></thead><tbody>\n",
    );
    for m in &r.models {
        s.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{:.2}</td><td>{}</td><td>{:.2}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&m.name),
            m.cpu.percent,
            multiple(m),
            m.driver.cpu_percent,
            m.driver.threads,
            send(m, |s| s.p50),
            send(m, |s| s.p99),
            m.driver.send_error.count,
            esc(&verdict(m)),
        ));
    }
    s.push_str("</tbody></table></div>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::cpu_floor::CpuFloor;

    #[test]
    fn every_row_shows_its_driver_and_a_limited_row_says_why() {
        let mut r = Results::default();
        let mut a = ModelResult {
            name: "smol".into(),
            ..ModelResult::default()
        };
        a.cpu.percent = 1.0;
        a.cpu.floor_multiple = Some(4.0);
        a.driver.threads = 5;
        a.driver.cpu_percent = 2.5;
        let mut b = ModelResult {
            name: "<rayon>".into(),
            ..ModelResult::default()
        };
        b.driver.threads = 5;
        b.driver.limited = true;
        b.driver.limited_why = "send error p99 9 µs".into();
        r.models = vec![a, b];
        let h = html(&r);
        assert!(h.contains("No CPU floor"), "{h}");
        assert!(h.contains("×4.0") && h.contains("2.50"), "{h}");
        assert!(h.contains("DRIVER-LIMITED: send error p99 9 µs"), "{h}");
        assert!(h.contains("&lt;rayon&gt;"), "names are escaped: {h}");
        r.floor.cpu = Some(CpuFloor {
            cpu_percent: 0.25,
            events_per_s: 111.3,
            ..CpuFloor::default()
        });
        let h = html(&r);
        assert!(h.contains("CPU floor: 0.25 % of one core"), "{h}");
        assert_eq!(h.matches("<tr><th scope=\"row\">").count(), 2, "{h}");
    }
}
