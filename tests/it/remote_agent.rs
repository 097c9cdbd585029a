//! `esbench agent` and `esbench run --target` on loopback, agent and driver as separate
//! processes: the refusals start nothing, an injected +3 s clock offset is recovered within
//! the stated uncertainty, and an agent lost mid-run fails that row (keeping the driver's
//! figures) while a restarted agent is picked up for the next model.

use crate::remote_support;

use std::time::Duration;

use remote_support::{results, run, AgentProc, Raw, Scratch, TOKEN};

fn start_line(s: &Scratch, model: &str, extra: &str) -> String {
    let scenario = serde_json::to_string(remote_support::SCENARIO).unwrap();
    let _ = s;
    format!(
        r#"{{"token":"{TOKEN}","op":"start","model":"{model}","scenario_text":{scenario},"timer_slack_ns":50000{extra}}}"#
    )
}

fn error_of(v: &serde_json::Value) -> String {
    assert_eq!(v["reply"], "error", "expected a refusal, got {v}");
    v["error"].as_str().unwrap().to_string()
}

#[test]
fn refusals_are_clear_and_start_nothing() {
    let s = Scratch::new();
    let agent = AgentProc::start(&s, &[], "127.0.0.1:0", &[]);
    let mut c = Raw::connect(&agent.addr);

    let e = error_of(&c.ask(r#"{"op":"hello"}"#));
    assert!(e.contains("carries no token"), "{e}");
    let e = error_of(&c.ask(r#"{"token":"guess","op":"time"}"#));
    assert!(e.contains("wrong token"), "{e}");
    // A well-formed start with the wrong token is refused before it is even read.
    let wrong = start_line(&s, "threads", "").replace(TOKEN, "nope");
    assert!(error_of(&c.ask(&wrong)).contains("wrong token"));
    let e = error_of(&c.ask("not json"));
    assert!(e.contains("not JSON"), "{e}");

    let e = error_of(&c.ask(&start_line(&s, "bash -c id", "")));
    assert!(e.contains("unknown model") && e.contains("threads"), "{e}");

    let outside = tempfile::tempdir().unwrap();
    let extra = format!(r#","out_dir":"{}""#, outside.path().join("x").display());
    let e = error_of(&c.ask(&start_line(&s, "threads", &extra)));
    assert!(e.contains("outside the agent's directories"), "{e}");
    let extra = format!(r#","out_dir":"{}/../x""#, s.path("agent").display());
    assert!(error_of(&c.ask(&start_line(&s, "threads", &extra))).contains("refused"));
    let e = error_of(&c.ask(&start_line(&s, "threads", r#","serial":"/dev/null""#)));
    assert!(e.contains("not one the agent was given"), "{e}");

    // Nothing was started and nothing written; the agent still answers.
    assert!(agent.children().is_empty(), "the agent has children");
    assert_eq!(std::fs::read_dir(s.path("agent")).unwrap().count(), 0);
    assert!(!outside.path().join("x").exists());
    let ok = c.ask(&format!(r#"{{"token":"{TOKEN}","op":"time"}}"#));
    assert_eq!(ok["reply"], "time", "{ok}");

    // A line longer than any request (1 MiB) ends that connection, not the agent.
    {
        use std::io::{Read, Write};
        let mut big = std::net::TcpStream::connect(&agent.addr).unwrap();
        big.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = big.write_all(&vec![b'a'; 3 << 20]);
        let mut rest = Vec::new();
        let _ = big.read_to_end(&mut rest);
        assert!(rest.is_empty(), "an answer to an oversized line");
    }
    let ok = Raw::connect(&agent.addr).ask(&format!(r#"{{"token":"{TOKEN}","op":"time"}}"#));
    assert_eq!(ok["reply"], "time", "{ok}");
}

#[test]
fn an_injected_clock_offset_is_recovered_and_staleness_stays_sane() {
    let s = Scratch::new();
    let offset_ns: i64 = 3_000_000_000;
    let agent = AgentProc::start(
        &s,
        &[],
        "127.0.0.1:0",
        &[(
            "ESBENCH_AGENT_TEST",
            &format!("clock_offset_ns={offset_ns}"),
        )],
    );
    let out = s.path("out");
    let target = agent.addr.clone();
    let token = s.path("token");
    let (code, log) = run(
        &[],
        &s.path("scenario.toml"),
        &out,
        &["--target", &target, "--token-file", token.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{log}");
    let r = results(&out);
    assert!(
        r["target_machine"]["hostname"].is_string(),
        "{}",
        r["target_machine"]
    );
    let m = &r["models"][0];
    assert_eq!(m["status"], "ok");
    let j = &m["clock_join"];
    let err_ns = (j["offset_ns"].as_i64().unwrap() - offset_ns).unsigned_abs();
    let bound_ns = j["uncertainty_us"].as_u64().unwrap() * 1_000;
    assert!(
        err_ns <= bound_ns,
        "offset off by {err_ns} ns, stated ± {bound_ns} ns: {j}"
    );
    // Joined through the estimate, staleness is that of a frame a few periods old, not 3 s.
    let st = &m["staleness"];
    assert!(st["count"].as_u64().unwrap() > 30, "{st}");
    assert!(st["p50"].as_u64().unwrap() < 1_000_000, "{st}");
    assert_eq!(m["counters"]["staleness_negative"], 0);
    assert_eq!(m["counters"]["ingest_negative"], 0);
    assert!(m["command_latency"]["count"].as_u64().unwrap() >= 3);
    assert!(m["command_latency"]["p50"].as_u64().unwrap() < 1_000_000);
    // The device side's figures arrived: CPU, the bridge's own statistics.
    assert!(m["cpu"]["series"].as_array().unwrap().len() >= 10);
    assert!(m["counters"]["frames_accepted"].as_u64().unwrap() > 50);
    assert!(m["timerslack_ns"].as_u64().is_some());
}

#[test]
fn a_lost_agent_fails_its_row_and_a_restarted_one_serves_the_next_model() {
    let s = Scratch::new();
    let mut first = AgentProc::start(
        &s,
        &[],
        "127.0.0.1:0",
        &[("ESBENCH_AGENT_TEST", "exit_after_measure_ms=800")],
    );
    let addr = first.addr.clone();
    let out = s.path("out");
    let token = s.path("token");
    let driver = {
        let (scenario, out, addr, token) =
            (s.path("scenario.toml"), out.clone(), addr.clone(), token);
        std::thread::spawn(move || {
            run(
                &[],
                &scenario,
                &out,
                &[
                    "--rounds",
                    "1",
                    "--models",
                    "threads,smol",
                    "--target",
                    &addr,
                    "--token-file",
                    token.to_str().unwrap(),
                ],
            )
        })
    };
    assert!(
        first.wait_exit(Duration::from_secs(60)),
        "the agent did not exit"
    );
    let _second = AgentProc::start(&s, &[], &addr, &[]);
    let (code, log) = driver.join().unwrap();
    assert_eq!(code, 3, "one row failed: {log}");
    let r = results(&out);
    let rows = r["models"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{log}");
    // The model order is shuffled from the run's seed, so the lost row is found by its
    // status, not by its position: whichever model ran first met the exiting agent.
    let (lost_row, ok_row) = if rows[0]["status"] == "ok" {
        (&rows[1], &rows[0])
    } else {
        (&rows[0], &rows[1])
    };
    let lost = lost_row["status"].as_str().unwrap();
    assert!(lost.contains("lost the agent"), "{lost}\n{log}");
    assert!(lost.contains("into the measured window"), "{lost}");
    // What the driver measured before the loss is kept.
    assert!(
        lost_row["poll_latency"]["count"].as_u64().unwrap() > 5,
        "{lost_row}"
    );
    assert_eq!(ok_row["status"], "ok", "{log}");
    assert!(ok_row["staleness"]["count"].as_u64().unwrap() > 30);
}

#[test]
fn a_second_driver_is_told_the_agent_is_busy_and_the_first_ones_model_is_stopped_when_it_goes() {
    let s = Scratch::new();
    let agent = AgentProc::start(&s, &[], "127.0.0.1:0", &[]);
    let mut first = Raw::connect(&agent.addr);
    let started = first.ask(&start_line(&s, "threads", ""));
    assert_eq!(started["reply"], "started", "{started}");
    assert_eq!(agent.children().len(), 1, "one serve child");
    let mut second = Raw::connect(&agent.addr);
    let e = error_of(&second.ask(&start_line(&s, "smol", "")));
    assert!(e.contains("busy"), "{e}");
    assert_eq!(agent.children().len(), 1, "still one");
    // The first driver vanishes: its model is stopped and the agent is free again.
    drop(first);
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while !agent.children().is_empty() && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        agent.children().is_empty(),
        "the lost driver's model still runs"
    );
    let again = second.ask(&start_line(&s, "smol", ""));
    assert_eq!(again["reply"], "started", "{again}");
}
