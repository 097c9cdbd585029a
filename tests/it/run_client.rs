//! The Scratch client driver against a tiny in-test HTTP server with known injected delays:
//! the driver must recover them (generous tolerances: the machine is shared and noisy).
//! Every test runs under both runners (`threads` and `events`), which must record the same.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use crate::proc_probe::threads_named as client_threads;
use esbench::clock::now_ns;
use esbench::driver::join::{join, BoardRecord, Window};
use esbench::load::client::{ClientSpec, Clients, CommandPlan, StopFlag};
use esbench::scenario::DriverKind;
use DriverKind::{Events, Threads};

const MS: u64 = 1_000_000;

/// A fake bridge + board: `/poll` answers carry a fresh frame (stamped when the request
/// arrives) after `poll_delay`; a command's bytes are "read by the board" `cmd_delay` after
/// its request arrives.
struct Fake {
    addr: SocketAddr,
    record: Arc<Mutex<BoardRecord>>,
}

/// This module's tests start clients in the test process, and one counts the process's client
/// threads by name: that one runs alone (write), the others beside each other (read). No
/// other module starts clients in this process.
static THREADS: RwLock<()> = RwLock::new(());

fn beside_others() -> RwLockReadGuard<'static, ()> {
    THREADS.read().unwrap_or_else(|e| e.into_inner())
}

fn fake(poll_delay: Duration, cmd_delay: Duration) -> Fake {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let record = Arc::new(Mutex::new(BoardRecord::default()));
    let rec = record.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let (s, rec) = (s.unwrap(), rec.clone());
            std::thread::spawn(move || serve(s, poll_delay, cmd_delay, &rec));
        }
    });
    Fake { addr, record }
}

