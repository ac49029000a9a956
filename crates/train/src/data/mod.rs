//! StoryWorld keyframes for training: an index of a split with typed labels ([`dataset`]),
//! the characters' faces ([`faces`]), clips with their motion ([`clips`]), whole films for the planner ([`films`]),
//! label-preserving augmentation ([`augment`]), resumable
//! shuffled batches ([`batches`]) and batch loading ([`loader`]).

pub mod augment;
pub mod batches;
pub mod clips;
pub mod dataset;
pub mod error;
pub mod faces;
pub mod films;
pub mod labels;
pub mod loader;

pub use augment::Augment;
pub use batches::{Batch, BatchPosition, Batches};
pub use clips::{ClipBatch, ClipDataset, load_clip_batch, mirror_clip};
pub use dataset::{KeyframeDataset, KeyframeItem};
pub use error::DataError;
pub use faces::{FaceCharacter, FaceDataset, FaceSource};
pub use films::{PlannerFilm, prepare_films};
pub use labels::{ActorLabels, KeyframeLabels, PixelBox};
pub use loader::{load_batch, training_batches};
/// Pictures as tensors live with the models, which generation uses without the training
/// crate.
pub use moviedreamer_models::pictures::{from_tensor, to_tensor};
