//! The connections a model has open, so that its shutdown can end the ones still open: a
//! connection blocked in a read (a thread model's) or a task an executor outlives
//! (async-std's) would otherwise keep its socket open after the model returned.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Open connections under an id each; `T` is what ending one needs (a clone of its socket,
/// or its fd).
pub struct OpenConns<T> {
    next: AtomicU64,
    open: Mutex<HashMap<u64, T>>,
}

impl<T> Default for OpenConns<T> {
    fn default() -> Self {
        OpenConns {
            next: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> OpenConns<T> {
    /// Registers a connection; its id is what [`remove`](Self::remove) takes.
    pub fn add(&self, conn: T) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, conn);
        id
    }

    /// Forgets a connection that ended (before its socket is closed, so that
    /// [`close_all`](Self::close_all) never touches a closed fd).
    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Takes every open connection out and hands it to `close`, all under the lock, so no
    /// connection is forgotten (and no fd closed) meanwhile.
    pub fn close_all(&self, mut close: impl FnMut(T)) {
        for (_, conn) in self.lock().drain() {
            close(conn);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, T>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_all_reaches_exactly_the_connections_still_open() {
        let open = OpenConns::default();
        let (a, b, c) = (open.add('a'), open.add('b'), open.add('c'));
        assert!(a != b && b != c);
        open.remove(b);
        let mut closed = Vec::new();
        open.close_all(|conn| closed.push(conn));
        closed.sort_unstable();
        assert_eq!(closed, ['a', 'c']);
        open.close_all(|conn| panic!("{conn} was closed twice"));
    }
}
