//! The identity-preserving renderer: planned keyframe tokens and the identities (and, where
//! the script gives a full-body picture, the costumes) of the characters in the shot → the
//! keyframe.
//!
//! A few predicted tokens cannot hold every detail of a face, and the planner's tokens are
//! never exactly the tokenizer's. So, as in MovieDreamer, the renderer is the tokenizer's
//! diffusion decoder (initialised from its weights) that also reads, through a decoupled
//! cross-attention in every block (IP-Adapter's: its own keys and values, its output added
//! to the token cross-attention's), one identity token per slot (left, centre, right):
//! the identity embedding of the character standing there, or a learned "nobody" token, plus
//! the slot's position; and one costume token per slot, from the character's full-body
//! picture by a small encoder trained with it ([`costume`]), or a learned "no costume" token.
//! The same tokens are also laid on the patches where their slot stands ([`SlotMaps`]), so
//! a patch need not learn from attention alone whose figure it draws.
//! It is fine-tuned on planner-predicted tokens paired with the true keyframes. Tokens and identities are dropped independently in training, so at sampling
//! each has its own guidance scale ([`run_guided_sampler`]: tokens first, then identities).

mod costume;
mod slot_maps;

use std::path::Path;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, VarMap, linear};
use image::RgbImage;
use moviedreamer_nn::checkpoint::{CheckpointError, load_model_dir, load_weights_under};
use moviedreamer_nn::diffusion::{
    ConditionDropout, DpmSolverConfig, DpmSolverMultistep, NoiseSchedule, Sampler, apply_keep_mask,
    conditions_by_level, run_guided_sampler,
};
use moviedreamer_nn::init::SMALL;
use moviedreamer_nn::ops::{randn, stream_rng};
use moviedreamer_nn::parallel::{available_threads, run_parts, split_ranges};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::pictures::to_tensor;
use crate::planner::prompt::SLOTS;
use crate::tokenizer::{AUTOENCODER, Canvas, Decoder, TokenizerConfig};

pub use costume::{CostumeEncoder, fit_square};
pub use slot_maps::{SlotMaps, figure_weights};

/// Sizes and training settings of a renderer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RendererConfig {
    /// The tokenizer whose decoder the renderer extends (its decoder's shape, token size,
    /// schedule and token dropout are the renderer's).
    pub tokenizer: TokenizerConfig,
    /// Width of an identity embedding (the identity encoder's `embed_dim`).
    pub identity_dim: usize,
    /// Probability of dropping the identities in training, for identity guidance.
    pub identity_dropout: f64,
    /// Side of the full-body (costume) pictures it reads, in pixels; 0 for no costume
    /// conditioning (renderers made before it).
    #[serde(default)]
    pub costume_size: usize,
    /// Whether each slot's identity and costume tokens are also added to the patches where
    /// the slot stands ([`SlotMaps`]); false in renderers made before them.
    #[serde(default)]
    pub slot_maps: bool,
    /// Extra weight of the training loss on the columns where a character stands (each
    /// occupied slot's soft column, as in [`SlotMaps`], times this, added to 1). Figures
    /// fill a small part of the frame, and planned tokens hold little of them, so under a
    /// plain loss the background outweighs drawing the characters; 0 weighs every pixel
    /// alike (renderers made before it).
    #[serde(default)]
    pub figure_loss_weight: f64,
}

impl RendererConfig {
    /// The renderer of a tokenizer, for identity embeddings of `identity_dim` values.
    pub fn for_tokenizer(tokenizer: &TokenizerConfig, identity_dim: usize) -> Self {
        RendererConfig {
            tokenizer: tokenizer.clone(),
            identity_dim,
            identity_dropout: 0.1,
            costume_size: tokenizer.image_size / 2,
            slot_maps: true,
            figure_loss_weight: 0.0,
        }
    }
}

/// A character standing in a slot: its identity embedding and, if the script gives one, its
/// full-body picture (any size: [`fit_square`] makes it the renderer's).
#[derive(Debug, Clone, Copy)]
pub struct SlotCharacter<'a> {
    /// The identity encoder's embedding of the character's faces.
    pub identity: &'a [f32],
    /// A full-body picture that fixes the costume.
    pub costume: Option<&'a RgbImage>,
}

/// Who stands in each slot of a batch of keyframes, and in what costume.
#[derive(Debug, Clone)]
pub struct SlotIdentities {
    /// Identity embeddings (batch, slots, identity_dim); zeros where nobody stands.
    pub embeddings: Tensor,
    /// 1 where a character stands in the slot, 0 where nobody does (batch, slots).
    pub present: Tensor,
    /// Costume pictures (batch, slots, channels, size, size) in [-1, 1] and where one is
    /// given (batch, slots), for a renderer with costume conditioning.
    pub costumes: Option<(Tensor, Tensor)>,
}

