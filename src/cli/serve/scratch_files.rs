//! Where the Scratch 2 extension descriptor and the Snap! blocks that go with `esbench serve`
//! are, so the user is told at start-up what to load into the editor.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The port the shipped `.s2e` and Snap! blocks talk to (esp4s's).
pub const FILES_PORT: u16 = 50209;

/// The shipped files' folder in the source tree this binary was built from.
pub fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/scratch")
}

/// The Scratch 2 extension descriptor.
pub fn s2e() -> PathBuf {
    folder().join("esbench.s2e")
}

/// The Snap! blocks file.
pub fn snap_blocks() -> PathBuf {
    folder().join("esbench_snap_blocks.xml")
}

/// Prints the two files' paths (or where to find them, for a binary moved away from its
/// source tree), and a warning when board 0 is not on the port they expect.
pub fn print_locations(out: &mut impl Write, addrs: &[SocketAddr]) -> std::io::Result<()> {
    let (s2e, snap) = (s2e(), snap_blocks());
    if s2e.exists() && snap.exists() {
        writeln!(out, "scratch 2 extension {}", s2e.display())?;
        writeln!(out, "snap! blocks {}", snap.display())?;
    } else {
        writeln!(
            out,
            "scratch 2 extension and snap! blocks: docs/scratch/ in the esbench repository"
        )?;
    }
    if let Some(a) = addrs.first().filter(|a| a.port() != FILES_PORT) {
        writeln!(
            out,
            "note: those files talk to port {FILES_PORT}; board 0 is on {a} (use --listen \
             127.0.0.1:{FILES_PORT}, or edit the port in them)"
        )?;
    }
    Ok(())
}
