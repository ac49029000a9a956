//! The animator: an image-to-video diffusion model that turns a keyframe into a short clip
//! that moves as the shot says (who walks, waves, sits, jumps or talks, and how the camera
//! moves).
//!
//! A factorised space-time transformer in pixel space: every frame to generate is cut into
//! patches, each patch token sees the keyframe's patch at the same place (concatenated, as
//! in Stable Video Diffusion), and blocks alternate attention within a frame (space) and
//! across frames at one place (time), as in Latte. The shot's motion and the timestep
//! condition every block through adaLN. The network predicts each frame as the keyframe
//! moved along a predicted flow plus a change, starting from "no motion, no change": a clip
//! is mostly its keyframe, so the model only has to learn what moves, and moving the
//! keyframe's own pixels keeps shapes sharp where predicted pixels would blur. Dropping the
//! motion in training gives classifier-free guidance.

mod motion;

use std::path::Path;

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, Linear, VarBuilder, embedding, linear};
use image::RgbImage;
use moviedreamer_nn::activation::silu;
use moviedreamer_nn::checkpoint::{CheckpointError, load_model_dir};
use moviedreamer_nn::diffusion::{
    ConditionDropout, DpmSolverConfig, DpmSolverMultistep, NoiseSchedule, Prediction, Sampler,
    ScheduleConfig, apply_keep_mask, conditions_by_level, run_guided_sampler,
};
use moviedreamer_nn::init::{SMALL, small_linear};
use moviedreamer_nn::layers::{
    DitBlock, DitBlockConfig, LayerNorm, TimestepEmbedder, modulate, patchify, sincos_positions_2d,
    unpatchify, warp,
};
use moviedreamer_nn::ops::{randn, stream_rng};
use moviedreamer_nn::parallel::{available_threads, run_parts, split_ranges};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::pictures::to_tensor;

pub use motion::{ACTIONS, CAMERAS, Motion, SLOTS, action_class, camera_class};

/// Sizes and training settings of an animator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnimatorConfig {
    /// Frame side in pixels.
    pub image_size: usize,
    /// Colour channels.
    pub channels: usize,
    /// Frames of a clip, the keyframe included (it is frame 0).
    pub frames: usize,
    /// Patch side in pixels.
    pub patch: usize,
    /// Token width.
    pub dim: usize,
    /// Space-time layers (each a spatial and a temporal DiT block).
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Probability of dropping the motion in training, for classifier-free guidance.
    pub motion_dropout: f64,
    /// The noise schedule and what the model predicts (the clip: x₀).
    pub schedule: ScheduleConfig,
    /// How strongly training timesteps lean towards high noise (1 = uniform): only there
    /// must the model rely on the motion, since at low noise the noisy frames show it.
    pub timestep_power: f64,
    /// Whether a clip also sees the last frame of the previous shot of its scene, as
    /// MovieDreamer chains the shots of a scene ([`PreviousFrames`]).
    #[serde(default)]
    pub chain: bool,
    /// Probability of hiding the previous frame in training, so that a chained animator
    /// also animates the first shot of a scene, which has none.
    #[serde(default = "default_previous_dropout")]
    pub previous_dropout: f64,
    /// Whether each frame is predicted as the keyframe moved along a predicted flow, plus a
    /// change ([`warp`]), rather than the keyframe plus a change alone. Shapes that move
    /// then stay sharp where pixel changes blur into ghosts. Off in animators trained
    /// before it existed.
    #[serde(default)]
    pub warp: bool,
    /// Weight of the coarse flow loss of a warping animator: the keyframe moved along the
    /// flow must also match the true frames at 1/4, 1/8 and 1/16 of the size. A flow learns only
    /// from the picture's slope where it samples, which in flat-coloured pictures is a
    /// pixel-wide edge; averaged down, an edge spans several pixels and a larger move is
    /// within reach (coarse to fine, as optical flow is estimated). A move that leaves no
    /// overlap even at 1/16 is still out of reach.
    #[serde(default)]
    pub flow_loss_weight: f64,
    /// How much more the pixels that move count in the loss: a pixel whose true frame
    /// differs from the keyframe weighs `1 + motion_loss_weight`. A waving arm or a jumping
    /// figure is a few dozen of a clip's 28,672 pixels, so under a plain mean the loss all
    /// but ignores them and the model learns to hold them still. 0 in animators trained
    /// before it existed.
    #[serde(default)]
    pub motion_loss_weight: f64,
    /// Weight of a loss on the pixels that hold still in the true frame, 3 px
    /// or more from any that move: their mean absolute error. Under the squared error a
    /// background a few levels off costs almost nothing, so it shimmers; the absolute error
    /// pulls it all the way to still. Keep it light: at 1 it held the wavers' arms still
    /// too, at 0.1 (the bundled animator's last 1,500 steps) more of them wave
    /// (docs/results/animator.md). 0 in the presets and in animators trained before it
    /// existed.
    #[serde(default)]
    pub still_loss_weight: f64,
}

