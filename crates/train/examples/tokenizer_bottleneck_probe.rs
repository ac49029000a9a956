//! What limits how fast the tokenizer learns a keyframe's layout? (docs/results/tokenizer.md,
//! "Where the time goes: the decoder learns slowly whatever it is given")
//!
//! Trains one autoencoder variant deterministically (the decoder sees no noisy picture, as at
//! the top of the schedule, where only the tokens can help) and prints the training loss
//! every 50 steps and the PSNR on 64 unseen test keyframes every 200:
//!
//! ```sh
//! MOVIEDREAMER_THREADS=1 cargo run --release -p moviedreamer-train --example tokenizer_bottleneck_probe -- \
//!     /tmp/sw queries 600 [tokens]
//! ```
//!
//! Variants (all use the pixel preset's encoder and decoder sizes ([`pixel_config`]), in
//! pixel space but `latent`, `grid-dit`, `queries-grid`):
//! - `queries`: the tokenizer as it is: K learned queries (default 8) over the encoder.
//! - `dense`: no compressor: one token per 8 px patch (64 tokens of width 32; with
//!   `tokens` = 16, one per 2×2 patches).
//! - `direct`: `queries`, plus the K tokens unpacked by one linear map into the decoder's input
//!   picture, so every patch reads every token without learning where to attend.
//! - `copy`: the decoder is given the clean picture itself (timestep 0): how fast it learns to
//!   draw what it already sees, an upper bound on the others.
//! - `conv`: a convolutional encoder and a convolutional upsampler around the same
//!   transformers (3×3 convolutions at 16×16, written as nine shifted copies and one matrix
//!   product, because candle's CPU convolution backward pass is several times slower).
//!
//! - `ae`: the latent autoencoder alone (`moviedreamer_models::autoencoder`, 64 px ↔
//!   16 × 16 × 8), trained on reconstruction; its weights are written to the file named by
//!   `PROBE_AUTOENCODER` (default /tmp/probe-autoencoder.safetensors) for `latent`.
//! - `latent`: `queries` in that autoencoder's latent space: the encoder reads the latent
//!   (2 × 2 patches), the decoder generates it, the trained autoencoder (frozen) turns it
//!   into pixels; the loss is the latent's squared error, the PSNR the pixels'.
//! - `grid`: like `latent`, but convolutional and deterministic: the tokens are a 4 × 4 grid
//!   (K = 16, width 16) made by halving the latent's side twice, read back by doubling it
//!   (the tokenizer's `GridEncoder` and, alone, the `GridDecoder` of its coarse path).
//! - `grid-dit`: `grid`'s encoder, the preset's DiT decoder (in latent space) reading its 16
//!   tokens: is the decoder the slow part?
//! - `queries-grid`: the preset's encoder with K = 8 learned queries (in latent space), its
//!   tokens unpacked by one linear map into `grid`'s 4 × 4 map and decoded by `grid`'s
//!   decoder: is the encoder the slow part?
//!
//! Kept as an example, not a command: it answers one question about the architecture and is
//! not something a user runs.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, VarMap, linear};
use moviedreamer_models::autoencoder::{Autoencoder, AutoencoderConfig};
use moviedreamer_models::tokenizer::{
    Decoder, Encoder, GridDecoder, GridEncoder, QueryCompressor, TokenLayout, TokenizerConfig,
};
use moviedreamer_nn::init::{SMALL, seeded_var_builder};
use moviedreamer_nn::layers::{
    Conv3x3, DitBlock, DitBlockConfig, LayerNorm, TransformerBlock, depth_to_space, patchify,
    sincos_positions_2d, space_to_depth,
};
use moviedreamer_storyworld::identity::Split;
use moviedreamer_train::data::{Augment, KeyframeDataset, load_batch, training_batches};
use moviedreamer_train::optimisation::{Optimisation, OptimiserSettings};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const USAGE: &str = "usage: tokenizer_bottleneck_probe DATA (queries|dense|direct|copy|conv|ae|latent|grid|grid-dit|queries-grid) STEPS [TOKENS]";

