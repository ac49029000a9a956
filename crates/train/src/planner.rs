//! Training the planner on tokenized StoryWorld films.
//!
//! Before the loop: the films' tokens and face embeddings are computed once with the
//! trained tokenizer and identity encoder and cached in the run directory
//! ([`crate::data::films`]); the word vocabulary is built from the training scripts; token
//! statistics are measured for normalisation. Then each step takes `batch` windows (a film,
//! and the shots the planner would see when planning one of its shots: the last `window`
//! up to it), applies the anti-overfitting measures that are switched on, computes the
//! teacher-forced loss on the cores side by side, and clip → update → EMA → log, with
//! checkpoints and resume as every loop. `model/` holds the EMA weights, the config and the
//! vocabulary (`tokenizer.json`).

use std::path::{Path, PathBuf};

use candle_core::{D, Tensor};
use candle_nn::VarMap;
use moviedreamer_models::identity::{IdentityEncoder, unit_vectors};
use moviedreamer_models::planner::prompt::FilmPrompt;
use moviedreamer_models::planner::script_prompt::{film_prompt, script_texts};
use moviedreamer_models::planner::{Planner, PlannerConfig};
use moviedreamer_models::text::Vocabulary;
use moviedreamer_models::tokenizer::KeyframeTokenizer;
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::ops::randn;
use moviedreamer_nn::parallel::split_ranges;
use moviedreamer_storyworld::identity::Split;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::films::model_fingerprint;
use crate::data::{PlannerFilm, prepare_films};
use crate::error::{TrainingError, check_micro_batches};
use crate::optimisation::{Optimisation, OptimiserSettings};
use crate::session::{MODEL_DIR, RunOptions, Session, TrainingSummary};

/// The vocabulary file kept beside the planner's weights.
pub const VOCABULARY_FILE: &str = "tokenizer.json";

/// The paper's measures against overfitting, each switchable for the ablation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AntiOverfitting {
    /// Token versions of augmented keyframes to draw from (1 = the keyframes as they are).
    pub token_versions: usize,
    /// Draw each cast member's face from one of its views instead of its portraits' mean.
    pub face_views: bool,
    /// Standard deviation of Gaussian noise added to face embeddings (0 = none).
    pub face_noise: f64,
    /// Probability of hiding each history keyframe's tokens behind the mask token.
    pub history_mask: f64,
    /// Shuffle the cast's order in every window.
    pub shuffle_cast: bool,
}

impl AntiOverfitting {
    /// Every measure off (with the model's dropout at 0 this is the no-anti-overfitting row).
    pub fn none() -> Self {
        AntiOverfitting {
            token_versions: 1,
            face_views: false,
            face_noise: 0.0,
            history_mask: 0.0,
            shuffle_cast: false,
        }
    }
}

/// Everything a planner training run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerTraining {
    /// The model to train; its token, face and vocabulary sizes and token statistics are
    /// filled in from the data and the tokenizer before training.
    pub model: PlannerConfig,
    /// The tokenizer whose tokens the planner predicts.
    pub tokenizer: PathBuf,
    /// The identity encoder that makes the face embeddings.
    pub identity: PathBuf,
    /// Optimiser steps in all.
    pub steps: u64,
    /// Windows per step.
    pub batch: usize,
    /// Equal parts each batch is split into, computed side by side (must divide `batch`).
    pub micro_batches: usize,
    /// Learning rate, warm-up, clipping and weight average.
    #[serde(flatten)]
    pub optimiser: OptimiserSettings,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Words seen fewer times than this in the training scripts read as unknown.
    pub min_word_count: u64,
    /// Measures against overfitting.
    pub anti_overfitting: AntiOverfitting,
    /// Seed of the windows, measures and dropout.
    pub seed: u64,
}

