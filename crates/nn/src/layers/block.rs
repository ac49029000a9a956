//! The pre-norm transformer block of ViT encoders: layer norm, self-attention, residual;
//! layer norm, MLP, residual.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use crate::layers::attention::{Attention, AttentionConfig};
use crate::layers::mlp::Mlp;
use crate::layers::norm::LayerNorm;

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
