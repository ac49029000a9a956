//! Measuring moviedreamer: image metrics now; the StoryWorld benchmark (an evaluator
//! network scoring place, time, style, shot type and identities) later.

pub mod image_metrics;
pub mod reconstruction;
