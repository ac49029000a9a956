//! Training the identity encoder on StoryWorld faces, and measuring it.
//!
//! Each step takes `batch` different characters, two random views of each (a portrait or a
//! face cut from a keyframe, jittered and maybe mirrored), and pulls the two views of each
//! character together and apart from everyone else's (symmetric InfoNCE). Then clip →
//! update → EMA → log, a checkpoint every so often and on Ctrl-C, and `model/` at the end.
//!
//! [`evaluate_identity`] asks what the planner and the evaluator need: given a film's
//! portraits, is a face cut from a keyframe recognised as the right cast member?

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use image::RgbImage;
use moviedreamer_models::identity::{
    IdentityEncoder, IdentityEncoderConfig, contrastive_loss, unit_vectors,
};
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::parallel::{run_parts, split_ranges};
use moviedreamer_storyworld::identity::Split;
use rand::Rng;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

use crate::data::{FaceDataset, FaceSource, to_tensor};
use crate::error::TrainingError;
use crate::optimisation::{Optimisation, OptimiserSettings};
use crate::session::{RunOptions, Session, TrainingSummary};

/// Everything an identity training run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityTraining {
    /// The model to train.
    pub model: IdentityEncoderConfig,
    /// Optimiser steps in all.
    pub steps: u64,
    /// Different characters per step (two views each).
    pub batch: usize,
    /// Learning rate, warm-up, clipping and weight average.
    #[serde(flatten)]
    pub optimiser: OptimiserSettings,
    /// Softmax temperature of the contrastive loss.
    pub temperature: f64,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Seed of the choice of characters and views.
    pub seed: u64,
}