/// How far a pixel of a true frame must differ from the keyframe (in [-1, 1] units, any
/// channel) to count as moving: about 6 levels of 255, above the rounding of a still frame.
const MOVING_THRESHOLD: f64 = 0.05;

/// 1 where a pixel of a true frame differs from the keyframe, else 0: (batch, frames, 1,
/// size, size) for `frames` (batch, frames, channels, size, size).
fn moving_pixels(keyframe: &Tensor, frames: &Tensor) -> Result<Tensor> {
    frames
        .broadcast_sub(&keyframe.unsqueeze(1)?)?
        .abs()?
        .max_keepdim(2)?
        .gt(MOVING_THRESHOLD)?
        .to_dtype(DType::F32)
}

/// How far, in pixels, a still pixel must be from every moving one to count in the
/// still-pixel loss: where a moving thing will be is uncertain by a pixel or two, and
/// there the squared error alone decides.
const STILL_MARGIN: usize = 3;

/// 1 where no pixel within [`STILL_MARGIN`] moves, from `moving` (batch, frames, 1, size,
/// size) as [`moving_pixels`] gives it; the same shape.
fn far_from_motion(moving: &Tensor) -> Result<Tensor> {
    let (batch, frames, _, height, width) = moving.dims5()?;
    let near = moving
        .reshape((batch * frames, 1, height, width))?
        .pad_with_zeros(2, STILL_MARGIN, STILL_MARGIN)?
        .pad_with_zeros(3, STILL_MARGIN, STILL_MARGIN)?
        .max_pool2d_with_stride(2 * STILL_MARGIN + 1, 1)?;
    near.affine(-1.0, 1.0)?
        .reshape((batch, frames, 1, height, width))
}

/// The mean absolute `difference` (shaped as the frames) over the pixels `far` marks
/// ([`far_from_motion`]).
fn still_pixel_loss(difference: &Tensor, far: &Tensor) -> Result<Tensor> {
    let far = far.broadcast_as(difference.shape())?;
    let count = far.sum_all()?.to_scalar::<f32>()?.max(1.0);
    (difference.abs()? * far)?
        .sum_all()?
        .affine(1.0 / f64::from(count), 0.0)
}

/// How much smaller the pictures of the coarse flow loss are.
const COARSE_FACTORS: [usize; 3] = [4, 8, 16];

fn default_previous_dropout() -> f64 {
    0.3
}

impl AnimatorConfig {
    /// A tiny animator for tests: 32 px, 4 frames, one layer.
    pub fn micro() -> Self {
        AnimatorConfig {
            image_size: 32,
            channels: 3,
            frames: 4,
            patch: 8,
            dim: 32,
            depth: 1,
            heads: 2,
            motion_dropout: 0.1,
            schedule: ScheduleConfig::cosine(1000, Prediction::Sample),
            timestep_power: 2.0,
            chain: true,
            previous_dropout: default_previous_dropout(),
            warp: true,
            flow_loss_weight: 1.0,
            motion_loss_weight: 0.0,
            still_loss_weight: 0.0,
        }
    }

    /// The bundled animator for 64 px StoryWorld clips of 8 frames.
    pub fn storyworld() -> Self {
        AnimatorConfig {
            image_size: 64,
            frames: 8,
            patch: 8,
            dim: 128,
            depth: 3,
            heads: 4,
            // Jumpers held still under the plain loss (docs/results/animator.md).
            motion_loss_weight: 8.0,
            ..AnimatorConfig::micro()
        }
    }

    /// Frames the model generates (all but the keyframe).
    pub fn generated_frames(&self) -> usize {
        self.frames - 1
    }
}

/// The motion of a batch of shots as tensors: actions (batch, slots) and camera (batch,),
/// both u32 class indices.
#[derive(Debug, Clone)]
pub struct MotionBatch {
    /// Action class per slot.
    pub actions: Tensor,
    /// Camera class.
    pub camera: Tensor,
}

impl MotionBatch {
    /// The tensors of `motions`.
    pub fn new(motions: &[Motion], device: &candle_core::Device) -> Result<Self> {
        let actions: Vec<u32> = motions.iter().flat_map(|m| m.actions).collect();
        let camera: Vec<u32> = motions.iter().map(|m| m.camera).collect();
        Ok(MotionBatch {
            actions: Tensor::from_vec(actions, (motions.len(), SLOTS), device)?,
            camera: Tensor::from_vec(camera, motions.len(), device)?,
        })
    }

