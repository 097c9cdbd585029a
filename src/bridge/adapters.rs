//! The runtime adapters that are the same under every runtime but for the types, written
//! once as macros: a model names its runtime's listener and socket types (and, for a socket,
//! the two methods that read and write), and gets the bridge's [`AsyncAccept`] and
//! [`ConnSocket`] for them. Macros rather than blanket impls because the bridge imports no
//! runtime, so it cannot name the runtimes' own traits.
//!
//! [`AsyncAccept`]: super::async_tasks::AsyncAccept
//! [`ConnSocket`]: super::conn_loop::ConnSocket

/// `impl_async_accept!(Listener => Stream)`: [`AsyncAccept`](super::async_tasks::AsyncAccept)
/// for a listener whose own async `accept` returns `(Stream, peer address)`, as tokio's,
/// async-io's, async-std's and coop's do.
macro_rules! impl_async_accept {
    ($listener:ty => $stream:ty) => {
        impl $crate::bridge::async_tasks::AsyncAccept for $listener {
            type Stream = $stream;
            async fn accept(&self) -> ::std::io::Result<$stream> {
                Ok(<$listener>::accept(self).await?.0)
            }
        }
    };
}

/// `impl_conn_socket!(Stream, read: path, write_all: path)`:
/// [`ConnSocket`](super::conn_loop::ConnSocket) for a runtime's socket whose async `read`
/// and `write_all` are the two functions named (inherent or from the runtime's extension
/// traits); its half-close is `shutdown(SHUT_WR)` on its fd
/// ([`half_close`](super::conn_loop::half_close)), which is what every runtime's does.
macro_rules! impl_conn_socket {
    ($stream:ty, read: $read:path, write_all: $write_all:path) => {
        impl $crate::bridge::conn_loop::ConnSocket for $stream {
            async fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                $read(self, buf).await
            }
            async fn write_all(&mut self, buf: &[u8]) -> ::std::io::Result<()> {
                $write_all(self, buf).await
            }
            async fn shutdown_write(&mut self) {
                $crate::bridge::conn_loop::half_close(&*self);
            }
        }
    };
}

pub(crate) use {impl_async_accept, impl_conn_socket};
