//! The DiT block: self-attention and MLP modulated by a conditioning vector (adaLN), with
//! optional cross-attention to a sequence of condition tokens, as the tokenizer's decoder
//! and the renderer use it.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::activation::silu;
use crate::init::small_linear;
use crate::layers::attention::{Attention, AttentionConfig};
use crate::layers::mlp::Mlp;
use crate::layers::norm::LayerNorm;

/// Shape of a DiT block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DitBlockConfig {
    /// Token width.
    pub dim: usize,
    /// Attention heads.
    pub heads: usize,
    /// MLP hidden width as a multiple of `dim` (4 in DiT).
    pub mlp_ratio: f64,
    /// Width of cross-attention context tokens; `None` for no cross-attention.
    pub context_dim: Option<usize>,
    /// Width of a second, decoupled context (IP-Adapter's decoupled cross-attention: its own
    /// keys, values and projections, reading the same normalised tokens, its output added
    /// to the first cross-attention's); `None` for none. Needs `context_dim`.
    #[serde(default)]
    pub decoupled_context_dim: Option<usize>,
}

/// `x · (1 + scale) + shift`, with (batch, dim) scale and shift broadcast over tokens.
pub fn modulate(x: &Tensor, shift: &Tensor, scale: &Tensor) -> Result<Tensor> {
    x.broadcast_mul(&(scale.unsqueeze(1)? + 1.0)?)?
        .broadcast_add(&shift.unsqueeze(1)?)
}

/// One DiT block.
#[derive(Debug, Clone)]
pub struct DitBlock {
    norm1: LayerNorm,
    attention: Attention,
    cross: Option<(LayerNorm, Attention)>,
    decoupled: Option<Attention>,
    norm2: LayerNorm,
    mlp: Mlp,
    modulation: Linear,
}

impl DitBlock {
    /// Builds the block under `vb`. The adaLN projection starts small but not zero (DiT
    /// starts it at zero), so that every weight of the block gets a gradient from the first
    /// step, which the project's gradient-coverage test requires.
    pub fn new(cfg: &DitBlockConfig, vb: VarBuilder) -> Result<Self> {
        let attention_cfg = AttentionConfig {
            dim: cfg.dim,
            heads: cfg.heads,
            kv_heads: cfg.heads,
            context_dim: None,
            bias: true,
        };
        let cross = match cfg.context_dim {
            Some(context_dim) => {
                let cross_cfg = AttentionConfig {
                    context_dim: Some(context_dim),
                    ..attention_cfg.clone()
                };
                Some((
                    LayerNorm::new(cfg.dim, true, 1e-6, vb.pp("norm_cross"))?,
                    Attention::new(&cross_cfg, vb.pp("cross"))?,
                ))
            }
            None => None,
        };
        let decoupled = match (cfg.decoupled_context_dim, &cross) {
            (Some(context_dim), Some(_)) => Some(Attention::new(
                &AttentionConfig {
                    context_dim: Some(context_dim),
                    ..attention_cfg.clone()
                },
                vb.pp("decoupled"),
            )?),
            (Some(_), None) => {
                candle_core::bail!("a decoupled context needs the block's cross-attention")
            }
            (None, _) => None,
        };
        let hidden = (cfg.dim as f64 * cfg.mlp_ratio) as usize;
        Ok(DitBlock {
            norm1: LayerNorm::new(cfg.dim, false, 1e-6, vb.pp("norm1"))?,
            attention: Attention::new(&attention_cfg, vb.pp("attention"))?,
            cross,
            decoupled,
            norm2: LayerNorm::new(cfg.dim, false, 1e-6, vb.pp("norm2"))?,
            mlp: Mlp::new(cfg.dim, hidden, vb.pp("mlp"))?,
            modulation: small_linear(cfg.dim, 6 * cfg.dim, vb.pp("modulation"))?,
        })
    }

    /// `x` (batch, tokens, dim) conditioned on `c` (batch, dim) and, with cross-attention,
    /// on `context` (batch, context tokens, context_dim).
    pub fn forward(
        &self,
        x: &Tensor,
        c: &Tensor,
        context: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        self.forward_decoupled(x, c, context, None, train)
    }

    /// [`forward`](Self::forward) with the decoupled context too (batch, its tokens, its
    /// width), when the block has one.
    pub fn forward_decoupled(
        &self,
        x: &Tensor,
        c: &Tensor,
        context: Option<&Tensor>,
        decoupled: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let chunks = self.modulation.forward(&silu(c)?)?.chunk(6, D::Minus1)?;
        let [shift_a, scale_a, gate_a, shift_m, scale_m, gate_m] = chunks.as_slice() else {
            candle_core::bail!("adaLN produced {} chunks instead of 6", chunks.len());
        };
        let h = modulate(&self.norm1.forward(x, train)?, shift_a, scale_a)?;
        let h = self.attention.forward(&h, None, None, None, train)?;
        let mut x = (x + h.broadcast_mul(&gate_a.unsqueeze(1)?)?)?;
        if let (Some((norm, cross)), Some(context)) = (&self.cross, context) {
            let normed = norm.forward(&x, train)?;
            let mut h = cross.forward(&normed, Some(context), None, None, train)?;
            if let (Some(attention), Some(decoupled)) = (&self.decoupled, decoupled) {
                h = (h + attention.forward(&normed, Some(decoupled), None, None, train)?)?;
            }
            x = (x + h)?;
        }
        let h = modulate(&self.norm2.forward(&x, train)?, shift_m, scale_m)?;
        let h = self.mlp.forward(&h)?;
        x + h.broadcast_mul(&gate_m.unsqueeze(1)?)?
    }
}
