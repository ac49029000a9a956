//! StoryWorld clips for the animator: each shot's ground-truth frames (`clips/<shot>.png`,
//! frames side by side, frame 0 the keyframe) with the motion its script describes, read
//! exactly as the animator reads a user's script at generation time.

use std::path::Path;

use candle_core::{Device, Tensor};
use image::RgbImage;
use moviedreamer_media::strip::split_frames;
use moviedreamer_models::animator::{Motion, MotionBatch, PreviousFrames};
use moviedreamer_storyworld::identity::Split;
use rand::Rng;

use super::dataset::{KeyframeDataset, read_film_script};
use super::error::DataError;
use super::to_tensor;

/// The clips of one split with their motion, in film then shot order.
#[derive(Debug, Clone)]
pub struct ClipDataset {
    keyframes: KeyframeDataset,
    motions: Vec<Motion>,
}

impl ClipDataset {
    /// Reads the index of `split` and every film's script.
    pub fn open(dir: impl AsRef<Path>, split: Split) -> Result<Self, DataError> {
        let keyframes = KeyframeDataset::open(dir, split)?;
        let mut motions = Vec::with_capacity(keyframes.len());
        let mut film: Option<(usize, Vec<Motion>)> = None;
        for item in keyframes.items() {
            if film.as_ref().is_none_or(|(number, _)| *number != item.film) {
                let script_path = film_folder(&item.path).join("script.yaml");
                let script = read_film_script(&script_path)?;
                let shots = script
                    .scenes
                    .iter()
                    .flat_map(|scene| &scene.shots)
                    .map(Motion::of_shot)
                    .collect();
                film = Some((item.film, shots));
            }
            let Some((_, shots)) = &film else {
                unreachable!("a film was just read")
            };
            let motion = shots
                .get(item.shot)
                .copied()
                .ok_or_else(|| DataError::Script {
                    path: film_folder(&item.path).join("script.yaml"),
                    message: format!(
                        "has {} shots, but labels.jsonl has shot {}",
                        shots.len(),
                        item.shot
                    ),
                })?;
            motions.push(motion);
        }
        Ok(ClipDataset { keyframes, motions })
    }

    /// Clips in the split.
    pub fn len(&self) -> usize {
        self.keyframes.len()
    }

    /// Whether the split has no clips.
    pub fn is_empty(&self) -> bool {
        self.keyframes.is_empty()
    }

    /// Frames per clip, as the dataset was generated.
    pub fn frames(&self) -> usize {
        self.keyframes.config().frames
    }

    /// Frame side in pixels.
    pub fn image_size(&self) -> u32 {
        self.keyframes.image_size()
    }

    /// The keyframe index underneath (labels, paths).
    pub fn keyframes(&self) -> &KeyframeDataset {
        &self.keyframes
    }

    /// The motion of clip `i`.
    pub fn motion(&self, i: usize) -> Motion {
        self.motions[i]
    }

    /// The clip of the shot before clip `i` in the same scene of the same film, if clip `i`
    /// does not start its scene.
    pub fn previous_shot(&self, i: usize) -> Option<usize> {
        let items = self.keyframes.items();
        let (item, earlier) = (items.get(i)?, items.get(i.checked_sub(1)?)?);
        (earlier.film == item.film && earlier.scene == item.scene && earlier.shot + 1 == item.shot)
            .then_some(i - 1)
    }

    /// The frames of clip `i`.
    pub fn load_clip(&self, i: usize) -> Result<Vec<RgbImage>, DataError> {
        let item = self.keyframes.get(i).ok_or(DataError::Index {
            index: i,
            len: self.len(),
        })?;
        let path = film_folder(&item.path).join(format!("clips/{:06}.png", item.shot));
        let strip = image::open(&path)
            .map_err(|err| DataError::Image {
                path: path.clone(),
                message: format!("cannot read the clip: {err}"),
            })?
            .to_rgb8();
        let size = self.image_size();
        let frames = self.frames() as u32;
        if strip.dimensions() != (size * frames, size) {
            return Err(DataError::Image {
                path,
                message: format!(
                    "the clip is {}x{} but dataset.json says {frames} frames of {size}x{size} side by side",
                    strip.width(),
                    strip.height()
                ),
            });
        }
        Ok(split_frames(&strip, size))
    }
}

/// The film folder of a keyframe (`…/film-00012/keyframes/000003.png`).
fn film_folder(keyframe: &Path) -> &Path {
    keyframe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
}

/// A clip and its motion seen in a mirror ([`Motion::mirrored`]).
pub fn mirror_clip(frames: &[RgbImage], motion: Motion) -> (Vec<RgbImage>, Motion) {
    let frames = frames
        .iter()
        .map(image::imageops::flip_horizontal)
        .collect();
    (frames, motion.mirrored())
}

/// A batch of clips as the animator trains on them.
pub struct ClipBatch {
    /// The clips (B, frames, 3, H, W) in [-1, 1], frame 0 the keyframe.
    pub clips: Tensor,
    /// What moves in each.
    pub motion: MotionBatch,
    /// The last true frame of the previous shot of each clip's scene, where there is one.
    pub previous: PreviousFrames,
}

/// Loads the clips at `indices` (each mirrored with probability `flip`, its previous frame
/// with it) with their motion and previous frames.
pub fn load_clip_batch(
    dataset: &ClipDataset,
    indices: &[usize],
    flip: f64,
    rng: &mut impl Rng,
    device: &Device,
) -> Result<ClipBatch, DataError> {
    let mut clips = Vec::with_capacity(indices.len());
    let mut motions = Vec::with_capacity(indices.len());
    let mut previous = Vec::with_capacity(indices.len());
    for &index in indices {
        let (mut frames, mut motion) = (dataset.load_clip(index)?, dataset.motion(index));
        let mut before = match dataset.previous_shot(index) {
            Some(earlier) => dataset.load_clip(earlier)?.pop(),
            None => None,
        };
        if rng.random::<f64>() < flip {
            (frames, motion) = mirror_clip(&frames, motion);
            before = before.map(|frame| image::imageops::flip_horizontal(&frame));
        }
        clips.push(to_tensor(&frames, device)?.unsqueeze(0)?);
        motions.push(motion);
        previous.push(before);
    }
    Ok(ClipBatch {
        clips: Tensor::cat(&clips, 0)?,
        motion: MotionBatch::new(&motions, device)?,
        previous: PreviousFrames::new(&previous, dataset.image_size() as usize, device)?,
    })
}
