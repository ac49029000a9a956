//! Layer normalisation as one fused operation with its own gradient, for training.
//!
//! Composed from candle's ops, a layer norm is a mean, a subtraction, a square, a second
//! mean, a square root, a division, a product and a sum, and its backward pass adds a
//! full-size gradient, a broadcast reduction and fresh zeroed buffers for each of them. In
//! the evaluator's convolutional band reader, which normalises every pixel's channels
//! twice per block, that made the layer norms cost about as much as the convolutions
//! (docs/results/evaluator.md, "Where a training step's time went, again"). This op
//! normalises in one pass over each row and computes the input's gradient in one more;
//! the weight's and bias's gradients take a third.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, D, DType, Layout, Result, Shape, Tensor};

use crate::ops::cpu_f32_values;

/// Layer normalisation over the last dimension of an f32 CPU tensor, with an optional
/// affine weight and bias; gradients reach `x` and whichever of the two is given.
pub fn fused_layer_norm(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let dim = x.dim(D::Minus1)?;
    let op = LayerNormOp {
        eps: eps as f32,
        weight_given: weight.is_some(),
        bias_given: bias.is_some(),
    };
    let weight = match weight {
        Some(w) => w.contiguous()?,
        None => Tensor::ones(dim, DType::F32, x.device())?,
    };
    let bias = match bias {
        Some(b) => b.contiguous()?,
        None => Tensor::zeros(dim, DType::F32, x.device())?,
    };
    x.contiguous()?.apply_op3(&weight, &bias, op)
}

/// A row's mean and the reciprocal of its standard deviation (with `eps` in the variance).
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (variance + eps).sqrt())
}

/// y = (x − mean) / std · weight + bias, per row of the last dimension.
struct LayerNormOp {
    eps: f32,
    weight_given: bool,
    bias_given: bool,
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "fused-layer-norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        x_layout: &Layout,
        ws: &CpuStorage,
        w_layout: &Layout,
        bs: &CpuStorage,
        b_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32_values(self.name(), xs, x_layout)?;
        let weight = cpu_f32_values(self.name(), ws, w_layout)?;
        let bias = cpu_f32_values(self.name(), bs, b_layout)?;
        let dim = weight.len();
        let mut out = vec![0f32; x.len()];
        for (row, out) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
            let (mean, rstd) = moments(row, self.eps);
            for (((o, &v), &w), &b) in out.iter_mut().zip(row).zip(weight).zip(bias) {
                *o = (v - mean) * rstd * w + b;
            }
        }
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let eps = self.eps;
        let grad_x = x.apply_op3_no_bwd(weight, &grad, &InputGradient { eps })?;
        if !self.weight_given && !self.bias_given {
            return Ok((Some(grad_x), None, None));
        }
        let sums = x.apply_op2_no_bwd(&grad, &AffineGradient { eps })?;
        let grad_weight = self.weight_given.then(|| sums.get(0)).transpose()?;
        let grad_bias = self.bias_given.then(|| sums.get(1)).transpose()?;
        Ok((Some(grad_x), grad_weight, grad_bias))
    }
}

/// dL/dx from x, the weight and dL/dy: with x̂ the normalised row and g = dL/dy · weight,
/// dx = (g − mean(g) − x̂ · mean(g · x̂)) / std.
struct InputGradient {
    eps: f32,
}

impl CustomOp3 for InputGradient {
    fn name(&self) -> &'static str {
        "fused-layer-norm-input-gradient"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        x_layout: &Layout,
        ws: &CpuStorage,
        w_layout: &Layout,
        gs: &CpuStorage,
        g_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32_values(self.name(), xs, x_layout)?;
        let weight = cpu_f32_values(self.name(), ws, w_layout)?;
        let grad = cpu_f32_values(self.name(), gs, g_layout)?;
        let dim = weight.len();
        let n = dim as f32;
        let mut out = vec![0f32; x.len()];
        let rows = x.chunks_exact(dim).zip(grad.chunks_exact(dim));
        for ((row, grad), out) in rows.zip(out.chunks_exact_mut(dim)) {
            let (mean, rstd) = moments(row, self.eps);
            let (mut mean_g, mut mean_gx) = (0f32, 0f32);
            for ((&v, &dy), &w) in row.iter().zip(grad).zip(weight) {
                let g = dy * w;
                mean_g += g;
                mean_gx += g * (v - mean) * rstd;
            }
            (mean_g, mean_gx) = (mean_g / n, mean_gx / n);
            for (((o, &v), &dy), &w) in out.iter_mut().zip(row).zip(grad).zip(weight) {
                let normalised = (v - mean) * rstd;
                *o = (dy * w - mean_g - normalised * mean_gx) * rstd;
            }
        }
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }
}

/// The weight's and bias's gradients from x and dL/dy, as one (2, dim) tensor: the sum
/// over rows of dL/dy · x̂, then of dL/dy.
struct AffineGradient {
    eps: f32,
}

impl CustomOp2 for AffineGradient {
    fn name(&self) -> &'static str {
        "fused-layer-norm-affine-gradient"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        x_layout: &Layout,
        gs: &CpuStorage,
        g_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32_values(self.name(), xs, x_layout)?;
        let grad = cpu_f32_values(self.name(), gs, g_layout)?;
        let dim = x_layout.shape().dims().last().copied().unwrap_or(1);
        // Summed in f64: a batch of feature maps has tens of thousands of rows.
        let mut sums = vec![0f64; 2 * dim];
        let (weight_sum, bias_sum) = sums.split_at_mut(dim);
        for (row, grad) in x.chunks_exact(dim).zip(grad.chunks_exact(dim)) {
            let (mean, rstd) = moments(row, self.eps);
            let columns = weight_sum.iter_mut().zip(bias_sum.iter_mut());
            for (((sw, sb), &v), &dy) in columns.zip(row).zip(grad) {
                *sw += f64::from(dy * (v - mean) * rstd);
                *sb += f64::from(dy);
            }
        }
        let sums = sums.into_iter().map(|s| s as f32).collect();
        Ok((CpuStorage::F32(sums), Shape::from((2, dim))))
    }
}