    /// Rows `start..start + len`.
    pub fn narrow(&self, start: usize, len: usize) -> Result<Self> {
        Ok(MotionBatch {
            actions: self.actions.narrow(0, start, len)?,
            camera: self.camera.narrow(0, start, len)?,
        })
    }
}

/// The last frame of the previous shot of each clip's scene, for a chained animator: what
/// the scene looked like when the cut came, so the next shot carries on from it.
#[derive(Debug, Clone)]
pub struct PreviousFrames {
    /// (batch, channels, size, size) in [-1, 1]; zeros where a clip has none.
    pub frames: Tensor,
    /// 1 where a clip has a previous frame, 0 where it starts its scene (batch,).
    pub present: Tensor,
}

impl PreviousFrames {
    /// For `batch` clips that all start their scenes.
    pub fn none(batch: usize, config: &AnimatorConfig, device: &Device) -> Result<Self> {
        let size = config.image_size;
        Ok(PreviousFrames {
            frames: Tensor::zeros((batch, config.channels, size, size), DType::F32, device)?,
            present: Tensor::zeros(batch, DType::F32, device)?,
        })
    }

    /// From each clip's previous frame, if it has one (all `size` × `size` pixels, the
    /// animator's size).
    pub fn new(frames: &[Option<RgbImage>], size: usize, device: &Device) -> Result<Self> {
        let size = size as u32;
        let blank = RgbImage::new(size, size);
        let pictures: Vec<RgbImage> = frames
            .iter()
            .map(|frame| frame.clone().unwrap_or_else(|| blank.clone()))
            .collect();
        if pictures.iter().any(|p| p.dimensions() != (size, size)) {
            candle_core::bail!("a previous frame is not {size}x{size}, the animator's size");
        }
        let present: Vec<f32> = frames
            .iter()
            .map(|f| f32::from(u8::from(f.is_some())))
            .collect();
        let present = Tensor::from_vec(present, frames.len(), device)?;
        let frames = to_tensor(&pictures, device)?.broadcast_mul(&present.reshape((
            frames.len(),
            1,
            1,
            1,
        ))?)?;
        Ok(PreviousFrames { frames, present })
    }

    /// Clips `start..start + len`.
    pub fn narrow(&self, start: usize, len: usize) -> Result<Self> {
        Ok(PreviousFrames {
            frames: self.frames.narrow(0, start, len)?,
            present: self.present.narrow(0, start, len)?,
        })
    }

    /// The same frames with those whose `keep` is 0 hidden (training dropout).
    fn keep(&self, keep: &Tensor) -> Result<Self> {
        let present = (&self.present * keep)?;
        let batch = present.dim(0)?;
        Ok(PreviousFrames {
            frames: self
                .frames
                .broadcast_mul(&present.reshape((batch, 1, 1, 1))?)?,
            present,
        })
    }

    /// Every clip's entry `levels` times over, as guidance lays out its batch.
    fn repeat(&self, levels: usize) -> Result<Self> {
        Ok(PreviousFrames {
            frames: Tensor::cat(&vec![&self.frames; levels], 0)?,
            present: Tensor::cat(&vec![&self.present; levels], 0)?,
        })
    }
}

/// How clips are sampled: DPM-Solver++ steps, guidance on the motion (1 = none), and where
/// sampling starts, (0, 1]: 1 from pure noise, less from the keyframe held still and noised
/// that far (as SDEdit, and ConsistI2V's first-frame initialisation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipSampling {
    /// Sampling steps.
    pub steps: usize,
    /// Guidance on the motion.
    pub guidance: f64,
    /// Where sampling starts.
    pub start_noise: f64,
}

impl ClipSampling {
    /// Sampling steps unless a user asks for others: one. With the bundled animator one
    /// step moves walkers and pans far more faithfully than ten (87 against 45 % of test
    /// walkers move as told; docs/results/animator.md) and scores higher PSNR.
    pub const DEFAULT_STEPS: usize = 1;
}

/// Keyframe, noisy frames, timestep and motion → the clip's frames.
#[derive(Debug, Clone)]
pub struct Animator {
    config: AnimatorConfig,
    schedule: NoiseSchedule,
    embed: Linear,
    positions: Tensor,
    frame_positions: Tensor,
    time: TimestepEmbedder,
    actions: Embedding,
    camera: Embedding,
    null_motion: Tensor,
    previous_flag: Option<Tensor>,
    spatial: Vec<DitBlock>,
    temporal: Vec<DitBlock>,
    final_norm: LayerNorm,
    final_modulation: Linear,
    out: Linear,
}

