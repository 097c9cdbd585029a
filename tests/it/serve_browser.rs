//! `esbench serve` from a real browser on another origin: headless Chromium loads a page
//! from a second local server that it is told to treat as a *public* site (as Snap! on
//! https://snap.berkeley.edu is), and the page reads and drives the bridge the way Snap!'s
//! URL block does (XMLHttpRequest GETs), plus one request with a custom header so the browser
//! must send a CORS preflight. The bridge has to answer the preflights (`OPTIONS`, with
//! `Access-Control-Allow-Private-Network`) for any of it to work; the page posts what it got
//! back to its own server.
//!
//! This Chromium gates a public page's requests to loopback with a permission (granted in the
//! test's profile, as the user would at the prompt) and no longer sends the older
//! private-network preflight, so `Access-Control-Allow-Private-Network` is checked at the
//! byte level (tests/conformance.rs), not here; the ordinary CORS preflight is checked here.
//!
//! Needs Chromium (`scripts/install-chromium.sh`); without it the test prints `SKIPPED` and
//! passes, as every tool-dependent test does, unless chromium is required
//! (`ESBENCH_REQUIRE=chromium`, or `ESBENCH_REQUIRE_TOOLS=1` as `.ci/run` sets), so CI cannot
//! pass it by not having a browser.

use crate::common;

use crate::bridge_support as support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::*;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ESBENCH_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The page: Snap!'s way of reading a URL (an XMLHttpRequest GET per block), then a fetch
/// with a custom header (always preflighted), then Scratch's way of reading `/poll` (every
/// value through `decodeURIComponent`). Everything is posted back as JSON.
fn page(bridge: &str) -> String {
    format!(
        r#"<!DOCTYPE html><meta charset="utf-8"><title>snap-like</title><script>
const base = "{bridge}";
function get(path) {{
  return new Promise(done => {{
    const x = new XMLHttpRequest();
    x.open("GET", base + path, true);
    x.onload = () => done({{status: x.status, body: x.responseText}});
    x.onerror = () => done({{status: 0, body: "network error"}});
    x.send(null);
  }});
}}
(async () => {{
  const out = {{}};
  for (const p of ["/slider", "/buttons/Down", "/joystick/Left-Right_(X)", "/leds/Red/255.75",
                   "/orientation/Joystick_On_Right", "/slider", "/reset_all"]) {{
    out[p] = out[p] ? [out[p], await get(p)] : await get(p);
  }}
  try {{
    const r = await fetch(base + "/temp", {{headers: {{"X-Snap-Block": "temperature"}}}});
    out.preflighted = {{status: r.status, body: await r.text()}};
  }} catch (e) {{ out.preflighted = {{status: 0, body: String(e)}}; }}
  const poll = await get("/poll");
  try {{
    out.poll_keys = poll.body.split("\n").filter(l => l.includes(" ")).map(l => {{
      const i = l.indexOf(" ");
      return [l.slice(0, i), decodeURIComponent(l.slice(i + 1))];
    }});
  }} catch (e) {{ out.poll_keys = String(e); }}
  await fetch("/result", {{method: "POST", body: JSON.stringify(out)}});
}})();
</script><p>running</p>"#
    )
}

