//! Writing to stdout and stderr without panicking. `println!` panics when the reader has gone
//! (`esbench history | head -1`: EPIPE), which would lose the work still to do after the
//! printing — a run's report and history row. These macros drop what cannot be written and
//! carry on: an output error ends the printing, never the work, and the exit code stays the
//! one the work earned (docs/reliability.md).

use std::io::Write;

/// Writes `args` to stdout; a write error (a closed pipe) is ignored.
pub(crate) fn out(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}

/// Writes `args` to stderr; a write error (a closed pipe) is ignored.
pub fn err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `print!` that never panics (see the module doc).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::term::out(format_args!($($arg)*)) };
}

/// `println!` that never panics (see the module doc).
#[macro_export]
macro_rules! outln {
    () => { $crate::term::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::term::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that never panics (see the module doc).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::term::err(format_args!("{}\n", format_args!($($arg)*))) };
}
