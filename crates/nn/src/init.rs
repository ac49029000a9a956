//! Seeded weight initialisation.
//!
//! `VarBuilder::from_varmap` draws initial weights from candle's CPU random generator, which
//! cannot be seeded, so two runs of the same training start from different weights. A
//! [`seeded_var_builder`] creates the same variables in the same `VarMap`, honouring the
//! same init hints (constant, normal, uniform, Kaiming), but draws from a `ChaCha8Rng`: the
//! same seed and the same model code give the same weights.

use std::sync::Mutex;

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::NormalOrUniform;
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::ops::{rand_uniform, randn};

/// A variable store backend that initialises new variables from a seeded generator.
struct SeededBackend {
    varmap: VarMap,
    rng: Mutex<ChaCha8Rng>,
}

impl SeededBackend {
    /// A tensor of `shape` drawn as `init` asks.
    fn sample(&self, init: Init, shape: &Shape, device: &Device) -> Result<Tensor> {
        let mut rng = self.rng.lock().map_err(|_| {
            candle_core::Error::Msg("the initialisation generator was poisoned".into())
        })?;
        let rng = &mut *rng;
        match init {
            Init::Const(value) => Tensor::full(value as f32, shape, device),
            Init::Randn { mean, stdev } => randn(rng, shape, device)?.affine(stdev, mean),
            Init::Uniform { lo, up } => rand_uniform(rng, shape, device)?.affine(up - lo, lo),
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => {
                let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
                match dist {
                    NormalOrUniform::Normal => randn(rng, shape, device)?.affine(std, 0.0),
                    NormalOrUniform::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        rand_uniform(rng, shape, device)?.affine(2.0 * bound, -bound)
                    }
                }
            }
        }
    }
}

impl SimpleBackend for SeededBackend {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: Init,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let existing = {
            let vars = self
                .varmap
                .data()
                .lock()
                .map_err(|_| candle_core::Error::Msg("the VarMap was poisoned".into()))?;
            vars.get(name).map(|var| var.as_tensor().clone())
        };
        if let Some(tensor) = existing {
            if tensor.shape() != &shape {
                candle_core::bail!(
                    "variable {name} exists with shape {:?}, asked for {:?}",
                    tensor.dims(),
                    shape.dims()
                );
            }
            return Ok(tensor);
        }
        let var = Var::from_tensor(&self.sample(init, &shape, device)?.to_dtype(dtype)?)?;
        let tensor = var.as_tensor().clone();
        self.varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("the VarMap was poisoned".into()))?
            .insert(name.to_owned(), var);
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _device: &Device) -> Result<Tensor> {
        let vars = self
            .varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("the VarMap was poisoned".into()))?;
        match vars.get(name) {
            Some(var) => Ok(var.as_tensor().clone()),
            None => candle_core::bail!("no variable named {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap
            .data()
            .lock()
            .map(|vars| vars.contains_key(name))
            .unwrap_or(false)
    }
}

/// A `VarBuilder` over `varmap` (f32, CPU) whose new variables are drawn from a generator
/// seeded with `seed`.
pub fn seeded_var_builder(varmap: &VarMap, seed: u64) -> VarBuilder<'static> {
    let backend = SeededBackend {
        varmap: varmap.clone(),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
    };
    VarBuilder::from_backend(Box::new(backend), DType::F32, Device::Cpu)
}

/// The initialisation of weights that should start near zero but not at zero: DiT starts
/// its adaLN projections and final layer at zero so that every block begins as the
/// identity and the first predictions are small; a small random start does the same while
/// every weight still gets a gradient from the first step (which the gradient-coverage
/// tests require).
pub const SMALL: Init = Init::Randn {
    mean: 0.0,
    stdev: 0.02,
};

/// A linear layer whose weight starts [`SMALL`] and whose bias starts at zero.
pub fn small_linear(
    in_dim: usize,
    out_dim: usize,
    vb: VarBuilder,
) -> candle_core::Result<candle_nn::Linear> {
    let weight = vb.get_with_hints((out_dim, in_dim), "weight", SMALL)?;
    let bias = vb.get_with_hints(out_dim, "bias", candle_nn::Init::Const(0.0))?;
    Ok(candle_nn::Linear::new(weight, Some(bias)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::named_vars;
    use crate::ops::max_abs_diff;

    fn build(seed: u64) -> VarMap {
        let varmap = VarMap::new();
        let vb = seeded_var_builder(&varmap, seed);
        candle_nn::linear(64, 32, vb.pp("a")).unwrap();
        vb.get_with_hints(8, "gain", Init::Const(1.0)).unwrap();
        vb.get_with_hints(
            (4, 4),
            "noise",
            Init::Randn {
                mean: 1.0,
                stdev: 0.5,
            },
        )
        .unwrap();
        varmap
    }

    #[test]
    fn the_same_seed_gives_the_same_weights() {
        let (a, b, c) = (
            named_vars(&build(3)),
            named_vars(&build(3)),
            named_vars(&build(4)),
        );
        for name in ["a.weight", "a.bias", "gain", "noise"] {
            assert_eq!(
                max_abs_diff(a[name].as_tensor(), b[name].as_tensor()).unwrap(),
                0.0,
                "{name}"
            );
        }
        assert!(max_abs_diff(a["a.weight"].as_tensor(), c["a.weight"].as_tensor()).unwrap() > 0.0);
        // Hints are honoured: a constant, a normal's mean, and Kaiming's scale for fan-in 64
        // (a standard deviation of at most sqrt(2) / 8, whatever the non-linearity).
        assert_eq!(
            a["gain"].as_tensor().to_vec1::<f32>().unwrap(),
            vec![1.0; 8]
        );
        let mean = a["noise"]
            .as_tensor()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((mean - 1.0).abs() < 0.3, "{mean}");
        let weights = a["a.weight"].as_tensor();
        let std = weights
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            .sqrt();
        assert!(std > 0.02 && std < 2f32.sqrt() / 8.0 * 1.1, "{std}");
    }
}
