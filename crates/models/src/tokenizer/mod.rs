//! The keyframe tokenizer: a diffusion autoencoder that compresses a keyframe into K
//! continuous tokens of width D and generates it back from them.
//!
//! MovieDreamer's planner never predicts pixels: it predicts these few tokens per keyframe,
//! so films of thousands of keyframes stay cheap to plan, and the diffusion decoder restores
//! the detail. Encoder and decoder train end to end on the decoder's diffusion loss, in the
//! latent space of a small autoencoder trained before them ([`canvas`]).

mod canvas;
mod decoder;
mod encoder;
mod grid;

use std::path::Path;

use candle_core::{DType, Result, Tensor};
use candle_nn::VarBuilder;
use moviedreamer_nn::checkpoint::{CheckpointError, load_model_dir};
use moviedreamer_nn::diffusion::{
    ConditionDropout, DpmSolverConfig, DpmSolverMultistep, NoiseSchedule, Prediction, Sampler,
    ScheduleConfig, apply_keep_mask, conditions_by_level, run_guided_sampler,
};
use moviedreamer_nn::ops::randn;
use moviedreamer_nn::parallel::{available_threads, run_parts, split_ranges};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use canvas::{AUTOENCODER, Canvas};
pub use decoder::Decoder;
pub use encoder::{Encoder, QueryCompressor, QueryEncoder};
pub use grid::{GridDecoder, GridEncoder};

use crate::autoencoder::AutoencoderConfig;

/// Sizes and training settings of a tokenizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerConfig {
    /// Keyframe side in pixels.
    pub image_size: usize,
    /// Colour channels.
    pub channels: usize,
    /// Tokens per keyframe (K).
    pub tokens: usize,
    /// Width of a token (D).
    pub token_dim: usize,
    /// How tokens are made and read ([`TokenLayout`]).
    #[serde(default)]
    pub layout: TokenLayout,
    /// Encoder patch side, in pixels of the canvas ([`canvas`](Self::canvas)); unused by
    /// grid tokens.
    pub encoder_patch: usize,
    /// Encoder width (for grid tokens, the width of the encoder's and the coarse
    /// decoder's convolutions).
    pub encoder_dim: usize,
    /// Encoder transformer blocks (for grid tokens, residual blocks per resolution).
    pub encoder_depth: usize,
    /// Encoder attention heads; unused by grid tokens.
    pub encoder_heads: usize,
    /// Decoder patch side, in pixels of the canvas.
    pub decoder_patch: usize,
    /// Decoder width.
    pub decoder_dim: usize,
    /// Decoder DiT blocks.
    pub decoder_depth: usize,
    /// Decoder attention heads.
    pub decoder_heads: usize,
    /// Probability of dropping the tokens in training, for classifier-free guidance.
    pub token_dropout: f64,
    /// The noise schedule and what the decoder predicts.
    pub schedule: ScheduleConfig,
    /// How strongly training timesteps lean towards high noise (1 = uniform; see
    /// `NoiseSchedule::sample_timesteps_towards_noise`). Only there must the decoder rely on
    /// the tokens, so leaning there teaches the encoder faster (docs/results/tokenizer.md).
    #[serde(default = "uniform_timesteps")]
    pub timestep_power: f64,
    /// The latent autoencoder whose latent the encoder reads and the decoder generates, or
    /// none for pixel space (tokenizers made before it).
    #[serde(default)]
    pub autoencoder: Option<AutoencoderConfig>,
}

/// How a keyframe becomes its K tokens and how the decoder reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenLayout {
    /// A ViT over the canvas's patches, then K learned queries cross-attending to its
    /// features; the decoder reads the tokens through cross-attention (MovieDreamer's).
    #[default]
    Queries,
    /// A √K × √K grid of tokens made by residual convolutions that halve the canvas's side;
    /// the decoder also gets their convolutional decoding, a coarse canvas, as its input
    /// and its starting guess ([`grid`]). Needs the decoder to predict x₀.
    Grid,
}

fn uniform_timesteps() -> f64 {
    1.0
}

