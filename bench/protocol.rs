//! Per-message protocol code, the work every model does identically: decoding the board's
//! frames (clean and noisy streams, fed in serial-read-sized chunks), normalising a frame and
//! rendering the `/poll` body, encoding and decoding v1 commands.
//!
//! Run: `cargo bench --bench protocol`; HTML under `target/criterion/`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use esbench::protocol::command::{Command, CommandDecoder};
use esbench::protocol::frame::{encode_frame, FrameDecoder, RawFrame};
use esbench::protocol::normalise::{normalise, Orientation, TempUnits};
use esbench::protocol::poll::render_poll;

/// Frames per decoded stream: 25 s of a board at 40 frames/s.
const FRAMES: usize = 1000;
/// Bytes per `feed` call: what one non-blocking read of a USB CDC serial port typically yields.
const CHUNK: usize = 64;

/// A deterministic xorshift so every run decodes the same bytes.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i32 {
        (self.next() % n) as i32
    }
}

/// A frame with realistic, varying values (widths vary the frame length like a real board).
fn frame(rng: &mut XorShift, seq: u32) -> RawFrame {
    let mut f = RawFrame::default();
    for v in f.values[0..4].iter_mut() {
        *v = 1 - rng.below(8).min(1);
    }
    f.values[4] = rng.below(1024);
    f.values[5] = rng.below(1024);
    f.values[6] = 15 + rng.below(10);
    f.values[7] = rng.below(1024);
    f.values[8] = if rng.below(10) == 0 { 0 } else { 1023 };
    f.values[9] = rng.below(1024) - 512;
    f.values[10] = rng.below(1024) - 512;
    for v in f.values[11..14].iter_mut() {
        *v = rng.below(320) - 160;
    }
    f.set_seq(seq);
    f
}

fn clean_stream() -> Vec<u8> {
    let mut rng = XorShift(0x5EED);
    let mut out = Vec::new();
    for i in 0..FRAMES {
        encode_frame(&frame(&mut rng, i as u32), &mut out);
    }
    out
}

/// The clean stream with about 1 % of bytes replaced by random ones, as on a bad USB line.
fn noisy_stream() -> Vec<u8> {
    let mut rng = XorShift(0xBAD);
    let mut out = clean_stream();
    for b in out.iter_mut() {
        if rng.below(100) == 0 {
            *b = rng.below(256) as u8;
        }
    }
    out
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_decode");
    for (name, stream) in [("clean", clean_stream()), ("noisy", noisy_stream())] {
        g.throughput(Throughput::ElementsAndBytes {
            elements: FRAMES as u64,
            bytes: stream.len() as u64,
        });
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                FrameDecoder::new,
                |dec| {
                    let mut frames = 0u32;
                    for chunk in stream.chunks(CHUNK) {
                        dec.feed(black_box(chunk), |f| {
                            frames += 1;
                            black_box(f);
                        });
                    }
                    frames
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut rng = XorShift(7);
    let f = frame(&mut rng, 12345);
    let mut out = Vec::with_capacity(128);
    c.bench_function("frame_encode", |b| {
        b.iter(|| {
            out.clear();
            encode_frame(black_box(&f), &mut out);
            out.len()
        })
    });
}

fn poll_body(c: &mut Criterion) {
    let mut rng = XorShift(9);
    let f = frame(&mut rng, 1);
    let mut out = Vec::with_capacity(512);
    let mut g = c.benchmark_group("poll_body");
    g.throughput(Throughput::Elements(1));
    g.bench_function("normalise_and_render", |b| {
        b.iter(|| {
            out.clear();
            let s = normalise(
                black_box(&f),
                Orientation::JoystickOnLeft,
                TempUnits::Celsius,
            );
            render_poll(Some(&s), None, &mut out);
            out.len()
        })
    });
    g.bench_function("render_with_problem", |b| {
        b.iter(|| {
            out.clear();
            render_poll(None, Some(black_box("board disconnected")), &mut out);
            out.len()
        })
    });
    g.finish();
}

fn commands(c: &mut Criterion) {
    let cmds = [
        Command::Start,
        Command::Red(100),
        Command::Red(0),
        Command::Green(255),
        Command::Tone(523),
        Command::Tone(0),
        Command::BoardLed(true),
        Command::TinkerA(17),
    ];
    let mut wire = Vec::new();
    for cmd in &cmds {
        cmd.encode(&mut wire);
    }
    let mut g = c.benchmark_group("command");
    g.throughput(Throughput::Elements(cmds.len() as u64));
    let mut out = Vec::with_capacity(64);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            for cmd in black_box(&cmds) {
                cmd.encode(&mut out);
            }
            out.len()
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut dec = CommandDecoder::new();
            let mut n = 0u32;
            dec.feed(black_box(&wire), |_| n += 1);
            dec.flush(|_| n += 1);
            n
        })
    });
    g.finish();
}

/// Short warm-up and measurement: these are microsecond-scale functions, and the machines
/// this runs on are shared.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = decode, encode, poll_body, commands
}
criterion_main!(benches);
