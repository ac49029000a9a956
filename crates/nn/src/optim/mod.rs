//! Optimisation: AdamW with a state that can be saved and restored exactly, a warm-up plus
//! cosine learning-rate schedule, gradient clipping, EMA weights and gradient accumulation.
//!
//! candle's own `AdamW` keeps its moments private, so a run resumed from a checkpoint could
//! not continue where it stopped. Here every piece of state is explicit and saved: a run
//! resumed from a checkpoint gives bit-for-bit the losses of the run that never stopped
//! (`tests/optim_resume.rs` checks this).
//!
//! Every part works on the variables of a [`candle_nn::VarMap`] in the order of their
//! names, never in the map's own (random) order, so that sums over variables are the same
//! in every process.

mod accumulate;
mod adamw;
mod clip;
mod ema;
mod schedule;
mod state_file;

pub use accumulate::GradAccumulator;
pub use adamw::{AdamW, AdamWConfig};
pub use clip::{clip_grad_norm, grad_norm};
pub use ema::Ema;
pub use schedule::LrSchedule;