impl Animator {
    /// Builds the animator under `vb`.
    pub fn new(config: &AnimatorConfig, vb: VarBuilder) -> Result<Self> {
        let cfg = config;
        if cfg.frames < 2 || !cfg.image_size.is_multiple_of(cfg.patch) {
            candle_core::bail!(
                "an animator needs at least 2 frames and an image size ({}) that is a multiple of the patch ({})",
                cfg.image_size,
                cfg.patch
            );
        }
        let grid = cfg.image_size / cfg.patch;
        let patch_values = cfg.channels * cfg.patch * cfg.patch;
        let block = DitBlockConfig {
            dim: cfg.dim,
            heads: cfg.heads,
            mlp_ratio: 4.0,
            context_dim: None,
            decoupled_context_dim: None,
        };
        let blocks = |name: &str| {
            (0..cfg.depth)
                .map(|i| DitBlock::new(&block, vb.pp(format!("{name}.{i}"))))
                .collect::<Result<Vec<_>>>()
        };
        Ok(Animator {
            config: cfg.clone(),
            schedule: NoiseSchedule::new(&cfg.schedule)?,
            // A token sees the noisy patch and the keyframe's patch at the same place (and,
            // chained, the previous frame's).
            embed: linear(
                (2 + usize::from(cfg.chain)) * patch_values,
                cfg.dim,
                vb.pp("embed"),
            )?,
            positions: sincos_positions_2d(grid, grid, cfg.dim, vb.device())?,
            frame_positions: vb.get_with_hints(
                (cfg.generated_frames(), 1, cfg.dim),
                "frame_positions",
                SMALL,
            )?,
            time: TimestepEmbedder::new(256, cfg.dim, vb.pp("time"))?,
            actions: embedding(SLOTS * ACTIONS.len(), cfg.dim, vb.pp("actions"))?,
            camera: embedding(CAMERAS.len(), cfg.dim, vb.pp("camera"))?,
            null_motion: vb.get_with_hints((1, cfg.dim), "null_motion", SMALL)?,
            previous_flag: if cfg.chain {
                Some(vb.get_with_hints((1, cfg.dim), "previous_flag", SMALL)?)
            } else {
                None
            },
            spatial: blocks("spatial")?,
            temporal: blocks("temporal")?,
            final_norm: LayerNorm::new(cfg.dim, false, 1e-6, vb.pp("final_norm"))?,
            final_modulation: small_linear(cfg.dim, 2 * cfg.dim, vb.pp("final_modulation"))?,
            // Small: the first predictions are the keyframe itself, not random changes. With
            // warping, each pixel also gets a flow (two values).
            out: small_linear(
                cfg.dim,
                (cfg.channels + 2 * usize::from(cfg.warp)) * cfg.patch * cfg.patch,
                vb.pp("out"),
            )?,
        })
    }

