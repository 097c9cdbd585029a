//! uasyncio's small synchronisation set: `Event`, `Lock`, bounded `Queue`. Single-threaded
//! (share them with `Rc`). Waiters are all woken and re-check, so a waiter cancelled after
//! being woken can never swallow a wake-up meant for another.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::ops::{Deref, DerefMut};
use std::task::{Poll, Waker};

#[derive(Default)]
struct Waiters(RefCell<Vec<Waker>>);

impl Waiters {
    fn add(&self, w: &Waker) {
        let mut v = self.0.borrow_mut();
        if !v.iter().any(|x| x.will_wake(w)) {
            v.push(w.clone());
        }
    }

    fn wake_all(&self) {
        let ws = std::mem::take(&mut *self.0.borrow_mut());
        ws.into_iter().for_each(Waker::wake);
    }
}

/// A flag tasks can wait on (uasyncio `Event`).
#[derive(Default)]
pub struct Event {
    set: Cell<bool>,
    waiters: Waiters,
}

impl Event {
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        self.set.set(true);
        self.waiters.wake_all();
    }

    pub fn clear(&self) {
        self.set.set(false);
    }

    pub fn is_set(&self) -> bool {
        self.set.get()
    }

    /// Waits until the flag is set.
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.set.get() {
                Poll::Ready(())
            } else {
                self.waiters.add(cx.waker());
                Poll::Pending
            }
        })
        .await
    }
}

/// An async mutual-exclusion lock around a value (uasyncio `Lock`, holding its data).
pub struct Lock<T> {
    value: RefCell<T>,
    waiters: Waiters,
}

/// Access to a `Lock`'s value; dropping it releases the lock.
pub struct LockGuard<'a, T> {
    value: RefMut<'a, T>,
    lock: &'a Lock<T>,
}

impl<T> Lock<T> {
    pub fn new(value: T) -> Lock<T> {
        Lock {
            value: RefCell::new(value),
            waiters: Waiters::default(),
        }
    }

    /// Waits until the lock is free and takes it.
    pub async fn lock(&self) -> LockGuard<'_, T> {
        poll_fn(|cx| match self.value.try_borrow_mut() {
            Ok(value) => Poll::Ready(LockGuard { value, lock: self }),
            Err(_) => {
                self.waiters.add(cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    pub fn is_locked(&self) -> bool {
        self.value.try_borrow_mut().is_err()
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        // The RefMut is released right after this body; waiters run later, from the queue.
        self.lock.waiters.wake_all();
    }
}

/// A bounded FIFO queue (uasyncio `Queue` with `maxsize`): `put` waits while full, `get`
/// while empty.
pub struct Queue<T> {
    items: RefCell<VecDeque<T>>,
    capacity: usize,
    getters: Waiters,
    putters: Waiters,
}

impl<T> Queue<T> {
    pub fn new(capacity: usize) -> Queue<T> {
        assert!(capacity > 0, "coop: a Queue needs a capacity of at least 1");
        Queue {
            items: RefCell::new(VecDeque::with_capacity(capacity)),
            capacity,
            getters: Waiters::default(),
            putters: Waiters::default(),
        }
    }

    /// Adds `item` now, or gives it back when the queue is full.
    pub fn try_put(&self, item: T) -> Result<(), T> {
        let mut items = self.items.borrow_mut();
        if items.len() >= self.capacity {
            return Err(item);
        }
        items.push_back(item);
        drop(items);
        self.getters.wake_all();
        Ok(())
    }

    /// Takes the oldest item now, if any.
    pub fn try_get(&self) -> Option<T> {
        let item = self.items.borrow_mut().pop_front();
        if item.is_some() {
            self.putters.wake_all();
        }
        item
    }

    /// Waits for room, then adds `item`.
    pub async fn put(&self, item: T) {
        let mut item = Some(item);
        poll_fn(
            |cx| match self.try_put(item.take().expect("polled after completion")) {
                Ok(()) => Poll::Ready(()),
                Err(back) => {
                    item = Some(back);
                    self.putters.add(cx.waker());
                    Poll::Pending
                }
            },
        )
        .await
    }

    /// Waits for an item and takes it.
    pub async fn get(&self) -> T {
        poll_fn(|cx| match self.try_get() {
            Some(v) => Poll::Ready(v),
            None => {
                self.getters.add(cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    pub fn len(&self) -> usize {
        self.items.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_full(&self) -> bool {
        self.len() >= self.capacity
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
