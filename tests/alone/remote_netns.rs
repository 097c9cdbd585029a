//! A remote run against a local run of the same scenario, in a network namespace the test
//! creates for itself (its own loopback), with 0 and with 2 ms of added one-way delay
//! (`tc netem` on that loopback): agent and driver in separate processes, both runs through
//! the same link, so they must give the same figures within the remote row's stated clock
//! uncertainty plus the run-to-run noise of a shared machine (one frame period for
//! staleness; see `NOISE_US`).
//!
//! Needs root, `ip` (iproute2) and, for the delay, the kernel's `sch_netem`. Where the
//! machine does not allow them, each test prints SKIPPED and why, and passes — unless
//! `ESBENCH_REQUIRE_TOOLS=1` and `ESBENCH_REQUIRE_NETNS=1` are both set, when it fails.

use crate::remote_support;

use std::process::Command;

use remote_support::{results, run, AgentProc, Scratch};

/// Run-to-run noise allowed between two separate runs on a loaded 2-core machine: one frame
/// period (25 ms), the granularity staleness moves in when a run's phase against the
/// frames differs. A join error of whole seconds, or a missed offset, is far outside it.
const NOISE_US: u64 = 25_000;

fn required() -> bool {
    let on = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty() && v != "0");
    on("ESBENCH_REQUIRE_TOOLS") && on("ESBENCH_REQUIRE_NETNS")
}

fn skip(test: &str, why: &str) {
    if required() {
        panic!("{test}: {why} (ESBENCH_REQUIRE_NETNS is set: this is a failure)");
    }
    eprintln!("SKIPPED {test}: {why}");
}

fn sh(args: &[&str]) -> Result<(), String> {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", args[0]))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// A network namespace with its loopback up, deleted when dropped.
struct Netns {
    name: String,
}

impl Netns {
    fn create(tag: &str) -> Result<Netns, String> {
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root: network namespaces need CAP_SYS_ADMIN".into());
        }
        let name = format!("esbench-{tag}-{}", std::process::id());
        sh(&["ip", "netns", "add", &name])?;
        let ns = Netns { name };
        sh(&[
            "ip", "netns", "exec", &ns.name, "ip", "link", "set", "lo", "up",
        ])?;
        Ok(ns)
    }

    fn delay_ms(&self, ms: u32) -> Result<(), String> {
        let d = format!("{ms}ms");
        sh(&[
            "ip", "netns", "exec", &self.name, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
            "delay", &d,
        ])
        .map_err(|e| format!("no netem delay on this machine (kernel sch_netem?): {e}"))
    }

    fn prefix(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.name]
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.name]);
    }
}

fn p50(row: &serde_json::Value, metric: &str) -> u64 {
    row[metric]["p50"].as_u64().unwrap()
}

fn remote_matches_local(test: &str, delay_ms: u32) {
    let ns = match Netns::create(&format!("d{delay_ms}")) {
        Ok(ns) => ns,
        Err(why) => return skip(test, &why),
    };
    if delay_ms > 0 {
        if let Err(why) = ns.delay_ms(delay_ms) {
            return skip(test, &why);
        }
    }
    let s = Scratch::new();
    let prefix = ns.prefix();
    let agent = AgentProc::start(
        &s,
        &prefix,
        "127.0.0.1:0",
        &[("ESBENCH_AGENT_TEST", "clock_offset_ns=3000000000")],
    );
    let scenario = s.path("scenario.toml");
    let (local_out, remote_out) = (s.path("local"), s.path("remote"));
    let (code, log) = run(&prefix, &scenario, &local_out, &[]);
    assert_eq!(code, 0, "local run: {log}");
    let token = s.path("token");
    let (code, log) = run(
        &prefix,
        &scenario,
        &remote_out,
        &[
            "--target",
            &agent.addr,
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "remote run: {log}");
    let (l, r) = (results(&local_out), results(&remote_out));
    let (l, r) = (&l["models"][0], &r["models"][0]);
    assert!(l["clock_join"].is_null(), "a local row has no clock join");
    let join = &r["clock_join"];
    let u = join["uncertainty_us"].as_u64().unwrap();
    // Half the best round trip is at least the added one-way delay's worth of each leg.
    assert!(
        join["best_rtt_us"].as_u64().unwrap() >= 2 * 1_000 * u64::from(delay_ms),
        "{join}"
    );
    eprintln!(
        "{test}: ±{u} µs; staleness p50 local {} remote {}; command p50 local {} remote {}; \
         poll answered p50 local {} remote {}",
        p50(l, "staleness"),
        p50(r, "staleness"),
        p50(l, "command_latency"),
        p50(r, "command_latency"),
        p50(l, "poll_answered"),
        p50(r, "poll_answered"),
    );
    for metric in ["staleness", "command_latency"] {
        let (a, b) = (p50(l, metric), p50(r, metric));
        assert!(
            a.abs_diff(b) <= u + NOISE_US,
            "{metric} p50: local {a} µs, remote {b} µs, allowed ±{u} µs (clocks) + {NOISE_US} µs"
        );
    }
    // One clock only, so no error bar: the same noise allowance.
    let (a, b) = (p50(l, "poll_answered"), p50(r, "poll_answered"));
    assert!(a.abs_diff(b) <= NOISE_US, "poll_answered p50 {a} vs {b}");
    for row in [l, r] {
        assert_eq!(row["status"], "ok");
        assert_eq!(row["counters"]["staleness_negative"], 0);
        assert!(row["staleness"]["count"].as_u64().unwrap() > 30);
    }
    // The same work was done on both sides: frames accepted within 10 %.
    let (fa, fb) = (
        l["counters"]["frames_accepted"].as_u64().unwrap(),
        r["counters"]["frames_accepted"].as_u64().unwrap(),
    );
    assert!(fa.abs_diff(fb) * 10 <= fa.max(fb), "frames {fa} vs {fb}");
}

#[test]
fn remote_equals_local_in_a_namespace_without_added_delay() {
    let _alone = crate::serial();
    remote_matches_local("remote_equals_local_in_a_namespace_without_added_delay", 0);
}

#[test]
fn remote_equals_local_in_a_namespace_with_2ms_one_way_delay() {
    let _alone = crate::serial();
    remote_matches_local(
        "remote_equals_local_in_a_namespace_with_2ms_one_way_delay",
        2,
    );
}
