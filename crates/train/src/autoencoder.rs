//! Training the latent autoencoder on StoryWorld keyframes: the first part of training a
//! tokenizer that works in latent space ([`crate::tokenizer`]), in its own run directory.
//!
//! The loop reads top to bottom like the others: data, model, optimiser, resume, then steps
//! of load → reconstruction loss (micro-batches side by side) → update → EMA → log, with
//! checkpoints. It takes the tokenizer run's batch, augmentation and seed.

use candle_core::Device;
use candle_nn::VarMap;
use moviedreamer_models::autoencoder::{Autoencoder, AutoencoderConfig};
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::parallel::split_ranges;
use std::path::Path;

use crate::data::{BatchPosition, load_batch, training_batches};
use crate::error::TrainingError;
use crate::optimisation::Optimisation;
use crate::session::{RunOptions, Session, TrainingSummary};
use crate::tokenizer::TokenizerTraining;

/// Trains the autoencoder `config` on the train split of the dataset in `data` for the
/// tokenizer run `settings`, writing checkpoints, metrics, `loss.png` and finally `model/`
/// into `options.out`. Resumed, it continues where it stopped; finished, it only rewrites
/// `model/`.
pub fn train_autoencoder(
    config: &AutoencoderConfig,
    settings: &TokenizerTraining,
    data: &Path,
    options: &RunOptions,
) -> Result<TrainingSummary, TrainingError> {
    let device = Device::Cpu;
    let steps = settings.autoencoder_steps;

    // Data.
    let (dataset, mut batches) =
        training_batches(data, config.image_size, settings.batch, settings.seed)?;

    // Model, optimiser, weight average, learning-rate schedule.
    let varmap = VarMap::new();
    let model = Autoencoder::new(config, seeded_var_builder(&varmap, settings.seed))?;
    let mut optimisation = Optimisation::new(&varmap, settings.autoencoder_optimiser, steps)?;

    // Resume: weights, optimiser, EMA and the place in the data.
    let mut session = Session::open(options, steps, settings.seed, &varmap, &mut optimisation)?;
    if let Some(position) = session.resumed::<BatchPosition>() {
        batches.seek(position)?;
    }

    while session.running() {
        let batch = batches.next_batch();
        let (images, _) = load_batch(
            &dataset,
            &batch.indices,
            &settings.augment,
            &mut batch.rng(),
            &device,
        )?;
        let parts = split_ranges(images.dim(0)?, settings.micro_batches);
        let report = optimisation.step(session.step, parts.len(), |i| {
            let part = &parts[i];
            model.reconstruction_loss(&images.narrow(0, part.start, part.len())?)
        })?;
        session.finish_step(report)?;
        if session.checkpoint_due(settings.checkpoint_every) {
            let position = serde_json::to_value(batches.position()).unwrap_or_default();
            session.save(settings, &varmap, &optimisation, position)?;
        }
    }
    Ok(session.finish(config, &optimisation)?)
}