    /// Loads a model directory (`config.json` and `model.safetensors`) written by training.
    pub fn load(dir: &Path) -> std::result::Result<Self, CheckpointError> {
        load_model_dir(dir, |config: &AnimatorConfig, vb| Self::new(config, vb))
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &AnimatorConfig {
        &self.config
    }

    /// The motion embedding (batch, dim): each slot's action plus the camera's.
    fn motion_embedding(&self, motion: &MotionBatch) -> Result<Tensor> {
        let batch = motion.camera.dim(0)?;
        let slot_offsets = Tensor::arange(0u32, SLOTS as u32, motion.actions.device())?
            .affine(ACTIONS.len() as f64, 0.0)?
            .unsqueeze(0)?;
        let ids = motion.actions.broadcast_add(&slot_offsets)?;
        let actions = self.actions.forward(&ids.flatten_all()?)?;
        let actions = actions.reshape((batch, SLOTS, self.config.dim))?.sum(1)?;
        actions + self.camera.forward(&motion.camera)?
    }

    /// The conditioning vector (batch, dim): the motion embedding (or its null), plus, for
    /// a chained animator, a learned flag where a previous frame is given.
    fn conditioning(&self, motion: &Tensor, previous: &PreviousFrames) -> Result<Tensor> {
        match &self.previous_flag {
            Some(flag) => motion + previous.present.unsqueeze(1)?.broadcast_mul(flag)?,
            None => Ok(motion.clone()),
        }
    }

    /// Refuses previous frames given to an animator trained without them, once per call
    /// rather than at every sampling step.
    fn check_previous(&self, previous: &PreviousFrames) -> Result<()> {
        if self.previous_flag.is_none() && previous.present.sum_all()?.to_scalar::<f32>()? > 0.0 {
            candle_core::bail!(
                "this animator was trained without previous frames (chain is off in its config)"
            );
        }
        Ok(())
    }

    /// `noisy` (batch, generated frames, channels, size, size), `keyframe` (batch,
    /// channels, size, size), the previous frames, `timesteps` (batch,) and the
    /// conditioning vector (batch, dim) → the predicted frames, shaped as `noisy`.
    pub fn forward(
        &self,
        noisy: &Tensor,
        keyframe: &Tensor,
        previous: &PreviousFrames,
        timesteps: &Tensor,
        motion: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        Ok(self
            .predict(noisy, keyframe, previous, timesteps, motion, train)?
            .0)
    }

    /// [`forward`](Self::forward), with the flow a warping animator moved the keyframe
    /// along, (batch · frames, 2, size, size) in pixels.
    fn predict(
        &self,
        noisy: &Tensor,
        keyframe: &Tensor,
        previous: &PreviousFrames,
        timesteps: &Tensor,
        motion: &Tensor,
        train: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let cfg = &self.config;
        let (batch, frames, channels, size, _) = noisy.dims5()?;
        let patches = (size / cfg.patch) * (size / cfg.patch);
        // The still pictures every frame sees at each place: the keyframe, and the previous
        // frame when chained.
        let stills = if cfg.chain {
            Tensor::cat(&[keyframe, &previous.frames], 1)?
        } else {
            keyframe.clone()
        };
        let still_patches = patchify(&stills, cfg.patch)?;
        let width = still_patches.dim(2)?;
        let still_repeated = still_patches
            .unsqueeze(1)?
            .broadcast_as((batch, frames, patches, width))?
            .reshape((batch * frames, patches, width))?;
        let noisy_patches = patchify(
            &noisy.reshape((batch * frames, channels, size, size))?,
            cfg.patch,
        )?;
        let mut x = self
            .embed
            .forward(&Tensor::cat(&[&noisy_patches, &still_repeated], D::Minus1)?)?
            .broadcast_add(&self.positions)?
            .reshape((batch, frames, patches, cfg.dim))?
            .broadcast_add(&self.frame_positions.unsqueeze(0)?)?
            .broadcast_add(&motion.unsqueeze(1)?.unsqueeze(1)?)?;
        let c = (self.time.forward(timesteps)? + motion)?;
        let per_frame = repeat_rows(&c, frames)?;
        let per_patch = repeat_rows(&c, patches)?;
        for (spatial, temporal) in self.spatial.iter().zip(&self.temporal) {
            let h = x.reshape((batch * frames, patches, cfg.dim))?;
            let h = spatial.forward(&h, &per_frame, None, train)?;
            // Time: one sequence of frames per place.
            let h = h
                .reshape((batch, frames, patches, cfg.dim))?
                .transpose(1, 2)?
                .reshape((batch * patches, frames, cfg.dim))?;
            let h = temporal.forward(&h, &per_patch, None, train)?;
            x = h
                .reshape((batch, patches, frames, cfg.dim))?
                .transpose(1, 2)?
                .contiguous()?;
        }
        let x = x.reshape((batch * frames, patches, cfg.dim))?;
        let modulation = self
            .final_modulation
            .forward(&silu(&per_frame)?)?
            .chunk(2, D::Minus1)?;
        let x = modulate(
            &self.final_norm.forward(&x, train)?,
            &modulation[0],
            &modulation[1],
        )?;
        let outputs = channels + 2 * usize::from(cfg.warp);
        let out = unpatchify(&self.out.forward(&x)?, cfg.patch, outputs, size, size)?;
        let change = out.narrow(1, 0, channels)?;
        let keyframes = keyframe_per_frame(keyframe, frames)?;
        let (moved, flow) = if cfg.warp {
            // Flows in units of a patch, so that the network's outputs stay near 1.
            let flow = out.narrow(1, channels, 2)?.affine(cfg.patch as f64, 0.0)?;
            (warp(&keyframes, &flow)?, Some(flow))
        } else {
            (keyframes, None)
        };
        let frames = (moved + change)?.reshape((batch, frames, channels, size, size))?;
        Ok((frames, flow))
    }

    /// The coarse flow loss ([`AnimatorConfig::flow_loss_weight`]) of a flow (batch ·
    /// frames, 2, size, size) in pixels against the true `frames` (batch, frames, channels,
    /// size, size) of `keyframe` (batch, channels, size, size).
    fn coarse_flow_loss(
        &self,
        flow: &Tensor,
        keyframe: &Tensor,
        frames: &Tensor,
    ) -> Result<Tensor> {
        let (batch, count, channels, size, _) = frames.dims5()?;
        let keyframes = keyframe_per_frame(keyframe, count)?;
        let truth = frames.reshape((batch * count, channels, size, size))?;
        let mut total = Tensor::zeros((), DType::F32, frames.device())?;
        for factor in COARSE_FACTORS {
            let coarse_flow = flow.avg_pool2d(factor)?.affine(1.0 / factor as f64, 0.0)?;
            let moved = warp(&keyframes.avg_pool2d(factor)?, &coarse_flow)?;
            let error = (moved - truth.avg_pool2d(factor)?)?.sqr()?.mean_all()?;
            total = (total + error)?;
        }
        Ok(total)
    }

    /// The training loss of a batch of clips (batch, frames, channels, size, size) in
    /// [-1, 1], frame 0 the keyframe: drop the motion for guidance, noise the other frames
    /// at random per-sample timesteps, and regress them.
    pub fn training_loss(
        &self,
        clips: &Tensor,
        motion: &MotionBatch,
        previous: &PreviousFrames,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        self.check_previous(previous)?;
        let batch = clips.dim(0)?;
        let device = clips.device();
        let keyframe = clips.narrow(1, 0, 1)?.squeeze(1)?;
        let frames = clips.narrow(1, 1, self.config.generated_frames())?;
        let dropout = ConditionDropout::new(vec![
            self.config.motion_dropout,
            self.config.previous_dropout,
        ])?;
        let keep = dropout.sample_keep_masks(batch, rng, device)?;
        let motion = apply_keep_mask(
            &self.motion_embedding(motion)?,
            &keep[0],
            Some(&self.null_motion),
        )?;
        let previous = previous.keep(&keep[1])?;
        let motion = self.conditioning(&motion, &previous)?;
        let timesteps = self.schedule.sample_timesteps_towards_noise(
            batch,
            self.config.timestep_power,
            rng,
            device,
        )?;
        let noise = randn(rng, frames.shape(), device)?;
        let noisy = self.schedule.add_noise(&frames, &noise, &timesteps)?;
        let (prediction, flow) = self.predict(
            &noisy,
            &keyframe,
            &previous,
            &timesteps.to_dtype(DType::F32)?,
            &motion,
            true,
        )?;
        let target =
            self.schedule
                .target(&frames, &noise, &timesteps, self.config.schedule.prediction)?;
        let difference = (prediction - target)?;
        let error = difference.sqr()?;
        let moving = moving_pixels(&keyframe, &frames)?;
        let mut loss = if self.config.motion_loss_weight > 0.0 {
            let weights = moving
                .affine(self.config.motion_loss_weight, 1.0)?
                .broadcast_as(error.shape())?;
            ((error * &weights)?.sum_all()? / weights.sum_all()?)?
        } else {
            error.mean_all()?
        };
        if self.config.still_loss_weight > 0.0 {
            loss = (loss
                + still_pixel_loss(&difference, &far_from_motion(&moving)?)?
                    .affine(self.config.still_loss_weight, 0.0)?)?;
        }
        match flow {
            Some(flow) if self.config.flow_loss_weight > 0.0 => {
                loss + self
                    .coarse_flow_loss(&flow, &keyframe, &frames)?
                    .affine(self.config.flow_loss_weight, 0.0)?
            }
            _ => Ok(loss),
        }
    }

    /// Starting noise for `batch` clips, drawn from `rng`: (batch, generated frames,
    /// channels, size, size). Drawing each shot's noise from its own generator makes a shot
    /// the same however the film is cut into batches.
    pub fn noise(
        &self,
        batch: usize,
        rng: &mut impl Rng,
        device: &candle_core::Device,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        randn(
            rng,
            (
                batch,
                cfg.generated_frames(),
                cfg.channels,
                cfg.image_size,
                cfg.image_size,
            ),
            device,
        )
    }

    /// The starting noise of the shots at `indices` of a film animated with `seed`: each
    /// shot's from its own stream of the seed, so a shot comes out the same however the film
    /// is cut into batches, sharded or resumed.
    pub fn shot_noise(
        &self,
        seed: u64,
        indices: &[usize],
        device: &candle_core::Device,
    ) -> Result<Tensor> {
        let noise = indices
            .iter()
            .map(|&index| self.noise(1, &mut stream_rng(seed, index as u64), device))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&noise, 0)
    }

