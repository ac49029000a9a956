//! Loading a batch: pictures read, augmented and stacked, labels alongside.
//!
//! Items are loaded one after another in the batch's order, each drawing its augmentation
//! from the same generator, so the result depends only on the indices and the generator's
//! state. (Two CPU cores are busy with the model; decoding a few small PNGs is not worth
//! the nondeterminism risk of parallel draws.)

use std::path::Path;

use candle_core::{Device, Tensor};
use moviedreamer_storyworld::identity::Split;
use rand::Rng;

use super::augment::Augment;
use super::batches::Batches;
use super::dataset::KeyframeDataset;
use super::error::DataError;
use super::labels::KeyframeLabels;
use super::to_tensor;
use crate::error::TrainingError;

/// The train split of the dataset in `data`, checked to be `image_size` px (what the model
/// takes), and its keyframes in resumable shuffled batches of `batch` (an unfinished last
/// batch of an epoch is dropped).
pub fn training_batches(
    data: &Path,
    image_size: usize,
    batch: usize,
    seed: u64,
) -> Result<(KeyframeDataset, Batches), TrainingError> {
    let dataset = KeyframeDataset::open(data, Split::Train)?;
    if dataset.image_size() as usize != image_size {
        return Err(TrainingError::ImageSize {
            path: data.to_path_buf(),
            expected: image_size,
            found: dataset.image_size(),
        });
    }
    let batches = Batches::new(dataset.len(), batch, seed, true)?;
    Ok((dataset, batches))
}

/// Loads the keyframes at `indices`, augments each with `augment` drawing from `rng`, and
/// returns them as a (B, 3, H, W) tensor in [-1, 1] with their (augmented) labels.
pub fn load_batch(
    dataset: &KeyframeDataset,
    indices: &[usize],
    augment: &Augment,
    rng: &mut impl Rng,
    device: &Device,
) -> Result<(Tensor, Vec<KeyframeLabels>), DataError> {
    let mut images = Vec::with_capacity(indices.len());
    let mut labels = Vec::with_capacity(indices.len());
    for &index in indices {
        let image = dataset.load_image(index)?;
        let item = dataset.get(index).ok_or(DataError::Index {
            index,
            len: dataset.len(),
        })?;
        let (image, item_labels) = augment.apply(&image, &item.labels, rng);
        images.push(image);
        labels.push(item_labels);
    }
    Ok((to_tensor(&images, device)?, labels))
}