impl SlotIdentities {
    /// From each keyframe's slots: the character there, if any, for a renderer made with
    /// `config`.
    pub fn new(
        slots: &[[Option<SlotCharacter>; SLOTS]],
        config: &RendererConfig,
        device: &Device,
    ) -> Result<Self> {
        let identity_dim = config.identity_dim;
        let mut embeddings = Vec::with_capacity(slots.len() * SLOTS * identity_dim);
        let mut present = Vec::with_capacity(slots.len() * SLOTS);
        for keyframe in slots {
            for slot in keyframe {
                match slot {
                    Some(character) if character.identity.len() == identity_dim => {
                        embeddings.extend_from_slice(character.identity);
                        present.push(1f32);
                    }
                    Some(character) => candle_core::bail!(
                        "an identity embedding has {} values, the renderer reads {identity_dim}",
                        character.identity.len()
                    ),
                    None => {
                        embeddings.extend(std::iter::repeat_n(0f32, identity_dim));
                        present.push(0f32);
                    }
                }
            }
        }
        let costumes = if config.costume_size > 0 {
            let size = config.costume_size as u32;
            let blank = RgbImage::new(size, size);
            let mut pictures = Vec::with_capacity(slots.len() * SLOTS);
            let mut given = Vec::with_capacity(slots.len() * SLOTS);
            for slot in slots.iter().flatten() {
                match slot.and_then(|character| character.costume) {
                    Some(picture) => {
                        pictures.push(fit_square(picture, size));
                        given.push(1f32);
                    }
                    None => {
                        pictures.push(blank.clone());
                        given.push(0f32);
                    }
                }
            }
            let side = config.costume_size;
            let pictures = if pictures.is_empty() {
                Tensor::zeros((0, 3, side, side), DType::F32, device)?
            } else {
                to_tensor(&pictures, device)?
            };
            Some((
                pictures.reshape((slots.len(), SLOTS, 3, side, side))?,
                Tensor::from_vec(given, (slots.len(), SLOTS), device)?,
            ))
        } else {
            None
        };
        Ok(SlotIdentities {
            embeddings: Tensor::from_vec(embeddings, (slots.len(), SLOTS, identity_dim), device)?,
            present: Tensor::from_vec(present, (slots.len(), SLOTS), device)?,
            costumes,
        })
    }

    /// Keyframes `start..start + len` of the batch.
    pub fn narrow(&self, start: usize, len: usize) -> Result<Self> {
        Ok(SlotIdentities {
            embeddings: self.embeddings.narrow(0, start, len)?,
            present: self.present.narrow(0, start, len)?,
            costumes: match &self.costumes {
                Some((pictures, given)) => Some((
                    pictures.narrow(0, start, len)?,
                    given.narrow(0, start, len)?,
                )),
                None => None,
            },
        })
    }
}

/// The decoder with identity conditioning, and its noise schedule.
#[derive(Debug, Clone)]
pub struct Renderer {
    config: RendererConfig,
    canvas: Canvas,
    decoder: Decoder,
    identity: Linear,
    slot_positions: Tensor,
    nobody: Tensor,
    costume: Option<Costumes>,
    slot_maps: Option<SlotMaps>,
    null_identities: Tensor,
    schedule: NoiseSchedule,
}

/// The costume path: the encoder, a position per slot and the "no costume" token.
#[derive(Debug, Clone)]
struct Costumes {
    encoder: CostumeEncoder,
    slot_positions: Tensor,
    none: Tensor,
}

/// Where the decoder's weights live, in the renderer and in the tokenizer alike.
const DECODER: &str = "decoder";

