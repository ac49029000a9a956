//! Training the evaluator on ground-truth StoryWorld keyframes, and measuring its accuracy.
//!
//! Each step loads a batch of keyframes (cropped, lit and mirrored with their labels, which
//! stay true), reads them, and sums the cross-entropies of every attribute: the scene's four,
//! each slot's presence, and the pose and traits of the slots where someone stands. Then clip
//! → update → EMA → log, with checkpoints and resume as every loop. [`evaluate_evaluator`]
//! reports the accuracy per attribute, which must reach 97 % on test keyframes before the
//! benchmark's numbers mean much.

use std::path::Path;

use candle_core::{D, Device, Tensor};
use candle_nn::VarMap;
use image::RgbImage;
use moviedreamer_models::evaluator::{Attribute, Evaluator, EvaluatorConfig, Reading};
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::ops::masked_cross_entropy;
use moviedreamer_nn::parallel::split_ranges;
use moviedreamer_storyworld::identity::{TRAIT_NAMES, TRAIT_SIZES};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::labels::{
    LOCATION_CLASSES, POSE_CLASSES, SHOT_TYPE_CLASSES, SLOT_CLASSES, STYLE_CLASSES, TIME_CLASSES,
};
use crate::data::{
    Augment, BatchPosition, KeyframeDataset, KeyframeLabels, load_batch, to_tensor,
    training_batches,
};
use crate::error::{TrainingError, check_micro_batches};
use crate::optimisation::{Optimisation, OptimiserSettings};
use crate::session::{RunOptions, Session, TrainingSummary};

/// The scene attributes, in the order of [`KeyframeLabels::scene`].
const SCENE: [(&str, usize); 4] = [
    ("location", LOCATION_CLASSES),
    ("time", TIME_CLASSES),
    ("style", STYLE_CLASSES),
    ("shot_type", SHOT_TYPE_CLASSES),
];

fn attributes(list: impl IntoIterator<Item = (&'static str, usize)>) -> Vec<Attribute> {
    list.into_iter()
        .map(|(name, classes)| Attribute {
            name: name.to_owned(),
            classes,
        })
        .collect()
}

/// The evaluator for StoryWorld's labels at a preset size.
pub fn evaluator_config(preset: &str, image_size: usize) -> Option<EvaluatorConfig> {
    let scene = attributes(SCENE);
    let traits = attributes(TRAIT_NAMES.into_iter().zip(TRAIT_SIZES));
    match preset {
        "storyworld" => Some(EvaluatorConfig::storyworld(scene, POSE_CLASSES, traits)),
        "micro" => Some(EvaluatorConfig::micro(
            image_size,
            scene,
            POSE_CLASSES,
            traits,
        )),
        _ => None,
    }
}

/// Everything an evaluator training run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorTraining {
    /// The model to train.
    pub model: EvaluatorConfig,
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
    /// Augmentation of the training keyframes.
    pub augment: Augment,
    /// Seed of the data order and augmentation.
    pub seed: u64,
}