impl IdentityTraining {
    /// Settings for a preset: `micro` (seconds, for tests) or `storyworld`.
    pub fn preset(name: &str) -> Option<Self> {
        let base = IdentityTraining {
            model: IdentityEncoderConfig::storyworld(),
            steps: 1500,
            batch: 64,
            optimiser: OptimiserSettings {
                learning_rate: 1e-3,
                warmup: 50,
                clip: 1.0,
                ema_decay: 0.995,
            },
            temperature: 0.1,
            checkpoint_every: 250,
            seed: 0,
        };
        match name {
            "storyworld" => Some(base),
            "micro" => Some(IdentityTraining {
                model: IdentityEncoderConfig::micro(),
                steps: 12,
                batch: 4,
                checkpoint_every: 6,
                optimiser: OptimiserSettings {
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

/// Trains an identity encoder on the faces of the train split of the StoryWorld dataset in
/// `data`, writing checkpoints, `metrics.jsonl`, `loss.png` and finally `model/` into the
/// run directory. Resumed, it continues exactly where it stopped.
pub fn train_identity(
    settings: &IdentityTraining,
    data: &Path,
    options: &RunOptions,
) -> Result<TrainingSummary, TrainingError> {
    // Data: characters that can show two views.
    let faces = FaceDataset::open(data, Split::Train)?;
    let usable: Vec<usize> = (0..faces.characters().len())
        .filter(|&c| !faces.characters()[c].views.is_empty())
        .collect();
    if usable.len() < settings.batch.max(2) {
        return Err(TrainingError::TooFewCharacters {
            path: data.to_path_buf(),
            found: usable.len(),
            batch: settings.batch.max(2),
        });
    }

    // Model, optimiser, weight average, learning-rate schedule.
    let varmap = VarMap::new();
    let model = IdentityEncoder::new(&settings.model, seeded_var_builder(&varmap, settings.seed))?;
    let mut optimisation = Optimisation::new(&varmap, settings.optimiser, settings.steps)?;
    let mut session = Session::open(
        options,
        settings.steps,
        settings.seed,
        &varmap,
        &mut optimisation,
    )?;

    let size = settings.model.image_size as u32;
    while session.running() {
        // Two views of each of `batch` different characters: rows i of `a` and `b` match.
        let rng = &mut session.rng;
        let chosen = sample(rng, usable.len(), settings.batch);
        let mut views: Vec<RgbImage> = Vec::with_capacity(2 * settings.batch);
        for _ in 0..2 {
            for c in chosen.iter() {
                let character = &faces.characters()[usable[c]];
                let view = &character.views[rng.random_range(0..character.views.len())];
                views.push(faces.load_view(view, size, Some(&mut *rng))?);
            }
        }
        let images = to_tensor(&views, &Device::Cpu)?;
        // The embeddings of the 2B views on the cores side by side; the loss needs them all.
        let report = optimisation.step(session.step, 1, |_| {
            let parts = split_ranges(images.dim(0)?, 2);
            let embeddings = run_parts(parts.len(), |i| {
                model.forward(&images.narrow(0, parts[i].start, parts[i].len())?, true)
            })?;
            let embeddings = Tensor::cat(&embeddings, 0)?;
            contrastive_loss(
                &embeddings.narrow(0, 0, settings.batch)?,
                &embeddings.narrow(0, settings.batch, settings.batch)?,
                settings.temperature,
            )
        })?;
        session.finish_step(report)?;
        if session.checkpoint_due(settings.checkpoint_every) {
            session.save(settings, &varmap, &optimisation, serde_json::Value::Null)?;
        }
    }
    Ok(session.finish(&settings.model, &optimisation)?)
}

/// How well an identity encoder recognises characters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityScores {
    /// Keyframe faces scored.
    pub faces: usize,
    /// Characters with portraits.
    pub characters: usize,
    /// Share of keyframe faces whose nearest portrait (cosine) among their film's cast is
    /// their own character's.
    pub within_film_accuracy: f64,
    /// The same among every character of the split.
    pub split_accuracy: f64,
}

/// Scores `model` on the faces of `split`: every character with a portrait is in the
/// gallery (the mean of its portraits' embeddings); every keyframe face is a query.
pub fn evaluate_identity(
    model: &IdentityEncoder,
    faces: &FaceDataset,
) -> Result<IdentityScores, TrainingError> {
    let size = model.config().image_size as u32;
    let mut gallery = Vec::new();
    let mut owners = Vec::new();
    let mut queries = Vec::new();
    for character in faces.characters() {
        let portraits: Vec<&FaceSource> = character
            .views
            .iter()
            .filter(|v| matches!(v, FaceSource::Portrait(_)))
            .collect();
        if portraits.is_empty() {
            continue;
        }
        let images = portraits
            .iter()
            .map(|p| faces.load_view(p, size, None::<&mut rand_chacha::ChaCha8Rng>))
            .collect::<Result<Vec<_>, _>>()?;
        let embedding = embed(model, &images)?.mean_keepdim(0)?;
        let index = gallery.len();
        gallery.push(unit_vectors(&embedding)?);
        owners.push(character.film);
        for view in &character.views {
            if matches!(view, FaceSource::Keyframe { .. }) {
                queries.push((view, index));
            }
        }
    }
    if gallery.is_empty() || queries.is_empty() {
        return Ok(IdentityScores {
            faces: queries.len(),
            characters: gallery.len(),
            within_film_accuracy: 0.0,
            split_accuracy: 0.0,
        });
    }
    let gallery = Tensor::cat(&gallery, 0)?;
    let (mut within, mut overall) = (0usize, 0usize);
    for chunk in queries.chunks(256) {
        let images = chunk
            .iter()
            .map(|(view, _)| faces.load_view(view, size, None::<&mut rand_chacha::ChaCha8Rng>))
            .collect::<Result<Vec<_>, _>>()?;
        let similarity: Vec<Vec<f32>> = embed(model, &images)?.matmul(&gallery.t()?)?.to_vec2()?;
        for ((_, truth), row) in chunk.iter().zip(&similarity) {
            let best = |candidates: &mut dyn Iterator<Item = usize>| {
                candidates.max_by(|&a, &b| row[a].total_cmp(&row[b]))
            };
            let film = owners[*truth];
            within += usize::from(
                best(&mut (0..owners.len()).filter(|&g| owners[g] == film)) == Some(*truth),
            );
            overall += usize::from(best(&mut (0..owners.len())) == Some(*truth));
        }
    }
    Ok(IdentityScores {
        faces: queries.len(),
        characters: owners.len(),
        within_film_accuracy: within as f64 / queries.len() as f64,
        split_accuracy: overall as f64 / queries.len() as f64,
    })
}

fn embed(model: &IdentityEncoder, images: &[RgbImage]) -> Result<Tensor, TrainingError> {
    Ok(model.forward(&to_tensor(images, &Device::Cpu)?, false)?)
}
