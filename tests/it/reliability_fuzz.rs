//! Fuzzing by property tests (coverage-guided fuzzing needs a nightly toolchain and
//! cargo-fuzz, which CI does not have): every parser that reads outside input gets large
//! generated inputs — random bytes, and valid inputs mutated (bytes flipped, inserted, cut)
//! — and must return a value or an error, never panic, hang or allocate without bound.
//!
//! A plain `cargo test` runs a short pass (`FUZZ_CASES` cases per target, 256 by default);
//! `scripts/fuzz.sh` runs a long one.

use esbench::bridge::conn::Connection;
use esbench::bridge::http::{parse_request, Parse, Request, Response};
use esbench::bridge::routes::parse_route;
use esbench::bridge::Handler;
use esbench::metrics::results::Results;
use esbench::protocol::command::CommandDecoder;
use esbench::protocol::frame::{encode_frame, FrameDecoder, RawFrame};
use esbench::scenario::{Scenario, ScenarioError};
use esbench::source::recording::Recording;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config() -> Config {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        // Failures are reported with the minimal input; keep no files in the repo.
        failure_persistence: None,
        ..Config::default()
    }
}

/// One edit of a valid input: the kinds of damage a line, a disk or a user does.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..64)
        )
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Edit::Remove(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..8)
}

fn mutate(mut v: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = v.len().max(1);
        match e {
            Edit::Flip(i, b) if !v.is_empty() => {
                let i = i % v.len();
                v[i] ^= b | 1;
            }
            Edit::Insert(i, bytes) => {
                let i = i % (v.len() + 1);
                v.splice(i..i, bytes.iter().copied());
            }
            Edit::Remove(i, n) if !v.is_empty() => {
                let i = i % len.min(v.len());
                let end = (i + n).min(v.len());
                v.drain(i..end);
            }
            Edit::Truncate(i) => v.truncate(i % (v.len() + 1)),
            _ => {}
        }
    }
    v
}

/// Splits `bytes` at the given cut points (taken modulo the length).
fn chunks<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

fn frame_bytes(values: [i32; 16]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&RawFrame { values }, &mut out);
    out
}

struct Echo;
impl Handler for Echo {
    fn handle(&self, r: &Request) -> Response {
        match parse_route(&r.path) {
            Ok(route) => Response::text(200, format!("{route:?}")),
            Err(e) => Response::text(e.status(), e.reason().to_string()),
        }
    }
}

const RECORDING: &[u8] = include_bytes!("../../scenarios/streams/classroom-synth.esrec");
const SCENARIO: &str = include_str!("../../scenarios/bursty.toml");