impl EvaluatorTraining {
    /// Settings for a preset: `micro` (32 px, seconds) or `storyworld` (64 px).
    pub fn preset(name: &str) -> Option<Self> {
        let base = EvaluatorTraining {
            model: evaluator_config("storyworld", 64)?,
            steps: 3000,
            batch: 32,
            micro_batches: 2,
            optimiser: OptimiserSettings {
                learning_rate: 1e-3,
                warmup: 100,
                clip: 1.0,
                ema_decay: 0.999,
            },
            checkpoint_every: 250,
            // Crops and mirrors, but no change of light: StoryWorld renders every keyframe
            // at its scene's light, and neighbouring skin tones differ by less than the
            // default jitter moves them.
            augment: Augment {
                jitter: 0.0,
                ..Augment::default()
            },
            seed: 0,
        };
        match name {
            "storyworld" => Some(base),
            "micro" => Some(EvaluatorTraining {
                model: evaluator_config("micro", 32)?,
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

/// Trains an evaluator on the train split of the StoryWorld dataset in `data`.
pub fn train_evaluator(
    settings: &EvaluatorTraining,
    data: &Path,
    options: &RunOptions,
) -> Result<TrainingSummary, TrainingError> {
    let device = Device::Cpu;
    check_micro_batches(settings.batch, settings.micro_batches)?;
    let (dataset, mut batches) = training_batches(
        data,
        settings.model.image_size,
        settings.batch,
        settings.seed,
    )?;

    let varmap = VarMap::new();
    let model = Evaluator::new(&settings.model, seeded_var_builder(&varmap, settings.seed))?;
    let mut optimisation = Optimisation::new(&varmap, settings.optimiser, settings.steps)?;
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
        let (images, labels) = load_batch(
            &dataset,
            &batch.indices,
            &settings.augment,
            &mut batch.rng(),
            &device,
        )?;
        let parts = split_ranges(images.dim(0)?, settings.micro_batches);
        let report = optimisation.step(session.step, parts.len(), |i| {
            let part = &parts[i];
            let reading = model.forward(&images.narrow(0, part.start, part.len())?, true)?;
            reading_loss(&reading, &labels[part.clone()], settings.model.image_size)
        })?;
        session.finish_step(report)?;
        if session.checkpoint_due(settings.checkpoint_every) {
            let position = serde_json::to_value(batches.position()).unwrap_or_default();
            session.save(settings, &varmap, &optimisation, position)?;
        }
    }
    Ok(session.finish(&settings.model, &optimisation)?)
}

/// The targets of a batch as tensors: per scene attribute (batch,), and per slot row
/// (batch × slots,): presence, pose, each trait, and where pose and each trait count.
struct Targets {
    scene: Vec<Tensor>,
    presence: Tensor,
    pose: Tensor,
    /// 1 on the rows of characters whose pose the shot shows
    /// ([`KeyframeLabels::shows_pose`]: not in close-ups).
    pose_shown: Tensor,
    traits: Vec<Tensor>,
    /// Per trait, 1 on the rows of characters who stand there and show the trait large
    /// enough to read at this picture size, uncovered by their other traits (no hair colour
    /// on a bald head), in colours apart from the trait's other values
    /// ([`KeyframeLabels::shows_trait`]): the evaluator is neither taught nor scored on
    /// details it cannot see.
    trait_shown: Vec<Tensor>,
}

fn targets(labels: &[KeyframeLabels], image_size: usize) -> candle_core::Result<Targets> {
    let device = Device::Cpu;
    let column = |values: Vec<u32>| Tensor::from_vec(values, labels.len(), &device);
    let scene = (0..SCENE.len())
        .map(|a| column(labels.iter().map(|l| l.scene()[a] as u32).collect()))
        .collect::<candle_core::Result<_>>()?;
    let rows = labels.len() * SLOT_CLASSES;
    let (mut presence, mut pose) = (vec![0u32; rows], vec![0u32; rows]);
    let mut pose_shown = vec![0f32; rows];
    let mut traits = vec![vec![0u32; rows]; TRAIT_NAMES.len()];
    let mut shown = vec![vec![0f32; rows]; TRAIT_NAMES.len()];
    for (b, keyframe) in labels.iter().enumerate() {
        for actor in &keyframe.actors {
            let row = b * SLOT_CLASSES + keyframe.drawn_slot(actor);
            presence[row] = 1;
            pose[row] = actor.pose as u32;
            pose_shown[row] = f32::from(u8::from(keyframe.shows_pose()));
            for (t, &value) in actor.traits.iter().enumerate() {
                traits[t][row] = value as u32;
                if keyframe.shows_trait(actor, t, image_size as u32) {
                    shown[t][row] = 1.0;
                }
            }
        }
    }
    let slot_column = |values: Vec<u32>| Tensor::from_vec(values, rows, &device);
    Ok(Targets {
        scene,
        presence: slot_column(presence)?,
        pose: slot_column(pose)?,
        pose_shown: Tensor::from_vec(pose_shown, rows, &device)?,
        traits: traits
            .into_iter()
            .map(slot_column)
            .collect::<candle_core::Result<_>>()?,
        trait_shown: shown
            .into_iter()
            .map(|mask| Tensor::from_vec(mask, rows, &device))
            .collect::<candle_core::Result<_>>()?,
    })
}

/// Weight of the white balance's squared error (in log gain) beside the cross-entropies:
/// a gain off by 1 % moves a bright colour about 2.5 levels, so errors near 1e-4 still
/// matter; at weight 10 the untrained gain's error (night outside: about 0.1) counts as
/// much as a cross-entropy.
const DAYLIGHT_GAIN_WEIGHT: f64 = 10.0;

/// The summed cross-entropies of a reading against its keyframes' labels, plus the white
/// balance's squared error where the evaluator balances colours.
fn reading_loss(
    reading: &Reading,
    labels: &[KeyframeLabels],
    image_size: usize,
) -> candle_core::Result<Tensor> {
    let targets = targets(labels, image_size)?;
    let everyone = Tensor::ones(labels.len(), candle_core::DType::F32, &Device::Cpu)?;
    let mut loss = Tensor::zeros((), candle_core::DType::F32, &Device::Cpu)?;
    for (logits, target) in reading.scene.iter().zip(&targets.scene) {
        loss = (loss + masked_cross_entropy(logits, target, &everyone)?)?;
    }
    let flat = |t: &Tensor| -> candle_core::Result<Tensor> {
        let classes = t.dim(D::Minus1)?;
        t.reshape(((), classes))
    };
    let slots = Tensor::ones(
        targets.presence.dim(0)?,
        candle_core::DType::F32,
        &Device::Cpu,
    )?;
    loss = (loss + masked_cross_entropy(&flat(&reading.presence)?, &targets.presence, &slots)?)?;
    loss =
        (loss + masked_cross_entropy(&flat(&reading.pose)?, &targets.pose, &targets.pose_shown)?)?;
    if let Some(log_gain) = &reading.log_daylight_gain {
        let target: Vec<f32> = labels
            .iter()
            .flat_map(|l| l.daylight_gain().map(f32::ln))
            .collect();
        let target = Tensor::from_vec(target, (labels.len(), 3), &Device::Cpu)?;
        let error = (log_gain - target)?.sqr()?.mean_all()?;
        loss = (loss + (error * DAYLIGHT_GAIN_WEIGHT)?)?;
    }
    for ((logits, target), shown) in reading
        .traits
        .iter()
        .zip(&targets.traits)
        .zip(&targets.trait_shown)
    {
        loss = (loss + masked_cross_entropy(&flat(logits)?, target, shown)?)?;
    }
    Ok(loss)
}

/// Accuracy of an evaluator on one attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeAccuracy {
    /// The attribute (`location`, `presence`, `pose`, a trait name).
    pub attribute: String,
    /// Cases scored: keyframes for scene attributes, slots for presence, present
    /// characters whose shot shows it for pose and traits.
    pub cases: usize,
    /// Share read right.
    pub accuracy: f64,
    /// The same per shot type (wide, medium, close-up), `None` where it had no case:
    /// faces are a few pixels in a wide shot and fill a close-up, so this tells whether a
    /// shortfall is resolution or something else.
    pub by_shot_type: [Option<f64>; SHOT_TYPE_CLASSES],
    /// The same per style (flat, sketch, neon, sepia: `Style::ALL`'s order), `None` where it
    /// had no case: the styles draw colours further apart or closer together, so this tells
    /// whether a colour trait's shortfall is in one style only.
    pub by_style: [Option<f64>; STYLE_CLASSES],
    /// The same per time of day (day, dusk, night), `None` where it had no case: the light
    /// recolours skin, hair and clothes, so this tells whether a colour trait's shortfall
    /// is the light.
    pub by_time: [Option<f64>; TIME_CLASSES],
    /// Cases by true class (rows) and read class (columns): whether misreadings are
    /// neighbours (one skin tone for the next) or scattered. Empty for the daylight gain,
    /// which has no classes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub confusion: Vec<Vec<usize>>,
}

/// Right and scored cases split by one label of the keyframe (its shot type, style or time).
#[derive(Debug, Clone, Copy)]
struct Split<const N: usize> {
    right: [usize; N],
    cases: [usize; N],
}

impl<const N: usize> Default for Split<N> {
    fn default() -> Self {
        Split {
            right: [0; N],
            cases: [0; N],
        }
    }
}

impl<const N: usize> Split<N> {
    fn add(&mut self, class: usize, right: bool) {
        self.right[class] += usize::from(right);
        self.cases[class] += 1;
    }

    /// The share right per class, `None` where it had no case.
    fn shares(&self) -> [Option<f64>; N] {
        std::array::from_fn(|i| (self.cases[i] > 0).then(|| share(self.right[i], self.cases[i])))
    }
}

/// `right` of `cases`, 0 for no case.
fn share(right: usize, cases: usize) -> f64 {
    right as f64 / cases.max(1) as f64
}

/// Right and scored cases of one attribute, per shot type, per style and per time of day,
/// and its confusion matrix.
#[derive(Debug, Clone, Default)]
struct Tally {
    by_shot_type: Split<SHOT_TYPE_CLASSES>,
    by_style: Split<STYLE_CLASSES>,
    by_time: Split<TIME_CLASSES>,
    confusion: Vec<Vec<usize>>,
}

impl Tally {
    /// Scores one case of a keyframe with these labels.
    fn add(&mut self, keyframe: &KeyframeLabels, right: bool) {
        self.by_shot_type.add(keyframe.shot_type, right);
        self.by_style.add(keyframe.style, right);
        self.by_time.add(keyframe.time, right);
    }

    /// Scores one case of a keyframe with these labels whose class is `truth`, read as
    /// `read`.
    fn add_class(&mut self, keyframe: &KeyframeLabels, truth: usize, read: usize) {
        self.add(keyframe, truth == read);
        let classes = truth.max(read) + 1;
        if classes > self.confusion.len() {
            self.confusion.resize(classes, Vec::new());
            for row in &mut self.confusion {
                row.resize(classes, 0);
            }
        }
        self.confusion[truth][read] += 1;
    }

    fn accuracy(&self, attribute: String) -> AttributeAccuracy {
        let cases = self.by_shot_type.cases.iter().sum();
        AttributeAccuracy {
            attribute,
            cases,
            accuracy: share(self.by_shot_type.right.iter().sum(), cases),
            by_shot_type: self.by_shot_type.shares(),
            by_style: self.by_style.shares(),
            by_time: self.by_time.shares(),
            confusion: self.confusion.clone(),
        }
    }
}

/// Keyframes read at once by [`evaluate_evaluator`].
const READ_BATCH: usize = 64;

/// Reads the keyframes of `dataset` at `indices` (unaugmented) and scores each attribute
/// against their labels; an evaluator that balances colours also scores its daylight gain
/// (`daylight_gain`: right where every channel is within 1 %).
///
/// With `pictures` (one per index), it reads those instead of the dataset's keyframes, still
/// scored against the dataset's labels: how many labels survive a tokenizer's
/// reconstruction, for instance.
pub fn evaluate_evaluator(
    model: &Evaluator,
    dataset: &KeyframeDataset,
    indices: &[usize],
    pictures: Option<&[RgbImage]>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<AttributeAccuracy>, TrainingError> {
    if let Some(pictures) = pictures {
        assert_eq!(
            pictures.len(),
            indices.len(),
            "one picture per keyframe index"
        );
    }
    let names: Vec<String> = SCENE
        .iter()
        .map(|(n, _)| n.to_string())
        .chain(["presence".to_owned(), "pose".to_owned()])
        .chain(TRAIT_NAMES.iter().map(|n| n.to_string()))
        .chain(
            model
                .config()
                .figure
                .white_balance
                .then(|| "daylight_gain".to_owned()),
        )
        .collect();
    let gain_row = SCENE.len() + 2 + TRAIT_NAMES.len();
    let mut tallies = vec![Tally::default(); names.len()];
    for (chunk_index, chunk) in indices.chunks(READ_BATCH).enumerate() {
        let (mut images, labels) = load_batch(
            dataset,
            chunk,
            &Augment::NONE,
            &mut ChaCha8Rng::seed_from_u64(0),
            &Device::Cpu,
        )?;
        if let Some(pictures) = pictures {
            let start = chunk_index * READ_BATCH;
            images = to_tensor(&pictures[start..start + chunk.len()], &Device::Cpu)?;
        }
        let reading = model.forward(&images, false)?;
        let argmax = |t: &Tensor| -> candle_core::Result<Vec<u32>> {
            let classes = t.dim(D::Minus1)?;
            t.reshape(((), classes))?.argmax(D::Minus1)?.to_vec1()
        };
        let targets = targets(&labels, model.config().image_size)?;
        // The keyframe of every slot row (keyframe-major).
        let keyframe_of_row = |row: usize| &labels[row / SLOT_CLASSES];
        for (a, (logits, target)) in reading.scene.iter().zip(&targets.scene).enumerate() {
            for (k, (p, t)) in argmax(logits)?
                .iter()
                .zip(target.to_vec1::<u32>()?)
                .enumerate()
            {
                tallies[a].add_class(&labels[k], t as usize, *p as usize);
            }
        }
        let present: Vec<u32> = targets.presence.to_vec1()?;
        let base = SCENE.len();
        for (row, (p, t)) in argmax(&reading.presence)?.iter().zip(&present).enumerate() {
            tallies[base].add_class(keyframe_of_row(row), *t as usize, *p as usize);
        }
        // Pose and each trait count only where the shot shows them.
        let mut counted: Vec<Vec<f32>> = vec![targets.pose_shown.to_vec1()?];
        for shown in &targets.trait_shown {
            counted.push(shown.to_vec1()?);
        }
        let per_character = std::iter::once((&reading.pose, &targets.pose))
            .chain(reading.traits.iter().zip(&targets.traits))
            .zip(counted);
        for (k, ((logits, target), counted)) in per_character.enumerate() {
            let predicted = argmax(logits)?;
            let target = target.to_vec1::<u32>()?;
            for row in (0..present.len()).filter(|&row| counted[row] == 1.0) {
                tallies[base + 1 + k].add_class(
                    keyframe_of_row(row),
                    target[row] as usize,
                    predicted[row] as usize,
                );
            }
        }
        // The white balance is right where every channel's gain is within 1 % of the
        // truth: about 2.5 levels of a bright colour.
        if let Some(log_gain) = &reading.log_daylight_gain {
            for (keyframe, predicted) in labels.iter().zip(log_gain.exp()?.to_vec2::<f32>()?) {
                let within = (predicted.iter().zip(keyframe.daylight_gain()))
                    .all(|(p, t)| (p / t - 1.0).abs() <= 0.01);
                tallies[gain_row].add(keyframe, within);
            }
        }
        progress(chunk.len());
    }
    Ok(names
        .into_iter()
        .zip(&tallies)
        .map(|(attribute, tally)| tally.accuracy(attribute))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::labels::ActorLabels;
    use moviedreamer_storyworld::world::Style;

    fn keyframe(shot_type: usize) -> KeyframeLabels {
        KeyframeLabels {
            location: 0,
            time: 0,
            style: 0,
            shot_type,
            actors: vec![ActorLabels {
                id: "ana".into(),
                slot: 0,
                pose: 0,
                facing: 1,
                bbox: [0.0, 0.0, 10.0, 30.0],
                face_box: [2.0, 0.0, 8.0, 6.0],
                traits: [1; 10],
            }],
        }
    }

    /// Trait `name`'s mask on the row of the keyframe's one character.
    fn shown(targets: &Targets, name: &str, row: usize) -> f32 {
        let t = TRAIT_NAMES.iter().position(|n| *n == name).unwrap();
        targets.trait_shown[t].to_vec1::<f32>().unwrap()[row]
    }

    #[test]
    fn traits_too_small_to_see_and_close_up_poses_are_neither_taught_nor_scored() {
        // A wide shot (left slot, row 0) and a close-up (drawn in the centre, row 4).
        let targets = targets(&[keyframe(0), keyframe(2)], 64).unwrap();
        assert_eq!(shown(&targets, "skin", 0), 1.0);
        assert_eq!(shown(&targets, "eyes", 0), 0.0);
        assert_eq!(shown(&targets, "mouth", 0), 0.0);
        assert_eq!(shown(&targets, "height", 0), 1.0);
        assert_eq!(shown(&targets, "eyes", 4), 1.0);
        assert_eq!(shown(&targets, "height", 4), 0.0);
        // Nobody stands in the close-up's left slot: nothing there counts.
        assert_eq!(shown(&targets, "skin", 3), 0.0);
        // Pose counts for the wide shot's character, not the close-up's.
        let pose_shown = targets.pose_shown.to_vec1::<f32>().unwrap();
        assert_eq!(
            (pose_shown[0], pose_shown[4], pose_shown[3]),
            (1.0, 0.0, 0.0)
        );
    }

    #[test]
    fn colours_the_style_draws_alike_are_neither_taught_nor_scored() {
        // Two medium shots in sepia: an orange outfit (one level from pink there) and a
        // yellow one (apart from every other).
        let sepia = Style::ALL.iter().position(|s| *s == Style::Sepia).unwrap();
        let outfit = TRAIT_NAMES.iter().position(|n| *n == "outfit").unwrap();
        let mut orange = keyframe(1);
        orange.style = sepia;
        orange.actors[0].traits[outfit] = 1;
        let mut yellow = orange.clone();
        yellow.actors[0].traits[outfit] = 2;
        let sepia_targets = targets(&[orange.clone(), yellow], 64).unwrap();
        assert_eq!(shown(&sepia_targets, "outfit", 0), 0.0);
        assert_eq!(shown(&sepia_targets, "outfit", 3), 1.0);
        // Shapes are read in any style; the same orange counts in flat colours.
        assert_eq!(shown(&sepia_targets, "head", 0), 1.0);
        let flat = KeyframeLabels { style: 0, ..orange };
        assert_eq!(shown(&targets(&[flat], 64).unwrap(), "outfit", 0), 1.0);
    }

    #[test]
    fn the_hair_colour_of_a_bald_character_is_neither_taught_nor_scored() {
        let hair_style = TRAIT_NAMES.iter().position(|n| *n == "hair_style").unwrap();
        let short_hair = keyframe(1);
        let mut bald = short_hair.clone();
        bald.actors[0].traits[hair_style] = 0;
        let targets = targets(&[short_hair, bald], 64).unwrap();
        assert_eq!(shown(&targets, "hair_colour", 0), 1.0);
        assert_eq!(shown(&targets, "hair_colour", 3), 0.0);
        // Baldness itself is a hair style, and is read.
        assert_eq!(shown(&targets, "hair_style", 3), 1.0);
    }
}
