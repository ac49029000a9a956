//! Errors of generation runs.

use std::path::PathBuf;

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// `manifest.json` is damaged or from an incompatible version.
    #[error("{}: not a usable run manifest: {message}\n  help: start a new run in an empty directory, or delete the damaged run", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A movie, storyboard or picture could not be written.
    #[error(transparent)]
    Media(#[from] moviedreamer_media::MediaError),
    /// A model failed to run.
    #[error("the model failed: {0}")]
    Model(#[from] candle_core::Error),
    /// The run directory holds a run made with other inputs or settings.
    #[error("{}: {message}\n  help: give another output directory, or delete this one to start again", path.display())]
    OtherRun {
        /// The run's manifest.
        path: PathBuf,
        /// What differs.
        message: String,
    },
    /// A keyframe is missing or unusable.
    #[error("{}: {message}", path.display())]
    BadKeyframe {
        /// The keyframe file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A shot has no frames, or frames of another size than the others.
    #[error("shot {shot}: {message}")]
    BadShot {
        /// Index of the shot in the film.
        shot: usize,
        /// What is wrong.
        message: String,
    },
    /// An item id that the manifest does not list.
    #[error("the run has no item \"{id}\"")]
    UnknownItem {
        /// The id asked for.
        id: String,
    },
}
