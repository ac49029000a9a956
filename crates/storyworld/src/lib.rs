//! StoryWorld: procedurally generated films in which every keyframe has exact labels.
//!
//! It is the training data of the bundled models, the ground of the benchmark and the world
//! of the demo. Characters are sets of visible traits ([`identity`]); a story grammar makes
//! films of any length ([`story`]); a pure renderer draws any [`spec::FrameSpec`] at 32 to
//! 256 pixels ([`render`]).

pub mod clip;
pub mod dataset;
pub mod identity;
pub mod preview;
pub mod render;
pub mod seed;
pub mod spec;
pub mod story;
pub mod world;
