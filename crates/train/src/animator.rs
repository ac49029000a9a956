//! Training the animator on StoryWorld clips: each shot's ground-truth frames, conditioned
//! on its keyframe and the motion its script describes.
//!
//! The loop reads top to bottom, as nanoGPT's: data, model, optimiser, resume, then steps
//! of load → loss and backward (micro-batches side by side on the cores) → clip → update →
//! EMA → log, with a checkpoint every so often and on Ctrl-C. The result is a model
//! directory holding the EMA weights in f16.

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use image::RgbImage;
use moviedreamer_eval::clip::{Axis, tracked_shift};
use moviedreamer_models::animator::{
    ACTIONS, Animator, AnimatorConfig, CAMERAS, ClipSampling, Motion, PreviousFrames,
};
use moviedreamer_models::pictures::from_tensor;
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::parallel::split_ranges;
use moviedreamer_storyworld::identity::Split;
use moviedreamer_storyworld::world::{Pose, SHOT_TYPES, ShotType, shot_type_name};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{
    BatchPosition, Batches, ClipBatch, ClipDataset, KeyframeLabels, load_clip_batch,
};
use crate::error::{TrainingError, check_micro_batches};
use crate::optimisation::{Optimisation, OptimiserSettings};
use crate::session::{RunOptions, Session, TrainingSummary};

/// Everything an animator training run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnimatorTraining {
    /// The model to train.
    pub model: AnimatorConfig,
    /// Optimiser steps in all.
    pub steps: u64,
    /// Clips per step.
    pub batch: usize,
    /// Equal parts each batch is split into, computed side by side on the machine's cores;
    /// their gradients are averaged. Must divide `batch`.
    pub micro_batches: usize,
    /// Learning rate, warm-up, clipping and weight average.
    #[serde(flatten)]
    pub optimiser: OptimiserSettings,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Probability of mirroring a clip (left and right slots swap, pans reverse).
    pub flip: f64,
    /// Seed of the data order, noise and timesteps.
    pub seed: u64,
}

