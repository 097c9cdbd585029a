//! `esbench floor-child` (hidden): the CPU floor's child process. `esbench run` starts it;
//! it wakes up at the given rates for `--seconds` and prints its figures as one JSON line.

use clap::Args;

use crate::driver::cpu_floor::{floor_loop, FloorRates};

#[derive(Args, Debug)]
pub struct FloorChildArgs {
    #[arg(long)]
    pub frames_per_s: f64,
    #[arg(long)]
    pub requests_per_s: f64,
    #[arg(long)]
    pub ticks_per_s: f64,
    #[arg(long)]
    pub seconds: f64,
    #[arg(long)]
    pub timer_slack_ns: u64,
}

pub fn exec(a: FloorChildArgs) -> anyhow::Result<i32> {
    for (name, v) in [
        ("--frames-per-s", a.frames_per_s),
        ("--requests-per-s", a.requests_per_s),
        ("--ticks-per-s", a.ticks_per_s),
    ] {
        if !(0.0..=1e6).contains(&v) {
            anyhow::bail!("{name} {v} is outside 0 to 1000000 events a second");
        }
    }
    if !(1.0..=3_600.0).contains(&a.seconds) {
        anyhow::bail!("--seconds {} is outside 1 to 3600", a.seconds);
    }
    let rates = FloorRates {
        frames_per_s: a.frames_per_s,
        requests_per_s: a.requests_per_s,
        ticks_per_s: a.ticks_per_s,
    };
    let floor = floor_loop(&rates, a.seconds, a.timer_slack_ns)?;
    crate::outln!("{}", serde_json::to_string(&floor)?);
    Ok(0)
}