impl PlannerTraining {
    /// Settings for a preset (`micro` or `storyworld`) with the given trained models.
    pub fn preset(name: &str, tokenizer: &Path, identity: &Path) -> Option<Self> {
        let base = PlannerTraining {
            model: PlannerConfig::storyworld(0, 0, 0, 0),
            tokenizer: tokenizer.to_path_buf(),
            identity: identity.to_path_buf(),
            steps: 1500,
            batch: 8,
            micro_batches: 2,
            optimiser: OptimiserSettings {
                learning_rate: 5e-4,
                warmup: 100,
                clip: 1.0,
                ema_decay: 0.999,
            },
            checkpoint_every: 250,
            min_word_count: 2,
            anti_overfitting: AntiOverfitting {
                token_versions: 3,
                face_views: true,
                face_noise: 0.05,
                history_mask: 0.15,
                shuffle_cast: true,
            },
            seed: 0,
        };
        match name {
            "storyworld" => Some(base),
            "micro" => Some(PlannerTraining {
                model: PlannerConfig {
                    whole_keyframes: true,
                    ..PlannerConfig::micro(0, 0, 0, 0)
                },
                steps: 10,
                batch: 2,
                checkpoint_every: 5,
                min_word_count: 1,
                optimiser: OptimiserSettings {
                    warmup: 2,
                    ema_decay: 0.9,
                    ..base.optimiser
                },
                anti_overfitting: AntiOverfitting {
                    token_versions: 2,
                    ..base.anti_overfitting.clone()
                },
                ..base
            }),
            _ => None,
        }
    }
}

/// Training films: each with its prompt (clean faces) and what the measures draw from.
struct TrainingFilm {
    film: PlannerFilm,
    prompt: FilmPrompt,
}

