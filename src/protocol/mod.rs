//! The Esplora / esp4s wire protocol, pure and free of I/O (see `docs/protocol.md` sections 1–3).
//!
//! Everything that understands bytes from or to the board lives here so that the virtual
//! board, the bridge under every model and the driver share one definition of "a valid frame".

pub mod command;
pub mod frame;
pub mod normalise;
pub mod poll;
pub(crate) mod scratch_number;