    /// Clips (batch, frames, channels, size, size) from keyframes (batch, channels, size,
    /// size) in [-1, 1], their motion, the previous frames of their scenes (for a chained
    /// animator; [`PreviousFrames::none`] otherwise) and their starting
    /// [`noise`](Self::noise), sampled
    /// as `sampling` says. Frame 0 of each clip is its keyframe. Parts of the batch are
    /// sampled on the machine's cores.
    pub fn animate(
        &self,
        keyframes: &Tensor,
        motion: &MotionBatch,
        previous: &PreviousFrames,
        noise: &Tensor,
        sampling: ClipSampling,
    ) -> Result<Tensor> {
        self.check_previous(previous)?;
        let batch = keyframes.dim(0)?;
        let parts = split_ranges(batch, available_threads());
        let clips = run_parts(parts.len(), |i| {
            let part = &parts[i];
            let keyframes = keyframes.narrow(0, part.start, part.len())?;
            let frames = self.sample(
                &keyframes,
                &motion.narrow(part.start, part.len())?,
                &previous.narrow(part.start, part.len())?,
                &noise.narrow(0, part.start, part.len())?,
                sampling,
            )?;
            Tensor::cat(&[&keyframes.unsqueeze(1)?, &frames], 1)
        })?;
        Tensor::cat(&clips, 0)?.clamp(-1f32, 1f32)
    }