/// Trains a planner on the train split of the StoryWorld dataset in `data`.
pub fn train_planner(
    settings: &PlannerTraining,
    data: &Path,
    options: &RunOptions,
) -> Result<TrainingSummary, TrainingError> {
    check_micro_batches(settings.batch, settings.micro_batches)?;
    // The trained stages the planner builds on.
    let tokenizer = KeyframeTokenizer::load(&settings.tokenizer)?;
    let identity = IdentityEncoder::load(&settings.identity)?;

    // Data: tokens and faces (cached in the run directory), vocabulary, prompts.
    let films = training_films(
        data,
        (&tokenizer, &settings.tokenizer),
        (&identity, &settings.identity),
        settings.anti_overfitting.token_versions,
        options,
    )?;
    let vocabulary = Vocabulary::build(
        films.iter().flat_map(|f| script_texts(&f.script)),
        settings.min_word_count,
    )?;
    vocabulary.save(&options.out.join(VOCABULARY_FILE))?;
    let mut model_config = settings.model.clone();
    model_config.tokens = tokenizer.config().tokens;
    model_config.token_dim = tokenizer.config().token_dim;
    model_config.face_dim = identity.config().embed_dim;
    model_config.text.vocab_size = vocabulary.len();
    (model_config.token_mean, model_config.token_std) = token_statistics(&films)?;
    let films = films
        .into_iter()
        .map(|film| {
            let prompt = film_prompt(
                &film.script,
                &vocabulary,
                model_config.text.max_words,
                &film.portrait_identities()?,
            )?;
            Ok(TrainingFilm { film, prompt })
        })
        .collect::<Result<Vec<_>, TrainingError>>()?;

    // Model, optimiser, weight average, learning-rate schedule.
    let varmap = VarMap::new();
    let model = Planner::new(&model_config, seeded_var_builder(&varmap, settings.seed))?;
    for film in &films {
        model.check_film(&film.prompt)?;
    }
    let mut optimisation = Optimisation::new(&varmap, settings.optimiser, settings.steps)?;
    let resolved = PlannerTraining {
        model: model_config.clone(),
        ..settings.clone()
    };
    let mut session = Session::open(
        options,
        settings.steps,
        settings.seed,
        &varmap,
        &mut optimisation,
    )?;

    while session.running() {
        // Each window draws from its own generator, seeded from the run's, so a step is the
        // same however many threads compute it.
        let seeds: Vec<u64> = (0..settings.batch).map(|_| session.rng.random()).collect();
        let parts = split_ranges(settings.batch, settings.micro_batches);
        let report = optimisation.step(session.step, parts.len(), |i| {
            let losses = seeds[parts[i].clone()]
                .iter()
                .map(|&seed| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    window_loss(&model, &films, &settings.anti_overfitting, &mut rng)
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::stack(&losses, 0)?.mean_all()
        })?;
        session.finish_step(report)?;
        if session.checkpoint_due(settings.checkpoint_every) {
            session.save(&resolved, &varmap, &optimisation, serde_json::Value::Null)?;
        }
    }
    let summary = session.finish(&model_config, &optimisation)?;
    vocabulary.save(&options.out.join(MODEL_DIR).join(VOCABULARY_FILE))?;
    Ok(summary)
}

/// The training split's films with their tokens (`versions` of them) and faces, computed
/// with the given trained models (each with its directory, which identifies it) and cached
/// in the run directory as `films-train.safetensors`.
pub(crate) fn training_films(
    data: &Path,
    (tokenizer, tokenizer_dir): (&KeyframeTokenizer, &Path),
    (identity, identity_dir): (&IdentityEncoder, &Path),
    versions: usize,
    options: &RunOptions,
) -> Result<Vec<PlannerFilm>, TrainingError> {
    std::fs::create_dir_all(&options.out).map_err(|source| {
        moviedreamer_nn::train::TrainError::Io {
            path: options.out.clone(),
            source,
        }
    })?;
    prepare_films(
        data,
        Split::Train,
        usize::MAX,
        tokenizer,
        identity,
        versions,
        &options.out.join("films-train.safetensors"),
        &serde_json::json!({
            "tokenizer": model_fingerprint(tokenizer_dir),
            "identity": model_fingerprint(identity_dir),
        }),
        |done, total| {
            if options.show_progress && (done == total || done % 20 == 0) {
                eprintln!("tokenized {done}/{total} films");
            }
        },
    )
}

/// The loss of one random window, with the switched-on measures applied.
fn window_loss(
    model: &Planner,
    films: &[TrainingFilm],
    measures: &AntiOverfitting,
    rng: &mut ChaCha8Rng,
) -> candle_core::Result<Tensor> {
    let film = &films[rng.random_range(0..films.len())];
    let shots = film.prompt.shots.len();
    let window = model.config().window;
    // The window the planner sees when planning shot `last`.
    let last = rng.random_range(0..shots);
    let start = (last + 1).saturating_sub(window);
    let version = rng.random_range(0..film.film.tokens.dim(0)?);
    let tokens = film
        .film
        .tokens
        .get(version)?
        .narrow(0, start, last + 1 - start)?;

    let mut prompt = film.prompt.clone();
    for (member, views) in prompt.cast.iter_mut().zip(&film.film.faces) {
        let mut face = if measures.face_views {
            views.get(rng.random_range(0..views.dim(0)?))?
        } else {
            views.get(0)?
        };
        if measures.face_noise > 0.0 {
            let noise = (randn(rng, face.shape(), face.device())? * measures.face_noise)?;
            face = unit_vectors(&(face + noise)?.unsqueeze(0)?)?.squeeze(0)?;
        }
        member.face = face.to_vec1()?;
    }
    if measures.shuffle_cast {
        let mut order: Vec<usize> = (0..prompt.cast.len()).collect();
        order.shuffle(rng);
        prompt = prompt.with_cast_order(&order);
    }
    let count = last + 1 - start;
    let masked = (0..count)
        .map(|i| i + 1 < count && rng.random_bool(measures.history_mask.clamp(0.0, 1.0)))
        .collect();
    model.training_loss(&prompt, start..last + 1, &tokens, masked, rng)
}

/// Per-dimension mean and standard deviation of the films' unaugmented tokens.
fn token_statistics(films: &[PlannerFilm]) -> Result<(Vec<f32>, Vec<f32>), TrainingError> {
    let all: Vec<Tensor> = films
        .iter()
        .map(|f| {
            let clean = f.tokens.get(0)?;
            let dim = clean.dim(D::Minus1)?;
            clean.reshape(((), dim))
        })
        .collect::<candle_core::Result<_>>()?;
    let all = Tensor::cat(&all, 0)?;
    let mean = all.mean(0)?;
    let std = (all.broadcast_sub(&mean)?.sqr()?.mean(0)? + 1e-6)?.sqrt()?;
    Ok((mean.to_vec1()?, std.to_vec1()?))
}

/// How close a planner's tokens come to the true ones on films it never saw, in the
/// planner's standardised scale (a normalised MSE of 1 is what always predicting the
/// training mean scores).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannerScores {
    /// Films scored.
    pub films: usize,
    /// Keyframes scored.
    pub keyframes: usize,
    /// Each keyframe predicted from its true history (the window of true keyframes before
    /// it), token by token from its own true tokens: what training fits.
    pub teacher_forced_mse: f64,
    /// Mean cosine similarity of those predictions to the true tokens.
    pub teacher_forced_cosine: f64,
    /// Whole films planned from the script alone, each keyframe from the planner's own
    /// earlier keyframes, as in generation.
    pub planned_mse: f64,
    /// Mean cosine similarity of the planned tokens to the true tokens.
    pub planned_cosine: f64,
    /// A baseline with no model: each keyframe but a film's first given the true tokens of
    /// the keyframe before it. A planner that reads its history should beat it.
    pub previous_keyframe_mse: f64,
    /// Mean cosine similarity of that baseline to the true tokens.
    pub previous_keyframe_cosine: f64,
}

