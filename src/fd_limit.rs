//! The open-files limit, raised once for every room that needs many descriptors: the bridge
//! (a thousand idle Scratch clients are a thousand sockets) and the virtual boards (a
//! thousand boards are a thousand pty masters), past the usual soft limit of 1024. Like
//! `clock`, any room may use it.

use std::io;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Raises the soft open-files limit to the hard one. Returns the new soft limit; on an error
/// the limit is as it was (opening past it then fails clearly).
pub fn raise_nofile_limit() -> io::Result<u64> {
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
    fn nofile_limit_is_at_least_what_it_was() {
        let before = getrlimit(Resource::RLIMIT_NOFILE).unwrap().0;
        assert!(raise_nofile_limit().unwrap() >= before);
        assert_eq!(
            getrlimit(Resource::RLIMIT_NOFILE).unwrap().0,
            raise_nofile_limit().unwrap()
        );
    }
}
