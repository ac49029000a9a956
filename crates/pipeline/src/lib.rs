//! Generation runs: script → plan → keyframes → clips → movie, in a run directory that can
//! be interrupted and resumed.
//!
//! The run directory's bookkeeping ([`manifest`]), atomic file writes ([`atomic`]),
//! rendering planned tokens into keyframes, whole or in shards ([`render`]), animating
//! keyframes into clips ([`animate`]), movie assembly ([`assemble`]) and the run's
//! `index.html` ([`report`]); see `docs/architecture.md`.

pub mod animate;
pub mod assemble;
pub mod atomic;
pub mod error;
pub mod manifest;
pub mod render;
pub mod report;

pub use animate::{AnimateSettings, ShotToAnimate, animate_shots};
pub use assemble::{Assembly, AssemblySettings, ShotMedia, assemble};
pub use atomic::{write_atomically, write_png};
pub use error::PipelineError;
pub use manifest::{Item, ItemStatus, MANIFEST_FILE, Manifest};
pub use render::{CastMember, RenderSettings, Shard, ShotToRender, merge_shards, render_keyframes};
pub use report::{REPORT_FILE, Report, write_report};
