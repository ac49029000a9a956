//! Training the keyframe tokenizer end to end on StoryWorld keyframes.
//!
//! A tokenizer in latent space first trains its autoencoder alone
//! ([`crate::autoencoder`], in `OUT/autoencoder`), then freezes it and trains encoder and
//! decoder on its latents. The loop reads top to bottom, as nanoGPT's: data, model,
//! optimiser, resume, then steps
//! of load → loss and backward (micro-batches side by side on the cores) → clip → update →
//! EMA → log, with a checkpoint every so often and on Ctrl-C. The result is a model
//! directory holding the EMA weights in f16.

use std::path::Path;

use candle_core::Device;
use candle_nn::VarMap;
use moviedreamer_models::tokenizer::{AUTOENCODER, KeyframeTokenizer, TokenizerConfig};
use moviedreamer_nn::checkpoint::load_weights_as_part;
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::parallel::split_ranges;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::autoencoder::train_autoencoder;
use crate::data::{Augment, BatchPosition, load_batch, training_batches};
use crate::error::{TrainingError, check_micro_batches};
use crate::optimisation::{Optimisation, OptimiserSettings};
use crate::session::{MODEL_DIR, RunOptions, Session, TrainingSummary};

/// Everything a tokenizer training run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerTraining {
    /// The model to train.
    pub model: TokenizerConfig,
    /// Optimiser steps in all.
    pub steps: u64,
    /// Keyframes per step.
    pub batch: usize,
    /// Equal parts each batch is split into, computed side by side on the machine's cores
    /// ([`moviedreamer_nn::parallel`]); their gradients are averaged. A fixed number, so that
    /// a run gives the same weights on any machine. Must divide `batch`.
    pub micro_batches: usize,
    /// Learning rate, warm-up, clipping and weight average.
    #[serde(flatten)]
    pub optimiser: OptimiserSettings,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Augmentation of the training keyframes.
    pub augment: Augment,
    /// Seed of the data order, noise and timesteps.
    pub seed: u64,
    /// Steps of training the latent autoencoder alone, before the tokenizer (for a model
    /// with an autoencoder).
    #[serde(default)]
    pub autoencoder_steps: u64,
    /// The autoencoder's optimiser (its batch, augmentation and seed are the tokenizer's).
    #[serde(default = "autoencoder_optimiser")]
    pub autoencoder_optimiser: OptimiserSettings,
}

/// The autoencoder's optimiser: a reconstruction loss takes a higher rate than diffusion
/// (docs/results/tokenizer.md, the `ae` probe).
fn autoencoder_optimiser() -> OptimiserSettings {
    OptimiserSettings {
        learning_rate: 1e-3,
        warmup: 50,
        clip: 1.0,
        ema_decay: 0.99,
    }
}

/// Where a tokenizer run keeps its autoencoder's run.
pub const AUTOENCODER_RUN: &str = "autoencoder";

impl TokenizerTraining {
    /// Settings for a preset model: `micro` (seconds, for tests) or `storyworld`.
    pub fn preset(name: &str) -> Option<Self> {
        let base = TokenizerTraining {
            model: TokenizerConfig::storyworld(),
            steps: 2000,
            batch: 16,
            micro_batches: 2,
            optimiser: OptimiserSettings {
                learning_rate: 5e-4,
                warmup: 100,
                clip: 1.0,
                ema_decay: 0.999,
            },
            checkpoint_every: 250,
            augment: Augment::default(),
            seed: 0,
            autoencoder_steps: 1000,
            autoencoder_optimiser: autoencoder_optimiser(),
        };
        match name {
            "storyworld" => Some(base),
            "micro" => Some(TokenizerTraining {
                model: TokenizerConfig::micro_latent(),
                steps: 20,
                autoencoder_steps: 20,
                batch: 4,
                micro_batches: 2,
                checkpoint_every: 10,
                optimiser: OptimiserSettings {
                    learning_rate: 1e-3,
                    warmup: 2,
                    ema_decay: 0.9,
                    ..base.optimiser
                },
                ..base
            }),
            _ => None,
        }
    }
}

/// Trains a tokenizer on the train split of the StoryWorld dataset in `data`, writing
/// checkpoints, `metrics.jsonl`, `loss.png` and finally `model/` into the run directory.
/// Resumed, it continues exactly where it stopped.
pub fn train_tokenizer(
    settings: &TokenizerTraining,
    data: &Path,
    options: &RunOptions,
) -> Result<TrainingSummary, TrainingError> {
    let device = Device::Cpu;
    check_micro_batches(settings.batch, settings.micro_batches)?;

    // First the latent autoencoder, alone; an interrupted run stops here.
    let autoencoder_dir = options.out.join(AUTOENCODER_RUN);
    if let Some(config) = &settings.model.autoencoder {
        let summary = train_autoencoder(
            config,
            settings,
            data,
            &RunOptions {
                out: autoencoder_dir.clone(),
                ..options.clone()
            },
        )?;
        if summary.interrupted {
            return Ok(summary);
        }
    }

    // Data.
    let (dataset, mut batches) = training_batches(
        data,
        settings.model.image_size,
        settings.batch,
        settings.seed,
    )?;

    // Model, optimiser, weight average, learning-rate schedule.
    let varmap = VarMap::new();
    let model =
        KeyframeTokenizer::new(&settings.model, seeded_var_builder(&varmap, settings.seed))?;
    if settings.model.autoencoder.is_some() {
        // Before the weight average is made, so that it holds the trained autoencoder; no
        // gradient reaches it, so the optimiser leaves it as it is.
        load_weights_as_part(
            &autoencoder_dir.join(MODEL_DIR),
            &varmap,
            &format!("{AUTOENCODER}."),
        )?;
    }
    let mut optimisation = Optimisation::new(&varmap, settings.optimiser, settings.steps)?;

    // Resume: weights, optimiser, EMA, the noise generator and the place in the data.
    let mut session = Session::open(
        options,
        settings.steps,
        settings.seed,
        &varmap,
        &mut optimisation,
    )?;
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
        // Each micro-batch draws its noise from its own generator, seeded from the run's, so
        // the step is the same however many threads compute it.
        let parts = split_ranges(images.dim(0)?, settings.micro_batches);
        let seeds: Vec<u64> = parts.iter().map(|_| session.rng.random()).collect();
        let report = optimisation.step(session.step, parts.len(), |i| {
            let part = &parts[i];
            model.training_loss(
                &images.narrow(0, part.start, part.len())?,
                &mut ChaCha8Rng::seed_from_u64(seeds[i]),
            )
        })?;
        session.finish_step(report)?;
        if session.checkpoint_due(settings.checkpoint_every) {
            let position = serde_json::to_value(batches.position()).unwrap_or_default();
            session.save(settings, &varmap, &optimisation, position)?;
        }
    }
    Ok(session.finish(&settings.model, &optimisation)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_that_does_not_split_evenly_is_refused_before_any_work() {
        let settings = TokenizerTraining {
            batch: 6,
            micro_batches: 4,
            ..TokenizerTraining::preset("micro").unwrap()
        };
        let out = std::env::temp_dir().join("moviedreamer-never-written");
        let options = RunOptions {
            out: out.clone(),
            resume: false,
            show_progress: false,
        };
        let error = train_tokenizer(&settings, Path::new("no-such-dataset"), &options).unwrap_err();
        assert!(matches!(error, TrainingError::MicroBatches { .. }));
        assert!(
            error
                .to_string()
                .contains("pick a batch that is a multiple of 4")
        );
        assert!(!out.exists());
    }
}