fn serve(mut s: TcpStream, poll_delay: Duration, cmd_delay: Duration, rec: &Mutex<BoardRecord>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        buf.drain(..end);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let body = if path == "/poll" {
            let seq = {
                let mut r = rec.lock().unwrap();
                let seq = r.frames.len() as u32 + 5000;
                r.frames.push((seq, now_ns()));
                seq
            };
            std::thread::sleep(poll_delay);
            format!(
                "slider 3\ntkInput/A {}\ntkInput/B {}\n",
                seq / 1024,
                seq % 1024
            )
        } else {
            std::thread::sleep(cmd_delay);
            let bytes = match path.as_str() {
                "/leds/Red/100" => b"R100".to_vec(),
                _ => b"R0".to_vec(),
            };
            rec.lock().unwrap().commands.push((now_ns(), bytes));
            "okay".to_string()
        };
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

fn spec(
    driver: DriverKind,
    addr: SocketAddr,
    period_ms: u64,
    commands: Vec<CommandPlan>,
) -> ClientSpec {
    ClientSpec {
        driver,
        board: 0,
        addr,
        poll_period_ns: period_ms * MS,
        phase_ns: 0,
        commands,
        timeout: Duration::from_secs(5),
        spin_margin_ns: esbench::load::pace::SPIN_MARGIN_NS,
    }
}

/// Both runners of one test, as two tests.
macro_rules! both {
    ($body:ident: $threads:ident, $events:ident) => {
        #[test]
        fn $threads() {
            $body(Threads)
        }
        #[test]
        fn $events() {
            $body(Events)
        }
    };
}

both!(injected_delays: injected_delays_are_recovered_threads, injected_delays_are_recovered_events);
both!(slow_answers: slow_answers_skip_slots_threads, slow_answers_skip_slots_events);
both!(dead_server: a_dead_server_is_counted_and_stop_is_prompt_threads, a_dead_server_is_counted_and_stop_is_prompt_events);
both!(closing_server: a_closing_server_is_reconnected_and_counted_threads, a_closing_server_is_reconnected_and_counted_events);

fn injected_delays(driver: DriverKind) {
    let _beside = beside_others();
    let f = fake(Duration::from_millis(6), Duration::from_millis(9));
    let cmds = CommandPlan {
        paths: vec!["/leds/Red/100".into(), "/leds/Red/0".into()],
        every_ns: 100 * MS,
    };
    let t0 = now_ns() + 50 * MS;
    let end = t0 + 1500 * MS;
    let clients = Clients::start(
        &[spec(driver, f.addr, 30, vec![cmds])],
        t0,
        end,
        StopFlag::new(),
    )
    .unwrap();
    let joined = clients.join();
    assert!(joined.panicked.is_empty(), "{:?}", joined.panicked);
    let logs = joined.logs;
    let board = f.record.lock().unwrap().clone();
    let fig = join(
        &logs,
        &[board],
        Window {
            start_ns: t0,
            end_ns: end,
        },
    );

    let c = &fig.counters;
    assert_eq!(c["polls_failed"], 0, "{c:?}");
    assert_eq!(c["staleness_negative"], 0, "{c:?}");
    assert_eq!(c["seq_unmatched"], 0, "{c:?}");
    assert_eq!(c["commands_unmatched"], 0, "{c:?}");
    // 50 slots of 30 ms; a slot may be skipped on a very busy machine, never sent twice.
    assert_eq!(c["polls_sent"] + c["polls_skipped"], 50, "{c:?}");
    assert!(c["polls_sent"] >= 40, "{c:?}");
    assert_eq!(c["commands_sent"] + c["commands_skipped"], 15, "{c:?}");

    let p50 = fig.poll_latency.value_at_quantile(0.5);
    assert!(
        (6_000..=16_000).contains(&p50),
        "poll p50 {p50} µs, injected 6 ms"
    );
    // The frame was stamped when the request arrived, so staleness ≈ the poll delay too.
    let s50 = fig.staleness.value_at_quantile(0.5);
    assert!((6_000..=16_000).contains(&s50), "staleness p50 {s50} µs");
    assert!(fig.staleness.value_at_quantile(0.5) <= p50 + 100);
    let c50 = fig.command_latency.value_at_quantile(0.5);
    assert!(
        (9_000..=19_000).contains(&c50),
        "command p50 {c50} µs, injected 9 ms"
    );
    assert_eq!(fig.command_latency.len(), c["commands_ok"]);
    assert_eq!(fig.driver_error.len(), c["polls_sent"] + c["commands_sent"]);
}

fn slow_answers(driver: DriverKind) {
    let _beside = beside_others();
    // Each answer takes 50 ms with a 20 ms plan: never two in flight, so after each poll
    // two slots pass and are skipped. And the driver starts 300 ms late: its plan began in
    // the past, as if the client thread had been descheduled, so the first poll leaves 300
    // ms after its slot. Latency from the plan must show that; from the send it would not.
    let f = fake(Duration::from_millis(50), Duration::ZERO);
    let t0 = now_ns() - 300 * MS;
    let end = t0 + 1500 * MS;
    let logs = Clients::start(
        &[spec(driver, f.addr, 20, vec![])],
        t0,
        end,
        StopFlag::new(),
    )
    .unwrap()
    .join()
    .logs;
    let fig = join(
        &logs,
        &[BoardRecord::default()],
        Window {
            start_ns: t0,
            end_ns: end,
        },
    );
    let c = &fig.counters;
    assert_eq!(c["polls_sent"] + c["polls_skipped"], 75, "{c:?}");
    assert!(c["polls_skipped"] >= 2 * c["polls_sent"], "{c:?}");
    // One sample per planned slot, the 15 slots that passed before the late start included.
    assert_eq!(fig.poll_latency.len(), 75);
    // Slot 0 waited for the late send and the 50 ms answer: ≥ 350 ms from the plan.
    assert!(
        fig.poll_latency.max() >= 349_000,
        "max {}",
        fig.poll_latency.max()
    );
    assert!(fig.poll_answered.max() >= 349_000);
    // Measured from the actual send, every answer is just the server's 50 ms: the late
    // start is invisible there, which is why latency is not taken from the send.
    assert!(
        fig.poll_service.max() < 250_000,
        "service max {}",
        fig.poll_service.max()
    );
    assert!(fig.poll_service.min() >= 49_000);
    assert!(
        fig.driver_error.max() >= 299_000,
        "the driver's own lateness"
    );
    // Polls never overlap: each was sent after the previous answer.
    let p = &logs[0].polls;
    assert!(p.windows(2).all(|w| w[1].sent_ns >= w[0].done_ns));
    // The empty board record makes every sequence unmatched: counted, not hidden.
    assert_eq!(c["seq_unmatched"], c["polls_ok"]);
}

fn dead_server(driver: DriverKind) {
    let _beside = beside_others();
    // Nothing listens here.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let stop = StopFlag::new();
    let t0 = now_ns();
    let clients = Clients::start(
        &[spec(driver, addr, 20, vec![])],
        t0,
        t0 + 60_000 * MS,
        stop.clone(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stop.stop();
    let started = std::time::Instant::now();
    let logs = clients.join().logs;
    assert!(started.elapsed() < Duration::from_secs(2));
    let fig = join(
        &logs,
        &[BoardRecord::default()],
        Window {
            start_ns: t0,
            end_ns: t0 + 60_000 * MS,
        },
    );
    assert!(fig.counters["polls_failed"] >= 5, "{:?}", fig.counters);
    assert_eq!(fig.counters["polls_ok"], 0);
    // No answers, yet every slot the client reached has a sample: failures count at the
    // time they failed.
    assert!(fig.poll_answered.is_empty());
    assert!(fig.poll_service.is_empty());
    assert_eq!(
        fig.poll_latency.len(),
        fig.counters["polls_sent"] + fig.counters["polls_skipped"]
    );
}

/// A server that answers each request and closes: every poll after the first reconnects,
/// and both runners count it the same way (a reconnect per poll but the first).
fn closing_server(driver: DriverKind) {
    let _beside = beside_others();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            let mut buf = [0u8; 1024];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    let t0 = now_ns() + 50 * MS;
    let end = t0 + 500 * MS;
    let joined = Clients::start(&[spec(driver, addr, 25, vec![])], t0, end, StopFlag::new())
        .unwrap()
        .join();
    let log = &joined.logs[0];
    let ok = log.polls.iter().filter(|p| p.ok()).count() as u64;
    assert!(ok >= 10, "{} of {} polls ok", ok, log.polls.len());
    assert_eq!(ok as usize, log.polls.len(), "{:?}", log.polls);
    assert_eq!(
        log.reconnects,
        ok - 1,
        "the first connection is no reconnect"
    );
}

/// The point of the events runner: hundreds of clients, a handful of threads, and every
/// slot of every client still accounted for.
#[test]
fn the_events_runner_drives_many_clients_on_a_few_threads() {
    let _alone = THREADS.write().unwrap_or_else(|e| e.into_inner());
    let f = fake(Duration::ZERO, Duration::ZERO);
    let t0 = now_ns() + 100 * MS;
    let end = t0 + 600 * MS;
    let specs: Vec<ClientSpec> = (0..200)
        .map(|i| ClientSpec {
            board: i,
            phase_ns: (i as u64) * 100_000,
            ..spec(Events, f.addr, 50, vec![])
        })
        .collect();
    let clients = Clients::start(&specs, t0, end, StopFlag::new()).unwrap();
    // Only this runner's loops are named so. A thread names itself once it runs, so wait
    // (generously: the machine is shared) for the first to show.
    let named_by = std::time::Instant::now() + Duration::from_secs(5);
    let mut during = client_threads("scratch-events-");
    while during == 0 && std::time::Instant::now() < named_by {
        std::thread::sleep(Duration::from_millis(5));
        during = client_threads("scratch-events-");
    }
    let joined = clients.join();
    assert!(joined.panicked.is_empty(), "{:?}", joined.panicked);
    assert!(
        (1..=2 * esbench::load::client_events::MAX_LOOPS).contains(&during),
        "{during} event-loop threads for 200 clients"
    );
    assert_eq!(client_threads("scratch-poll-"), 0, "no thread per client");
    assert!(joined.threads <= esbench::load::client_events::MAX_LOOPS);
    assert_eq!(joined.logs.len(), 200);
    for (i, log) in joined.logs.iter().enumerate() {
        assert_eq!(log.board, i, "logs come back in the clients' order");
        // 12 slots of 50 ms each: sent or skipped, never lost, never twice.
        assert_eq!(log.polls.len() + log.skipped_polls.len(), 12, "client {i}");
        assert!(log.polls.windows(2).all(|w| w[1].sent_ns >= w[0].done_ns));
        assert!(log.polls.iter().all(|p| p.sent_ns >= p.intended_ns));
    }
}
