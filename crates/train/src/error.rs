//! Why a training run stopped with an error, for every stage's loop.

use std::path::PathBuf;

use moviedreamer_nn::train::TrainError;

use crate::data::DataError;

/// Why a training run stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// The dataset could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A checkpoint, log or plot could not be written or read.
    #[error(transparent)]
    Run(#[from] TrainError),
    /// The dataset's keyframes are not the size the model takes.
    #[error("{}: keyframes are {found} px but the model takes {expected} px\n  help: generate the dataset with --size {expected}, or pick another preset", path.display())]
    ImageSize {
        /// The dataset.
        path: PathBuf,
        /// The model's size.
        expected: usize,
        /// The dataset's size.
        found: u32,
    },
    /// The dataset's clips have another number of frames than the animator makes.
    #[error("{}: clips have {found} frames but the animator makes {expected}\n  help: generate the dataset with --frames {expected}, or set \"frames\" in the settings", path.display())]
    ClipFrames {
        /// The dataset.
        path: PathBuf,
        /// The model's frames.
        expected: usize,
        /// The dataset's frames.
        found: usize,
    },
    /// A film's script has a shot the dataset has no keyframe for.
    #[error(
        "film {film} has no keyframe for its shot {shot}\n  help: the dataset is incomplete; generate it again with `moviedreamer world generate`"
    )]
    MissingKeyframe {
        /// The film's number.
        film: usize,
        /// The shot, counted over the film's scenes.
        shot: usize,
    },
    /// The batch cannot be split into equal micro-batches.
    #[error(
        "a batch of {batch} cannot be split into {micro_batches} equal micro-batches\n  help: pick a batch that is a multiple of {micro_batches}"
    )]
    MicroBatches {
        /// Keyframes per step.
        batch: usize,
        /// Parts per batch.
        micro_batches: usize,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    /// A checkpoint could not be written.
    #[error(transparent)]
    Checkpoint(#[from] moviedreamer_nn::checkpoint::CheckpointError),
    /// The planner's vocabulary could not be built or written.
    #[error(transparent)]
    Vocabulary(#[from] moviedreamer_models::text::VocabularyError),
    /// The dataset has fewer characters than a contrastive batch needs.
    #[error(
        "{}: {found} characters with faces, but a batch takes {batch} different ones\n  help: generate more films, or pass a smaller --batch",
        path.display()
    )]
    TooFewCharacters {
        /// The dataset.
        path: PathBuf,
        /// Characters found.
        found: usize,
        /// Characters per batch.
        batch: usize,
    },
}

/// Checks that a batch of `batch` splits into `micro_batches` equal parts.
pub fn check_micro_batches(batch: usize, micro_batches: usize) -> Result<(), TrainingError> {
    if micro_batches == 0 || !batch.is_multiple_of(micro_batches) {
        return Err(TrainingError::MicroBatches {
            batch,
            micro_batches,
        });
    }
    Ok(())
}
