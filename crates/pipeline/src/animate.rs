//! Keyframes to clips: the animator run over a film's shots in batches (for a chained
//! animator, in waves: a shot after the clip of the shot before it in its scene, whose last
//! frame it carries on from). Each shot's noise
//! comes from its own stream of the run's seed, and each clip is written (atomically) as
//! soon as its batch is done, as `clips/<shot>.png` with its frames side by side, and
//! recorded in `manifest.json`. An interrupted run, kill -9 included, continues where it
//! stopped and gives the same bytes as a run that never stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use candle_core::Device;
use image::RgbImage;
use moviedreamer_media::strip::{join_frames, split_frames};
use moviedreamer_models::animator::{Animator, ClipSampling, Motion, MotionBatch, PreviousFrames};
use moviedreamer_models::pictures::{from_tensor, to_tensor};

use crate::manifest::{Item, ItemStatus, Manifest};
use crate::{PipelineError, write_png};

/// How clips are sampled.
#[derive(Clone, Debug, PartialEq)]
pub struct AnimateSettings {
    /// Steps, guidance and where sampling starts.
    pub sampling: ClipSampling,
    /// Seed of every shot's noise.
    pub seed: u64,
    /// Shots sampled together.
    pub batch: usize,
}

/// A shot to animate: its index in the film, its keyframe file and its motion.
#[derive(Clone, Debug)]
pub struct ShotToAnimate {
    /// Index of the shot in the film (names its clip).
    pub index: usize,
    /// The keyframe picture.
    pub keyframe: PathBuf,
    /// What moves in it.
    pub motion: Motion,
    /// The shot before it in its scene, whose clip's last frame a chained animator carries
    /// on from; `None` for the first shot of a scene.
    pub previous: Option<usize>,
}

/// The clip file of shot `index` in a run directory.
pub fn clip_path(run_dir: &Path, index: usize) -> PathBuf {
    run_dir.join(format!("clips/{index:06}.png"))
}

/// The manifest id of shot `index`'s clip.
fn clip_id(index: usize) -> String {
    format!("clip/{index:06}")
}

/// Animates every shot that has no finished clip in `run_dir` yet; `on_clip` is called for
/// every shot, done before or now (for a progress bar). Returns how many were animated now.
///
/// `config` describes the inputs and settings (model, keyframes) and is kept in the
/// manifest: a run directory made with another script or config is refused.
pub fn animate_shots(
    animator: &Animator,
    script: &Path,
    config: serde_json::Value,
    shots: &[ShotToAnimate],
    run_dir: &Path,
    settings: &AnimateSettings,
    mut on_clip: impl FnMut(),
) -> Result<usize, PipelineError> {
    let config = serde_json::json!({
        "animate": config,
        "steps": settings.sampling.steps,
        "guidance": settings.sampling.guidance,
        "start_noise": settings.sampling.start_noise,
    });
    let mut manifest = Manifest::open_run(
        run_dir,
        script,
        config,
        BTreeMap::from([("animate".to_owned(), settings.seed)]),
        shots.iter().map(|shot| clip_id(shot.index)),
    )?;
    let (done, pending): (Vec<&ShotToAnimate>, Vec<&ShotToAnimate>) =
        shots.iter().partition(|shot| {
            manifest
                .items
                .get(&clip_id(shot.index))
                .is_some_and(|item| {
                    item.status == ItemStatus::Done && clip_path(run_dir, shot.index).is_file()
                })
        });
    done.iter().for_each(|_| on_clip());
    let device = Device::Cpu;
    let chain = animator.config().chain;
    let mut finished: BTreeSet<usize> = done.iter().map(|shot| shot.index).collect();
    let mut waiting = pending.clone();
    // A chained animator needs a shot's previous clip before the shot: it goes in waves,
    // each of the shots whose previous clip is finished (one shot of every scene at a time).
    while !waiting.is_empty() {
        let (ready, later): (Vec<&ShotToAnimate>, Vec<&ShotToAnimate>) = waiting
            .iter()
            .partition(|shot| !chain || shot.previous.is_none_or(|p| finished.contains(&p)));
        if ready.is_empty() {
            return Err(PipelineError::BadShot {
                shot: later[0].index,
                message: "its previous shot is not among the shots to animate".into(),
            });
        }
        for batch in ready.chunks(settings.batch.max(1)) {
            animate_batch(animator, batch, run_dir, settings, &device)?;
            for shot in batch {
                manifest.set(
                    &clip_id(shot.index),
                    Item {
                        status: ItemStatus::Done,
                        output: clip_path(run_dir, shot.index)
                            .strip_prefix(run_dir)
                            .ok()
                            .map(Path::to_path_buf),
                        error: None,
                    },
                )?;
                finished.insert(shot.index);
                on_clip();
            }
            manifest.save(run_dir)?;
        }
        waiting = later;
    }
    Ok(pending.len())
}

