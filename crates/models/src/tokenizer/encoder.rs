//! The keyframe encoder: canvas (the keyframe's latent, or its pixels) → K continuous tokens
//! of width D.
//!
//! With [`TokenLayout::Queries`], patches are embedded and mixed by a small ViT; then K
//! learned queries cross-attend to the patch features (a Perceiver-style compressor), so
//! however large the image, the planner sees exactly K tokens per keyframe. With
//! [`TokenLayout::Grid`], convolutions make a √K × √K grid of them ([`GridEncoder`]).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::init::SMALL;
use moviedreamer_nn::layers::{
    Attention, AttentionConfig, LayerNorm, Mlp, TransformerBlock, patchify, sincos_positions_2d,
};

use super::grid::GridEncoder;
use super::{TokenLayout, TokenizerConfig};

/// Image → tokens, by the config's layout.
#[derive(Debug, Clone)]
pub enum Encoder {
    /// ViT and learned queries.
    Queries(Box<QueryEncoder>),
    /// Convolutions to a grid.
    Grid(GridEncoder),
}

impl Encoder {
    /// Builds the encoder of `cfg.layout` under `vb`.
    pub fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        Ok(match cfg.layout {
            TokenLayout::Queries => Encoder::Queries(Box::new(QueryEncoder::new(cfg, vb)?)),
            TokenLayout::Grid => Encoder::Grid(GridEncoder::new(cfg, vb)?),
        })
    }

    /// Canvases (batch, channels, side, side) → (batch, tokens, token_dim).
    pub fn forward(&self, canvases: &Tensor, train: bool) -> Result<Tensor> {
        match self {
            Encoder::Queries(encoder) => encoder.forward(canvases, train),
            Encoder::Grid(encoder) => encoder.forward(canvases, train),
        }
    }
}

/// Image → tokens by a ViT and learned queries.
#[derive(Debug, Clone)]
pub struct QueryEncoder {
    patch: usize,
    embed: Linear,
    positions: Tensor,
    blocks: Vec<TransformerBlock>,
    compressor: QueryCompressor,
}

impl QueryEncoder {
    /// Builds the encoder under `vb`.
    pub fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        let dim = cfg.encoder_dim;
        let (channels, side) = cfg.canvas();
        let grid = side / cfg.encoder_patch;
        let patch_values = channels * cfg.encoder_patch * cfg.encoder_patch;
        let blocks = (0..cfg.encoder_depth)
            .map(|i| {
                TransformerBlock::new(dim, cfg.encoder_heads, 4.0, vb.pp(format!("blocks.{i}")))
            })
            .collect::<Result<_>>()?;
        Ok(QueryEncoder {
            patch: cfg.encoder_patch,
            embed: linear(patch_values, dim, vb.pp("embed"))?,
            positions: sincos_positions_2d(grid, grid, dim, vb.device())?,
            blocks,
            compressor: QueryCompressor::new(cfg, vb)?,
        })
    }

    /// Canvases (batch, channels, side, side) → (batch, tokens, token_dim).
    pub fn forward(&self, images: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self
            .embed
            .forward(&patchify(images, self.patch)?)?
            .broadcast_add(&self.positions)?;
        for block in &self.blocks {
            x = block.forward(&x, None, train)?;
        }
        self.compressor.forward(&x, train)
    }
}

/// The compressor: K learned queries cross-attend to the encoder's features, then an MLP
/// and a projection to the token width, so any number of features becomes exactly K
/// tokens. Its weights sit directly under the encoder's (`queries`, `compress.*`, …).
#[derive(Debug, Clone)]
pub struct QueryCompressor {
    queries: Tensor,
    norm_queries: LayerNorm,
    norm_features: LayerNorm,
    compress: Attention,
    norm_mlp: LayerNorm,
    mlp: Mlp,
    out: Linear,
}

impl QueryCompressor {
    /// `cfg.tokens` queries over features of width `cfg.encoder_dim`, under `vb`.
    pub fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        let dim = cfg.encoder_dim;
        let compress = AttentionConfig {
            dim,
            heads: cfg.encoder_heads,
            kv_heads: cfg.encoder_heads,
            context_dim: None,
            bias: true,
        };
        Ok(QueryCompressor {
            queries: vb.get_with_hints((1, cfg.tokens, dim), "queries", SMALL)?,
            norm_queries: LayerNorm::new(dim, true, 1e-6, vb.pp("norm_queries"))?,
            norm_features: LayerNorm::new(dim, true, 1e-6, vb.pp("norm_features"))?,
            compress: Attention::new(&compress, vb.pp("compress"))?,
            norm_mlp: LayerNorm::new(dim, true, 1e-6, vb.pp("norm_mlp"))?,
            mlp: Mlp::new(dim, 4 * dim, vb.pp("mlp"))?,
            out: linear(dim, cfg.token_dim, vb.pp("out"))?,
        })
    }

    /// Features (batch, n, encoder_dim) → tokens (batch, tokens, token_dim).
    pub fn forward(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        let batch = features.dim(0)?;
        let features = self.norm_features.forward(features, train)?;
        let queries =
            self.queries
                .broadcast_as((batch, self.queries.dim(1)?, self.queries.dim(2)?))?;
        let q = self.norm_queries.forward(&queries, train)?;
        let mut tokens = (&queries
            + self
                .compress
                .forward(&q, Some(&features), None, None, train)?)?;
        tokens = (&tokens + self.mlp.forward(&self.norm_mlp.forward(&tokens, train)?)?)?;
        self.out.forward(&tokens)
    }
}