impl Renderer {
    /// Builds the renderer under `vb` (`autoencoder.*` and `decoder.*` as in the tokenizer,
    /// `identity.*` and `costume.*` new).
    pub fn new(config: &RendererConfig, vb: VarBuilder) -> Result<Self> {
        let dim = config.tokenizer.decoder_dim;
        let ids = vb.pp("identity");
        let costume = if config.costume_size > 0 {
            let vb = vb.pp("costume");
            Some(Costumes {
                encoder: CostumeEncoder::new(
                    config.costume_size,
                    config.tokenizer.channels,
                    dim,
                    vb.pp("encoder"),
                )?,
                slot_positions: vb.get_with_hints((1, SLOTS, dim), "slot_positions", SMALL)?,
                none: vb.get_with_hints((1, 1, dim), "none", SMALL)?,
            })
        } else {
            None
        };
        let context_tokens = SLOTS * (1 + usize::from(costume.is_some()));
        let slot_maps = if config.slot_maps {
            let (_, side) = config.tokenizer.canvas();
            let grid = side / config.tokenizer.decoder_patch;
            Some(SlotMaps::new(grid, dim, ids.pp("slot_maps"))?)
        } else {
            None
        };
        Ok(Renderer {
            config: config.clone(),
            canvas: Canvas::new(&config.tokenizer, vb.clone())?,
            decoder: Decoder::with_decoupled_context(&config.tokenizer, dim, vb.pp(DECODER))?,
            identity: linear(config.identity_dim, dim, ids.pp("embed"))?,
            slot_positions: ids.get_with_hints((1, SLOTS, dim), "slot_positions", SMALL)?,
            nobody: ids.get_with_hints((1, 1, dim), "nobody", SMALL)?,
            costume,
            slot_maps,
            null_identities: ids.get_with_hints((1, context_tokens, dim), "null", SMALL)?,
            schedule: NoiseSchedule::new(&config.tokenizer.schedule)?,
        })
    }

    /// Loads a model directory (`config.json` and `model.safetensors`) written by training.
    pub fn load(dir: &Path) -> std::result::Result<Self, CheckpointError> {
        load_model_dir(dir, |config: &RendererConfig, vb| Self::new(config, vb))
    }

