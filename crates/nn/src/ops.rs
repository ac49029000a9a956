//! Tensor operations with a training path and an inference path.
//!
//! candle's fused `softmax_last_dim`, `layer_norm`, `rms_norm` and `rope` kernels are fast
//! but record no backward pass. Each function here takes `train`: when true it composes
//! differentiable ops, or for the layer norm calls our own fused op with a gradient
//! ([`crate::layer_norm`]), so gradients flow; when false it calls candle's fused kernel.
//! Tests check that the paths agree to 1e-5. Random tensors come from our seeded RNG,
//! because candle's CPU device cannot be seeded.

use candle_core::{CpuStorage, D, DType, Device, Layout, Result, Shape, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Whether `t` is an f32 tensor on the CPU: what our fused ops' kernels take (other dtypes
/// and devices go through candle's ops).
pub(crate) fn is_f32_cpu(t: &Tensor) -> bool {
    t.dtype() == DType::F32 && t.device().is_cpu()
}

/// The f32 values of a contiguous CPU tensor's storage, for our fused ops' kernels; `name`
/// (the op's) goes into the error otherwise.
pub(crate) fn cpu_f32_values<'a>(
    name: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> Result<&'a [f32]> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{name} takes f32 tensors");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{name} takes contiguous tensors");
    };
    Ok(&values[start..end])
}

/// Softmax over the last dimension.
pub fn softmax_last_dim(x: &Tensor, train: bool) -> Result<Tensor> {
    if !train {
        return candle_nn::ops::softmax_last_dim(x);
    }
    let max = x.max_keepdim(D::Minus1)?;
    let exp = x.broadcast_sub(&max)?.exp()?;
    exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)
}

/// Layer normalisation over the last dimension, with optional affine weight and bias.
/// Training on f32 CPU tensors takes the fused op of [`crate::layer_norm`]; other dtypes
/// and devices compose candle's ops.
pub fn layer_norm(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
    train: bool,
) -> Result<Tensor> {
    if !train && let (Some(w), Some(b)) = (weight, bias) {
        return candle_nn::ops::layer_norm(&x.contiguous()?, w, b, eps as f32);
    }
    if is_f32_cpu(x) && weight.is_none_or(is_f32_cpu) && bias.is_none_or(is_f32_cpu) {
        return crate::layer_norm::fused_layer_norm(x, weight, bias, eps);
    }
    composed_layer_norm(x, weight, bias, eps)
}

/// Layer normalisation composed from candle's differentiable ops.
fn composed_layer_norm(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
    let mut y = centred.broadcast_div(&(variance + eps)?.sqrt()?)?;
    if let Some(w) = weight {
        y = y.broadcast_mul(w)?;
    }
    if let Some(b) = bias {
        y = y.broadcast_add(b)?;
    }
    Ok(y)
}

/// RMS normalisation over the last dimension, scaled by `weight`.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64, train: bool) -> Result<Tensor> {
    if !train {
        return candle_nn::ops::rms_norm(&x.contiguous()?, weight, eps as f32);
    }
    let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
    x.broadcast_div(&(mean_square + eps)?.sqrt()?)?
        .broadcast_mul(weight)
}

/// Rotary position embedding in the rotate-half layout (as LLaMA): `x` is
/// (batch, heads, time, head_dim); `cos` and `sin` are (time, head_dim / 2).
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor, train: bool) -> Result<Tensor> {
    if !train {
        return candle_nn::rotary_emb::rope(&x.contiguous()?, cos, sin);
    }
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let rotated_1 = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
    let rotated_2 = (x2.broadcast_mul(cos)? + x1.broadcast_mul(sin)?)?;
    Tensor::cat(&[rotated_1, rotated_2], D::Minus1)
}

/// A tensor of standard normal samples drawn from `rng`.
pub fn randn(rng: &mut impl Rng, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
    let shape = shape.into();
    let values: Vec<f32> = (0..shape.elem_count())
        .map(|_| StandardNormal.sample(rng))
        .collect();
    Tensor::from_vec(values, shape, device)
}

/// The generator of one numbered stream of a seed: item `stream` of a run (a shot of a
/// film) draws its noise from here, so what it gets does not depend on which other items
/// are computed with it, before it, or in another process.
pub fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A tensor of uniform samples in [0, 1) drawn from `rng`.
pub fn rand_uniform(
    rng: &mut impl Rng,
    shape: impl Into<Shape>,
    device: &Device,
) -> Result<Tensor> {
    let shape = shape.into();
    let values: Vec<f32> = (0..shape.elem_count())
        .map(|_| rng.random::<f32>())
        .collect();
    Tensor::from_vec(values, shape, device)
}

/// The largest absolute difference between two tensors of the same shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    (a - b)?
        .abs()?
        .flatten_all()?
        .max(0)?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()
}

