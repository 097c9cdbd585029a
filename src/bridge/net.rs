//! Listening sockets and file-descriptor limits, prepared before a model starts.
//!
//! Binding happens here, not in the models, so `esbench serve` can print `listening ADDR`
//! as soon as the kernel accepts connections (they queue in the backlog until the model's
//! accept loop runs) and so every model gets identical sockets.

use std::io;
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

/// Raises the soft open-files limit to the hard one (a thousand idle Scratch clients need
/// more than the usual 1024). Returns the new soft limit.
pub fn raise_nofile_limit() -> io::Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard.max(soft))
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
    fn nofile_limit_is_at_least_what_it_was() {
        let before = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .unwrap()
            .0;
        assert!(raise_nofile_limit().unwrap() >= before);
    }
}