    /// Runs the sampler from `noise` (or the noised still keyframe) to the generated frames.
    fn sample(
        &self,
        keyframes: &Tensor,
        motion: &MotionBatch,
        previous: &PreviousFrames,
        noise: &Tensor,
        sampling: ClipSampling,
    ) -> Result<Tensor> {
        let ClipSampling {
            steps,
            guidance,
            start_noise,
        } = sampling;
        if !(start_noise > 0.0 && start_noise <= 1.0) {
            candle_core::bail!("start noise {start_noise} is outside (0, 1]");
        }
        let mut sampler =
            DpmSolverMultistep::new(&self.config.schedule, steps, DpmSolverConfig::default())?;
        let start = (((1.0 - start_noise) * steps as f64).round() as usize).min(steps - 1);
        let initial = if start == 0 {
            noise.affine(sampler.init_noise_sigma(), 0.0)?
        } else {
            let t = sampler.timesteps()[start].round() as u32;
            let still = keyframes
                .unsqueeze(1)?
                .broadcast_as(noise.shape())?
                .contiguous()?;
            let timesteps = Tensor::full(t, keyframes.dim(0)?, keyframes.device())?;
            self.schedule.add_noise(&still, noise, &timesteps)?
        };
        let embedded = self.motion_embedding(motion)?;
        run_guided_sampler(
            &mut sampler,
            &initial,
            start,
            &[guidance],
            |input, timesteps, levels| {
                let previous = previous.repeat(levels.len())?;
                let conditions = self.conditioning(
                    &conditions_by_level(&embedded, &self.null_motion, 1, levels)?,
                    &previous,
                )?;
                let keyframes = Tensor::cat(&vec![keyframes; levels.len()], 0)?;
                self.forward(input, &keyframes, &previous, timesteps, &conditions, false)
            },
        )
    }
}

/// Keyframes (batch, channels, size, size) → (batch · frames, channels, size, size), each
/// repeated once per generated frame, as the frames are laid out when flattened.
fn keyframe_per_frame(keyframe: &Tensor, frames: usize) -> Result<Tensor> {
    let (batch, channels, height, width) = keyframe.dims4()?;
    keyframe
        .unsqueeze(1)?
        .broadcast_as((batch, frames, channels, height, width))?
        .reshape((batch * frames, channels, height, width))
}

/// (batch, dim) → (batch · times, dim), each row repeated `times` times in a row.
fn repeat_rows(x: &Tensor, times: usize) -> Result<Tensor> {
    let (batch, dim) = x.dims2()?;
    x.unsqueeze(1)?
        .broadcast_as((batch, times, dim))?
        .reshape((batch * times, dim))
}

#[cfg(test)]
mod tests {
    use candle_core::Var;
    use candle_nn::VarMap;
    use moviedreamer_nn::init::seeded_var_builder;

    use super::*;

    /// A 1 × 3 × 32 × 32 picture: a white 8 px square on black with its left edge at `x`.
    fn square_at(x: usize) -> Tensor {
        let mut values = vec![-1f32; 3 * 32 * 32];
        for c in 0..3 {
            for y in 12..20 {
                for column in x..x + 8 {
                    values[(c * 32 + y) * 32 + column] = 1.0;
                }
            }
        }
        Tensor::from_vec(values, (1, 3, 32, 32), &Device::Cpu).unwrap()
    }

    #[test]
    fn the_moving_pixels_are_where_a_shape_left_and_where_it_arrived() {
        // Frame 1 holds still, frame 2 has the square 4 px to the right.
        let frames = Tensor::stack(&[square_at(10), square_at(14)], 1).unwrap();
        let moving = moving_pixels(&square_at(10), &frames).unwrap();
        assert_eq!(moving.dims(), [1, 2, 1, 32, 32]);
        let moving = moving.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (still, moved) = moving.split_at(32 * 32);
        assert!(still.iter().all(|&m| m == 0.0));
        for y in 0..32 {
            for x in 0..32 {
                // Left behind (columns 10 to 13) or newly covered (18 to 21), in the square's rows.
                let expected =
                    (12..20).contains(&y) && ((10..14).contains(&x) || (18..22).contains(&x));
                assert_eq!(
                    moved[y * 32 + x],
                    f32::from(u8::from(expected)),
                    "pixel ({x}, {y})"
                );
            }
        }
    }

