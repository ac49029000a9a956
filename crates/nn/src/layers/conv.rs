//! Convolutions over channels-last maps (batch, height, width, channels), for small
//! convolutional autoencoders.
//!
//! A 3×3 convolution here is each position's nine neighbours gathered side by side
//! ([`neighbours_3x3`]) and one matrix product, written by hand: candle's CPU `conv2d`
//! backward pass took over 5 s a step for a small autoencoder (docs/results/tokenizer.md),
//! while this form trains at matrix-product speed and keeps channels last, so 1×1
//! convolutions are plain linear layers.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

use crate::activation::silu;
use crate::init::small_linear;
use crate::layers::neighbours_3x3;
use crate::layers::norm::LayerNorm;

/// A 3×3 convolution with zero padding and stride 1: same height and width out.
#[derive(Debug, Clone)]
pub struct Conv3x3 {
    weights: Linear,
}

impl Conv3x3 {
    /// `inputs` → `outputs` channels, weights initialised as a linear layer over the nine
    /// neighbours.
    pub fn new(inputs: usize, outputs: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Conv3x3 {
            weights: linear(9 * inputs, outputs, vb)?,
        })
    }

    /// The same with weights that start small, for the last convolution of a residual
    /// branch, so every block starts close to the identity.
    pub fn new_small(inputs: usize, outputs: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Conv3x3 {
            weights: small_linear(9 * inputs, outputs, vb)?,
        })
    }

    /// (batch, h, w, inputs) → (batch, h, w, outputs).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, h, w, _) = x.dims4()?;
        let out = self.weights.forward(&neighbours_3x3(x)?)?;
        out.reshape((batch, h, w, out.dim(1)?))
    }
}

/// A residual block of two 3×3 convolutions, each after layer norm over the channels and
/// SiLU (pre-activation, as in the residual blocks of latent-diffusion autoencoders).
#[derive(Debug, Clone)]
pub struct ConvResBlock {
    norm1: LayerNorm,
    conv1: Conv3x3,
    norm2: LayerNorm,
    conv2: Conv3x3,
}

impl ConvResBlock {
    /// A block over `channels` channels.
    pub fn new(channels: usize, vb: VarBuilder) -> Result<Self> {
        Ok(ConvResBlock {
            norm1: LayerNorm::new(channels, true, 1e-6, vb.pp("norm1"))?,
            conv1: Conv3x3::new(channels, channels, vb.pp("conv1"))?,
            norm2: LayerNorm::new(channels, true, 1e-6, vb.pp("norm2"))?,
            conv2: Conv3x3::new_small(channels, channels, vb.pp("conv2"))?,
        })
    }

    /// (batch, h, w, channels) → the same shape.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.conv1.forward(&silu(&self.norm1.forward(x, train)?)?)?;
        let h = self
            .conv2
            .forward(&silu(&self.norm2.forward(&h, train)?)?)?;
        x + h
    }
}

/// (batch, h, w, c) → (batch, h/2, w/2, 4c): each 2×2 block of pixels becomes one position.
pub fn space_to_depth(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    x.reshape((b, h / 2, 2, w / 2, 2, c))?
        .permute((0, 1, 3, 2, 4, 5))?
        .contiguous()?
        .reshape((b, h / 2, w / 2, 4 * c))
}

/// (batch, h, w, 4c) → (batch, 2h, 2w, c): the inverse of [`space_to_depth`].
pub fn depth_to_space(x: &Tensor) -> Result<Tensor> {
    let (b, h, w, c4) = x.dims4()?;
    x.reshape((b, h, w, 2, 2, c4 / 4))?
        .permute((0, 1, 3, 2, 4, 5))?
        .contiguous()?
        .reshape((b, 2 * h, 2 * w, c4 / 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::max_abs_diff;
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    #[test]
    fn depth_to_space_undoes_space_to_depth() {
        let x = Tensor::arange(0f32, 2.0 * 4.0 * 6.0 * 3.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 4, 6, 3))
            .unwrap();
        let packed = space_to_depth(&x).unwrap();
        assert_eq!(packed.dims(), &[2, 2, 3, 12]);
        // The first position holds the 2×2 block at the top left, row by row.
        let first: Vec<f32> = packed
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .to_vec1()
            .unwrap();
        let top_left: Vec<f32> = [(0, 0), (0, 1), (1, 0), (1, 1)]
            .iter()
            .flat_map(|&(y, x_)| {
                x.get(0)
                    .unwrap()
                    .get(y)
                    .unwrap()
                    .get(x_)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            })
            .collect();
        assert_eq!(first, top_left);
        assert_eq!(
            max_abs_diff(&depth_to_space(&packed).unwrap(), &x).unwrap(),
            0.0
        );
    }

    #[test]
    fn conv3x3_matches_candle_conv2d() {
        let varmap = VarMap::new();
        let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let conv = Conv3x3::new(2, 3, vb).unwrap();
        let x = Tensor::randn(0f32, 1.0, (1, 5, 4, 2), &Device::Cpu).unwrap();
        // The linear weight (out, 9·in) is ordered (dy, dx, in): as candle's
        // (out, in, ky, kx) kernel it is a permutation.
        let kernel = conv
            .weights
            .weight()
            .reshape((3, 3, 3, 2))
            .unwrap()
            .permute((0, 3, 1, 2))
            .unwrap()
            .contiguous()
            .unwrap();
        let expected = x
            .permute((0, 3, 1, 2))
            .unwrap()
            .conv2d(&kernel, 1, 1, 1, 1)
            .unwrap()
            .broadcast_add(&conv.weights.bias().unwrap().reshape((1, 3, 1, 1)).unwrap())
            .unwrap()
            .permute((0, 2, 3, 1))
            .unwrap();
        let got = conv.forward(&x).unwrap();
        assert!(max_abs_diff(&got, &expected).unwrap() < 1e-5);
    }
}