/// A test film with its prompt and its planned tokens (tokenizer scale, (shots, K, D)).
pub struct PlannedFilm {
    /// The film and its true tokens.
    pub film: PlannerFilm,
    /// The tokens the planner planned for it.
    pub planned: Tensor,
}

/// Plans every film in `films` with `planner` (faces: the portraits' mean) and scores it
/// against the true tokens, teacher-forced and free-running; `seed` draws a diffusion
/// head's samples.
pub fn evaluate_planner(
    planner: &Planner,
    vocabulary: &Vocabulary,
    films: Vec<PlannerFilm>,
    seed: u64,
    mut progress: impl FnMut(usize),
) -> Result<(PlannerScores, Vec<PlannedFilm>), TrainingError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let window = planner.config().window;
    let (mut forced_mse, mut forced_cos, mut planned_mse, mut planned_cos) = (0.0, 0.0, 0.0, 0.0);
    let (mut previous_mse, mut previous_cos, mut followers) = (0.0, 0.0, 0usize);
    let mut keyframes = 0usize;
    let mut planned_films = Vec::new();
    let count = films.len();
    for film in films {
        let prompt = film.prompt(planner, vocabulary)?;
        let truth = film.tokens.get(0)?;
        let shots = truth.dim(0)?;
        for shot in 0..shots {
            let start = (shot + 1).saturating_sub(window);
            let forced = planner.teacher_forced_predictions(
                &prompt,
                start..shot + 1,
                &truth.narrow(0, start, shot + 1 - start)?,
                &mut rng,
            )?;
            let (mse, cos) = agreement(planner, &forced.get(shot - start)?, &truth.get(shot)?)?;
            forced_mse += mse;
            forced_cos += cos;
        }
        let planned = planner.plan_film(&prompt, &mut rng)?;
        for shot in 0..shots {
            let (mse, cos) = agreement(planner, &planned.get(shot)?, &truth.get(shot)?)?;
            planned_mse += mse;
            planned_cos += cos;
        }
        for shot in 1..shots {
            let (mse, cos) = agreement(planner, &truth.get(shot - 1)?, &truth.get(shot)?)?;
            previous_mse += mse;
            previous_cos += cos;
        }
        followers += shots.saturating_sub(1);
        keyframes += shots;
        planned_films.push(PlannedFilm { film, planned });
        progress(planned_films.len());
    }
    let n = keyframes.max(1) as f64;
    let followers = followers.max(1) as f64;
    Ok((
        PlannerScores {
            films: count,
            keyframes,
            teacher_forced_mse: forced_mse / n,
            teacher_forced_cosine: forced_cos / n,
            planned_mse: planned_mse / n,
            planned_cosine: planned_cos / n,
            previous_keyframe_mse: previous_mse / followers,
            previous_keyframe_cosine: previous_cos / followers,
        },
        planned_films,
    ))
}

/// Normalised MSE and mean per-token cosine of one keyframe's predicted against true
/// tokens (K, D), both given in the tokenizer's scale.
fn agreement(
    planner: &Planner,
    predicted: &Tensor,
    truth: &Tensor,
) -> Result<(f64, f64), TrainingError> {
    let (p, t) = (planner.normalise(predicted)?, planner.normalise(truth)?);
    let mse = (&p - &t)?.sqr()?.mean_all()?.to_scalar::<f32>()? as f64;
    let cos = (unit_vectors(&p)? * unit_vectors(&t)?)?
        .sum(D::Minus1)?
        .mean_all()?
        .to_scalar::<f32>()? as f64;
    Ok((mse, cos))
}
