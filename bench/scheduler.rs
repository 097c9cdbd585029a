//! Scheduler micro-benchmarks: coop vs tokio current-thread vs smol's `LocalExecutor`.
//!
//! Each iteration does `N` operations inside one `block_on`, so the per-operation cost is
//! the reported time / N (criterion shows it as throughput):
//! - `spawn`: spawn a trivial task and await its handle;
//! - `yield`: a yield + self-wake round trip through the run queue;
//! - `timer`: register a far timer (first poll of a sleep) and cancel it (drop);
//! - `io_poll_every` (coop only): a task switch under each poll policy.
//!
//! Run: `cargo bench --bench scheduler` (add `-- spawn` etc. to filter).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use esbench::coop;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

const N: u64 = 1000;
const FAR: Duration = Duration::from_secs(3600);

/// Polls `f` exactly once (registering whatever it waits on), then drops it.
async fn poll_once_then_drop<F: Future>(f: F) {
    let mut f = pin!(f);
    poll_fn(|cx| {
        let _ = f.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await
}

fn runtimes() -> (
    coop::Runtime,
    tokio::runtime::Runtime,
    smol::LocalExecutor<'static>,
) {
    let coop = coop::Runtime::new(coop::Config::default()).expect("coop runtime");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    (coop, tokio, smol::LocalExecutor::new())
}

fn spawn(c: &mut Criterion) {
    let (co, tk, sm) = runtimes();
    let mut g = c.benchmark_group("spawn");
    g.throughput(Throughput::Elements(N));
    g.bench_function(BenchmarkId::from_parameter("coop"), |b| {
        b.iter(|| {
            co.block_on(async {
                for i in 0..N {
                    assert_eq!(coop::spawn(async move { i }).await, Ok(i));
                }
            })
        })
    });
    g.bench_function(BenchmarkId::from_parameter("tokio-current"), |b| {
        b.iter(|| {
            tk.block_on(async {
                for i in 0..N {
                    assert_eq!(tokio::spawn(async move { i }).await.ok(), Some(i));
                }
            })
        })
    });
    g.bench_function(BenchmarkId::from_parameter("smol-local"), |b| {
        b.iter(|| {
            smol::block_on(sm.run(async {
                for i in 0..N {
                    assert_eq!(sm.spawn(async move { i }).await, i);
                }
            }))
        })
    });
    g.finish();
}

fn yield_round_trip(c: &mut Criterion) {
    let (co, tk, sm) = runtimes();
    let mut g = c.benchmark_group("yield");
    g.throughput(Throughput::Elements(N));
    g.bench_function(BenchmarkId::from_parameter("coop"), |b| {
        b.iter(|| {
            co.block_on(async {
                for _ in 0..N {
                    coop::yield_now().await;
                }
            })
        })
    });
    g.bench_function(BenchmarkId::from_parameter("tokio-current"), |b| {
        b.iter(|| {
            tk.block_on(async {
                for _ in 0..N {
                    tokio::task::yield_now().await;
                }
            })
        })
    });
    g.bench_function(BenchmarkId::from_parameter("smol-local"), |b| {
        b.iter(|| {
            smol::block_on(sm.run(async {
                for _ in 0..N {
                    smol::future::yield_now().await;
                }
            }))
        })
    });
    g.finish();
}

fn timer_registration(c: &mut Criterion) {
    let (co, tk, sm) = runtimes();
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(N));
    g.bench_function(BenchmarkId::from_parameter("coop"), |b| {
        b.iter(|| {
            co.block_on(async {
                for _ in 0..N {
                    poll_once_then_drop(coop::sleep(FAR)).await;
                }
            })
        })
    });
    g.bench_function(BenchmarkId::from_parameter("tokio-current"), |b| {
        b.iter(|| {
            tk.block_on(async {
                for _ in 0..N {
                    poll_once_then_drop(tokio::time::sleep(FAR)).await;
                }
            })
        })
    });
    g.bench_function(BenchmarkId::from_parameter("smol-local"), |b| {
        b.iter(|| {
            smol::block_on(sm.run(async {
                for _ in 0..N {
                    poll_once_then_drop(smol::Timer::after(FAR)).await;
                }
            }))
        })
    });
    g.finish();
}

/// The price of the fast_io knob: 10 tasks yielding 100 times each (1000 task switches with
/// the run queue never empty) under each `io_poll_every`.
fn io_poll_every(c: &mut Criterion) {
    let mut g = c.benchmark_group("io_poll_every");
    g.throughput(Throughput::Elements(N));
    for mode in [
        coop::IoPollEvery::Task,
        coop::IoPollEvery::Tasks(8),
        coop::IoPollEvery::Tasks(61),
        coop::IoPollEvery::Pass,
    ] {
        let rt = coop::Runtime::new(coop::Config {
            io_poll_every: mode,
            ..coop::Config::default()
        })
        .expect("coop runtime");
        g.bench_function(BenchmarkId::from_parameter(mode), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..10)
                        .map(|_| {
                            coop::spawn(async {
                                for _ in 0..N / 10 {
                                    coop::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.expect("task finished");
                    }
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = spawn, yield_round_trip, timer_registration, io_poll_every
}
criterion_main!(benches);