/// Mean cross-entropy of `logits` (rows, classes) against class indices `targets` (rows,)
/// u32, counting only rows where `weights` (rows,) is 1; composed of differentiable ops.
pub fn masked_cross_entropy(logits: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let log_sum_exp = (logits
        .broadcast_sub(&max)?
        .exp()?
        .sum_keepdim(D::Minus1)?
        .log()?
        + max)?
        .squeeze(D::Minus1)?;
    let picked = logits
        .gather(&targets.unsqueeze(D::Minus1)?, D::Minus1)?
        .squeeze(D::Minus1)?;
    let weights = weights.to_dtype(DType::F32)?;
    let total = ((log_sum_exp - picked)? * &weights)?.sum_all()?;
    total / weights.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn input(shape: &[usize]) -> Tensor {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        (randn(&mut rng, shape, &Device::Cpu).unwrap() * 3.0).unwrap()
    }

    #[test]
    fn training_and_inference_paths_agree() {
        let x = input(&[2, 3, 5, 16]);
        let w = input(&[16]);
        let b = input(&[16]);
        let pairs = [
            (softmax_last_dim(&x, true), softmax_last_dim(&x, false)),
            (
                layer_norm(&x, Some(&w), Some(&b), 1e-5, true),
                layer_norm(&x, Some(&w), Some(&b), 1e-5, false),
            ),
            (rms_norm(&x, &w, 1e-6, true), rms_norm(&x, &w, 1e-6, false)),
        ];
        for (i, (train, infer)) in pairs.into_iter().enumerate() {
            let diff = max_abs_diff(&train.unwrap(), &infer.unwrap()).unwrap();
            assert!(diff < 1e-5, "op {i}: {diff}");
        }
        let cos = input(&[5, 8]).cos().unwrap();
        let sin = input(&[5, 8]).sin().unwrap();
        let diff = max_abs_diff(
            &rope(&x, &cos, &sin, true).unwrap(),
            &rope(&x, &cos, &sin, false).unwrap(),
        )
        .unwrap();
        assert!(diff < 1e-5, "rope: {diff}");
    }

    #[test]
    fn training_paths_carry_gradients() {
        let x = candle_core::Var::from_tensor(&input(&[2, 4, 8])).unwrap();
        let w = candle_core::Var::from_tensor(&input(&[8])).unwrap();
        let y = rms_norm(x.as_tensor(), w.as_tensor(), 1e-6, true).unwrap();
        let y = softmax_last_dim(&y, true).unwrap();
        let y = layer_norm(&y, Some(w.as_tensor()), None, 1e-5, true).unwrap();
        let loss = (y * input(&[2, 4, 8])).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        for var in [&x, &w] {
            let g = grads.get(var).expect("a gradient");
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(norm.is_finite() && norm > 0.0);
        }
    }

    #[test]
    fn the_fused_layer_norm_matches_the_composed_one_and_its_gradients() {
        use candle_core::Var;
        let x = Var::from_tensor(&input(&[3, 7, 24])).unwrap();
        let w = Var::from_tensor(&input(&[24])).unwrap();
        let b = Var::from_tensor(&input(&[24])).unwrap();
        let upstream = input(&[3, 7, 24]).sin().unwrap();
        let cases: [(Option<&Tensor>, Option<&Tensor>); 3] = [
            (Some(w.as_tensor()), Some(b.as_tensor())),
            (Some(w.as_tensor()), None),
            (None, None),
        ];
        for (case, (weight, bias)) in cases.into_iter().enumerate() {
            // A transposed input checks that strided tensors are made contiguous first.
            let strided = x.as_tensor().transpose(0, 1).unwrap();
            let fused = layer_norm(&strided, weight, bias, 1e-5, true).unwrap();
            let composed = composed_layer_norm(&strided, weight, bias, 1e-5).unwrap();
            let diff = max_abs_diff(&fused, &composed).unwrap();
            assert!(diff < 1e-5, "case {case}: values differ by {diff}");
            let loss = |y: Tensor| {
                let upstream = upstream.transpose(0, 1).unwrap();
                (y * upstream)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap()
            };
            let (fused, composed) = (loss(fused), loss(composed));
            for (name, var) in [("x", &x), ("weight", &w), ("bias", &b)] {
                match (fused.get(var), composed.get(var)) {
                    (Some(f), Some(c)) => {
                        let diff = max_abs_diff(f, c).unwrap();
                        assert!(
                            diff < 1e-4,
                            "case {case}: {name}'s gradient differs by {diff}"
                        );
                    }
                    (None, None) => {}
                    (f, c) => panic!(
                        "case {case}: {name} has a gradient from one path only (fused {}, composed {})",
                        f.is_some(),
                        c.is_some()
                    ),
                }
            }
        }
    }

    #[test]
    fn random_tensors_follow_the_seed() {
        let a = randn(&mut ChaCha8Rng::seed_from_u64(3), (4, 4), &Device::Cpu).unwrap();
        let b = randn(&mut ChaCha8Rng::seed_from_u64(3), (4, 4), &Device::Cpu).unwrap();
        assert_eq!(max_abs_diff(&a, &b).unwrap(), 0.0);
        let u = rand_uniform(&mut ChaCha8Rng::seed_from_u64(3), 1000, &Device::Cpu).unwrap();
        let mean = u.mean_all().unwrap().to_scalar::<f32>().unwrap();
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }

    #[test]
    fn masked_cross_entropy_skips_rows_and_matches_the_formula() {
        let logits = Tensor::new(&[[2f32, 0.0], [0.0, 0.0], [5.0, -5.0]], &Device::Cpu).unwrap();
        let targets = Tensor::new(&[0u32, 1, 1], &Device::Cpu).unwrap();
        let weights = Tensor::new(&[1f32, 1.0, 0.0], &Device::Cpu).unwrap();
        let loss = masked_cross_entropy(&logits, &targets, &weights)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // Row 1: ln(1 + e^-2); row 2: ln 2; row 3 is left out.
        let expected = ((1.0f32 + (-2.0f32).exp()).ln() + 2f32.ln()) / 2.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} {expected}");
    }
}
