//! The keyframe decoder: a diffusion transformer that denoises a keyframe's canvas (its
//! latent, or its pixels)
//! conditioned on its K tokens, through cross-attention (detail) and through the adaLN
//! conditioning vector (their mean: global look). Dropping the tokens in training, replaced
//! by learned null tokens, gives classifier-free guidance at sampling.
//!
//! With grid tokens ([`TokenLayout::Grid`]) the tokens are also decoded by convolutions into
//! a coarse canvas ([`GridDecoder`]), which the DiT sees beside the noisy canvas and adds
//! its prediction to: it starts as a fast-learning deterministic decoder and the diffusion
//! model only has to learn what the coarse canvas lacks.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::activation::silu;
use moviedreamer_nn::diffusion::Prediction;
use moviedreamer_nn::init::{SMALL, small_linear};
use moviedreamer_nn::layers::{
    DitBlock, DitBlockConfig, LayerNorm, TimestepEmbedder, modulate, patchify, sincos_positions_2d,
    unpatchify,
};

use super::grid::GridDecoder;
use super::{TokenLayout, TokenizerConfig};

/// The coarse path of grid tokens: their convolutional decoding and its patch embedding.
#[derive(Debug, Clone)]
struct Coarse {
    decoder: GridDecoder,
    embed: Linear,
}

/// Noisy canvas, timestep and tokens → the model's prediction (x₀, v or ε).
#[derive(Debug, Clone)]
pub struct Decoder {
    patch: usize,
    channels: usize,
    size: usize,
    embed: Linear,
    coarse: Option<Coarse>,
    positions: Tensor,
    time: TimestepEmbedder,
    context: Linear,
    token_positions: Tensor,
    pooled: Linear,
    null_tokens: Tensor,
    blocks: Vec<DitBlock>,
    final_norm: LayerNorm,
    final_modulation: Linear,
    out: Linear,
}

impl Decoder {
    /// Builds the decoder under `vb`.
    pub fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        Self::build(cfg, None, vb)
    }

    /// The decoder with a decoupled cross-attention in every block on a second context of
    /// `context_dim` wide tokens (the renderer's identities), under `vb`: the tokenizer's
    /// weights keep their names, the new ones are `blocks.*.decoupled.*`.
    pub fn with_decoupled_context(
        cfg: &TokenizerConfig,
        context_dim: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        Self::build(cfg, Some(context_dim), vb)
    }

    fn build(
        cfg: &TokenizerConfig,
        decoupled_context_dim: Option<usize>,
        vb: VarBuilder,
    ) -> Result<Self> {
        // Here rather than in the tokenizer, so the renderer, which builds this decoder too,
        // is held to it.
        if cfg.layout == TokenLayout::Grid && cfg.schedule.prediction != Prediction::Sample {
            candle_core::bail!(
                "grid tokens give the decoder a coarse keyframe to refine, so it must predict the keyframe itself (schedule.prediction \"sample\")"
            );
        }
        let dim = cfg.decoder_dim;
        let (channels, side) = cfg.canvas();
        let grid = side / cfg.decoder_patch;
        let patch_values = channels * cfg.decoder_patch * cfg.decoder_patch;
        let block = DitBlockConfig {
            dim,
            heads: cfg.decoder_heads,
            mlp_ratio: 4.0,
            context_dim: Some(dim),
            decoupled_context_dim,
        };
        let blocks = (0..cfg.decoder_depth)
            .map(|i| DitBlock::new(&block, vb.pp(format!("blocks.{i}"))))
            .collect::<Result<_>>()?;
        Ok(Decoder {
            patch: cfg.decoder_patch,
            channels,
            size: side,
            embed: linear(patch_values, dim, vb.pp("embed"))?,
            coarse: match cfg.layout {
                TokenLayout::Queries => None,
                TokenLayout::Grid => Some(Coarse {
                    decoder: GridDecoder::new(cfg, vb.pp("coarse"))?,
                    embed: linear(patch_values, dim, vb.pp("coarse_embed"))?,
                }),
            },
            positions: sincos_positions_2d(grid, grid, dim, vb.device())?,
            time: TimestepEmbedder::new(256, dim, vb.pp("time"))?,
            context: linear(cfg.token_dim, dim, vb.pp("context"))?,
            token_positions: vb.get_with_hints((1, cfg.tokens, dim), "token_positions", SMALL)?,
            pooled: linear(cfg.token_dim, dim, vb.pp("pooled"))?,
            null_tokens: vb.get_with_hints((1, cfg.tokens, cfg.token_dim), "null_tokens", SMALL)?,
            blocks,
            final_norm: LayerNorm::new(dim, false, 1e-6, vb.pp("final_norm"))?,
            // Small, as DiT's final layer and its modulation start at zero: the first
            // predictions are near zero instead of large random values, which would need many
            // clipped steps to undo.
            final_modulation: small_linear(dim, 2 * dim, vb.pp("final_modulation"))?,
            out: small_linear(dim, patch_values, vb.pp("out"))?,
        })
    }

    /// The learned tokens that stand for "no condition", broadcast to `batch`.
    pub fn null_tokens(&self, batch: usize) -> Result<Tensor> {
        let (_, k, d) = self.null_tokens.dims3()?;
        self.null_tokens.broadcast_as((batch, k, d))?.contiguous()
    }

    /// `noisy` canvases (batch, channels, side, side), `timesteps` (batch,) and `tokens`
    /// (batch, K, token_dim) → prediction of the same shape as `noisy`.
    pub fn forward(
        &self,
        noisy: &Tensor,
        timesteps: &Tensor,
        tokens: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        self.forward_decoupled(noisy, timesteps, tokens, None, None, train)
    }

    /// [`forward`](Self::forward) with the decoupled context (batch, its tokens,
    /// context_dim) read by every block, for a decoder built with one, and a value per
    /// patch (batch, patches, decoder width) added to the patch embeddings.
    pub fn forward_decoupled(
        &self,
        noisy: &Tensor,
        timesteps: &Tensor,
        tokens: &Tensor,
        decoupled: Option<&Tensor>,
        patch_bias: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let mut x = self
            .embed
            .forward(&patchify(noisy, self.patch)?)?
            .broadcast_add(&self.positions)?;
        if let Some(bias) = patch_bias {
            x = (x + bias)?;
        }
        let coarse = match &self.coarse {
            Some(coarse) => {
                let canvas = coarse.decoder.forward(tokens, train)?;
                x = (x + coarse.embed.forward(&patchify(&canvas, self.patch)?)?)?;
                Some(canvas)
            }
            None => None,
        };
        let c = (self.time.forward(timesteps)? + self.pooled.forward(&tokens.mean(1)?)?)?;
        let context = self
            .context
            .forward(tokens)?
            .broadcast_add(&self.token_positions)?;
        for block in &self.blocks {
            x = block.forward_decoupled(&x, &c, Some(&context), decoupled, train)?;
        }
        let modulation = self
            .final_modulation
            .forward(&silu(&c)?)?
            .chunk(2, D::Minus1)?;
        let x = modulate(
            &self.final_norm.forward(&x, train)?,
            &modulation[0],
            &modulation[1],
        )?;
        let prediction = unpatchify(
            &self.out.forward(&x)?,
            self.patch,
            self.channels,
            self.size,
            self.size,
        )?;
        match coarse {
            Some(coarse) => coarse + prediction,
            None => Ok(prediction),
        }
    }
}