    #[test]
    fn the_still_pixel_loss_counts_a_faint_shimmer_away_from_what_moves() {
        // Frame 1 holds still, frame 2 has the square 4 px to the right.
        let keyframe = square_at(10);
        let frames = Tensor::stack(&[square_at(10), square_at(14)], 1).unwrap();
        let far = far_from_motion(&moving_pixels(&keyframe, &frames).unwrap()).unwrap();
        let far_values = far.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (still_frame, moved_frame) = far_values.split_at(32 * 32);
        assert!(still_frame.iter().all(|&f| f == 1.0));
        // Rows 12–19 and columns 10–13 and 18–21 move; three pixels round them are near.
        for (y, x, expected) in [
            (16, 12, 0.0),
            (9, 7, 0.0),
            (16, 24, 0.0),
            (8, 16, 1.0),
            (16, 25, 1.0),
            (16, 6, 1.0),
        ] {
            assert_eq!(moved_frame[y * 32 + x], expected, "pixel ({x}, {y})");
        }
        let loss = |difference: &Tensor| {
            still_pixel_loss(difference, &far)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        // Predicting the keyframe held still misses only moving pixels: no still-pixel loss.
        let held = keyframe
            .unsqueeze(1)
            .unwrap()
            .broadcast_as(frames.shape())
            .unwrap();
        assert_eq!(loss(&(&held - &frames).unwrap()), 0.0);
        // The square drawn one pixel off where it moved costs nothing either: the pixels it
        // wrongly covers are next to moving ones.
        let off = Tensor::stack(&[square_at(10), square_at(15)], 1).unwrap();
        assert_eq!(loss(&(&off - &frames).unwrap()), 0.0);
        // The truth with a shimmer of 0.02 everywhere (about 3 levels of 255) costs 0.02,
        // where its squared error would cost 0.0004.
        let shimmer = Tensor::full(0.02f32, frames.shape(), &Device::Cpu).unwrap();
        assert!((loss(&shimmer) - 0.02).abs() < 1e-6, "{}", loss(&shimmer));
    }

    #[test]
    fn the_coarse_flow_loss_is_met_by_the_true_move_and_leads_a_still_flow_to_it() {
        let varmap = VarMap::new();
        let model =
            Animator::new(&AnimatorConfig::micro(), seeded_var_builder(&varmap, 0)).unwrap();
        let keyframe = square_at(10);
        // One frame to predict, the square 8 px to the right: each pixel reads the keyframe
        // 8 px to its left.
        let truth = square_at(18).unsqueeze(1).unwrap();
        let flow_of = |dx: f32| {
            let x = Tensor::full(dx, (1, 1, 32, 32), &Device::Cpu).unwrap();
            let y = Tensor::zeros((1, 1, 32, 32), DType::F32, &Device::Cpu).unwrap();
            Tensor::cat(&[x, y], 1).unwrap()
        };
        let loss = |flow: &Tensor| {
            model
                .coarse_flow_loss(flow, &keyframe, &truth)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        // The true move is the best whole-pixel move; at 1/16 (2 × 2 here) averaging blurs
        // the square, so even the true move does not match exactly.
        let best = (-16..=16)
            .min_by(|&a, &b| loss(&flow_of(a as f32)).total_cmp(&loss(&flow_of(b as f32))))
            .unwrap();
        assert_eq!(best, -8);
        assert!(loss(&flow_of(0.0)) > 2.0 * loss(&flow_of(-8.0)));

        // One sideways flow for the whole picture, learned by gradient descent from 0, for a
        // square that moved half its width (4 px).
        let near = square_at(14).unsqueeze(1).unwrap();
        let shift =
            Var::from_tensor(&Tensor::zeros((), DType::F32, &Device::Cpu).unwrap()).unwrap();
        let zero_y = Tensor::zeros((1, 1, 32, 32), DType::F32, &Device::Cpu).unwrap();
        for _ in 0..300 {
            let flow_x = shift.as_tensor().broadcast_as((1, 1, 32, 32)).unwrap();
            let flow = Tensor::cat(&[&flow_x, &zero_y], 1).unwrap();
            let loss = model.coarse_flow_loss(&flow, &keyframe, &near).unwrap();
            let grad = loss
                .backward()
                .unwrap()
                .get(shift.as_tensor())
                .unwrap()
                .clone();
            shift
                .set(&(shift.as_tensor() - (grad * 20.0).unwrap()).unwrap())
                .unwrap();
        }
        let learned = shift.as_tensor().to_scalar::<f32>().unwrap();
        assert!((learned + 4.0).abs() < 1.0, "learned {learned}");
    }
}