impl AnimatorTraining {
    /// Settings for a preset model: `micro` (seconds, for tests) or `storyworld`.
    pub fn preset(name: &str) -> Option<Self> {
        let base = AnimatorTraining {
            model: AnimatorConfig::storyworld(),
            steps: 2000,
            batch: 8,
            micro_batches: 2,
            optimiser: OptimiserSettings {
                learning_rate: 1e-3,
                warmup: 100,
                clip: 1.0,
                ema_decay: 0.999,
            },
            checkpoint_every: 100,
            flip: 0.5,
            seed: 0,
        };
        match name {
            "storyworld" => Some(base),
            "micro" => Some(AnimatorTraining {
                model: AnimatorConfig {
                    frames: 8,
                    ..AnimatorConfig::micro()
                },
                steps: 20,
                batch: 4,
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

/// Trains an animator on the train split's clips of the StoryWorld dataset in `data`,
/// writing checkpoints, `metrics.jsonl`, `loss.png` and finally `model/` into the run
/// directory. Resumed, it continues exactly where it stopped.
pub fn train_animator(
    settings: &AnimatorTraining,
    data: &Path,
    options: &RunOptions,
) -> Result<TrainingSummary, TrainingError> {
    let device = Device::Cpu;
    check_micro_batches(settings.batch, settings.micro_batches)?;

    // Data: the clips must be the model's size and length.
    let dataset = ClipDataset::open(data, Split::Train)?;
    if dataset.image_size() as usize != settings.model.image_size {
        return Err(TrainingError::ImageSize {
            path: data.to_path_buf(),
            expected: settings.model.image_size,
            found: dataset.image_size(),
        });
    }
    if dataset.frames() != settings.model.frames {
        return Err(TrainingError::ClipFrames {
            path: data.to_path_buf(),
            expected: settings.model.frames,
            found: dataset.frames(),
        });
    }
    let mut batches = Batches::new(dataset.len(), settings.batch, settings.seed, true)?;

    // Model, optimiser, weight average, learning-rate schedule.
    let varmap = VarMap::new();
    let model = Animator::new(&settings.model, seeded_var_builder(&varmap, settings.seed))?;
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
        let ClipBatch {
            clips,
            motion,
            previous,
        } = load_clip_batch(
            &dataset,
            &batch.indices,
            settings.flip,
            &mut batch.rng(),
            &device,
        )?;
        // Each micro-batch draws its noise from its own generator, seeded from the run's, so
        // the step is the same however many threads compute it.
        let parts = split_ranges(clips.dim(0)?, settings.micro_batches);
        let seeds: Vec<u64> = parts.iter().map(|_| session.rng.random()).collect();
        let report = optimisation.step(session.step, parts.len(), |i| {
            let part = &parts[i];
            model.training_loss(
                &clips.narrow(0, part.start, part.len())?,
                &motion.narrow(part.start, part.len())?,
                &previous.narrow(part.start, part.len())?,
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

/// How an animator's clips compare with the true ones, for the clips of one kind of motion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MotionScores {
    /// Which clips: `all`, `camera moves`, `someone walks`, …
    pub motion: String,
    /// Clips of this kind measured.
    pub clips: usize,
    /// PSNR (dB) of the generated frames (all but the keyframe) against the true ones, from
    /// the group's mean squared error; `None` when they are equal.
    pub animated_psnr: Option<f64>,
    /// PSNR (dB) of the keyframe held still against the true frames: the baseline an
    /// animator that moves nothing gets (`None` when the true clips do not move at all).
    pub still_psnr: Option<f64>,
    /// Mean absolute change between consecutive generated frames (0–255 units).
    pub animated_motion: f64,
    /// The same of the true frames: how much they really move.
    pub true_motion: f64,
}

/// Which clips belong to a motion group.
type MotionFilter = fn(&Motion) -> bool;

/// A true clip and the animator's, each (frames, 3, H, W) in [-1, 1].
pub type ClipPair = (Tensor, Tensor);

/// Everything `evaluate_animator` measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnimatorScores {
    /// Picture fidelity and amount of motion, by kind of motion.
    pub by_motion: Vec<MotionScores>,
    /// Whether what should move moved the way and the distance it should.
    pub tracked: Vec<TrackedScores>,
    /// Whether wavers wave: over all shots first, then by shot type (empty when no clip
    /// measured has a waver).
    pub waves: Vec<WaveScores>,
}

/// The motion groups scores are reported for, with which clips belong to each.
const MOTION_GROUPS: [(&str, MotionFilter); 7] = [
    ("all", |_| true),
    ("still (stand or sit, camera still)", |m| {
        m.camera == 0 && only_actions(m, &["none", "stand", "sit"])
    }),
    ("someone walks", |m| someone(m, "walk")),
    ("someone waves", |m| someone(m, "wave")),
    ("someone jumps", |m| someone(m, "jump")),
    ("someone talks", |m| someone(m, "talk")),
    ("camera pans or zooms", |m| m.camera != 0),
];

/// Whether a slot's action is `verb` (a walk whichever way it goes).
fn someone(motion: &Motion, verb: &str) -> bool {
    motion
        .actions
        .iter()
        .any(|&a| ACTIONS[a as usize].split('-').next() == Some(verb))
}

/// Whether every slot's action is one of `names`.
fn only_actions(motion: &Motion, names: &[&str]) -> bool {
    motion
        .actions
        .iter()
        .all(|&a| names.contains(&ACTIONS[a as usize]))
}

/// Per-clip numbers before averaging.
struct ClipNumbers {
    motion: Motion,
    animated_mse: f64,
    still_mse: f64,
    animated_motion: f64,
    true_motion: f64,
    tracked: Vec<Tracked>,
    waves: Vec<WaveCase>,
}

/// What is tracked in a clip to tell whether it moves as its shot says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackedThing {
    /// A walker's figure box, sideways, from the keyframe to the last frame.
    Walker,
    /// A jumper's figure box, up and down, from the keyframe to the middle frame (the top
    /// of the jump).
    Jumper,
    /// The whole frame of a pan, sideways, from the keyframe to the last frame.
    Pan,
}

impl TrackedThing {
    const ALL: [TrackedThing; 3] = [
        TrackedThing::Walker,
        TrackedThing::Jumper,
        TrackedThing::Pan,
    ];

    fn description(self) -> &'static str {
        match self {
            TrackedThing::Walker => "walkers (figure, sideways, by the last frame)",
            TrackedThing::Jumper => "jumpers (figure, up or down, by the middle frame)",
            TrackedThing::Pan => "pans (whole frame, sideways, by the last frame)",
        }
    }
}

/// One tracked thing's shift in pixels in the true clip and in the animated one.
#[derive(Debug, Clone, Copy)]
struct Tracked {
    thing: TrackedThing,
    truth: i32,
    animated: i32,
}

/// How far the things a shot says move went, tracked by block matching
/// ([`tracked_shift`]) in the true clips and the animator's: whether walkers walk, jumpers
/// jump and pans pan, the way and the distance the truth does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackedScores {
    /// What was tracked.
    pub what: String,
    /// Cases tracked (those the true clip moves at all).
    pub cases: usize,
    /// Mean distance the true clips moved it, in pixels.
    pub true_distance: f64,
    /// Mean shift of the animated clips along the true direction, in pixels (negative: the
    /// wrong way).
    pub animated_along: f64,
    /// Share of cases the animated clip moved the right way and to within half the true
    /// distance of it; holding the keyframe still scores 0.
    pub moved_as_told: f64,
}

/// Tracks, for one clip, each walker and jumper of its keyframe and the frame of a pan, in
/// the true frames and the animated ones, both (frames, 3, H, W) in [-1, 1]. Things the true
/// clip does not move are left out.
fn track_clip(
    labels: &KeyframeLabels,
    motion: &Motion,
    truth: &Tensor,
    animated: &Tensor,
) -> Result<Vec<Tracked>, TrainingError> {
    let mut targets = Vec::new();
    for actor in &labels.actors {
        if actor.pose == Pose::Walk.index() {
            targets.push((TrackedThing::Walker, Some(actor.bbox), Axis::Horizontal));
        } else if actor.pose == Pose::Jump.index() {
            targets.push((TrackedThing::Jumper, Some(actor.bbox), Axis::Vertical));
        }
    }
    if CAMERAS[motion.camera as usize].starts_with("pan") {
        targets.push((TrackedThing::Pan, None, Axis::Horizontal));
    }
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let (truth, animated) = (from_tensor(truth)?, from_tensor(animated)?);
    let (last, middle) = (truth.len() - 1, truth.len() / 2);
    let (width, height) = truth[0].dimensions();
    // Walks and pans cross about a fifth of the frame; a quarter bounds the search.
    let reach = width / 4;
    let mut tracked = Vec::new();
    for (thing, region, axis) in targets {
        let region = region.unwrap_or([0.0, 0.0, width as f32, height as f32]);
        let frame = if thing == TrackedThing::Jumper {
            middle
        } else {
            last
        };
        let shift = |clip: &[RgbImage]| {
            tracked_shift(&clip[0], &clip[frame], region, axis, reach)
                .map_err(|e| TrainingError::Tensor(candle_core::Error::msg(e)))
        };
        let (truth, animated) = (shift(&truth)?, shift(&animated)?);
        if truth != 0 {
            tracked.push(Tracked {
                thing,
                truth,
                animated,
            });
        }
    }
    Ok(tracked)
}

/// One waver's figure box in the true clip, the animated one and the keyframe held still.
struct WaveCase {
    shot_type: ShotType,
    true_change: f64,
    animated_change: f64,
    animated_mse: f64,
    still_mse: f64,
}

/// Whether wavers wave. A wave moves an arm in place, so there is no shift to track;
/// instead each waver's figure box is compared over the frames after the keyframe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaveScores {
    /// Which shots: "all shots", or one shot type's ("close-up shots").
    pub shots: String,
    /// Wavers measured.
    pub cases: usize,
    /// Mean change between frames inside the true clips' boxes, in 0–255 units.
    pub true_change: f64,
    /// The same inside the animated clips' boxes.
    pub animated_change: f64,
    /// PSNR inside the boxes, animated clips against the true ones.
    pub animated_psnr: Option<f64>,
    /// PSNR inside the boxes, the keyframe held still against the true clips.
    pub still_psnr: Option<f64>,
    /// Share of wavers whose animated box changes at least half as much as the true one
    /// and is closer to the true frames than the keyframe held still is; holding still
    /// scores 0.
    pub waved_as_told: f64,
}

/// Each waver's figure box of a keyframe, measured in the true clip, the animated one and
/// the keyframe held still, all (frames, 3, H, W).
fn wave_cases(
    labels: &KeyframeLabels,
    truth: &Tensor,
    animated: &Tensor,
    still: &Tensor,
) -> candle_core::Result<Vec<WaveCase>> {
    let (frames, _, height, width) = truth.dims4()?;
    let mut cases = Vec::new();
    for actor in labels
        .actors
        .iter()
        .filter(|a| a.pose == Pose::Wave.index())
    {
        let [x0, y0, x1, y1] = actor.bbox;
        let pixel = |v: f32, limit: usize| (v.max(0.0) as usize).min(limit);
        let (left, top) = (pixel(x0.floor(), width), pixel(y0.floor(), height));
        let (right, bottom) = (pixel(x1.ceil(), width), pixel(y1.ceil(), height));
        if right <= left || bottom <= top {
            continue;
        }
        let crop = |clip: &Tensor| {
            clip.narrow(2, top, bottom - top)?
                .narrow(3, left, right - left)
        };
        let later = |clip: &Tensor| crop(clip)?.narrow(0, 1, frames - 1);
        cases.push(WaveCase {
            shot_type: SHOT_TYPES[labels.shot_type],
            true_change: frame_change(&crop(truth)?)?,
            animated_change: frame_change(&crop(animated)?)?,
            animated_mse: mse(&later(animated)?, &later(truth)?)?,
            still_mse: mse(&later(still)?, &later(truth)?)?,
        });
    }
    Ok(cases)
}

/// The wave scores over every waver measured, then by shot type: a close-up's arm is drawn
/// 4.6 times as large as a wide shot's (`figure_scale`), and may reach out of the frame.
fn wave_scores(numbers: &[ClipNumbers]) -> Vec<WaveScores> {
    let cases: Vec<&WaveCase> = numbers.iter().flat_map(|n| &n.waves).collect();
    let by_shot_type = SHOT_TYPES.iter().filter_map(|&shot_type| {
        let cases: Vec<&WaveCase> = cases
            .iter()
            .copied()
            .filter(|c| c.shot_type == shot_type)
            .collect();
        wave_summary(&format!("{} shots", shot_type_name(shot_type)), &cases)
    });
    wave_summary("all shots", &cases)
        .into_iter()
        .chain(by_shot_type)
        .collect()
}

/// The wave scores of `cases`, labelled `shots` (`None` when there are none).
fn wave_summary(shots: &str, cases: &[&WaveCase]) -> Option<WaveScores> {
    let n = cases.len() as f64;
    let mean = |value: fn(&WaveCase) -> f64| cases.iter().map(|c| value(c)).sum::<f64>() / n;
    (!cases.is_empty()).then(|| WaveScores {
        shots: shots.to_owned(),
        cases: cases.len(),
        true_change: mean(|c| c.true_change),
        animated_change: mean(|c| c.animated_change),
        animated_psnr: psnr(mean(|c| c.animated_mse)),
        still_psnr: psnr(mean(|c| c.still_mse)),
        waved_as_told: mean(|c| {
            let waved = 2.0 * c.animated_change >= c.true_change && c.animated_mse < c.still_mse;
            f64::from(u8::from(waved))
        }),
    })
}

/// The tracked scores of each kind of thing tracked at least once.
fn tracked_scores(numbers: &[ClipNumbers]) -> Vec<TrackedScores> {
    TrackedThing::ALL
        .iter()
        .filter_map(|&thing| {
            let cases: Vec<&Tracked> = numbers
                .iter()
                .flat_map(|n| &n.tracked)
                .filter(|t| t.thing == thing)
                .collect();
            let n = cases.len() as f64;
            let mean = |value: fn(&Tracked) -> f64| cases.iter().map(|t| value(t)).sum::<f64>() / n;
            (!cases.is_empty()).then(|| TrackedScores {
                what: thing.description().to_owned(),
                cases: cases.len(),
                true_distance: mean(|t| t.truth.abs() as f64),
                animated_along: mean(|t| (t.animated * t.truth.signum()) as f64),
                moved_as_told: mean(|t| {
                    let close = 2 * (t.animated - t.truth).abs() <= t.truth.abs();
                    f64::from(u8::from(close))
                }),
            })
        })
        .collect()
}

/// Animates `count` clips spread evenly over `dataset` (from their true keyframes, each
/// clip's noise from its own stream of `seed`, sampling as [`Animator::animate`] does) and compares them with the true clips.
/// Returns the scores (by motion group, and of the things tracked) and the first
/// `examples` clips as (true, generated) tensors (frames, 3, H, W) for a sheet.
pub fn evaluate_animator(
    animator: &Animator,
    dataset: &ClipDataset,
    count: usize,
    sampling: ClipSampling,
    seed: u64,
    examples: usize,
    mut progress: impl FnMut(usize),
) -> Result<(AnimatorScores, Vec<ClipPair>), TrainingError> {
    let device = Device::Cpu;
    let count = count.clamp(1, dataset.len());
    let indices: Vec<usize> = (0..count).map(|i| i * dataset.len() / count).collect();
    let mut numbers = Vec::with_capacity(count);
    let mut shown = Vec::new();
    for chunk in indices.chunks(8) {
        let batch = load_clip_batch(
            dataset,
            chunk,
            0.0,
            &mut ChaCha8Rng::seed_from_u64(0),
            &device,
        )?;
        let truth = batch.clips;
        let keyframes = truth.narrow(1, 0, 1)?.squeeze(1)?;
        let noise = animator.shot_noise(seed, chunk, &device)?;
        // A chained animator sees the true previous frame; an unchained one none.
        let previous = if animator.config().chain {
            batch.previous
        } else {
            PreviousFrames::none(chunk.len(), animator.config(), &device)?
        };
        let generated = animator.animate(&keyframes, &batch.motion, &previous, &noise, sampling)?;
        for (b, &index) in chunk.iter().enumerate() {
            let (truth, generated) = (truth.get(b)?, generated.get(b)?);
            let labels = &dataset.keyframes().items()[index].labels;
            numbers.push(measure_clip(
                labels,
                dataset.motion(index),
                &truth,
                &generated,
            )?);
            if shown.len() < examples {
                shown.push((truth, generated));
            }
        }
        progress(chunk.len());
    }
    Ok((scores_of(&numbers), shown))
}

/// Everything measured of one clip of a keyframe with `labels` and `motion`: the true
/// frames and the animated ones, both (frames, 3, H, W) in [-1, 1], frame 0 the keyframe.
fn measure_clip(
    labels: &KeyframeLabels,
    motion: Motion,
    truth: &Tensor,
    animated: &Tensor,
) -> Result<ClipNumbers, TrainingError> {
    let later = |clip: &Tensor| clip.narrow(0, 1, clip.dim(0)? - 1);
    let still = truth.narrow(0, 0, 1)?.broadcast_as(truth.shape())?;
    Ok(ClipNumbers {
        motion,
        tracked: track_clip(labels, &motion, truth, animated)?,
        waves: wave_cases(labels, truth, animated, &still)?,
        animated_mse: mse(&later(animated)?, &later(truth)?)?,
        still_mse: mse(&later(&still)?, &later(truth)?)?,
        animated_motion: frame_change(animated)?,
        true_motion: frame_change(truth)?,
    })
}

/// The scores of the clips measured, averaged by motion group and by thing tracked.
fn scores_of(numbers: &[ClipNumbers]) -> AnimatorScores {
    let by_motion = MOTION_GROUPS
        .iter()
        .filter_map(|(name, belongs)| {
            let group: Vec<&ClipNumbers> = numbers.iter().filter(|n| belongs(&n.motion)).collect();
            let mean = |value: fn(&ClipNumbers) -> f64| {
                group.iter().map(|n| value(n)).sum::<f64>() / group.len() as f64
            };
            (!group.is_empty()).then(|| MotionScores {
                motion: (*name).to_owned(),
                clips: group.len(),
                animated_psnr: psnr(mean(|n| n.animated_mse)),
                still_psnr: psnr(mean(|n| n.still_mse)),
                animated_motion: mean(|n| n.animated_motion),
                true_motion: mean(|n| n.true_motion),
            })
        })
        .collect();
    AnimatorScores {
        by_motion,
        tracked: tracked_scores(numbers),
        waves: wave_scores(numbers),
    }
}

/// Mean squared error of two tensors.
fn mse(a: &Tensor, b: &Tensor) -> candle_core::Result<f64> {
    Ok((a - b)?.sqr()?.mean_all()?.to_scalar::<f32>()? as f64)
}

/// PSNR in dB of a mean squared error between pictures in [-1, 1] (peak-to-peak 2); `None`
/// for no error at all.
fn psnr(mse: f64) -> Option<f64> {
    (mse > 0.0).then(|| 10.0 * (4.0 / mse).log10())
}

/// Mean absolute change between consecutive frames of a clip (frames, 3, H, W) in [-1, 1],
/// in 0–255 units.
fn frame_change(clip: &Tensor) -> candle_core::Result<f64> {
    let frames = clip.dim(0)?;
    let change = (clip.narrow(0, 1, frames - 1)? - clip.narrow(0, 0, frames - 1)?)?
        .abs()?
        .mean_all()?
        .to_scalar::<f32>()? as f64;
    Ok(change * 127.5)
}

#[cfg(test)]
mod tests {
    use moviedreamer_storyworld::dataset::{DatasetConfig, generate};
    use moviedreamer_storyworld::identity::Split;

    use super::*;
    use crate::data::to_tensor;

    /// The criteria of "moves as told" on real StoryWorld clips: the true clip meets every
    /// one, and the keyframe held still meets none.
    #[test]
    fn true_clips_move_as_told_and_a_keyframe_held_still_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let config = DatasetConfig {
            films: 10,
            shots: 30,
            size: 32,
            frames: 8,
            portraits: 1,
            seed: 3,
        };
        generate(&config, dir.path(), &|| {}).unwrap();
        let clips = ClipDataset::open(dir.path(), Split::Train).unwrap();
        let (mut true_numbers, mut still_numbers) = (Vec::new(), Vec::new());
        for index in 0..clips.len() {
            let truth = to_tensor(&clips.load_clip(index).unwrap(), &Device::Cpu).unwrap();
            let still = truth
                .narrow(0, 0, 1)
                .unwrap()
                .broadcast_as(truth.shape())
                .unwrap();
            let labels = &clips.keyframes().items()[index].labels;
            let measure = |animated: &Tensor| {
                measure_clip(labels, clips.motion(index), &truth, animated).unwrap()
            };
            true_numbers.push(measure(&truth));
            still_numbers.push(measure(&still));
        }
        let (as_truth, as_still) = (scores_of(&true_numbers), scores_of(&still_numbers));
        assert_eq!(
            as_truth.tracked.len(),
            TrackedThing::ALL.len(),
            "{as_truth:?}"
        );
        for (truth, still) in as_truth.tracked.iter().zip(&as_still.tracked) {
            assert!(truth.cases > 0 && truth.true_distance > 1.0, "{truth:?}");
            assert_eq!(truth.moved_as_told, 1.0, "{truth:?}");
            assert_eq!(still.moved_as_told, 0.0, "{still:?}");
        }
        let (truth, still) = (&as_truth.waves[0], &as_still.waves[0]);
        assert_eq!(truth.shots, "all shots");
        assert!(truth.cases > 0 && truth.true_change > 0.0, "{truth:?}");
        assert_eq!(truth.waved_as_told, 1.0, "{truth:?}");
        assert_eq!(still.waved_as_told, 0.0, "{still:?}");
        assert!(truth.animated_psnr.is_none() && still.still_psnr.is_some());
    }
}
