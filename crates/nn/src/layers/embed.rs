//! Timestep embeddings for diffusion models.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

use crate::activation::silu;

/// Sinusoidal embedding of (possibly fractional) timesteps, as in DiT: for frequencies
/// `exp(-ln(max_period) * i / half)`, `[cos(t f), sin(t f)]`. `t` is (batch,).
pub fn timestep_embedding(t: &Tensor, dim: usize, max_period: f64) -> Result<Tensor> {
    let half = dim / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (-(max_period.ln()) * i as f64 / half as f64).exp() as f32)
        .collect();
    let freqs = Tensor::from_vec(freqs, (1, half), t.device())?;
    let args = t
        .to_dtype(DType::F32)?
        .unsqueeze(1)?
        .broadcast_mul(&freqs)?;
    let embedding = Tensor::cat(&[args.cos()?, args.sin()?], 1)?;
    if dim % 2 == 1 {
        let pad = Tensor::zeros((embedding.dim(0)?, 1), DType::F32, t.device())?;
        return Tensor::cat(&[embedding, pad], 1);
    }
    Ok(embedding)
}

/// DiT's timestep embedder: the sinusoidal embedding through linear, SiLU, linear.
#[derive(Debug, Clone)]
pub struct TimestepEmbedder {
    fc1: Linear,
    fc2: Linear,
    frequency_dim: usize,
}

impl TimestepEmbedder {
    /// Embeds timesteps into `hidden` features via `frequency_dim` sinusoids.
    pub fn new(frequency_dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(TimestepEmbedder {
            fc1: linear(frequency_dim, hidden, vb.pp("fc1"))?,
            fc2: linear(hidden, hidden, vb.pp("fc2"))?,
            frequency_dim,
        })
    }

    /// (batch,) timesteps → (batch, hidden).
    pub fn forward(&self, t: &Tensor) -> Result<Tensor> {
        let embedding = timestep_embedding(t, self.frequency_dim, 10_000.0)?;
        self.fc2.forward(&silu(&self.fc1.forward(&embedding)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn the_embedding_of_zero_is_cosines_of_one_and_sines_of_zero() {
        let t = Tensor::new(&[0f32, 3.0], &Device::Cpu).unwrap();
        let e = timestep_embedding(&t, 8, 10_000.0)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(e[0], vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        // The first frequency is 1: cos(3), sin(3).
        assert!((e[1][0] - 3f32.cos()).abs() < 1e-6 && (e[1][4] - 3f32.sin()).abs() < 1e-6);
    }
}
