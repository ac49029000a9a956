//! Pre-norm transformer blocks: the ViT encoders' (layer norm, attention, MLP) and the
//! LLaMA-style causal one (RMS norm, rotary grouped-query attention, SwiGLU).

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::layers::attention::{Attention, AttentionConfig, KvCache, Rope};
use crate::layers::mlp::{Mlp, SwiGlu};
use crate::layers::norm::{LayerNorm, RmsNorm};

/// One pre-norm transformer block.
#[derive(Debug, Clone)]
pub struct TransformerBlock {
    norm1: LayerNorm,
    attention: Attention,
    norm2: LayerNorm,
    mlp: Mlp,
}

impl TransformerBlock {
    /// A block of width `dim` with `heads` heads and an MLP `mlp_ratio` times wider.
    pub fn new(dim: usize, heads: usize, mlp_ratio: f64, vb: VarBuilder) -> Result<Self> {
        let attention = AttentionConfig {
            dim,
            heads,
            kv_heads: heads,
            context_dim: None,
            bias: true,
        };
        Ok(TransformerBlock {
            norm1: LayerNorm::new(dim, true, 1e-6, vb.pp("norm1"))?,
            attention: Attention::new(&attention, vb.pp("attention"))?,
            norm2: LayerNorm::new(dim, true, 1e-6, vb.pp("norm2"))?,
            mlp: Mlp::new(dim, (dim as f64 * mlp_ratio) as usize, vb.pp("mlp"))?,
        })
    }

    /// (batch, tokens, dim) → (batch, tokens, dim), with an optional additive mask.
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let h = self.norm1.forward(x, train)?;
        let x = (x + self.attention.forward(&h, None, mask, None, train)?)?;
        let h = self.mlp.forward(&self.norm2.forward(&x, train)?)?;
        x + h
    }
}

/// Shape of a [`CausalBlock`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CausalBlockConfig {
    /// Token width.
    pub dim: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (fewer than `heads`: grouped-query attention).
    pub kv_heads: usize,
    /// Hidden width of the SwiGLU feed-forward layer.
    pub hidden: usize,
}

/// The block of LLaMA-style causal transformers: RMS norm, self-attention with rotary
/// positions and grouped-query heads, residual; RMS norm, SwiGLU, residual. No biases.
#[derive(Debug, Clone)]
pub struct CausalBlock {
    norm1: RmsNorm,
    attention: Attention,
    norm2: RmsNorm,
    mlp: SwiGlu,
}

impl CausalBlock {
    /// Builds the block under `vb`.
    pub fn new(cfg: &CausalBlockConfig, vb: VarBuilder) -> Result<Self> {
        let attention = AttentionConfig {
            dim: cfg.dim,
            heads: cfg.heads,
            kv_heads: cfg.kv_heads,
            context_dim: None,
            bias: false,
        };
        Ok(CausalBlock {
            norm1: RmsNorm::new(cfg.dim, 1e-5, vb.pp("norm1"))?,
            attention: Attention::new(&attention, vb.pp("attention"))?,
            norm2: RmsNorm::new(cfg.dim, 1e-5, vb.pp("norm2"))?,
            mlp: SwiGlu::new(cfg.dim, cfg.hidden, vb.pp("mlp"))?,
        })
    }

    /// A whole sequence (batch, time, dim) at once, as in training: `mask` is the causal
    /// mask, positions start at 0.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, rope: &Rope, train: bool) -> Result<Tensor> {
        let h = self.norm1.forward(x, train)?;
        let x = (x + self
            .attention
            .forward(&h, None, Some(mask), Some((rope, 0)), train)?)?;
        let h = self.mlp.forward(&self.norm2.forward(&x, train)?)?;
        x + h
    }

    /// New positions after those in `cache` (which they join), as in generation.
    pub fn forward_cached(&self, x: &Tensor, cache: &mut KvCache, rope: &Rope) -> Result<Tensor> {
        let h = self.norm1.forward(x, false)?;
        let x = (x + self.attention.forward_cached(&h, cache, Some(rope))?)?;
        let h = self.mlp.forward(&self.norm2.forward(&x, false)?)?;
        x + h
    }
}
