//! Convolution blocks for small convolutional encoders and decoders.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use crate::layers::norm::GroupNorm;

/// 3×3 convolution (stride 1 or 2), group norm, SiLU.
#[derive(Debug, Clone)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: GroupNorm,
}

impl ConvBlock {
    /// `in_channels` → `out_channels`, halving the resolution when `stride` is 2.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        stride: usize,
        groups: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let cfg = Conv2dConfig {
            padding: 1,
            stride,
            ..Conv2dConfig::default()
        };
        Ok(ConvBlock {
            conv: candle_nn::conv2d(in_channels, out_channels, 3, cfg, vb.pp("conv"))?,
            norm: GroupNorm::new(groups, out_channels, 1e-5, vb.pp("norm"))?,
        })
    }

    /// (batch, in, h, w) → (batch, out, h / stride, w / stride).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.norm.forward(&self.conv.forward(x)?)?.silu()
    }
}
