//! Measuring moviedreamer: image metrics, and the metrics of a film's keyframes against its
//! script ([`film`]) from what the evaluator network reads in them.

pub mod film;
pub mod frechet;
pub mod image_metrics;
pub mod reconstruction;
