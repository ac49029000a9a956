//! Training for moviedreamer. [`data`] reads StoryWorld datasets into an index of keyframes
//! with typed labels, turns pictures into tensors and back, augments them without making
//! their labels false, and batches them so that a resumed run sees the same batches as an
//! uninterrupted one. One module per stage holds that stage's training loop, written to be
//! read top to bottom: [`autoencoder`], [`tokenizer`], [`identity`], [`planner`], [`renderer`], [`evaluator`], [`animator`]; [`session`] is what they share around their steps (run
//! directory, resume, logs, Ctrl-C) and [`optimisation`] the step itself (parts of the batch
//! side by side, gradients averaged and clipped, AdamW, EMA).

pub mod animator;
pub mod autoencoder;
pub mod data;
pub mod error;
pub mod evaluator;
pub mod identity;
pub mod optimisation;
pub mod planner;
pub mod renderer;
pub mod session;
pub mod tokenizer;
