//! Async wrappers for the bridge's fds: a serial/pty fd, a TCP listener and stream.
//!
//! Each wrapper registers its fd with the current runtime's epoll once (edge-triggered) and
//! belongs to that runtime. An operation is tried first and only waits after
//! `EWOULDBLOCK`. A waiter left behind by a cancelled operation is harmless: at worst one
//! spurious wake, or a stale one that the generation check drops.
//!
//! Reads skip one syscall per wake-up, as tokio does: a read that returns fewer bytes than
//! asked for has drained the fd (ptys and stream sockets hand over everything they hold), so
//! the next read goes straight to waiting instead of asking the kernel for an `EWOULDBLOCK`
//! it already knows about. The reactor marks the fd readable again on its next read event,
//! including one that arrives while no task waits. On the classroom scenario this was about
//! one syscall in five.

use super::reactor::{Dir, SourceKey};
use super::runtime::{try_with_core, with_core};
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::task::{Context, Poll};

/// Any fd made non-blocking and registered with the runtime's reactor.
pub struct AsyncFd<T: AsFd> {
    inner: T,
    key: SourceKey,
    /// Registered for write readiness too (see [`AsyncFd::reader`]).
    writable: bool,
}

impl<T: AsFd> AsyncFd<T> {
    /// Sets `O_NONBLOCK` on `inner` and registers it for reading and writing. Must run
    /// inside `block_on`.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        Self::register(inner, true)
    }

    /// Like [`AsyncFd::new`], registered for reading only: for a fd this side only reads
    /// (a serial port whose commands go out through another fd), so that write-readiness
    /// edges — a tty reports one whenever anyone writes to it — do not wake the loop.
    /// `write` on it fails with `Unsupported` instead of waiting for an edge that never
    /// comes.
    pub fn reader(inner: T) -> io::Result<AsyncFd<T>> {
        Self::register(inner, false)
    }

    fn register(inner: T, writable: bool) -> io::Result<AsyncFd<T>> {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let flags = OFlag::from_bits_retain(fcntl(inner.as_fd(), FcntlArg::F_GETFL)?);
        fcntl(inner.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        let key = with_core(|core| core.reactor.register(inner.as_fd(), writable))?;
        Ok(AsyncFd {
            inner,
            key,
            writable,
        })
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Runs `op` until it stops answering `WouldBlock`, waiting for `dir` readiness between
    /// attempts.
    fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Dir,
        op: &mut impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(&self.inner) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    with_core(|core| core.reactor.set_waiter(self.key, dir, cx.waker()));
                    return Poll::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    async fn op<R>(&self, dir: Dir, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.poll_op(cx, dir, &mut op)).await
    }

    /// Waits until the fd is readable without reading (e.g. a shutdown eventfd that must
    /// stay readable for others). Probes with a zero-timeout `poll(2)`.
    pub async fn readable(&self) -> io::Result<()> {
        self.op(Dir::Read, |fd| {
            let mut p = libc::pollfd {
                fd: fd.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            match unsafe { libc::poll(&mut p, 1, 0) } {
                0 => Err(io::ErrorKind::WouldBlock.into()),
                n => sys_io(n as isize).map(drop),
            }
        })
        .await
    }

    /// Reads what is available (at least one byte, or 0 at end of file).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        let mut op = |fd: &T| {
            sys_io(unsafe {
                // SAFETY: buf is a valid writable buffer of buf.len() bytes.
                libc::read(fd.as_fd().as_raw_fd(), buf.as_mut_ptr().cast(), len)
            })
        };
        let n = poll_fn(|cx| {
            if len > 0 && !with_core(|core| core.reactor.readable(self.key)) {
                with_core(|core| core.reactor.set_waiter(self.key, Dir::Read, cx.waker()));
                return Poll::Pending;
            }
            match self.poll_op(cx, Dir::Read, &mut op) {
                Poll::Pending => {
                    with_core(|core| core.reactor.clear_readable(self.key));
                    Poll::Pending
                }
                ready => ready,
            }
        })
        .await?;
        if n > 0 && n < len {
            with_core(|core| core.reactor.clear_readable(self.key));
        }
        Ok(n)
    }

    /// Writes some of `buf`, returning how much.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "coop: write on an AsyncFd registered as a reader",
            ));
        }
        self.op(Dir::Write, |fd| {
            sys_io(unsafe {
                // SAFETY: buf is a valid readable buffer of buf.len() bytes.
                libc::write(fd.as_fd().as_raw_fd(), buf.as_ptr().cast(), buf.len())
            })
        })
        .await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }
}

impl AsyncFd<std::fs::File> {
    /// Opens a serial device or pty slave read-write, non-blocking, without making it the
    /// controlling terminal. Line settings (raw mode, baud) are the caller's business.
    pub fn open(path: impl AsRef<Path>) -> io::Result<AsyncFd<std::fs::File>> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)?;
        AsyncFd::new(file)
    }
}

impl<T: AsFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        try_with_core(|core| core.reactor.deregister(self.key, self.inner.as_fd()));
    }
}

fn sys_io(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// A listening TCP socket.
pub struct TcpListener(AsyncFd<std::net::TcpListener>);

impl TcpListener {
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::from_std(std::net::TcpListener::bind(addr)?)
    }

    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener(AsyncFd::new(l)?))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }

    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.0.op(Dir::Read, |l| l.accept()).await?;
        Ok((TcpStream::from_std(s)?, addr))
    }
}

/// A connected TCP socket.
pub struct TcpStream(AsyncFd<std::net::TcpStream>);

impl TcpStream {
    /// Connects (blocking: meant for loopback tests and tools, not for the loop's hot path).
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        TcpStream::from_std(std::net::TcpStream::connect(addr)?)
    }

    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream(AsyncFd::new(s)?))
    }

    pub fn get_ref(&self) -> &std::net::TcpStream {
        self.0.get_ref()
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.0.get_ref().set_nodelay(on)
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().peer_addr()
    }

    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.0.get_ref().shutdown(how)
    }

    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).await
    }

    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.get_ref().as_raw_fd()
    }
}
