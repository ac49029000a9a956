//! Generation runs: script → plan → keyframes → clips → movie, in a run directory that can
//! be interrupted and resumed.
//!
//! So far this crate holds the run directory's bookkeeping ([`manifest`]) and atomic file
//! writes ([`atomic`]); the stages join as their models land (see `docs/architecture.md`).

pub mod atomic;
pub mod error;
pub mod manifest;

pub use atomic::write_atomically;
pub use error::PipelineError;
pub use manifest::{Item, ItemStatus, MANIFEST_FILE, Manifest};
