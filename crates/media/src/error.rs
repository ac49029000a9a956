//! Errors of media files.

use std::path::PathBuf;

/// Why a picture or movie could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A frame's size differs from the movie's.
    #[error(
        "{}: frame {index} is {got_width}×{got_height} pixels, the movie is {width}×{height}\n  help: give every frame of a movie the same size",
        path.display()
    )]
    FrameSize {
        /// The movie file.
        path: PathBuf,
        /// Index of the frame in the movie.
        index: usize,
        /// The movie's size.
        width: u32,
        /// The movie's size.
        height: u32,
        /// The frame's size.
        got_width: u32,
        /// The frame's size.
        got_height: u32,
    },
    /// The movie's size or frame rate cannot be encoded.
    #[error("{}: {message}", path.display())]
    Settings {
        /// The movie file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The encoder or muxer failed.
    #[error("{}: {what} failed at frame {index}: {message}", path.display())]
    Encode {
        /// The movie file.
        path: PathBuf,
        /// The H.264 encoder, the MP4 muxer or the GIF encoder.
        what: &'static str,
        /// Index of the frame in the movie.
        index: usize,
        /// What it said.
        message: String,
    },
}

impl MediaError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