    /// Sets the decoder's (and the autoencoder's) weights of a renderer built in `varmap`
    /// from a trained tokenizer's model directory (the renderer's starting point); the
    /// identity path keeps its values.
    pub fn init_from_tokenizer(
        varmap: &VarMap,
        tokenizer_dir: &Path,
    ) -> std::result::Result<(), CheckpointError> {
        load_weights_under(tokenizer_dir, varmap, &format!("{AUTOENCODER}."), |_| false)?;
        load_weights_under(tokenizer_dir, varmap, &format!("{DECODER}."), |name| {
            name.contains(".decoupled.")
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &RendererConfig {
        &self.config
    }

    /// The identity tokens (batch, slots, decoder width): each slot's embedding projected,
    /// or "nobody", plus the slot's position; with costumes, then a costume token per slot
    /// (its picture encoded, or "no costume", plus the slot's costume position).
    fn identity_context(&self, identities: &SlotIdentities) -> Result<Tensor> {
        let present = identities.present.unsqueeze(2)?;
        let projected = self
            .identity
            .forward(&identities.embeddings)?
            .broadcast_mul(&present)?;
        let absent = present.affine(-1.0, 1.0)?.broadcast_mul(&self.nobody)?;
        let faces = (projected + absent)?.broadcast_add(&self.slot_positions)?;
        let (Some(costume), Some((pictures, given))) = (&self.costume, &identities.costumes) else {
            if self.costume.is_some() {
                candle_core::bail!(
                    "this renderer reads costumes: give SlotIdentities made for its config"
                );
            }
            return Ok(faces);
        };
        let (batch, slots, channels, size, _) = pictures.dims5()?;
        let encoded = costume
            .encoder
            .forward(&pictures.reshape((batch * slots, channels, size, size))?)?
            .reshape((batch, slots, ()))?;
        let given = given.unsqueeze(2)?;
        let tokens = (encoded.broadcast_mul(&given)?
            + given.affine(-1.0, 1.0)?.broadcast_mul(&costume.none)?)?
        .broadcast_add(&costume.slot_positions)?;
        Tensor::cat(&[&faces, &tokens], 1)
    }

    /// The training loss of a batch of true keyframes (batch, channels, size, size) in
    /// [-1, 1] with the tokens to render them from (batch, K, D) and who stands where: drop
    /// tokens and identities independently, noise the keyframes' canvases, regress the
    /// target. The autoencoder stays as the tokenizer trained it.
    pub fn training_loss(
        &self,
        images: &Tensor,
        tokens: &Tensor,
        identities: &SlotIdentities,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        let batch = images.dim(0)?;
        let device = images.device();
        let images = &self.canvas.from_keyframes(images)?;
        let dropout = ConditionDropout::new(vec![
            self.config.tokenizer.token_dropout,
            self.config.identity_dropout,
        ])?;
        let keep = dropout.sample_keep_masks(batch, rng, device)?;
        let tokens = apply_keep_mask(tokens, &keep[0], Some(&self.decoder.null_tokens(1)?))?;
        let context = apply_keep_mask(
            &self.identity_context(identities)?,
            &keep[1],
            Some(&self.null_identities),
        )?;
        let timesteps = self.schedule.sample_timesteps_towards_noise(
            batch,
            self.config.tokenizer.timestep_power,
            rng,
            device,
        )?;
        let noise = randn(rng, images.shape(), device)?;
        let noisy = self.schedule.add_noise(images, &noise, &timesteps)?;
        let prediction = self.denoise(
            &noisy,
            &timesteps.to_dtype(DType::F32)?,
            &tokens,
            &context,
            true,
        )?;
        let target = self.schedule.target(
            images,
            &noise,
            &timesteps,
            self.config.tokenizer.schedule.prediction,
        )?;
        let squared = (prediction - target)?.sqr()?;
        if self.config.figure_loss_weight == 0.0 {
            return squared.mean_all();
        }
        let weights = figure_weights(
            &identities.present,
            squared.dim(3)?,
            self.config.figure_loss_weight,
        )?
        .unsqueeze(1)?
        .unsqueeze(1)?;
        let weighted = squared.broadcast_mul(&weights)?.mean_all()?;
        weighted.broadcast_div(&weights.mean_all()?)
    }

    /// The starting noise of the keyframes of shots `indices` (batch and the canvas's
    /// shape): each shot's from its own stream of `seed`, so a keyframe is the same whichever
    /// batch, shard or resumed run renders it.
    pub fn shot_noise(&self, seed: u64, indices: &[usize], device: &Device) -> Result<Tensor> {
        let noise = indices
            .iter()
            .map(|&index| {
                randn(
                    &mut stream_rng(seed, index as u64),
                    self.canvas.shape(1),
                    device,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&noise, 0)
    }

    /// Keyframes (batch, channels, size, size) in [-1, 1] from tokens (batch, K, D) and who
    /// stands where, sampled from `noise` with DPM-Solver++ in `steps` steps; guidance
    /// `token_guidance` on the tokens and `identity_guidance` on the identities over them
    /// (1 and 1: one conditioned pass per step; identity 0 ignores the identities). Parts of
    /// the batch are sampled on the machine's cores.
    pub fn render(
        &self,
        tokens: &Tensor,
        identities: &SlotIdentities,
        noise: &Tensor,
        steps: usize,
        token_guidance: f64,
        identity_guidance: f64,
    ) -> Result<Tensor> {
        let parts = split_ranges(tokens.dim(0)?, available_threads());
        let images = run_parts(parts.len(), |i| {
            let part = &parts[i];
            let canvases = self.sample(
                &tokens.narrow(0, part.start, part.len())?,
                &identities.narrow(part.start, part.len())?,
                &noise.narrow(0, part.start, part.len())?,
                steps,
                [token_guidance, identity_guidance],
            )?;
            self.canvas.to_keyframes(&canvases)
        })?;
        Tensor::cat(&images, 0)
    }

    /// Runs the sampler from `noise`: level 0 sees neither condition, level 1 the tokens,
    /// level 2 the tokens and the identities.
    fn sample(
        &self,
        tokens: &Tensor,
        identities: &SlotIdentities,
        noise: &Tensor,
        steps: usize,
        scales: [f64; 2],
    ) -> Result<Tensor> {
        let mut sampler = DpmSolverMultistep::new(
            &self.config.tokenizer.schedule,
            steps,
            DpmSolverConfig::default(),
        )?;
        let null_tokens = self.decoder.null_tokens(1)?;
        let context = self.identity_context(identities)?;
        let start = noise.affine(sampler.init_noise_sigma(), 0.0)?;
        run_guided_sampler(
            &mut sampler,
            &start,
            0,
            &scales,
            |input, timesteps, levels| {
                let tokens = conditions_by_level(tokens, &null_tokens, 1, levels)?;
                let context = conditions_by_level(&context, &self.null_identities, 2, levels)?;
                self.denoise(input, timesteps, &tokens, &context, false)
            },
        )
    }

    /// One pass of the decoder on `noisy` canvases given the tokens and the identity
    /// context (each real or its null), which the slot maps, if any, also lay on the patches.
    fn denoise(
        &self,
        noisy: &Tensor,
        timesteps: &Tensor,
        tokens: &Tensor,
        context: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let patch_bias = match &self.slot_maps {
            Some(maps) => Some(maps.patch_bias(&context.broadcast_as((
                noisy.dim(0)?,
                context.dim(1)?,
                context.dim(2)?,
            ))?)?),
            None => None,
        };
        self.decoder.forward_decoupled(
            noisy,
            timesteps,
            tokens,
            Some(context),
            patch_bias.as_ref(),
            train,
        )
    }
}
