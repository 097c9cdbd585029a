//! The agent's door: how many connections it holds and for how long before they prove the
//! token, so that clients without it — idle, dripping a byte at a time, guessing — can never
//! lock the real driver out or exhaust the agent's threads and fds.
//!
//! - At most [`MAX_PENDING`] connections wait unauthenticated at once; one more evicts the
//!   *oldest* (its socket is shut down), so a fresh connection — the driver, which sends its
//!   `hello` at once — always gets in.
//! - A connection must send an authorised request within [`AUTH_DEADLINE`] of being accepted,
//!   however it drips; a reaper shuts it down after that.
//! - Authenticated connections (drivers) are at most [`MAX_SESSIONS`]; every connection is
//!   one thread, so threads are bounded by [`MAX_THREADS`]: the accept loop waits (after
//!   evicting) until one ends rather than start more.
//! - A wrong token is answered after a delay that doubles with each failure from the same
//!   address ([`failure_delay`]), and logged with the count and the peer.

use std::collections::HashMap;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Unauthenticated connections held at once.
pub const MAX_PENDING: usize = 16;
/// Authenticated connections (drivers) at once; a model runs for one of them at a time.
pub const MAX_SESSIONS: usize = 4;
/// Connection threads at once: the pending and the authenticated, plus a few evicted ones
/// still unwinding.
pub const MAX_THREADS: usize = MAX_PENDING + MAX_SESSIONS + 8;
/// From accept to the first authorised request, however slowly the bytes come.
pub const AUTH_DEADLINE: Duration = Duration::from_secs(10);
/// The longest delay before a wrong token is answered.
pub const MAX_FAILURE_DELAY: Duration = Duration::from_secs(5);
/// Failures from an address are forgotten after this long without one.
const FAILURE_MEMORY: Duration = Duration::from_secs(600);
/// Addresses whose failures are remembered at once (more: the oldest are forgotten).
const MAX_REMEMBERED: usize = 4096;

/// The delay before answering the `n`-th wrong token (n ≥ 1) from one address: 50 ms,
/// doubling, at most [`MAX_FAILURE_DELAY`]. At the cap one connection can try 12 tokens a
/// minute, and all [`MAX_PENDING`] together about 200.
pub fn failure_delay(n: u32) -> Duration {
    let ms = 50u64.saturating_mul(1u64 << (n.saturating_sub(1)).min(20));
    Duration::from_millis(ms).min(MAX_FAILURE_DELAY)
}

/// One connection's ticket: while it lives the connection counts against the limits.
pub struct Ticket {
    gate: Arc<Gate>,
    id: u64,
    pub peer: SocketAddr,
}

struct Pending {
    id: u64,
    stream: TcpStream,
    since: Instant,
}

#[derive(Default)]
struct State {
    next_id: u64,
    pending: Vec<Pending>,
    sessions: usize,
    threads: usize,
    failures: HashMap<IpAddr, (u32, Instant)>,
    /// Connections shut down unauthenticated (evicted or past the deadline) since the last
    /// log line.
    closed_unauthenticated: u64,
}

