//! esbench: measures which concurrency model runs an Esplora-to-Scratch I/O bridge with the
//! least CPU and the lowest, steadiest latency.
//!
//! Data flows one way (see `ARCHITECTURE.md`): a stream `source` feeds a virtual board (`device`)
//! on a pty; the `bridge`, run under one of the `models`, serves it over HTTP; the `driver`
//! emulates Scratch clients and records `metrics`; `report`, `check` and `history` only read
//! the results afterwards.

// Most of the crate is pub(crate) (ARCHITECTURE.md, "pub(crate) by default"); doc comments
// of the public items still link to the private ones they rely on, for
// `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

pub mod bridge;
pub(crate) mod build_info;
pub mod check;
pub mod cli;
pub mod clock;
pub mod coop;
pub mod device;
pub mod driver;
pub mod fd_limit;
pub mod history;
pub mod load;
pub mod metrics;
pub mod models;
pub mod profile;
pub mod protocol;
pub(crate) mod reactor;
pub(crate) mod remote;
pub mod render;
pub mod report;
pub(crate) mod rng;
pub mod scenario;
pub mod source;
pub mod sweep;
pub mod term;
pub(crate) mod tty;
pub(crate) mod units;
pub(crate) mod valgrind;
