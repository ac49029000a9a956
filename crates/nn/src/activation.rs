//! GELU and SiLU as fused operations with their own gradients.
//!
//! candle's `gelu` (the tanh approximation) calls the C library's `tanhf` per value, and
//! its gradient is built from a cube, a square, a second `tanhf` and half a dozen more
//! passes over the tensor. In a tokenizer training step those made up about a third of
//! the time (profiled with `perf`; docs/results/tokenizer.md). candle's SiLU gradient is
//! likewise a sigmoid, a product, a difference and a sum, each a fresh full-size tensor.
//! These ops compute the same functions in one pass forward and one backward (the
//! derivative and the chain rule's product together), with tanh from a single `exp`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

use crate::ops::{cpu_f32_values, is_f32_cpu};

/// √(2/π), the scale inside GELU's tanh approximation.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the approximation.
const CUBIC: f32 = 0.044_715;

/// GELU, tanh approximation (as candle's `gelu` and PyTorch's `gelu(approximate="tanh")`),
/// with a gradient. f32 tensors on the CPU take the fused path; anything else goes through
/// candle's own op.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if is_f32_cpu(x) {
        x.contiguous()?.apply_op1(GELU)
    } else {
        x.gelu()
    }
}

/// SiLU, x · sigmoid(x) (as candle's `silu`), with a gradient. f32 tensors on the CPU take
/// the fused path; anything else goes through candle's own op.
pub fn silu(x: &Tensor) -> Result<Tensor> {
    if is_f32_cpu(x) {
        x.contiguous()?.apply_op1(SILU)
    } else {
        x.silu()
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

fn silu_value(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// d SiLU / dx = s (1 + x (1 − s)), s = sigmoid(x).
fn silu_derivative(x: f32) -> f32 {
    let s = 1.0 / (1.0 + (-x).exp());
    s * (1.0 + x * (1.0 - s))
}

/// An activation applied value by value: its name, its function and its derivative.
struct Activation {
    name: &'static str,
    value: fn(f32) -> f32,
    derivative: fn(f32) -> f32,
}

/// GELU, tanh approximation.
const GELU: Activation = Activation {
    name: "fused-gelu",
    value: gelu_value,
    derivative: gelu_derivative,
};

/// SiLU.
const SILU: Activation = Activation {
    name: "fused-silu",
    value: silu_value,
    derivative: silu_derivative,
};

impl CustomOp1 for Activation {
    fn name(&self) -> &'static str {
        self.name
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = cpu_f32_values(self.name, storage, layout)?
            .iter()
            .map(|&x| (self.value)(x))
            .collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let chain = ChainRule(self.derivative);
        let grad = arg
            .contiguous()?
            .apply_op2_no_bwd(&grad_res.contiguous()?, &chain)?;
        Ok(Some(grad))
    }
}

/// (x, dL/dy) → dL/dy · f′(x), in one pass.
struct ChainRule(fn(f32) -> f32);

impl CustomOp2 for ChainRule {
    fn name(&self) -> &'static str {
        "fused-activation-gradient"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        x_layout: &Layout,
        grads: &CpuStorage,
        grad_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32_values(self.name(), xs, x_layout)?;
        let grad = cpu_f32_values(self.name(), grads, grad_layout)?;
        let out = x.iter().zip(grad).map(|(&x, &g)| g * (self.0)(x)).collect();
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
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
    fn silu_and_its_gradient_match_candles() {
        let x = Var::from_tensor(&inputs()).unwrap();
        let diff = max_abs_diff(
            &silu(x.as_tensor()).unwrap(),
            &x.as_tensor().silu().unwrap(),
        );
        assert!(diff.unwrap() < 2e-6);
        let weights = inputs().sin().unwrap();
        let backward = |y: Tensor| {
            (y * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        };
        let ours = backward(silu(x.as_tensor()).unwrap());
        let theirs = backward(x.as_tensor().silu().unwrap());
        let diff = max_abs_diff(ours.get(&x).unwrap(), theirs.get(&x).unwrap()).unwrap();
        assert!(diff < 1e-5, "max difference {diff}");
    }

    #[test]
    fn strided_inputs_are_handled() {
        let x = inputs().reshape((40, 60)).unwrap().t().unwrap();
        let diff = max_abs_diff(&gelu(&x).unwrap(), &x.gelu().unwrap()).unwrap();
        assert!(diff < 2e-6);
    }
}