impl TokenizerConfig {
    /// A tiny tokenizer for tests: 32 px (StoryWorld's smallest), two tokens, one block
    /// each side.
    pub fn micro() -> Self {
        TokenizerConfig {
            image_size: 32,
            channels: 3,
            tokens: 2,
            token_dim: 8,
            layout: TokenLayout::Queries,
            encoder_patch: 8,
            encoder_dim: 32,
            encoder_depth: 1,
            encoder_heads: 2,
            decoder_patch: 8,
            decoder_dim: 32,
            decoder_depth: 1,
            decoder_heads: 2,
            token_dropout: 0.1,
            schedule: ScheduleConfig::cosine(1000, Prediction::Sample),
            timestep_power: 2.0,
            autoencoder: None,
        }
    }

    /// The micro tokenizer in the latent space of the micro autoencoder (8 × 8 × 4), with a
    /// 2 × 2 grid of tokens: what the `micro` training preset trains, so the tests cover the
    /// autoencoder's and the grid's paths.
    pub fn micro_latent() -> Self {
        TokenizerConfig {
            tokens: 4,
            layout: TokenLayout::Grid,
            encoder_patch: 2,
            decoder_patch: 2,
            autoencoder: Some(AutoencoderConfig::micro()),
            ..TokenizerConfig::micro()
        }
    }

    /// The bundled tokenizer for 64 px StoryWorld keyframes, in the latent of the
    /// storyworld autoencoder (16 × 16 × 8): an 8 × 8 grid of K = 64 tokens of width 16
    /// made by convolutions of width 96, and a DiT decoder over 2 × 2 latent patches that
    /// refines their coarse decoding. Learned queries and a decoder reading the tokens only
    /// through cross-attention learned far slower per step, in pixels or in the latent; of
    /// the grids, 8 × 8 was best by far at equal steps, and better than 4 × 4 of four times
    /// the width (docs/results/tokenizer.md, "Grid tokens" and "K ablation").
    pub fn storyworld() -> Self {
        TokenizerConfig {
            image_size: 64,
            tokens: 64,
            token_dim: 16,
            layout: TokenLayout::Grid,
            encoder_patch: 2,
            encoder_dim: 96,
            encoder_depth: 1,
            encoder_heads: 4,
            decoder_patch: 2,
            decoder_dim: 192,
            decoder_depth: 4,
            decoder_heads: 6,
            autoencoder: Some(AutoencoderConfig::storyworld()),
            ..TokenizerConfig::micro()
        }
    }

    /// What the encoder reads and the decoder generates: (channels, side) of the
    /// autoencoder's latent, or of the keyframe itself in pixel space.
    pub fn canvas(&self) -> (usize, usize) {
        match &self.autoencoder {
            Some(ae) => (ae.latent_channels, ae.latent_size()),
            None => (self.channels, self.image_size),
        }
    }
}

/// Canvas, encoder, decoder and noise schedule.
#[derive(Debug, Clone)]
pub struct KeyframeTokenizer {
    config: TokenizerConfig,
    canvas: Canvas,
    encoder: Encoder,
    decoder: Decoder,
    schedule: NoiseSchedule,
}

impl KeyframeTokenizer {
    /// Builds the tokenizer under `vb` (`autoencoder.*` if it has one, `encoder.*`,
    /// `decoder.*`).
    pub fn new(config: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        if config.tokens == 0 || config.token_dim == 0 {
            candle_core::bail!(
                "a keyframe needs at least one token of at least one value (tokens {}, token_dim {})",
                config.tokens,
                config.token_dim
            );
        }
        let (_, side) = config.canvas();
        if config.encoder_patch == 0
            || config.decoder_patch == 0
            || !side.is_multiple_of(config.encoder_patch)
            || !side.is_multiple_of(config.decoder_patch)
        {
            candle_core::bail!(
                "the canvas side {side} (the keyframe's, or its latent's with an autoencoder) must be a multiple of the patch sizes {} and {}",
                config.encoder_patch,
                config.decoder_patch
            );
        }
        Ok(KeyframeTokenizer {
            config: config.clone(),
            canvas: Canvas::new(config, vb.clone())?,
            encoder: Encoder::new(config, vb.pp("encoder"))?,
            decoder: Decoder::new(config, vb.pp("decoder"))?,
            schedule: NoiseSchedule::new(&config.schedule)?,
        })
    }

