//! What a model does when `accept` fails: one policy for every model.
//!
//! Two kinds of failure matter. One connection can die between the kernel queueing it and
//! the `accept` (ECONNABORTED, EPROTO and the network errors Linux passes on from the new
//! socket), or the call was merely interrupted: the next connection is fine, so accept
//! again at once. Anything else — out of fds (EMFILE/ENFILE), out of buffers or memory, or an
//! error nobody expected — would fail again immediately, and retrying at once would spin a
//! core; so the model sleeps [`ACCEPT_BACKOFF`] on its own timer first, and keeps serving the
//! connections it has (a full fd table frees up as they close).

use std::io;
use std::time::Duration;

/// The pause after an accept error that would repeat at once (see the module doc).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(5);

/// What to do after a failed `accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptRetry {
    /// The error concerned one connection (or a signal): accept the next one now.
    Now,
    /// Sleep this long, then accept again.
    After(Duration),
}

/// The policy: see the module doc.
pub fn after_accept_error(e: &io::Error) -> AcceptRetry {
    let per_connection = matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) || matches!(
        e.raw_os_error(),
        Some(
            libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
        )
    );
    if per_connection {
        AcceptRetry::Now
    } else {
        AcceptRetry::After(ACCEPT_BACKOFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> AcceptRetry {
        after_accept_error(&io::Error::from_raw_os_error(code))
    }

    #[test]
    fn one_dead_connection_is_skipped_at_once() {
        for code in [libc::ECONNABORTED, libc::EPROTO, libc::EINTR, libc::EAGAIN] {
            assert_eq!(os(code), AcceptRetry::Now, "errno {code}");
        }
    }

    #[test]
    fn shortages_and_unknown_errors_back_off_instead_of_spinning() {
        for code in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::EBADF,
            libc::EINVAL,
        ] {
            assert_eq!(os(code), AcceptRetry::After(ACCEPT_BACKOFF), "errno {code}");
        }
        let odd = io::Error::other("something else");
        assert_eq!(after_accept_error(&odd), AcceptRetry::After(ACCEPT_BACKOFF));
    }
}
