//! Fine-tuning the renderer: the tokenizer's decoder, with identity conditioning added,
//! learns to turn the planner's *predicted* tokens and the shot's characters into the true
//! keyframe, so that it corrects what the planner gets wrong.
//!
//! Before the loop: the training films' true tokens and cast embeddings (the planner's cache
//! format, [`crate::data::films`]) and the planner's predictions of every keyframe
//! ([`PredictedTokens`]: by default planned from the script alone, as generation does) are
//! computed once and cached in the run directory; the renderer is built and its
//! decoder set from the tokenizer's weights. Then each step takes `batch` keyframes, renders
//! each from its predicted tokens (a `predicted_share` of them; the others from the true
//! tokens, so the renderer keeps what the tokenizer could do) with the identities of who
//! stands in each slot of its shot (and for half of them a full-body picture, the script's
//! own or the body cut from another keyframe, for the costume), and clip → update → EMA → log, with checkpoints and
//! resume as every loop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use image::RgbImage;
use moviedreamer_models::identity::IdentityEncoder;
use moviedreamer_models::planner::Planner;
use moviedreamer_models::planner::prompt::{FilmPrompt, SLOTS};
use moviedreamer_models::planner::script_prompt::shot_slots;
use moviedreamer_models::renderer::{Renderer, RendererConfig, SlotCharacter, SlotIdentities};
use moviedreamer_models::text::Vocabulary;
use moviedreamer_models::tokenizer::KeyframeTokenizer;
use moviedreamer_nn::checkpoint::{load_tensors, save_tensors, write_atomically};
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::parallel::split_ranges;
use moviedreamer_storyworld::identity::Split;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::DataError;
use crate::data::faces::square_crop;
use crate::data::films::model_fingerprint;
use crate::data::{BatchPosition, Batches, KeyframeDataset, PixelBox, PlannerFilm, to_tensor};
use crate::error::{TrainingError, check_micro_batches};
use crate::optimisation::{Optimisation, OptimiserSettings};
use crate::planner::{VOCABULARY_FILE, training_films};
use crate::session::{RunOptions, Session, TrainingSummary};

/// Everything a renderer training run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RendererTraining {
    /// The trained tokenizer whose decoder the renderer starts from.
    pub tokenizer: PathBuf,
    /// The identity encoder that makes the characters' embeddings.
    pub identity: PathBuf,
    /// The trained planner whose predicted tokens the renderer learns to render.
    pub planner: PathBuf,
    /// Optimiser steps in all.
    pub steps: u64,
    /// Keyframes per step.
    pub batch: usize,
    /// Equal parts each batch is split into, computed side by side (must divide `batch`).
    pub micro_batches: usize,
    /// Learning rate, warm-up, clipping and weight average.
    #[serde(flatten)]
    pub optimiser: OptimiserSettings,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Share of keyframes rendered from the planner's predicted tokens; the others are
    /// rendered from the true tokens.
    pub predicted_share: f64,
    /// Which predictions of the planner those are.
    #[serde(default)]
    pub predicted_tokens: PredictedTokens,
    /// Draw each character's identity from one of its views (a portrait or a face cut from
    /// a keyframe) instead of its portraits' mean, so that one reference picture is enough.
    pub face_views: bool,
    /// Probability of dropping the identities, for identity guidance.
    pub identity_dropout: f64,
    /// Share of the characters in training keyframes given a full-body picture (cut from
    /// another keyframe of the film where they appear), so the renderer learns costumes
    /// from pictures and also renders characters without one.
    pub costume_share: f64,
    /// Of those full-body pictures, the share taken from the script's own (studio) picture
    /// when it gives one, the rest cut from the film's keyframes. Generation always gets the
    /// studio picture, drawn without the film's style; cuts carry the style.
    #[serde(default = "half")]
    pub studio_costume_share: f64,
    /// Extra loss weight on the columns where characters stand
    /// (`RendererConfig::figure_loss_weight`); 0 weighs every pixel alike.
    #[serde(default)]
    pub figure_loss_weight: f64,
    /// Seed of the data order, the token choice, the noise and the timesteps.
    pub seed: u64,
}