proptest! {
    #![proptest_config(config())]

    /// Frames in any chunking, with junk lines between them: every frame decoded exactly
    /// once, in order; arbitrary bytes never panic and never grow the line buffer.
    #[test]
    fn frame_decoder(
        frames in proptest::collection::vec(proptest::array::uniform16(-1024i32..1024), 0..20),
        junk in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20),
        noise in proptest::collection::vec(any::<u8>(), 0..4096),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let mut stream = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            if let Some(j) = junk.get(i) {
                // Junk ends its line and never starts a frame.
                stream.extend(j.iter().map(|&b| if b == b'E' { b'e' } else { b }));
                stream.extend_from_slice(b"\r\n");
            }
            stream.extend(frame_bytes(*f));
        }
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        for c in chunks(&stream, &cuts) {
            d.feed(c, |f| got.push(f.values));
        }
        prop_assert_eq!(got, frames);

        let mut d = FrameDecoder::new();
        for c in chunks(&noise, &cuts) {
            d.feed(c, |_| {});
            prop_assert!(d.buffered() <= esbench::protocol::frame::MAX_LINE + 2);
        }
    }

    /// The board's command decoder takes any bytes in any chunking.
    #[test]
    fn command_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..4096),
                       cuts in proptest::collection::vec(any::<usize>(), 0..40)) {
        let (mut whole, mut pieces) = (Vec::new(), Vec::new());
        let mut d = CommandDecoder::new();
        d.feed(&bytes, |c| whole.push(c));
        d.flush(|c| whole.push(c));
        let mut d = CommandDecoder::new();
        for c in chunks(&bytes, &cuts) {
            d.feed(c, |c| pieces.push(c));
        }
        d.flush(|c| pieces.push(c));
        prop_assert_eq!(whole, pieces);
    }

    /// The HTTP parser on any bytes: a complete request never claims more than it was
    /// given; the connection answers the same bytes identically however they are split.
    #[test]
    fn http_parser_and_router(
        raw in proptest::collection::vec(any::<u8>(), 0..2048),
        edits in edits(),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        path in "\\PC{0,200}",
    ) {
        let base = b"GET /leds/Red/100 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc\
                     GET /poll?x=1 HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec();
        for input in [raw, mutate(base, &edits)] {
            if let Parse::Complete { consumed, request } = parse_request(&input) {
                prop_assert!(consumed <= input.len());
                prop_assert!(request.path.starts_with('/'));
            }
            let mut whole = Connection::new();
            whole.receive(&input, &Echo);
            let mut split = Connection::new();
            for c in chunks(&input, &cuts) {
                split.receive(c, &Echo);
            }
            prop_assert_eq!(whole.output(), split.output());
            prop_assert_eq!(whole.should_close(), split.should_close());
        }
        let _ = parse_route(&path);
        let _ = parse_route(&format!("/leds/{path}"));
    }

    /// The `.esrec` reader on damaged recordings: an error names an offset inside the file.
    #[test]
    fn recording_reader(edits in edits(), raw in proptest::collection::vec(any::<u8>(), 0..512)) {
        for input in [mutate(RECORDING.to_vec(), &edits), raw] {
            match Recording::parse(&input, "x.esrec") {
                Ok(r) => prop_assert!(r.byte_count() <= input.len()),
                Err(e) => prop_assert!(e.offset <= input.len(), "{}", e),
            }
        }
    }

    /// The scenario loader on damaged scenario text: a validation or syntax error points at
    /// a line of the text; anything accepted is within the validated bounds.
    #[test]
    fn scenario_loader(edits in edits(), raw in "\\PC{0,400}") {
        let mutated = String::from_utf8_lossy(&mutate(SCENARIO.as_bytes().to_vec(), &edits))
            .into_owned();
        for text in [mutated, raw] {
            match Scenario::from_str_named(&text, "x.toml") {
                Ok(s) => {
                    prop_assert!(s.clients.poll_period_ms >= 1.0);
                    prop_assert!(s.boards.frame_period_ms >= 1.0);
                    prop_assert!(s.run.duration_s <= 86_400.0);
                }
                Err(ScenarioError::Invalid { line, .. }) => {
                    prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
                }
                Err(e) => prop_assert!(false, "unexpected error kind {e}"),
            }
        }
    }

    /// The results reader on damaged results files, histograms included.
    #[test]
    fn results_reader(edits in edits(), which in 0usize..3) {
        let text = &fabricated()[which];
        let damaged = String::from_utf8_lossy(&mutate(text.clone().into_bytes(), &edits))
            .into_owned();
        let _ = Results::parse(&damaged);
        // Damage aimed at a histogram: valid JSON, a broken encoding inside.
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        let h = v.pointer_mut("/models/0/poll_latency/hist").expect("a histogram");
        let bytes = mutate(h.as_str().unwrap_or("").as_bytes().to_vec(), &edits);
        *h = serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned());
        let _ = Results::parse(&v.to_string());
    }
}

/// A few fabricated results files, made once (fabricating is the slow part).
fn fabricated() -> &'static [String] {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TEXTS.get_or_init(|| {
        (0..3)
            .map(|seed| {
                serde_json::to_string(&esbench::metrics::fixture::fabricate_results(seed)).unwrap()
            })
            .collect()
    })
}
