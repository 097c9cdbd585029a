//! No model may busy-wait. Measured without timing targets: a thread that spins is
//! *runnable* all the time (on a CPU or queued for one), whatever the machine's load, so
//! a thread's runnable time (`/proc/PID/task/TID/schedstat`: on-CPU plus run-queue wait)
//! over an idle window is ~100 % of it when it spins. A model that sleeps between events
//! is runnable only while it handles its 40 watchdog ticks a second.

use crate::common;

use crate::bridge_support as support;

use std::time::{Duration, Instant};

use crate::proc_probe::runnable_ns;
use support::*;

#[test]
fn no_model_spins_while_idle() {
    if let Err(why) = common::schedstat() {
        common::skip_or_fail("no_model_spins_while_idle", "schedstat", &why);
        return;
    }
    for model in models() {
        let board = FakeBoard::new();
        let serve = Serve::start(model, &board.link);
        let mut c = Client::connect(serve.addr);
        c.get("/poll");
        board.send_frame(1);
        poll_until(&mut c, "frame 1", |b| b.contains(&seq_lines(1)));
        // Idle from here: an open connection, a silent board, only the watchdog ticking.
        std::thread::sleep(Duration::from_millis(300));
        let pid = serve.pid();
        let before = runnable_ns(pid);
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let after = runnable_ns(pid);
        let elapsed = t.elapsed().as_nanos() as f64;
        let shares: Vec<(String, f64)> = after
            .iter()
            .map(|(tid, v)| {
                let d = v.saturating_sub(*before.get(tid).unwrap_or(&0));
                (tid.clone(), d as f64 / elapsed)
            })
            .collect();
        let total: f64 = shares.iter().map(|s| s.1).sum();
        let (tid, max) =
            shares
                .iter()
                .cloned()
                .fold((String::new(), 0.0), |a, b| if b.1 > a.1 { b } else { a });
        eprintln!("{model}: runnable {total:.3} of a core in all, at most {max:.3} in one thread");
        // A spinning thread is runnable ~100 % of the time however loaded the machine is; a
        // thread that sleeps is queued that long only if it wakes constantly on a saturated
        // machine (async-io's fallback thread wakes a few hundred times a second).
        assert!(
            max < 0.8,
            "{model}: thread {tid} looks busy-waiting: runnable {max:.2} of the time"
        );
        serve.stop();
    }
}
