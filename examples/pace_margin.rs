//! Chooses the driver's spin margin: how late a send leaves when the client sleeps to
//! `margin` before its deadline and spins the rest, for several margins measured side by side.
//!
//! One thread paces itself at the poll period (default 33 ms) with a 1 ns timer slack, like a
//! Scratch client of `esbench run`, and takes the margins in turn, one per slot, so that every
//! margin sees the same machine load. Margin 0 is the plain timer. Prints a Markdown table:
//! per margin the send error's percentiles (µs) and the spin it cost per send.
//!
//!   cargo run --release --example pace_margin -- [SECONDS] [PERIOD_MS] [MARGIN_US,...]

use esbench::clock::now_ns;
use esbench::load::pace::{arrive_at_ns, tighten_timer_slack, Plan};
use esbench::metrics::summary::{new_histogram, record_clamped};
use hdrhistogram::Histogram;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: f64 = args.first().map_or(30.0, |a| a.parse().expect("SECONDS"));
    let period_ms: f64 = args.get(1).map_or(33.0, |a| a.parse().expect("PERIOD_MS"));
    let margins_us: Vec<u64> = args.get(2).map_or(vec![0, 50, 100, 200, 400, 1000], |a| {
        a.split(',')
            .map(|m| m.parse().expect("MARGIN_US"))
            .collect()
    });
    tighten_timer_slack();
    let period_ns = (period_ms * 1e6) as u64;
    let plan = Plan::new(now_ns() + period_ns, period_ns);
    let slots = (seconds * 1e3 / period_ms) as u64;
    let mut late: Vec<Histogram<u64>> = margins_us.iter().map(|_| new_histogram()).collect();
    let mut spun: Vec<Histogram<u64>> = margins_us.iter().map(|_| new_histogram()).collect();
    for k in 0..slots {
        let i = (k as usize) % margins_us.len();
        let a = arrive_at_ns(plan.at(k), margins_us[i] * 1_000);
        record_clamped(&mut late[i], a.late_ns / 1_000);
        record_clamped(&mut spun[i], a.spun_ns / 1_000);
    }
    println!(
        "{} slots at {period_ms} ms over {seconds} s, margins taken in turn; values in µs \
         (1 = on time to the histogram's 1 µs floor)\n",
        slots
    );
    println!(
        "| margin µs | sends | send error p50 | p90 | p99 | max | spin per send p50 | spin p99 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, m) in margins_us.iter().enumerate() {
        let (l, s) = (&late[i], &spun[i]);
        println!(
            "| {m}{} | {} | {} | {} | {} | {} | {} | {} |",
            if *m == 0 { " (plain timer)" } else { "" },
            l.len(),
            l.value_at_quantile(0.5),
            l.value_at_quantile(0.9),
            l.value_at_quantile(0.99),
            l.max(),
            if *m == 0 { 0 } else { s.value_at_quantile(0.5) },
            if *m == 0 {
                0
            } else {
                s.value_at_quantile(0.99)
            },
        );
    }
}
