//! End to end, per model: a frame written to a pty → visible in a `/poll` answer over
//! loopback. The model serves in-process (`models::start`), the "board" is the pty master
//! written by this bench, and a keep-alive client polls until the answer carries the frame's
//! sequence number (stamped in tkInput A/B, as the virtual board does).
//!
//! One iteration = one frame's trip, so the figure includes the poll round trips spent
//! waiting for it: it is what a Scratch client that polls flat out would see. Iterations are
//! milliseconds long, hence `SamplingMode::Flat` and a short measurement.
//!
//! Run: `cargo bench --bench e2e` (or `-- tokio` for one model); HTML under `target/criterion/`.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use esbench::load::http::HttpConn;
use esbench::load::pollbody::PollBody;
use esbench::models::{self, ServeConfig};
use esbench::protocol::frame::{encode_frame, RawFrame};

/// How long one frame may take to show up before the bench gives up (a broken model must
/// fail loudly, not hang CI).
const GIVE_UP: Duration = Duration::from_secs(5);

/// The board side of a pty: we write frames into the master, the model opens the slave.
struct Board {
    master: File,
    /// Held open so the slave never sees a hang-up between the model's reopen attempts.
    _slave: File,
    path: PathBuf,
    seq: u32,
    frame: RawFrame,
    buf: Vec<u8>,
}

impl Board {
    fn open() -> Board {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let path = nix::unistd::ttyname(&pty.slave).expect("ttyname of the pty slave");
        Board {
            master: File::from(pty.master),
            _slave: File::from(pty.slave),
            path,
            seq: 0,
            frame: RawFrame {
                values: [1, 1, 1, 1, 430, 973, 17, 0, 1023, -1, 3, 17, 21, 157, 0, 0],
            },
            buf: Vec::with_capacity(128),
        }
    }

    /// Writes the next frame and returns its sequence number.
    fn send(&mut self) -> u32 {
        // Skip seq 0 so a never-updated answer cannot match by accident.
        self.seq = (self.seq + 1) % (1 << 20);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.frame.set_seq(self.seq);
        self.buf.clear();
        encode_frame(&self.frame, &mut self.buf);
        self.master.write_all(&self.buf).expect("write to pty");
        self.seq
    }
}

/// Polls until the answer carries `seq`.
fn wait_visible(conn: &mut HttpConn, seq: u32, model: &str) {
    let start = Instant::now();
    loop {
        let resp = conn
            .get("/poll", || {})
            .unwrap_or_else(|e| panic!("{model}: /poll failed: {e:#}"));
        if PollBody::parse(&resp.body).seq() == Some(seq) {
            return;
        }
        assert!(
            start.elapsed() < GIVE_UP,
            "{model}: frame {seq} not visible in /poll after {GIVE_UP:?}"
        );
    }
}

fn e2e(c: &mut Criterion) {
    let mut g = c.benchmark_group("e2e_frame_to_poll");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    for info in models::ALL {
        let mut board = Board::open();
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = models::start(&ServeConfig::new(
            info.name,
            vec![board.path.clone()],
            listen,
        ))
        .unwrap_or_else(|e| panic!("cannot start model {}: {e:#}", info.name));
        let mut conn = HttpConn::new(running.addrs()[0], Duration::from_secs(2));
        conn.ensure_connected().expect("connect to the model");
        g.bench_function(info.name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let seq = board.send();
                    wait_visible(&mut conn, seq, info.name);
                }
                start.elapsed()
            })
        });
        drop(conn);
        running
            .stop()
            .unwrap_or_else(|e| panic!("model {} did not stop cleanly: {e:#}", info.name));
    }
    g.finish();
}

criterion_group!(benches, e2e);
criterion_main!(benches);
