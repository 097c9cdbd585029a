//! Listening sockets, prepared before a model starts (the open-files limit they need is
//! raised by `crate::fd_limit`).
//!
//! Binding happens here, not in the models, so `esbench serve` can print `listening ADDR`
//! as soon as the kernel accepts connections (they queue in the backlog until the model's
//! accept loop runs) and so every model gets identical sockets.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

use anyhow::Context;

/// Backlog for the listening sockets: room for a burst of a thousand idle clients.
pub const BACKLOG: i32 = 1024;

/// Binds one listener per board: `base` for board 0, `base.port() + i` for board i (a base
/// port of 0 gives each board its own ephemeral port).
pub fn bind_boards(base: SocketAddr, boards: usize) -> anyhow::Result<Vec<TcpListener>> {
    (0..boards)
        .map(|i| {
            let mut addr = base;
            if base.port() != 0 {
                let port = base
                    .port()
                    .checked_add(i as u16)
                    .context("port out of range")?;
                addr.set_port(port);
            }
            let l = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
            // Linux lets a second listen() raise the backlog std chose (128).
            // SAFETY: plain syscall on a live socket.
            unsafe { libc::listen(l.as_raw_fd(), BACKLOG) };
            Ok(l)
        })
        .collect()
}

/// Turns Nagle's algorithm off on a connected socket (`TCP_NODELAY`, as std's
/// `set_nodelay(true)` does), so an answer leaves at once; an error leaves it as it was.
pub fn set_nodelay(socket: &impl AsRawFd) {
    let on: libc::c_int = 1;
    // SAFETY: plain syscall on a live socket, with a pointer to a c_int and its size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ports_per_board() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap();
        drop(probe);
        // The probed port may be taken again in the meantime; only check when it binds.
        if let Ok(ls) = bind_boards(base, 2) {
            assert_eq!(ls[1].local_addr().unwrap().port(), base.port() + 1);
        }
        let ls = bind_boards("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        assert_eq!(ls.len(), 3);
    }

    #[test]
    fn set_nodelay_turns_nagle_off() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        assert!(!client.nodelay().unwrap());
        set_nodelay(&client);
        assert!(client.nodelay().unwrap());
    }
}
