//! Normalisation layers.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use crate::ops;

/// Layer normalisation over the last dimension; `affine` adds a learned weight and bias
/// (DiT blocks use it without, their adaLN supplies scale and shift).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Option<Tensor>,
    bias: Option<Tensor>,
    eps: f64,
}

impl LayerNorm {
    /// A layer norm over `dim` features.
    pub fn new(dim: usize, affine: bool, eps: f64, vb: VarBuilder) -> Result<Self> {
        let (weight, bias) = if affine {
            let w = vb.get_with_hints(dim, "weight", candle_nn::Init::Const(1.0))?;
            let b = vb.get_with_hints(dim, "bias", candle_nn::Init::Const(0.0))?;
            (Some(w), Some(b))
        } else {
            (None, None)
        };
        Ok(LayerNorm { weight, bias, eps })
    }

    /// Normalises `x`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        ops::layer_norm(x, self.weight.as_ref(), self.bias.as_ref(), self.eps, train)
    }
}

/// RMS normalisation with a learned scale, as in LLaMA.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    /// An RMS norm over `dim` features.
    pub fn new(dim: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints(dim, "weight", candle_nn::Init::Const(1.0))?;
        Ok(RmsNorm { weight, eps })
    }

    /// Normalises `x`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        ops::rms_norm(x, &self.weight, self.eps, train)
    }
}