/// The shared door state.
#[derive(Default)]
pub struct Gate {
    state: Mutex<State>,
    thread_ended: Condvar,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a just-accepted connection as pending: evicts the oldest pending one when
    /// [`MAX_PENDING`] are waiting, then waits until a thread may be started for it.
    pub fn admit(
        self: &Arc<Self>,
        stream: &TcpStream,
        peer: SocketAddr,
    ) -> std::io::Result<Ticket> {
        let clone = stream.try_clone()?;
        let mut st = self.lock();
        if st.pending.len() >= MAX_PENDING {
            let oldest = st.pending.remove(0);
            let _ = oldest.stream.shutdown(Shutdown::Both);
            st.closed_unauthenticated += 1;
        }
        while st.threads >= MAX_THREADS {
            st = self
                .thread_ended
                .wait_timeout(st, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        st.next_id += 1;
        let id = st.next_id;
        st.threads += 1;
        st.pending.push(Pending {
            id,
            stream: clone,
            since: Instant::now(),
        });
        Ok(Ticket {
            gate: self.clone(),
            id,
            peer,
        })
    }

    /// Shuts down the pending connections past [`AUTH_DEADLINE`]; returns how many
    /// connections were closed unauthenticated since the last call (for the log).
    pub fn reap(&self) -> u64 {
        let mut st = self.lock();
        let now = Instant::now();
        let before = st.pending.len();
        st.pending.retain(|p| {
            let late = now.duration_since(p.since) > AUTH_DEADLINE;
            if late {
                let _ = p.stream.shutdown(Shutdown::Both);
            }
            !late
        });
        st.closed_unauthenticated += (before - st.pending.len()) as u64;
        std::mem::take(&mut st.closed_unauthenticated)
    }
}

impl Ticket {
    /// The connection proved the token: it leaves the pending list (no deadline, no
    /// eviction) and becomes a session, unless [`MAX_SESSIONS`] are already connected.
    pub fn authenticate(&mut self) -> Result<(), String> {
        let mut st = self.gate.lock();
        if self.id == 0 {
            return Ok(()); // already a session
        }
        let Some(k) = st.pending.iter().position(|p| p.id == self.id) else {
            return Err(format!(
                "refused: this connection was closed for not showing the token within \
                 {AUTH_DEADLINE:?} (or {MAX_PENDING} newer ones were waiting)"
            ));
        };
        if st.sessions >= MAX_SESSIONS {
            return Err(format!(
                "refused: busy: {MAX_SESSIONS} drivers are connected to this agent"
            ));
        }
        st.pending.remove(k);
        st.sessions += 1;
        self.id = 0;
        Ok(())
    }

    /// A wrong token from this connection's address: counts it and returns the delay before
    /// the refusal is sent, and the count.
    pub fn failed(&self) -> (Duration, u32) {
        let mut st = self.gate.lock();
        let now = Instant::now();
        if st.failures.len() >= MAX_REMEMBERED {
            st.failures
                .retain(|_, (_, last)| now.duration_since(*last) < FAILURE_MEMORY);
            if st.failures.len() >= MAX_REMEMBERED {
                st.failures.clear();
            }
        }
        let entry = st.failures.entry(self.peer.ip()).or_insert((0, now));
        if now.duration_since(entry.1) > FAILURE_MEMORY {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        (failure_delay(entry.0), entry.0)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut st = self.gate.lock();
        if self.id == 0 {
            st.sessions -= 1;
        } else {
            st.pending.retain(|p| p.id != self.id);
        }
        st.threads -= 1;
        self.gate.thread_ended.notify_all();
    }
}

/// Waits `delay`, or less if `stream` is shut down meanwhile (evicted or past its deadline):
/// a delayed refusal never keeps a thread the gate has let go of. Data arriving meanwhile
/// does not end the wait.
pub fn wait_unless_shut(stream: &TcpStream, delay: Duration) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let end = Instant::now() + delay;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let ms = PollTimeout::try_from(left.as_millis().max(1) as u64).unwrap_or(PollTimeout::MAX);
        // No events asked for: only a hang-up (our own shutdown) or an error wakes it.
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::empty())];
        match poll(&mut fds, ms) {
            Ok(0) => return,
            Ok(_) => return,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_delays_double_up_to_the_cap() {
        assert_eq!(failure_delay(1), Duration::from_millis(50));
        assert_eq!(failure_delay(2), Duration::from_millis(100));
        assert_eq!(failure_delay(5), Duration::from_millis(800));
        assert_eq!(failure_delay(7), Duration::from_millis(3200));
        assert_eq!(failure_delay(8), MAX_FAILURE_DELAY);
        assert_eq!(failure_delay(u32::MAX), MAX_FAILURE_DELAY);
    }

    #[test]
    fn the_oldest_pending_connection_is_evicted_and_sessions_are_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let gate = Arc::new(Gate::default());
        let mut clients = Vec::new();
        let mut tickets = Vec::new();
        let mut served = Vec::new();
        for k in 0..MAX_PENDING + 2 {
            clients.push(TcpStream::connect(addr).unwrap());
            let (s, peer) = listener.accept().unwrap();
            let mut t = gate.admit(&s, peer).unwrap();
            if k == 0 {
                t.authenticate().unwrap();
            }
            tickets.push(t);
            served.push(s);
        }
        // The session (first) was not counted as pending; the last admission evicted the
        // second, the oldest pending one.
        let st = gate.lock();
        assert_eq!(st.pending.len(), MAX_PENDING);
        assert_eq!(st.sessions, 1);
        assert_eq!(st.closed_unauthenticated, 1);
        drop(st);
        use std::io::Read;
        served[1]
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(
            served[1].read(&mut [0u8; 8]).unwrap(),
            0,
            "evicted: shut down"
        );
        drop(tickets);
        let st = gate.lock();
        assert_eq!((st.pending.len(), st.sessions, st.threads), (0, 0, 0));
    }

    #[test]
    fn a_shut_down_stream_ends_the_wait() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (s, _) = listener.accept().unwrap();
        let clone = s.try_clone().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            clone.shutdown(Shutdown::Both).unwrap();
        });
        let start = Instant::now();
        wait_unless_shut(&s, Duration::from_secs(30));
        assert!(start.elapsed() < Duration::from_secs(20));
        t.join().unwrap();
    }
}
