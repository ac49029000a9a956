//! Feed-forward layers.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

use crate::activation::{gelu, silu};

/// Linear, tanh-approximated GELU ([`gelu`], fused), linear: the MLP of ViT and DiT blocks.
#[derive(Debug, Clone)]
pub struct Mlp {
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    /// `dim` → `hidden` → `dim`.
    pub fn new(dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Mlp {
            fc1: linear(dim, hidden, vb.pp("fc1"))?,
            fc2: linear(hidden, dim, vb.pp("fc2"))?,
        })
    }

    /// Applies the MLP to the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&gelu(&self.fc1.forward(x)?)?)
    }
}

/// SwiGLU, the feed-forward layer of LLaMA: `w2(silu(w1 x) * w3 x)`, without biases.
#[derive(Debug, Clone)]
pub struct SwiGlu {
    w1: Linear,
    w2: Linear,
    w3: Linear,
}

impl SwiGlu {
    /// `dim` → `hidden` → `dim`.
    pub fn new(dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(SwiGlu {
            w1: candle_nn::linear_no_bias(dim, hidden, vb.pp("w1"))?,
            w2: candle_nn::linear_no_bias(hidden, dim, vb.pp("w2"))?,
            w3: candle_nn::linear_no_bias(dim, hidden, vb.pp("w3"))?,
        })
    }

    /// Applies the layer to the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let gate = silu(&self.w1.forward(x)?)?;
        self.w2.forward(&(gate * self.w3.forward(x)?)?)
    }
}
