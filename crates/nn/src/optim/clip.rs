//! Gradient clipping by global norm.

use candle_core::DType;
use candle_core::backprop::GradStore;
use candle_nn::VarMap;

use crate::checkpoint::named_vars;

/// The global L2 norm of the gradients of the variables of `varmap`: the root of the sum of
/// every squared element, summed in f64 in the order of the variables' names. Variables
/// without a gradient count as zero.
pub fn grad_norm(grads: &GradStore, varmap: &VarMap) -> candle_core::Result<f64> {
    let mut sum = 0.0f64;
    for var in named_vars(varmap).values() {
        if let Some(grad) = grads.get(var.as_tensor()) {
            let values: Vec<f32> = grad.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
            sum += values
                .iter()
                .map(|&g| f64::from(g) * f64::from(g))
                .sum::<f64>();
        }
    }
    Ok(sum.sqrt())
}

/// Scales the gradients of the variables of `varmap` so that their global L2 norm is at most
/// `max_norm`, as PyTorch's `clip_grad_norm_` (the factor is `max_norm / (norm + 1e-6)`),
/// and returns the norm before clipping.
///
/// A norm that is not finite (a NaN or infinite gradient) is returned and the gradients are
/// left as they are: the caller should skip the step.
pub fn clip_grad_norm(
    grads: &mut GradStore,
    varmap: &VarMap,
    max_norm: f64,
) -> candle_core::Result<f64> {
    let norm = grad_norm(grads, varmap)?;
    let factor = max_norm / (norm + 1e-6);
    if norm.is_finite() && factor < 1.0 {
        for var in named_vars(varmap).values() {
            if let Some(grad) = grads.remove(var.as_tensor()) {
                grads.insert(var.as_tensor(), grad.affine(factor, 0.0)?);
            }
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};
    use candle_nn::{Init, VarBuilder};

    #[test]
    fn clipping_returns_the_true_norm_and_scales_to_the_maximum() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let a = vb.get_with_hints(2, "a", Init::Const(1.0)).unwrap();
        let b = vb.get_with_hints((1, 1), "b", Init::Const(1.0)).unwrap();
        // loss = 3 a0 + 0 a1 + 4 b: gradients (3, 0) and (4), norm 5.
        let loss = ((a * Tensor::new(&[3f32, 0.0], &Device::Cpu).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            + (b * 4.0).unwrap().sum_all().unwrap())
        .unwrap();
        let mut grads = loss.backward().unwrap();
        let vars = named_vars(&varmap);
        let norm = clip_grad_norm(&mut grads, &varmap, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-9, "{norm}");
        let after = grad_norm(&grads, &varmap).unwrap();
        assert!((after - 1.0).abs() < 1e-5, "{after}");
        let ga: Vec<f32> = grads.get(vars["a"].as_tensor()).unwrap().to_vec1().unwrap();
        assert!((ga[0] - 0.6).abs() < 1e-5 && ga[1] == 0.0, "{ga:?}");

        // Under the maximum, nothing changes.
        let norm = clip_grad_norm(&mut grads, &varmap, 10.0).unwrap();
        assert!((norm - after).abs() < 1e-12);
        let ga2: Vec<f32> = grads.get(vars["a"].as_tensor()).unwrap().to_vec1().unwrap();
        assert_eq!(ga, ga2);
    }
}
