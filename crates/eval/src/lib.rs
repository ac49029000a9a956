//! Measuring moviedreamer: image metrics, the metrics of a film's keyframes against its
//! script ([`film`]) from what the evaluator network reads in them, and of its animated
//! clips ([`clip`]).

pub mod clip;
pub mod film;
pub mod frechet;
pub mod image_metrics;
pub mod reconstruction;
