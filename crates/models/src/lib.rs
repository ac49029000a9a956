//! The models of moviedreamer, one per folder as in candle-transformers: a config struct
//! with presets (`micro()` for tests, `storyworld()` for the bundled models), `new(cfg, vb)`
//! and `forward`. Training loops live in the `train` crate, sampling pipelines in
//! `pipeline`.

pub mod animator;
pub mod autoencoder;
pub mod evaluator;
pub mod identity;
pub mod pictures;
pub mod planner;
pub mod renderer;
pub mod text;
pub mod tokenizer;