    /// Loads a model directory (`config.json` and `model.safetensors`) written by training.
    pub fn load(dir: &Path) -> std::result::Result<Self, CheckpointError> {
        load_model_dir(dir, |config: &TokenizerConfig, vb| Self::new(config, vb))
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Keyframes (batch, channels, size, size) in [-1, 1] → tokens (batch, K, D).
    /// The batch is split across the machine's cores ([`moviedreamer_nn::parallel`]).
    pub fn encode(&self, images: &Tensor, train: bool) -> Result<Tensor> {
        let parts = split_ranges(images.dim(0)?, available_threads());
        let tokens = run_parts(parts.len(), |i| {
            let part = &parts[i];
            let canvas =
                self.canvas
                    .from_keyframes(&images.narrow(0, part.start, part.len())?)?;
            self.encoder.forward(&canvas, train)
        })?;
        Tensor::cat(&tokens, 0)
    }

    /// The end-to-end training loss of a batch: encode, drop tokens for guidance, noise the
    /// canvases at random per-sample timesteps, and regress the decoder's target. The
    /// autoencoder, trained before, is not trained here.
    pub fn training_loss(&self, images: &Tensor, rng: &mut impl Rng) -> Result<Tensor> {
        let batch = images.dim(0)?;
        let device = images.device();
        let images = &self.canvas.from_keyframes(images)?;
        let tokens = self.encoder.forward(images, true)?;
        let dropout = ConditionDropout::new(vec![self.config.token_dropout])?;
        let keep = dropout.sample_keep_masks(batch, rng, device)?.remove(0);
        let null = self.decoder.null_tokens(1)?;
        let tokens = apply_keep_mask(&tokens, &keep, Some(&null))?;
        let timesteps = self.schedule.sample_timesteps_towards_noise(
            batch,
            self.config.timestep_power,
            rng,
            device,
        )?;
        let noise = randn(rng, images.shape(), device)?;
        let noisy = self.schedule.add_noise(images, &noise, &timesteps)?;
        let prediction =
            self.decoder
                .forward(&noisy, &timesteps.to_dtype(DType::F32)?, &tokens, true)?;
        let target =
            self.schedule
                .target(images, &noise, &timesteps, self.config.schedule.prediction)?;
        (prediction - target)?.sqr()?.mean_all()
    }

    /// Generates keyframes from tokens with DPM-Solver++ in `steps` steps and classifier-free
    /// guidance `guidance` (1 = none), from noise drawn from `rng`.
    ///
    /// The noise of the whole batch is drawn first, then parts of the batch are sampled on
    /// the machine's cores, so the keyframes do not depend on how many cores there are.
    pub fn decode(
        &self,
        tokens: &Tensor,
        steps: usize,
        guidance: f64,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        let batch = tokens.dim(0)?;
        let noise = randn(rng, self.canvas.shape(batch), tokens.device())?;
        let parts = split_ranges(batch, available_threads());
        let images = run_parts(parts.len(), |i| {
            let part = &parts[i];
            let canvases = self.sample(
                &tokens.narrow(0, part.start, part.len())?,
                &noise.narrow(0, part.start, part.len())?,
                steps,
                guidance,
            )?;
            self.canvas.to_keyframes(&canvases)
        })?;
        Tensor::cat(&images, 0)
    }

    /// Runs the sampler from `noise` to canvases conditioned on `tokens`.
    fn sample(
        &self,
        tokens: &Tensor,
        noise: &Tensor,
        steps: usize,
        guidance: f64,
    ) -> Result<Tensor> {
        let mut sampler =
            DpmSolverMultistep::new(&self.config.schedule, steps, DpmSolverConfig::default())?;
        let null = self.decoder.null_tokens(1)?;
        let start = noise.affine(sampler.init_noise_sigma(), 0.0)?;
        run_guided_sampler(
            &mut sampler,
            &start,
            0,
            &[guidance],
            |input, timesteps, levels| {
                let conditions = conditions_by_level(tokens, &null, 1, levels)?;
                self.decoder.forward(input, timesteps, &conditions, false)
            },
        )
    }
}