/// Animates one batch of shots and writes their clips. A chained animator reads each
/// shot's previous frame from its previous clip's file, so an interrupted run and one that
/// never stopped see the same pixels.
fn animate_batch(
    animator: &Animator,
    batch: &[&ShotToAnimate],
    run_dir: &Path,
    settings: &AnimateSettings,
    device: &Device,
) -> Result<(), PipelineError> {
    let size = animator.config().image_size as u32;
    let keyframes = batch
        .iter()
        .map(|shot| read_keyframe(&shot.keyframe, size))
        .collect::<Result<Vec<_>, _>>()?;
    let previous = if animator.config().chain {
        let frames = batch
            .iter()
            .map(|shot| {
                shot.previous
                    .map(|p| last_frame(&clip_path(run_dir, p), size))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        PreviousFrames::new(&frames, size as usize, device)?
    } else {
        PreviousFrames::none(batch.len(), animator.config(), device)?
    };
    let motions: Vec<Motion> = batch.iter().map(|shot| shot.motion).collect();
    let indices: Vec<usize> = batch.iter().map(|shot| shot.index).collect();
    let noise = animator.shot_noise(settings.seed, &indices, device)?;
    let clips = animator.animate(
        &to_tensor(&keyframes, device)?,
        &MotionBatch::new(&motions, device)?,
        &previous,
        &noise,
        settings.sampling,
    )?;
    for (b, shot) in batch.iter().enumerate() {
        let frames = from_tensor(&clips.get(b)?)?;
        write_png(&clip_path(run_dir, shot.index), &join_frames(&frames))?;
    }
    Ok(())
}

/// The last frame of a clip file (frames of `size` side by side).
fn last_frame(path: &Path, size: u32) -> Result<RgbImage, PipelineError> {
    let strip = image::open(path)
        .map_err(|err| PipelineError::BadKeyframe {
            path: path.to_path_buf(),
            message: format!("cannot read the previous shot's clip: {err}"),
        })?
        .to_rgb8();
    split_frames(&strip, size)
        .pop()
        .ok_or_else(|| PipelineError::BadKeyframe {
            path: path.to_path_buf(),
            message: "the clip has no frames".into(),
        })
}

/// Reads a keyframe, which must be the animator's size.
pub fn read_keyframe(path: &Path, size: u32) -> Result<RgbImage, PipelineError> {
    let image = image::open(path)
        .map_err(|err| PipelineError::BadKeyframe {
            path: path.to_path_buf(),
            message: format!("cannot read the picture: {err}"),
        })?
        .to_rgb8();
    if image.dimensions() != (size, size) {
        return Err(PipelineError::BadKeyframe {
            path: path.to_path_buf(),
            message: format!(
                "the keyframe is {}x{} but the animator makes {size}x{size} clips\n  help: give keyframes of the animator's size",
                image.width(),
                image.height()
            ),
        });
    }
    Ok(image)
}