/// Serves `html` at `/` and hands the body of the first `POST /result` to `tx`.
fn page_server(listener: TcpListener, html: String, tx: mpsc::Sender<String>) {
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { return };
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        if r.read_line(&mut line).is_err() {
            continue;
        }
        let mut len = 0;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let reply = |s: &mut TcpStream, ctype: &str, body: &str| {
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        };
        if line.starts_with("POST /result") {
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            reply(&mut s, "text/plain", "");
            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
        } else if line.starts_with("GET / ") {
            reply(&mut s, "text/html; charset=utf-8", &html);
        } else {
            let _ = write!(s, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    }
}

/// Pre-grants the page's origin the local-network permission a user gives at Chrome's
/// prompt (headless Chromium has nobody to ask). Chromium has stored it under both names.
fn grant_local_network_access(profile: &std::path::Path, origin: &str) {
    let allow = serde_json::json!({ format!("{origin},*"): { "setting": 1 } });
    let prefs = serde_json::json!({
        "profile": { "content_settings": { "exceptions": {
            "local_network_access": allow,
            "loopback_network": allow,
        }}}
    });
    std::fs::create_dir_all(profile.join("Default")).unwrap();
    std::fs::write(profile.join("Default/Preferences"), prefs.to_string()).unwrap();
}

/// `ESBENCH_CHROMIUM_FLAGS`: more flags for Chromium, separated by spaces (for debugging).
fn extra_flags() -> Vec<String> {
    std::env::var("ESBENCH_CHROMIUM_FLAGS")
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Chromium as it ships: local-network access is a permission the user grants at a prompt
/// (granted here in the profile); the custom-header fetch is CORS-preflighted.
#[test]
fn a_public_page_reads_and_drives_the_bridge_in_headless_chromium() {
    public_page_reads_and_drives_the_bridge(&[], true);
}

fn public_page_reads_and_drives_the_bridge(flags: &[&str], grant: bool) {
    let Some(bin) = chromium() else {
        common::skip_or_fail(
            "a_public_page_reads_and_drives_the_bridge_in_headless_chromium",
            "chromium",
            "no Chromium installed (scripts/install-chromium.sh installs it)",
        );
        return;
    };
    let mut board = FakeBoard::new();
    let serve = Serve::start(models()[0], &board.link);
    let mut c = Client::connect(serve.addr);
    c.get("/poll");
    board.send_frame(3);
    poll_until(&mut c, "the frame", |b| b.contains(&seq_lines(3)));
    let sent_before = board.received().len();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let page_addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let html = page(&format!("http://{}", serve.addr));
    std::thread::spawn(move || page_server(listener, html, tx));

    let profile = tempfile::tempdir().unwrap();
    if grant {
        grant_local_network_access(profile.path(), &format!("http://{page_addr}"));
    }
    let mut chrome = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // The page's origin is a public site; the bridge stays on loopback (local).
        .arg(format!("--ip-address-space-overrides={page_addr}=public"))
        .args(flags)
        .args(extra_flags())
        .arg(format!("http://{page_addr}/"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start chromium");
    let got = rx.recv_timeout(Duration::from_secs(90));
    let _ = chrome.kill();
    let out = chrome.wait_with_output().unwrap();
    let json = got.unwrap_or_else(|_| {
        panic!(
            "the page never reported; chromium said:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    if std::env::var_os("ESBENCH_BROWSER_LOG").is_some() {
        println!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let reply = |x: &serde_json::Value| {
        (
            x["status"].as_u64().unwrap(),
            x["body"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(reply(&v["/slider"][0]), (200, "593\r\n".into()), "{v}");
    assert_eq!(reply(&v["/buttons/Down"]), (200, "0\r\n".into()), "{v}");
    assert_eq!(
        reply(&v["/joystick/Left-Right_(X)"]),
        (200, "1\r\n".into()),
        "{v}"
    );
    assert_eq!(reply(&v["/leds/Red/255.75"]), (200, String::new()), "{v}");
    assert_eq!(
        reply(&v["/orientation/Joystick_On_Right"]),
        (200, String::new())
    );
    assert_eq!(
        reply(&v["/slider"][1]),
        (200, "430\r\n".into()),
        "turned round: {v}"
    );
    assert_eq!(reply(&v["/reset_all"]), (200, String::new()));
    assert_eq!(reply(&v["preflighted"]), (200, "17\r\n".into()), "{v}");
    let keys = v["poll_keys"]
        .as_array()
        .unwrap_or_else(|| panic!("decodeURIComponent threw: {v}"));
    let values = keys
        .iter()
        .filter(|k| !k[0].as_str().unwrap().starts_with('_'))
        .count();
    assert_eq!(values, 16, "{v}");
    // The page's commands reached the board: R255 (truncated), then T0.
    let end = Instant::now() + TIMEOUT;
    while board.received().len() < sent_before + "R255\nT0\n".len() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        String::from_utf8_lossy(&board.received()[sent_before..]),
        "R255\nT0\n"
    );
    serve.stop();
}