impl RendererTraining {
    /// Settings for a preset (`micro` or `storyworld`) with the given trained models.
    pub fn preset(name: &str, tokenizer: &Path, identity: &Path, planner: &Path) -> Option<Self> {
        let base = RendererTraining {
            tokenizer: tokenizer.to_path_buf(),
            identity: identity.to_path_buf(),
            planner: planner.to_path_buf(),
            steps: 1500,
            batch: 16,
            micro_batches: 2,
            optimiser: OptimiserSettings {
                learning_rate: 2e-4,
                warmup: 50,
                clip: 1.0,
                ema_decay: 0.999,
            },
            checkpoint_every: 100,
            predicted_share: 0.75,
            predicted_tokens: PredictedTokens::Planned,
            face_views: true,
            identity_dropout: 0.1,
            costume_share: 0.5,
            // Generation always gets the studio picture; training on cuts as well let the
            // film's style leak in (docs/results/renderer.md, chain8 against chain6).
            studio_costume_share: 1.0,
            figure_loss_weight: 0.0,
            seed: 0,
        };
        match name {
            "storyworld" => Some(base),
            "micro" => Some(RendererTraining {
                steps: 10,
                batch: 4,
                checkpoint_every: 5,
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

/// One training keyframe: its film (index into the films), shot and picture.
struct Example {
    film: usize,
    shot: usize,
    picture: usize,
}

/// A training film with the planner's predicted tokens and who stands where in each shot.
struct RenderFilm {
    film: PlannerFilm,
    /// (shots, K, D), tokenizer scale.
    predicted: Tensor,
    /// Per shot, per slot: the cast member there.
    slots: Vec<[Option<usize>; SLOTS]>,
}

/// Fine-tunes a renderer on the train split of the StoryWorld dataset in `data`, writing
/// checkpoints, `metrics.jsonl`, `loss.png` and finally `model/` into the run directory.
pub fn train_renderer(
    settings: &RendererTraining,
    data: &Path,
    options: &RunOptions,
) -> Result<TrainingSummary, TrainingError> {
    check_micro_batches(settings.batch, settings.micro_batches)?;
    let device = Device::Cpu;
    // The trained stages the renderer builds on.
    let tokenizer = KeyframeTokenizer::load(&settings.tokenizer)?;
    let identity = IdentityEncoder::load(&settings.identity)?;
    let planner = Planner::load(&settings.planner)?;
    let vocabulary = Vocabulary::load(&settings.planner.join(VOCABULARY_FILE))?;

    // Data: true tokens and faces, then the planner's predictions (both cached).
    let films = training_films(
        data,
        (&tokenizer, &settings.tokenizer),
        (&identity, &settings.identity),
        1,
        options,
    )?;
    let films = predict_films(
        &planner,
        &vocabulary,
        films,
        (
            &options.out.join("predicted-train.safetensors"),
            &serde_json::json!({
                "planner": model_fingerprint(&settings.planner),
                "tokenizer": model_fingerprint(&settings.tokenizer),
                "identity": model_fingerprint(&settings.identity),
            }),
        ),
        settings.predicted_tokens,
        settings.seed,
        options.show_progress,
    )?;
    let keyframes = KeyframeDataset::open(data, Split::Train)?;
    if keyframes.image_size() as usize != tokenizer.config().image_size {
        return Err(TrainingError::ImageSize {
            path: data.to_path_buf(),
            expected: tokenizer.config().image_size,
            found: keyframes.image_size(),
        });
    }
    let examples = examples(&films, &keyframes)?;
    let mut batches = Batches::new(examples.len(), settings.batch, settings.seed, true)?;

    // The renderer, its decoder taken from the tokenizer; optimiser, average, schedule.
    let model_config = RendererConfig {
        identity_dropout: settings.identity_dropout,
        figure_loss_weight: settings.figure_loss_weight,
        ..RendererConfig::for_tokenizer(tokenizer.config(), identity.config().embed_dim)
    };
    let appearances = appearances(&keyframes);
    let studio = studio_pictures(&films, &keyframes, &examples)?;
    let costumes = (model_config.costume_size > 0).then_some(CostumeSource {
        keyframes: &keyframes,
        appearances: &appearances,
        studio: &studio,
        share: settings.costume_share,
        studio_share: settings.studio_costume_share,
        size: model_config.costume_size as u32,
    });
    let varmap = VarMap::new();
    let model = Renderer::new(&model_config, seeded_var_builder(&varmap, settings.seed))?;
    Renderer::init_from_tokenizer(&varmap, &settings.tokenizer)?;
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
        let mut rng = batch.rng();
        let chosen: Vec<&Example> = batch.indices.iter().map(|&i| &examples[i]).collect();
        let pictures = chosen
            .iter()
            .map(|e| keyframes.load_image(e.picture))
            .collect::<Result<Vec<_>, _>>()?;
        let images = to_tensor(&pictures, &device)?;
        let tokens = chosen
            .iter()
            .map(|e| {
                let film = &films[e.film];
                if rng.random::<f64>() < settings.predicted_share {
                    film.predicted.get(e.shot)
                } else {
                    film.film.tokens.get(0)?.get(e.shot)
                }
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let tokens = Tensor::stack(&tokens, 0)?;
        let identities = slot_identities(
            &films,
            &chosen,
            settings.face_views,
            costumes.as_ref(),
            &model_config,
            &mut rng,
        )?;
        // Each micro-batch draws its noise from its own generator, seeded from the run's, so
        // the step is the same however many threads compute it.
        let parts = split_ranges(images.dim(0)?, settings.micro_batches);
        let seeds: Vec<u64> = parts.iter().map(|_| session.rng.random()).collect();
        let report = optimisation.step(session.step, parts.len(), |i| {
            let part = &parts[i];
            model.training_loss(
                &images.narrow(0, part.start, part.len())?,
                &tokens.narrow(0, part.start, part.len())?,
                &identities.narrow(part.start, part.len())?,
                &mut ChaCha8Rng::seed_from_u64(seeds[i]),
            )
        })?;
        session.finish_step(report)?;
        if session.checkpoint_due(settings.checkpoint_every) {
            let position = serde_json::to_value(batches.position()).unwrap_or_default();
            session.save(settings, &varmap, &optimisation, position)?;
        }
    }
    Ok(session.finish(&model_config, &optimisation)?)
}

/// The default of [`RendererTraining::studio_costume_share`] for settings written before it
/// existed, as those runs trained.
fn half() -> f64 {
    0.5
}

/// Which of the planner's tokens the renderer learns to render from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PredictedTokens {
    /// Planned from the script alone, each keyframe after the planner's own earlier ones:
    /// exactly what generation hands the renderer. With the grid tokenizer these are far
    /// from the teacher-forced ones (cosine to the truth 0.49 against 0.69), and a renderer
    /// taught on teacher-forced tokens drew noise from them (docs/results/renderer.md).
    #[default]
    Planned,
    /// Each keyframe predicted from the true keyframes before it in its window (and its
    /// own true earlier tokens): what the planner's training fits.
    TeacherForced,
}

/// The planner's predictions (`kind`) of the keyframes of a film with prompt `prompt` and
/// true tokens `truth` (shots, K, D).
fn film_predictions(
    planner: &Planner,
    prompt: &FilmPrompt,
    truth: &Tensor,
    kind: PredictedTokens,
    rng: &mut ChaCha8Rng,
) -> candle_core::Result<Tensor> {
    match kind {
        PredictedTokens::Planned => planner.plan_film(prompt, rng),
        PredictedTokens::TeacherForced => {
            // Window by window, each shot from the true ones before it in its window.
            let (shots, window) = (truth.dim(0)?, planner.config().window);
            let windows = (0..shots)
                .step_by(window)
                .map(|start| {
                    let end = (start + window).min(shots);
                    planner.teacher_forced_predictions(
                        prompt,
                        start..end,
                        &truth.narrow(0, start, end - start)?,
                        rng,
                    )
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::cat(&windows, 0)
        }
    }
}

/// Adds to each film the planner's predictions of its keyframes (`kind`), read from `cache`
/// when it was made from the same `sources`, and who stands where in each shot.
fn predict_films(
    planner: &Planner,
    vocabulary: &Vocabulary,
    films: Vec<PlannerFilm>,
    (cache, sources): (&Path, &serde_json::Value),
    kind: PredictedTokens,
    seed: u64,
    show_progress: bool,
) -> Result<Vec<RenderFilm>, TrainingError> {
    let key_path = cache.with_extension("json");
    let key = serde_json::json!({
        "films": films.len(),
        "seed": seed,
        "sources": sources,
        "kind": kind,
    });
    let same_sources = std::fs::read_to_string(&key_path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|saved| saved == key);
    let mut cached = if cache.is_file() && same_sources {
        load_tensors(cache)?
    } else {
        BTreeMap::new()
    };
    let fresh = cached.is_empty();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total = films.len();
    let mut out = Vec::with_capacity(total);
    for (done, film) in films.into_iter().enumerate() {
        let name = format!("film-{:05}/predicted", film.number);
        let predicted = match cached.remove(&name) {
            Some(tokens) => tokens,
            None => {
                let prompt = film.prompt(planner, vocabulary)?;
                film_predictions(planner, &prompt, &film.tokens.get(0)?, kind, &mut rng)?
            }
        };
        let slots = film
            .script
            .scenes
            .iter()
            .flat_map(|scene| &scene.shots)
            .map(|shot| shot_slots(&film.script, shot))
            .collect();
        out.push(RenderFilm {
            film,
            predicted,
            slots,
        });
        if show_progress && (done + 1 == total || (done + 1) % 20 == 0) {
            eprintln!("predicted {}/{total} films", done + 1);
        }
    }
    if fresh {
        let store = out
            .iter()
            .map(|f| {
                (
                    format!("film-{:05}/predicted", f.film.number),
                    f.predicted.clone(),
                )
            })
            .collect();
        save_tensors(cache, &store, DType::F32)?;
        write_atomically(
            &key_path,
            serde_json::to_string_pretty(&key)
                .unwrap_or_default()
                .as_bytes(),
        )?;
    }
    Ok(out)
}

/// Every training keyframe, found in the dataset by its film and shot.
fn examples(
    films: &[RenderFilm],
    keyframes: &KeyframeDataset,
) -> Result<Vec<Example>, TrainingError> {
    let pictures: BTreeMap<(usize, usize), usize> = keyframes
        .items()
        .iter()
        .enumerate()
        .map(|(i, item)| ((item.film, item.shot), i))
        .collect();
    let mut examples = Vec::new();
    for (f, film) in films.iter().enumerate() {
        for shot in 0..film.slots.len() {
            let picture = *pictures.get(&(film.film.number, shot)).ok_or_else(|| {
                TrainingError::MissingKeyframe {
                    film: film.film.number,
                    shot,
                }
            })?;
            examples.push(Example {
                film: f,
                shot,
                picture,
            });
        }
    }
    Ok(examples)
}

/// Where each character of each film appears: (film, character id) → (picture, body box).
type Appearances = BTreeMap<(usize, String), Vec<(usize, PixelBox)>>;

/// Every appearance of every character in the dataset's keyframes.
fn appearances(keyframes: &KeyframeDataset) -> Appearances {
    let mut found: Appearances = BTreeMap::new();
    for (i, item) in keyframes.items().iter().enumerate() {
        for actor in &item.labels.actors {
            found
                .entry((item.film, actor.id.clone()))
                .or_default()
                .push((i, actor.bbox));
        }
    }
    found
}

/// The full-body pictures the training films' scripts give (StoryWorld's `bodies/`), by
/// (film, character id), read from each film's folder.
fn studio_pictures(
    films: &[RenderFilm],
    keyframes: &KeyframeDataset,
    examples: &[Example],
) -> Result<BTreeMap<(usize, String), RgbImage>, TrainingError> {
    let mut pictures = BTreeMap::new();
    for example in examples.iter().filter(|e| e.shot == 0) {
        let film = &films[example.film];
        let path = &keyframes.items()[example.picture].path;
        let Some(folder) = path.parent().and_then(Path::parent) else {
            continue;
        };
        for character in &film.film.script.characters {
            if let Some(body) = character.full_body.first() {
                let file = folder.join(body);
                let image = image::open(&file)
                    .map_err(|err| DataError::Image {
                        path: file.clone(),
                        message: format!("cannot read the full-body picture: {err}"),
                    })?
                    .to_rgb8();
                pictures.insert((film.film.number, character.id.clone()), image);
            }
        }
    }
    Ok(pictures)
}

/// A full-body picture of a character cut from one of its keyframes: the square around its
/// body box, with a margin.
fn body_picture(
    keyframes: &KeyframeDataset,
    picture: usize,
    bbox: PixelBox,
    size: u32,
) -> Result<RgbImage, TrainingError> {
    let image = keyframes.load_image(picture)?;
    let [x0, y0, x1, y1] = bbox;
    let side = (x1 - x0).max(y1 - y0) * 1.15;
    Ok(square_crop(
        &image,
        (x0 + x1) / 2.0,
        (y0 + y1) / 2.0,
        side,
        size,
    ))
}

/// Per slot, the identity embedding and full-body picture of the character there.
type SlotRow = [Option<(Vec<f32>, Option<RgbImage>)>; SLOTS];

/// How the training keyframes' costumes are drawn.
struct CostumeSource<'a> {
    keyframes: &'a KeyframeDataset,
    appearances: &'a Appearances,
    /// The full-body pictures the films' scripts give, by (film, character id).
    studio: &'a BTreeMap<(usize, String), RgbImage>,
    /// Share of present characters given a full-body picture.
    share: f64,
    /// Of those, the share given the script's own picture where there is one.
    studio_share: f64,
    /// Side of the pictures.
    size: u32,
}

/// Who stands in each slot of the chosen keyframes: the cast member's portraits' mean, or
/// with `face_views` one of its views drawn at random; and, for a share of them, a
/// full-body picture cut from another keyframe of the film where the character appears (so
/// the renderer learns the costume, not to copy the pixels).
fn slot_identities(
    films: &[RenderFilm],
    chosen: &[&Example],
    face_views: bool,
    costumes: Option<&CostumeSource>,
    config: &RendererConfig,
    rng: &mut impl Rng,
) -> Result<SlotIdentities, TrainingError> {
    let mut rows: Vec<SlotRow> = Vec::with_capacity(chosen.len());
    for example in chosen {
        let film = &films[example.film];
        let mut row: SlotRow = Default::default();
        for (slot, cast) in film.slots[example.shot].iter().enumerate() {
            let Some(cast) = cast else { continue };
            let views = &film.film.faces[*cast];
            let count = views.dim(0)?;
            let view = if face_views && count > 1 {
                rng.random_range(0..count)
            } else {
                0
            };
            let embedding = views.get(view)?.to_vec1::<f32>()?;
            let mut costume = None;
            if let Some(source) = costumes
                && rng.random::<f64>() < source.share
            {
                let id = &film.film.script.characters[*cast].id;
                let studio = source.studio.get(&(film.film.number, id.clone()));
                let seen = source
                    .appearances
                    .get(&(film.film.number, id.clone()))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let others: Vec<&(usize, PixelBox)> = seen
                    .iter()
                    .filter(|(picture, _)| *picture != example.picture)
                    .collect();
                // The script's own full-body picture (what generation gets) for a share of
                // them, else the body as another keyframe shows it.
                if let Some(picture) = studio.filter(|_| {
                    others.is_empty() || rng.random_bool(source.studio_share.clamp(0.0, 1.0))
                }) {
                    costume = Some(picture.clone());
                } else if !others.is_empty() {
                    let (picture, bbox) = others[rng.random_range(0..others.len())];
                    costume = Some(body_picture(
                        source.keyframes,
                        *picture,
                        *bbox,
                        source.size,
                    )?);
                }
            }
            row[slot] = Some((embedding, costume));
        }
        rows.push(row);
    }
    let borrowed: Vec<[Option<SlotCharacter>; SLOTS]> = rows
        .iter()
        .map(|row| {
            std::array::from_fn(|slot| {
                row[slot].as_ref().map(|(identity, costume)| SlotCharacter {
                    identity,
                    costume: costume.as_ref(),
                })
            })
        })
        .collect();
    Ok(SlotIdentities::new(&borrowed, config, &Device::Cpu)?)
}
