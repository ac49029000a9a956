//! Files a person opens: contact sheets with captions ([`sheet`]), H.264 MP4 movies
//! ([`mp4`]), animated GIFs ([`gif`]), clip strips ([`strip`]), and one writer that sends a movie's frames to every
//! format asked for, with title cards ([`movie`]).
//!
//! Every file is written to a temporary file beside its destination and renamed into place
//! only when complete, so an interrupted run never leaves half a movie behind.

pub mod error;
pub mod gif;
pub mod movie;
pub mod mp4;
mod partial;
pub mod sheet;
pub mod strip;

pub use error::MediaError;
pub use movie::{MovieFormats, MovieSummary, MovieWriter, title_card};
