//! Dropout driven by our seeded RNG: candle's CPU device cannot be seeded, so its random
//! tensors would make training irreproducible.

use candle_core::{Result, Tensor};
use rand::Rng;

use crate::ops::rand_uniform;

/// Zeroes each element with probability `p` in training and rescales the rest by
/// 1 / (1 − p); the identity at inference.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    p: f64,
}

impl Dropout {
    /// Dropout with drop probability `p` in [0, 1).
    pub fn new(p: f64) -> Self {
        Dropout {
            p: p.clamp(0.0, 0.999),
        }
    }

    /// Applies dropout when `rng` is given (training), passes `x` through otherwise.
    pub fn forward(&self, x: &Tensor, rng: Option<&mut impl Rng>) -> Result<Tensor> {
        let Some(rng) = rng else {
            return Ok(x.clone());
        };
        if self.p == 0.0 {
            return Ok(x.clone());
        }
        let keep = rand_uniform(rng, x.shape(), x.device())?
            .ge(self.p)?
            .to_dtype(x.dtype())?;
        (x * keep)? / (1.0 - self.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn drops_at_the_rate_and_keeps_the_mean() {
        let x = Tensor::ones(10_000, candle_core::DType::F32, &Device::Cpu).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let y = Dropout::new(0.3).forward(&x, Some(&mut rng)).unwrap();
        let values = y.to_vec1::<f32>().unwrap();
        let dropped = values.iter().filter(|&&v| v == 0.0).count() as f64 / 10_000.0;
        assert!((dropped - 0.3).abs() < 0.02, "{dropped}");
        let mean = values.iter().sum::<f32>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.05, "{mean}");
        let same = Dropout::new(0.3)
            .forward(&x, None::<&mut ChaCha8Rng>)
            .unwrap();
        assert_eq!(same.to_vec1::<f32>().unwrap(), vec![1.0; 10_000]);
    }
}
