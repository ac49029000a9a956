//! Why data could not be read, augmented or batched. Every message names the file (and the
//! line, for label files) and says how to fix it, because a training run that stops on bad
//! data should tell the user where to look without a debugger.

use std::path::PathBuf;

/// Why a dataset, an image, a tensor or a batch position could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The directory is not a StoryWorld dataset.
    #[error(
        "{}: no StoryWorld dataset here (dataset.json is missing)\n  help: make one with `moviedreamer world generate --out {}`",
        dir.display(),
        dir.display()
    )]
    MissingDataset {
        /// The directory that was given.
        dir: PathBuf,
    },
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// `dataset.json` could not be read as dataset settings.
    #[error("{}: not valid dataset settings: {message}", path.display())]
    Settings {
        /// The `dataset.json` file.
        path: PathBuf,
        /// What the JSON reader said.
        message: String,
    },
    /// The split holds no keyframes.
    #[error(
        "{}: this split holds no keyframes\n  help: generate more films (films ending in 8 are validation, in 9 test)",
        path.display()
    )]
    EmptySplit {
        /// The split's directory.
        path: PathBuf,
    },
    /// A line of `labels.jsonl` is not a valid label line.
    #[error("{}:{line}: {message}", path.display())]
    Label {
        /// The `labels.jsonl` file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A label line names a keyframe whose picture is missing.
    #[error(
        "{}:{line}: the keyframe {} is missing\n  help: the film is incomplete; delete its folder and run `moviedreamer world generate` again to redo it",
        labels.display(),
        image.display()
    )]
    MissingImage {
        /// The `labels.jsonl` file.
        labels: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// The missing picture.
        image: PathBuf,
    },
    /// A picture could not be decoded or has the wrong size.
    #[error("{}: {message}", path.display())]
    Image {
        /// The picture.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A film's script could not be read.
    #[error("the film's script {}: {message}", path.display())]
    Script {
        /// The script.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An index past the end of the dataset.
    #[error("keyframe index {index} is out of range: the dataset has {len} keyframes")]
    Index {
        /// The index asked for.
        index: usize,
        /// How many keyframes there are.
        len: usize,
    },
    /// Images or a tensor of the wrong shape.
    #[error("{0}")]
    Shape(String),
    /// Batching settings or a saved position that cannot work.
    #[error("{0}")]
    Batches(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}
