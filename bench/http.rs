//! The bridge's HTTP codec, per request: parsing what Scratch 2.0 (Flash), Snap! and a
//! pipelining client send, and framing the `/poll` answer. The same code runs under every
//! model, so a change here moves every model's poll latency.
//!
//! Run: `cargo bench --bench http`; HTML under `target/criterion/`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use esbench::bridge::http::{parse_request, write_response, Parse, Response};
use esbench::protocol::frame::RawFrame;
use esbench::protocol::normalise::{normalise, Orientation, TempUnits};
use esbench::protocol::poll::render_poll;

/// The Scratch 2.0 offline editor's poll, as its Flash runtime sends it.
const SCRATCH_POLL: &[u8] = b"GET /poll HTTP/1.1\r\nHost: 127.0.0.1:50209\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/533.19.4 (KHTML, like Gecko) AdobeAIR/20.0\r\n\
Referer: app:/Scratch.swf\r\nx-flash-version: 20,0,0,204\r\nAccept: text/xml, application/xml, \
application/xhtml+xml, text/html;q=0.9, text/plain;q=0.8, text/css, image/png, image/jpeg, \
image/gif;q=0.8, application/x-shockwave-flash, video/mp4;q=0.9, flv-application/octet-stream;q=0.8, \
video/x-flv;q=0.7, audio/mp4, application/futuresplash, */*;q=0.5\r\nAccept-Encoding: gzip,deflate\r\n\
Connection: keep-alive\r\n\r\n";

/// A Snap! single-value read with a percent-encoded path.
const SNAP_READ: &[u8] = b"GET /joystick/Left-Right_%28X%29 HTTP/1.1\r\nHost: localhost:50209\r\n\
Origin: https://snap.berkeley.edu\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n";

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("http_parse");
    g.throughput(Throughput::Elements(1));
    for (name, req) in [("scratch_poll", SCRATCH_POLL), ("snap_read", SNAP_READ)] {
        g.bench_function(name, |b| {
            b.iter(|| match parse_request(black_box(req)) {
                Parse::Complete { consumed, .. } => consumed,
                other => panic!("{name} must parse: {other:?}"),
            })
        });
    }
    // Ten pipelined polls in one buffer, parsed one after the other.
    let pipelined: Vec<u8> = SCRATCH_POLL.repeat(10);
    g.throughput(Throughput::Elements(10));
    g.bench_function("pipelined_x10", |b| {
        b.iter(|| {
            let mut at = 0;
            while at < pipelined.len() {
                match parse_request(black_box(&pipelined[at..])) {
                    Parse::Complete { consumed, .. } => at += consumed,
                    other => panic!("pipelined polls must parse: {other:?}"),
                }
            }
            at
        })
    });
    g.finish();
}

fn respond(c: &mut Criterion) {
    let raw = RawFrame {
        values: [
            1, 1, 1, 1, 430, 973, 17, 0, 1023, -1, 3, 17, 21, 157, 376, 8,
        ],
    };
    let mut body = Vec::new();
    render_poll(
        Some(&normalise(
            &raw,
            Orientation::JoystickOnLeft,
            TempUnits::Celsius,
        )),
        None,
        &mut body,
    );
    let resp = Response::text(200, body);
    let mut out = Vec::with_capacity(1024);
    c.bench_function("http_write_poll_response", |b| {
        b.iter(|| {
            out.clear();
            write_response(black_box(&resp), false, false, &mut out);
            out.len()
        })
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, respond
}
criterion_main!(benches);