/// The autoencoder the `ae` variant trained, frozen.
fn trained_autoencoder() -> anyhow::Result<Autoencoder> {
    let mut frozen = VarMap::new();
    let autoencoder = Autoencoder::new(
        &AutoencoderConfig::storyworld(),
        VarBuilder::from_varmap(&frozen, DType::F32, &Device::Cpu),
    )?;
    let file = autoencoder_file();
    frozen.load(&file).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; train it first with the `ae` variant",
            file.display()
        )
    })?;
    Ok(autoencoder)
}

/// Where `ae` writes the autoencoder it trained and `latent` and `grid` read it.
fn autoencoder_file() -> PathBuf {
    std::env::var_os("PROBE_AUTOENCODER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/probe-autoencoder.safetensors"))
}

/// 64 px keyframes, 8 px patches: an 8 × 8 grid.
const GRID: usize = 8;

/// A 3×3 convolution over channels-last maps (batch, h, w, c), then layer norm and SiLU.
struct Conv3 {
    conv: Conv3x3,
    norm: LayerNorm,
}

impl Conv3 {
    fn new(inputs: usize, outputs: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Conv3 {
            conv: Conv3x3::new(inputs, outputs, vb.pp("conv"))?,
            norm: LayerNorm::new(outputs, true, 1e-6, vb.pp("norm"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.norm.forward(&self.conv.forward(x)?, true)?.silu()
    }
}

/// The `conv` variant: convolutions at 16 × 16 on the way in and out, the preset's
/// transformers (encoder with learned queries, DiT decoder) in between at 8 × 8.
struct ConvAutoencoder {
    down: Conv3,
    merge: Linear,
    features: Conv3,
    project: Linear,
    positions: Tensor,
    encoder: Vec<TransformerBlock>,
    compressor: QueryCompressor,
    context: Linear,
    token_positions: Tensor,
    pooled: Linear,
    time: Tensor,
    decoder_positions: Tensor,
    decoder: Vec<DitBlock>,
    to_map: Linear,
    split: Linear,
    up: Conv3,
    to_pixels: Linear,
}

impl ConvAutoencoder {
    fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        let (width, decoder_width) = (cfg.encoder_dim, cfg.decoder_dim);
        let block = DitBlockConfig {
            dim: decoder_width,
            heads: cfg.decoder_heads,
            mlp_ratio: 4.0,
            context_dim: Some(decoder_width),
            decoupled_context_dim: None,
        };
        let device = vb.device().clone();
        Ok(ConvAutoencoder {
            down: Conv3::new(48, 64, vb.pp("down"))?,
            merge: linear(256, 128, vb.pp("merge"))?,
            features: Conv3::new(128, 128, vb.pp("features"))?,
            project: linear(128, width, vb.pp("project"))?,
            positions: sincos_positions_2d(GRID, GRID, width, &device)?,
            encoder: (0..cfg.encoder_depth)
                .map(|i| {
                    TransformerBlock::new(
                        width,
                        cfg.encoder_heads,
                        4.0,
                        vb.pp(format!("encoder.{i}")),
                    )
                })
                .collect::<Result<_>>()?,
            compressor: QueryCompressor::new(cfg, vb.pp("compressor"))?,
            context: linear(cfg.token_dim, decoder_width, vb.pp("context"))?,
            token_positions: vb.get_with_hints(
                (1, cfg.tokens, decoder_width),
                "token_positions",
                SMALL,
            )?,
            pooled: linear(cfg.token_dim, decoder_width, vb.pp("pooled"))?,
            time: vb.get_with_hints((1, decoder_width), "time", SMALL)?,
            decoder_positions: sincos_positions_2d(GRID, GRID, decoder_width, &device)?,
            decoder: (0..cfg.decoder_depth)
                .map(|i| DitBlock::new(&block, vb.pp(format!("decoder.{i}"))))
                .collect::<Result<_>>()?,
            to_map: linear(decoder_width, 128, vb.pp("to_map"))?,
            split: linear(128, 4 * 64, vb.pp("split"))?,
            up: Conv3::new(64, 64, vb.pp("up"))?,
            to_pixels: linear(64, 48, vb.pp("to_pixels"))?,
        })
    }

    fn encode(&self, images: &Tensor) -> Result<Tensor> {
        let batch = images.dim(0)?;
        // 64 × 64 × 3 → 16 × 16 × 48 → conv → 8 × 8 × 128 → conv.
        let x = space_to_depth(&space_to_depth(
            &images.permute((0, 2, 3, 1))?.contiguous()?,
        )?)?;
        let x = self
            .merge
            .forward(&space_to_depth(&self.down.forward(&x)?)?)?;
        let x = self.project.forward(&self.features.forward(&x)?)?;
        let mut x = x
            .reshape((batch, GRID * GRID, x.dim(D::Minus1)?))?
            .broadcast_add(&self.positions)?;
        for block in &self.encoder {
            x = block.forward(&x, None, true)?;
        }
        self.compressor.forward(&x, true)
    }

    fn decode(&self, tokens: &Tensor) -> Result<Tensor> {
        let batch = tokens.dim(0)?;
        // One learned conditioning vector stands in for the timestep embedding.
        let c = self
            .pooled
            .forward(&tokens.mean(1)?)?
            .broadcast_add(&self.time)?;
        let context = self
            .context
            .forward(tokens)?
            .broadcast_add(&self.token_positions)?;
        let width = self.decoder_positions.dim(D::Minus1)?;
        let mut x = self
            .decoder_positions
            .broadcast_as((batch, GRID * GRID, width))?
            .contiguous()?;
        for block in &self.decoder {
            x = block.forward(&x, &c, Some(&context), true)?;
        }
        // 8 × 8 × 128 → 16 × 16 × 64 → conv → 64 × 64 × 3.
        let map = self.to_map.forward(&x)?.reshape((batch, GRID, GRID, 128))?;
        let map = self
            .up
            .forward(&depth_to_space(&self.split.forward(&map)?)?)?;
        depth_to_space(&depth_to_space(&self.to_pixels.forward(&map)?)?)?.permute((0, 3, 1, 2))
    }
}

/// The `dense` variant's encoder: the preset's patch transformer with one token per
/// `pool` × `pool` patches instead of learned queries.
struct DenseEncoder {
    embed: Linear,
    positions: Tensor,
    blocks: Vec<TransformerBlock>,
    norm: LayerNorm,
    out: Linear,
    patch: usize,
    pool: usize,
}

impl DenseEncoder {
    fn new(cfg: &TokenizerConfig, pool: usize, vb: VarBuilder) -> Result<Self> {
        let width = cfg.encoder_dim;
        let patch_values = cfg.channels * cfg.encoder_patch * cfg.encoder_patch;
        Ok(DenseEncoder {
            embed: linear(patch_values, width, vb.pp("embed"))?,
            positions: sincos_positions_2d(GRID, GRID, width, vb.device())?,
            blocks: (0..cfg.encoder_depth)
                .map(|i| {
                    TransformerBlock::new(
                        width,
                        cfg.encoder_heads,
                        4.0,
                        vb.pp(format!("blocks.{i}")),
                    )
                })
                .collect::<Result<_>>()?,
            norm: LayerNorm::new(width, true, 1e-6, vb.pp("norm"))?,
            out: linear(width * pool * pool, cfg.token_dim, vb.pp("out"))?,
            patch: cfg.encoder_patch,
            pool,
        })
    }

    fn forward(&self, images: &Tensor) -> Result<Tensor> {
        let mut x = self
            .embed
            .forward(&patchify(images, self.patch)?)?
            .broadcast_add(&self.positions)?;
        for block in &self.blocks {
            x = block.forward(&x, None, true)?;
        }
        let x = self.norm.forward(&x, true)?;
        let (batch, _, width) = x.dims3()?;
        let (p, g) = (self.pool, GRID / self.pool);
        let pooled = x
            .reshape((batch, g, p, g, p, width))?
            .permute((0, 1, 3, 2, 4, 5))?
            .contiguous()?
            .reshape((batch, g * g, p * p * width))?;
        self.out.forward(&pooled)
    }
}

/// The pixel-space preset the probes of 1 Dec 2026 measured (the bundled preset before
/// grid tokens): 8 px patches, K = 8 learned queries of width 32, a DiT decoder.
fn pixel_config() -> TokenizerConfig {
    TokenizerConfig {
        image_size: 64,
        tokens: 8,
        token_dim: 32,
        layout: TokenLayout::Queries,
        encoder_patch: 8,
        encoder_dim: 128,
        encoder_depth: 3,
        encoder_heads: 4,
        decoder_patch: 8,
        decoder_dim: 192,
        decoder_depth: 4,
        decoder_heads: 6,
        autoencoder: None,
        ..TokenizerConfig::micro()
    }
}

/// The `grid` variant's sizes: 4 × 4 tokens (K = 16) of width 16 (256 values, as K = 8 ×
/// D = 32), convolutions of width 96, in the latent of the storyworld autoencoder (the
/// canvas is that latent, so no autoencoder inside).
fn grid_config() -> TokenizerConfig {
    let latent = AutoencoderConfig::storyworld();
    TokenizerConfig {
        image_size: latent.latent_size(),
        channels: latent.latent_channels,
        tokens: 16,
        token_dim: 16,
        layout: TokenLayout::Grid,
        encoder_dim: 96,
        encoder_depth: 1,
        autoencoder: None,
        ..pixel_config()
    }
}

/// One variant, built.
enum Probe {
    Queries(Encoder, Decoder),
    Dense(DenseEncoder, Decoder),
    Direct(Encoder, Linear, Decoder),
    Copy(Encoder, Decoder),
    Conv(ConvAutoencoder),
    Ae(Autoencoder),
    Latent(Autoencoder, Encoder, Decoder),
    Grid(Autoencoder, GridEncoder, GridDecoder),
    GridDit(Autoencoder, GridEncoder, Decoder),
    QueriesGrid(Autoencoder, Encoder, Linear, GridDecoder),
}

impl Probe {
    fn new(variant: &str, tokens: Option<usize>, vb: VarBuilder) -> anyhow::Result<Self> {
        let preset = pixel_config();
        let cfg = TokenizerConfig {
            tokens: tokens.unwrap_or(if variant == "dense" {
                64
            } else {
                preset.tokens
            }),
            ..preset
        };
        let encoder = || Encoder::new(&cfg, vb.pp("encoder"));
        let decoder = || Decoder::new(&cfg, vb.pp("decoder"));
        Ok(match variant {
            "queries" => Probe::Queries(encoder()?, decoder()?),
            "dense" => {
                let pool = (((GRID * GRID) / cfg.tokens) as f64).sqrt() as usize;
                anyhow::ensure!(
                    pool * pool * cfg.tokens == GRID * GRID,
                    "dense takes 64, 16, 4 or 1 tokens"
                );
                Probe::Dense(DenseEncoder::new(&cfg, pool, vb.pp("dense"))?, decoder()?)
            }
            "direct" => {
                let pixels = cfg.channels * cfg.image_size * cfg.image_size;
                let unpack = linear(cfg.tokens * cfg.token_dim, pixels, vb.pp("unpack"))?;
                Probe::Direct(encoder()?, unpack, decoder()?)
            }
            "copy" => Probe::Copy(encoder()?, decoder()?),
            "conv" => Probe::Conv(ConvAutoencoder::new(&cfg, vb.pp("conv"))?),
            "ae" => Probe::Ae(Autoencoder::new(
                &AutoencoderConfig::storyworld(),
                vb.clone(),
            )?),
            "grid" => Probe::Grid(
                trained_autoencoder()?,
                GridEncoder::new(&grid_config(), vb.pp("grid_encoder"))?,
                GridDecoder::new(&grid_config(), vb.pp("grid_decoder"))?,
            ),
            "grid-dit" | "queries-grid" => {
                let ae_config = AutoencoderConfig::storyworld();
                let latent = |tokens, token_dim| TokenizerConfig {
                    image_size: ae_config.latent_size(),
                    channels: ae_config.latent_channels,
                    encoder_patch: 2,
                    decoder_patch: 2,
                    tokens,
                    token_dim,
                    ..cfg.clone()
                };
                let grid = grid_config();
                if variant == "grid-dit" {
                    let encoder = GridEncoder::new(&grid, vb.pp("grid_encoder"))?;
                    let decoder = Decoder::new(&latent(16, grid.token_dim), vb.pp("decoder"))?;
                    Probe::GridDit(trained_autoencoder()?, encoder, decoder)
                } else {
                    let encoder = Encoder::new(&latent(8, 32), vb.pp("encoder"))?;
                    let to_grid = linear(256, 16 * grid.token_dim, vb.pp("to_grid"))?;
                    let decoder = GridDecoder::new(&grid, vb.pp("grid_decoder"))?;
                    Probe::QueriesGrid(trained_autoencoder()?, encoder, to_grid, decoder)
                }
            }
            "latent" => {
                let ae_config = AutoencoderConfig::storyworld();
                let autoencoder = trained_autoencoder()?;
                let latent = TokenizerConfig {
                    image_size: ae_config.latent_size(),
                    channels: ae_config.latent_channels,
                    encoder_patch: 2,
                    decoder_patch: 2,
                    autoencoder: None,
                    ..cfg
                };
                Probe::Latent(
                    autoencoder,
                    Encoder::new(&latent, vb.pp("encoder"))?,
                    Decoder::new(&latent, vb.pp("decoder"))?,
                )
            }
            other => anyhow::bail!("unknown variant {other}\n{USAGE}"),
        })
    }

    /// The reconstruction of `images`, decoded at the top of the schedule (timestep 999)
    /// from a blank input, except `copy` (timestep 0, the clean picture as input).
    fn reconstruct(&self, images: &Tensor) -> Result<Tensor> {
        let batch = images.dim(0)?;
        let top = Tensor::full(999f32, batch, images.device())?;
        let blank = Tensor::zeros(images.shape(), DType::F32, images.device())?;
        match self {
            Probe::Queries(encoder, decoder) => {
                decoder.forward(&blank, &top, &encoder.forward(images, true)?, true)
            }
            Probe::Dense(encoder, decoder) => {
                decoder.forward(&blank, &top, &encoder.forward(images)?, true)
            }
            Probe::Direct(encoder, unpack, decoder) => {
                let tokens = encoder.forward(images, true)?;
                let input = unpack
                    .forward(&tokens.flatten_from(1)?)?
                    .reshape(images.shape())?;
                decoder.forward(&input, &top, &tokens, true)
            }
            Probe::Copy(encoder, decoder) => {
                let clean = Tensor::zeros(batch, DType::F32, images.device())?;
                decoder.forward(images, &clean, &encoder.forward(images, true)?, true)
            }
            Probe::Conv(model) => model.decode(&model.encode(images)?),
            Probe::Ae(model) => model.decode(&model.encode(images, true)?, true),
            Probe::Latent(autoencoder, ..)
            | Probe::Grid(autoencoder, ..)
            | Probe::GridDit(autoencoder, ..)
            | Probe::QueriesGrid(autoencoder, ..) => {
                autoencoder.decode(&self.generate_latents(images)?.0, false)
            }
        }
    }

    /// `latent`'s generated latents of `images` and their true latents.
    fn generate_latents(&self, images: &Tensor) -> Result<(Tensor, Tensor)> {
        let batch = images.dim(0)?;
        let top = Tensor::full(999f32, batch, images.device())?;
        match self {
            Probe::Grid(autoencoder, encoder, decoder) => {
                let latents = autoencoder.encode(images, false)?.detach();
                let tokens = encoder.forward(&latents, true)?;
                return Ok((decoder.forward(&tokens, true)?, latents));
            }
            Probe::GridDit(autoencoder, encoder, decoder) => {
                let latents = autoencoder.encode(images, false)?.detach();
                let tokens = encoder.forward(&latents, true)?;
                let generated = decoder.forward(&latents.zeros_like()?, &top, &tokens, true)?;
                return Ok((generated, latents));
            }
            Probe::QueriesGrid(autoencoder, encoder, to_grid, decoder) => {
                let latents = autoencoder.encode(images, false)?.detach();
                let tokens = encoder.forward(&latents, true)?.flatten_from(1)?;
                let grid = to_grid.forward(&tokens)?.reshape((batch, 16, ()))?;
                return Ok((decoder.forward(&grid, true)?, latents));
            }
            _ => {}
        }
        let Probe::Latent(autoencoder, encoder, decoder) = self else {
            candle_core::bail!("only the latent and grid variants have latents");
        };
        let latents = autoencoder.encode(images, false)?.detach();
        let blank = latents.zeros_like()?;
        let generated = decoder.forward(&blank, &top, &encoder.forward(&latents, true)?, true)?;
        Ok((generated, latents))
    }

    /// The training loss: the reconstruction's squared error (the latent's for `latent`).
    fn loss(&self, images: &Tensor) -> Result<Tensor> {
        match self {
            Probe::Latent(..) | Probe::Grid(..) | Probe::GridDit(..) | Probe::QueriesGrid(..) => {
                let (generated, latents) = self.generate_latents(images)?;
                (generated - latents)?.sqr()?.mean_all()
            }
            _ => (self.reconstruct(images)? - images)?.sqr()?.mean_all(),
        }
    }
}

/// PSNR in dB of a mean squared error in [-1, 1] units (a range of 2).
fn psnr(mse: f64) -> f64 {
    10.0 * (4.0 / mse).log10()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, variant, steps, rest @ ..] = args.as_slice() else {
        anyhow::bail!("{USAGE}");
    };
    let data = PathBuf::from(data);
    let steps: u64 = steps
        .parse()
        .map_err(|_| anyhow::anyhow!("STEPS must be a number\n{USAGE}"))?;
    let tokens = rest
        .first()
        .map(|t| t.parse())
        .transpose()
        .map_err(|_| anyhow::anyhow!("TOKENS must be a number\n{USAGE}"))?;

    let device = Device::Cpu;
    let (dataset, mut batches) = training_batches(&data, 64, 16, 0)?;
    let test = KeyframeDataset::open(&data, Split::Test)?;
    let spread: Vec<usize> = (0..64).map(|i| i * test.len() / 64).collect();
    let (test_images, _) = load_batch(
        &test,
        &spread,
        &Augment::NONE,
        &mut ChaCha8Rng::seed_from_u64(0),
        &device,
    )?;

    let varmap = VarMap::new();
    let probe = Probe::new(variant, tokens, seeded_var_builder(&varmap, 0))?;
    let settings = OptimiserSettings {
        learning_rate: 1e-3,
        warmup: 50,
        clip: 1.0,
        ema_decay: 0.99,
    };
    let mut optimisation = Optimisation::new(&varmap, settings, steps)?;
    let start = Instant::now();
    let mut loss_sum = 0.0;
    for step in 0..steps {
        let batch = batches.next_batch();
        let (images, _) = load_batch(
            &dataset,
            &batch.indices,
            &Augment::default(),
            &mut batch.rng(),
            &device,
        )?;
        let report = optimisation.step(step, 1, |_| probe.loss(&images))?;
        loss_sum += report.loss;
        let done = step + 1;
        if done % 50 == 0 {
            let loss = loss_sum / 50.0;
            let mut line = format!(
                "{variant} step {done} loss {loss:.4} ({:.1} dB) {:.2} s/step",
                psnr(loss),
                start.elapsed().as_secs_f64() / done as f64
            );
            if done % 200 == 0 {
                let output = probe.reconstruct(&test_images)?.clamp(-1f32, 1f32)?;
                let mse = (output - &test_images)?
                    .sqr()?
                    .mean_all()?
                    .to_scalar::<f32>()?;
                line += &format!(", test {:.2} dB", psnr(mse as f64));
            }
            println!("{line}");
            loss_sum = 0.0;
        }
    }
    if variant == "ae" {
        let file = autoencoder_file();
        varmap.save(&file)?;
        println!("autoencoder written to {}", file.display());
    }
    Ok(())
}
