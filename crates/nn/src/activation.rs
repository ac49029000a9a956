//! GELU as one fused operation with its own gradient.
//!
//! candle's `gelu` (the tanh approximation) calls the C library's `tanhf` per value, and
//! its gradient is built from a cube, a square, a second `tanhf` and half a dozen more
//! passes over the tensor. In a tokenizer training step those made up about a third of
//! the time (profiled with `perf`; docs/results/tokenizer.md). This op computes the same
//! function in one pass forward and one backward, with tanh from a single `exp`.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};

/// √(2/π), the scale inside GELU's tanh approximation.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the approximation.
const CUBIC: f32 = 0.044_715;

/// GELU, tanh approximation (as candle's `gelu` and PyTorch's `gelu(approximate="tanh")`),
/// with a gradient. f32 tensors on the CPU take the fused path; anything else goes through
/// candle's own op.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if x.dtype() == DType::F32 && x.device().is_cpu() {
        x.contiguous()?.apply_op1(FusedGelu)
    } else {
        x.gelu()
    }
}

/// tanh(u) = 1 − 2 / (e^{2u} + 1): one `exp`, no cancellation that matters at f32 for
/// GELU (the absolute error stays near 1e-7), and no NaN at either extreme.
fn fast_tanh(u: f32) -> f32 {
    1.0 - 2.0 / ((2.0 * u).exp() + 1.0)
}

fn gelu_value(x: f32) -> f32 {
    let t = fast_tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x));
    0.5 * x * (1.0 + t)
}

/// d GELU / dx = ½(1 + t) + ½ x (1 − t²) · √(2/π) (1 + 3·0.044715 x²).
fn gelu_derivative(x: f32) -> f32 {
    let t = fast_tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x));
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * CUBIC * x * x)
}

/// Applies `f` to every value of a contiguous f32 tensor.
fn map_f32(
    name: &str,
    storage: &CpuStorage,
    layout: &Layout,
    f: fn(f32) -> f32,
) -> Result<(CpuStorage, Shape)> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{name} takes f32 tensors");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{name} takes contiguous tensors");
    };
    let out: Vec<f32> = values[start..end].iter().map(|&x| f(x)).collect();
    Ok((CpuStorage::F32(out), layout.shape().clone()))
}

struct FusedGelu;

impl CustomOp1 for FusedGelu {
    fn name(&self) -> &'static str {
        "fused-gelu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        map_f32(self.name(), storage, layout, gelu_value)
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let derivative = arg.contiguous()?.apply_op1_no_bwd(&GeluDerivative)?;
        Ok(Some(grad_res.mul(&derivative)?))
    }
}

struct GeluDerivative;

impl CustomOp1 for GeluDerivative {
    fn name(&self) -> &'static str {
        "fused-gelu-derivative"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        map_f32(self.name(), storage, layout, gelu_derivative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::max_abs_diff;
    use candle_core::{Device, Var};

    fn inputs() -> Tensor {
        // -12 … 12, covering both tails and the curved middle.
        Tensor::arange(-1200f32, 1200f32, &Device::Cpu)
            .unwrap()
            .affine(0.01, 0.003)
            .unwrap()
    }

    #[test]
    fn values_match_candles_gelu() {
        let x = inputs();
        let diff = max_abs_diff(&gelu(&x).unwrap(), &x.gelu().unwrap()).unwrap();
        assert!(diff < 2e-6, "max difference {diff}");
    }

    #[test]
    fn gradient_matches_candles_autograd() {
        let x = Var::from_tensor(&inputs()).unwrap();
        let weights = inputs().sin().unwrap();
        let ours = (gelu(x.as_tensor()).unwrap() * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let theirs = (x.as_tensor().gelu().unwrap() * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let (ours, theirs) = (ours.get(&x).unwrap(), theirs.get(&x).unwrap());
        let diff = max_abs_diff(ours, theirs).unwrap();
        assert!(diff < 1e-5, "max difference {diff}");
    }

    #[test]
    fn strided_inputs_are_handled() {
        let x = inputs().reshape((40, 60)).unwrap().t().unwrap();
        let diff = max_abs_diff(&gelu(&x).unwrap(), &x.gelu().unwrap()).unwrap();
        assert!(diff < 2e-6);
    }
}
