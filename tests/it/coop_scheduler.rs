//! Behaviour of the coop scheduler: ordering, timers, cancellation, fairness, hogs, wakes.
//! No speed targets: only "never early" and generous upper bounds (the machine is shared).

use esbench::coop::{self, Config, Event, IoPollEvery, Lock, Queue, Runtime, TimerBackend};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

fn rt(mode: IoPollEvery) -> Runtime {
    Runtime::new(Config {
        io_poll_every: mode,
        ..Config::default()
    })
    .unwrap()
}

const MODES: [IoPollEvery; 3] = [IoPollEvery::Task, IoPollEvery::Tasks(4), IoPollEvery::Pass];

#[test]
fn ready_tasks_run_in_fifo_order() {
    for mode in MODES {
        let order = Rc::new(RefCell::new(Vec::new()));
        rt(mode).block_on(async {
            let handles: Vec<_> = (0..10)
                .map(|i| {
                    let order = order.clone();
                    coop::spawn(async move {
                        order.borrow_mut().push(i);
                        coop::yield_now().await;
                        order.borrow_mut().push(10 + i);
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        let expected: Vec<i32> = (0..20).collect();
        assert_eq!(*order.borrow(), expected, "mode {mode}");
    }
}

#[test]
fn timers_fire_in_deadline_order_and_never_early() {
    for backend in [TimerBackend::EpollPwait2, TimerBackend::Timerfd] {
        let runtime = Runtime::new(Config {
            timer_backend: backend,
            ..Config::default()
        })
        .unwrap();
        let fired = Rc::new(RefCell::new(Vec::new()));
        runtime.block_on(async {
            let start = Instant::now();
            // Equal deadlines (3 and 4) must keep their spawn order.
            let delays_ms = [30u64, 5, 20, 12, 12, 1, 25];
            let hs: Vec<_> = delays_ms
                .iter()
                .enumerate()
                .map(|(i, &ms)| {
                    let fired = fired.clone();
                    coop::spawn(async move {
                        let deadline = start + Duration::from_millis(ms);
                        coop::sleep_until(deadline).await;
                        let now = Instant::now();
                        assert!(now >= deadline, "timer {i} fired early");
                        fired.borrow_mut().push(i);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
            assert!(start.elapsed() < Duration::from_secs(5));
        });
        assert_eq!(*fired.borrow(), vec![5, 1, 3, 4, 2, 6, 0], "{backend:?}");
        let s = runtime.stats();
        assert_eq!(s.timers_fired, 7);
        assert_eq!(s.timer_lateness.count, 7);
        assert!(s.timer_lateness.p50_us >= s.timer_oversleep.p50_us * 0.9);
        if backend == TimerBackend::Timerfd {
            assert_eq!(s.timer_backend, "timerfd");
        }
    }
}

#[test]
fn interval_is_drift_free() {
    coop::block_on(async {
        let start = Instant::now();
        let period = Duration::from_millis(3);
        let mut iv = coop::interval_at(start, period);
        for n in 0..10u32 {
            let due = iv.tick().await;
            assert_eq!(due, start + period * n, "tick {n} scheduled off the grid");
            assert!(Instant::now() >= due);
            // Work that would accumulate drift if the next deadline were now + period.
            std::thread::sleep(Duration::from_micros(700));
        }
    });
}

#[test]
fn aborting_a_sleeping_task_cancels_its_timer() {
    let runtime = rt(IoPollEvery::Tasks(8));
    runtime.block_on(async {
        let ran = Rc::new(RefCell::new(false));
        let r = ran.clone();
        let h = coop::spawn_named("sleeper", async move {
            coop::sleep(Duration::from_secs(3600)).await;
            *r.borrow_mut() = true;
        });
        coop::sleep(Duration::from_millis(2)).await;
        assert!(!h.is_finished());
        h.abort();
        assert!(h.is_finished());
        assert_eq!(h.await, Err(coop::JoinError::Cancelled));
        assert!(!*ran.borrow());
        // Nothing left to wait for: the loop must not sleep an hour.
        let t = Instant::now();
        coop::sleep(Duration::from_millis(1)).await;
        assert!(t.elapsed() < Duration::from_secs(60));
    });
    let s = runtime.stats();
    assert_eq!(s.timers_cancelled, 1);
    assert_eq!(s.tasks_aborted, 1);
    assert_eq!(s.tasks_live, 0);
}

#[test]
fn cancelled_timers_do_not_grow_the_heap() {
    let runtime = rt(IoPollEvery::Tasks(8));
    runtime.block_on(async {
        for _ in 0..10_000 {
            let r =
                coop::timeout(Duration::from_secs(100), async { coop::yield_now().await }).await;
            assert!(r.is_ok());
        }
    });
    let s = runtime.stats();
    assert_eq!(s.timers_cancelled, 10_000);
    assert!(s.timer_heap_max < 200, "heap grew to {}", s.timer_heap_max);
}

#[test]
fn timeout_both_ways() {
    coop::block_on(async {
        let quick = coop::timeout(Duration::from_secs(10), async {
            coop::sleep(Duration::from_millis(1)).await;
            7
        })
        .await;
        assert_eq!(quick, Ok(7));

        let dropped = Rc::new(RefCell::new(false));
        struct Flag(Rc<RefCell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                *self.0.borrow_mut() = true;
            }
        }
        let flag = Flag(dropped.clone());
        let start = Instant::now();
        let slow = coop::timeout(Duration::from_millis(5), async move {
            let _flag = flag;
            coop::sleep(Duration::from_secs(3600)).await;
        })
        .await;
        assert_eq!(slow, Err(coop::Elapsed));
        assert!(
            start.elapsed() >= Duration::from_millis(5),
            "timeout fired early"
        );
        assert!(
            *dropped.borrow(),
            "the timed-out future must be dropped (cancelled)"
        );
    });
}

#[test]
fn a_self_waking_task_does_not_starve_others() {
    for mode in MODES {
        let runtime = rt(mode);
        let spins = Rc::new(RefCell::new(0u64));
        runtime.block_on(async {
            let s = spins.clone();
            let spinner = coop::spawn_named("spinner", async move {
                loop {
                    *s.borrow_mut() += 1;
                    coop::yield_now().await;
                }
            });
            // A timer and another task must still make progress.
            coop::sleep(Duration::from_millis(5)).await;
            let other = coop::spawn(async { 42 });
            assert_eq!(other.await, Ok(42));
            spinner.abort();
        });
        assert!(*spins.borrow() > 0);
        assert!(runtime.stats().wakes_self > 0, "mode {mode}");
    }
}

#[test]
fn a_hog_is_detected_and_named() {
    let runtime = Runtime::new(Config {
        hog_threshold: Duration::from_millis(5),
        ..Config::default()
    })
    .unwrap();
    runtime.block_on(async {
        coop::spawn_named("polite", async { coop::yield_now().await })
            .await
            .unwrap();
        coop::spawn_named("hog", async {
            std::thread::sleep(Duration::from_millis(20))
        })
        .await
        .unwrap();
    });
    let s = runtime.stats();
    assert_eq!(s.hogs, 1);
    let hog = s
        .tasks
        .iter()
        .find(|t| t.name == "hog")
        .expect("hog listed");
    assert_eq!(hog.hogs, 1);
    assert!(hog.longest_poll_us >= 20_000);
    let polite = s
        .tasks
        .iter()
        .find(|t| t.name == "polite")
        .expect("polite listed");
    assert_eq!(polite.hogs, 0);
    assert_eq!(s.tasks[0].name, "hog", "tasks are listed worst first");
    // Stats serialise (the coop model ships them as JSON).
    let json = serde_json::to_string(&s).unwrap();
    let back: coop::Stats = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn cross_thread_wake() {
    let runtime = rt(IoPollEvery::Pass);
    let shared: Arc<Mutex<(bool, Option<Waker>)>> = Arc::new(Mutex::new((false, None)));
    let s2 = shared.clone();
    let thread = std::thread::spawn(move || loop {
        let mut g = s2.lock().unwrap();
        if let Some(w) = g.1.take() {
            g.0 = true;
            drop(g);
            w.wake();
            return;
        }
        drop(g);
        std::thread::sleep(Duration::from_millis(1));
    });
    runtime.block_on(async {
        std::future::poll_fn(|cx| {
            let mut g = shared.lock().unwrap();
            if g.0 {
                Poll::Ready(())
            } else {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    });
    thread.join().unwrap();
    assert!(runtime.stats().wakes_remote >= 1);
}

#[test]
fn stale_wakers_never_wake_a_reused_slot() {
    let runtime = rt(IoPollEvery::Tasks(8));
    runtime.block_on(async {
        let stash: Rc<RefCell<Option<Waker>>> = Rc::default();
        let st = stash.clone();
        coop::spawn(async move {
            std::future::poll_fn(|cx| {
                *st.borrow_mut() = Some(cx.waker().clone());
                Poll::Ready(())
            })
            .await
        })
        .await
        .unwrap();
        // The slot is free now; a new task reuses it and parks on an event.
        let ev = Rc::new(Event::new());
        let e = ev.clone();
        let h = coop::spawn(async move { e.wait().await });
        coop::yield_now().await;
        let before = coop::stats();
        stash.borrow_mut().take().unwrap().wake();
        let after = coop::stats();
        assert_eq!(after.wakes_stale, before.wakes_stale + 1);
        assert_eq!(after.wakes_local, before.wakes_local);
        assert!(!h.is_finished());
        ev.set();
        h.await.unwrap();
    });
}

#[test]
fn lock_queue_and_event() {
    coop::block_on(async {
        let q = Rc::new(Queue::new(2));
        let lock = Rc::new(Lock::new(Vec::new()));
        let (q2, l2) = (q.clone(), lock.clone());
        let producer = coop::spawn(async move {
            for i in 0..6 {
                q2.put(i).await;
                assert!(q2.len() <= 2);
            }
            l2.lock().await.push("producer done");
        });
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(q.get().await);
        }
        producer.await.unwrap();
        assert_eq!(got, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(q.try_get(), None);
        assert_eq!(*lock.lock().await, vec!["producer done"]);

        let guard = lock.lock().await;
        let l3 = lock.clone();
        let waiter = coop::spawn(async move { l3.lock().await.len() });
        coop::yield_now().await;
        assert!(!waiter.is_finished(), "must wait while the lock is held");
        drop(guard);
        assert_eq!(waiter.await, Ok(1));

        let ev = Rc::new(Event::new());
        let e = ev.clone();
        let w = coop::spawn(async move { e.wait().await });
        coop::sleep(Duration::from_millis(1)).await;
        assert!(!w.is_finished());
        ev.set();
        w.await.unwrap();
    });
}

#[test]
fn io_poll_every_sets_how_often_epoll_is_checked() {
    // 10 tasks yielding 100 times each: about 1000 polls while the queue is never empty.
    let run = |mode: IoPollEvery| {
        let runtime = rt(mode);
        runtime.block_on(async {
            let hs: Vec<_> = (0..10)
                .map(|_| {
                    coop::spawn(async {
                        for _ in 0..100 {
                            coop::yield_now().await;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        let s = runtime.stats();
        (s.polls, s.epoll_calls_zero)
    };
    let (polls, every_task) = run(IoPollEvery::Task);
    assert!(
        every_task + 5 >= polls,
        "fast_io polls I/O before every task: {every_task} vs {polls}"
    );
    let (polls, every_8) = run(IoPollEvery::Tasks(8));
    assert!(
        every_8 <= polls / 8 + 5 && every_8 >= polls / 8 - 5,
        "{every_8} vs {polls}/8"
    );
    let (_, per_pass) = run(IoPollEvery::Pass);
    assert!(
        (95..=110).contains(&per_pass),
        "one check per pass of 11 tasks: {per_pass}"
    );
    assert_eq!("pass".parse::<IoPollEvery>(), Ok(IoPollEvery::Pass));
    assert_eq!("1".parse::<IoPollEvery>(), Ok(IoPollEvery::Task));
    assert_eq!("61".parse::<IoPollEvery>(), Ok(IoPollEvery::Tasks(61)));
    assert!("0".parse::<IoPollEvery>().is_err());
}

#[test]
fn timer_lateness_caused_by_a_busy_loop_counts_as_queueing_not_oversleep() {
    let runtime = rt(IoPollEvery::Tasks(8));
    runtime.block_on(async {
        let sleeper = coop::spawn(async {
            let deadline = Instant::now() + Duration::from_millis(5);
            coop::sleep_until(deadline).await;
            Instant::now() - deadline
        });
        coop::yield_now().await; // the sleeper registers its timer
        std::thread::sleep(Duration::from_millis(25)); // then main holds the loop
        let late = sleeper.await.unwrap();
        assert!(late >= Duration::from_millis(15), "{late:?}");
    });
    let s = runtime.stats();
    assert_eq!(s.timer_lateness.count, 1);
    assert!(
        s.timer_queueing.max_us >= 15_000.0,
        "{:?}",
        s.timer_queueing
    );
    assert!(
        s.timer_oversleep.max_us < 10_000.0,
        "{:?}",
        s.timer_oversleep
    );
}
