//! Gradient coverage: one training step must give every trainable tensor a finite,
//! non-zero gradient. A weight that gets none never learns, silently — the trap of candle's
//! fused ops — so every model in the project runs this check in its tests.

use candle_core::{DType, Tensor};
use candle_nn::VarMap;

use crate::checkpoint::named_vars;

/// What is wrong with the gradient of one variable.
#[derive(Debug, Clone, PartialEq)]
pub enum GradProblem {
    /// The loss does not depend on it at all.
    Missing,
    /// Its gradient is zero everywhere.
    Zero,
    /// Its gradient has NaN or infinite entries.
    NotFinite,
}

/// Back-propagates `loss` and returns every variable of `varmap` whose gradient is
/// missing, zero or not finite, by name. An empty list means full coverage.
pub fn gradient_problems(
    varmap: &VarMap,
    loss: &Tensor,
) -> candle_core::Result<Vec<(String, GradProblem)>> {
    let grads = loss.backward()?;
    let mut problems = Vec::new();
    for (name, var) in named_vars(varmap) {
        let problem = match grads.get(var.as_tensor()) {
            None => Some(GradProblem::Missing),
            Some(g) => {
                let g = g.to_dtype(DType::F32)?.flatten_all()?;
                let sum_abs = g.abs()?.sum_all()?.to_scalar::<f32>()?;
                if !sum_abs.is_finite() {
                    Some(GradProblem::NotFinite)
                } else if sum_abs == 0.0 {
                    Some(GradProblem::Zero)
                } else {
                    None
                }
            }
        };
        if let Some(problem) = problem {
            problems.push((name, problem));
        }
    }
    Ok(problems)
}

/// Panics with the list of uncovered variables unless every one has a good gradient; for
/// tests.
pub fn assert_full_coverage(varmap: &VarMap, loss: &Tensor) {
    let problems = gradient_problems(varmap, loss).expect("backward pass");
    assert!(
        problems.is_empty(),
        "variables without a usable gradient: {problems:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{
        Attention, AttentionConfig, ConvResBlock, DitBlock, DitBlockConfig, LayerNorm, RmsNorm,
        Rope, SwiGlu, TimestepEmbedder, TransformerBlock, causal_mask,
    };
    use crate::ops::randn;
    use candle_core::Device;
    use candle_nn::VarBuilder;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn a_fused_op_is_caught_and_the_training_path_is_covered() {
        for train in [false, true] {
            let varmap = VarMap::new();
            let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
            let norm = RmsNorm::new(8, 1e-6, vb.pp("norm")).unwrap();
            let x = randn(&mut ChaCha8Rng::seed_from_u64(0), (2, 8), &Device::Cpu).unwrap();
            let loss = (norm.forward(&x, train).unwrap() * &x)
                .unwrap()
                .sum_all()
                .unwrap();
            let problems = gradient_problems(&varmap, &loss).unwrap();
            if train {
                assert!(problems.is_empty(), "{problems:?}");
            } else {
                assert_eq!(
                    problems,
                    vec![("norm.weight".to_owned(), GradProblem::Missing)]
                );
            }
        }
    }

    #[test]
    fn every_layer_trains() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = randn(&mut rng, (2, 5, 16), &dev).unwrap();
        let context = randn(&mut rng, (2, 3, 12), &dev).unwrap();

        let gqa = Attention::new(
            &AttentionConfig {
                dim: 16,
                heads: 4,
                kv_heads: 2,
                context_dim: None,
                bias: false,
            },
            vb.pp("gqa"),
        )
        .unwrap();
        let rope = Rope::new(4, 16, 10_000.0, &dev).unwrap();
        let mask = causal_mask(5, &dev).unwrap();
        let h = gqa
            .forward(&x, None, Some(&mask), Some((&rope, 0)), true)
            .unwrap();
        let h = RmsNorm::new(16, 1e-6, vb.pp("rms"))
            .unwrap()
            .forward(&h, true)
            .unwrap();
        let h = SwiGlu::new(16, 32, vb.pp("swiglu"))
            .unwrap()
            .forward(&h)
            .unwrap();
        let h = TransformerBlock::new(16, 2, 2.0, vb.pp("vit"))
            .unwrap()
            .forward(&h, None, true)
            .unwrap();
        let h = LayerNorm::new(16, true, 1e-5, vb.pp("ln"))
            .unwrap()
            .forward(&h, true)
            .unwrap();

        let t = Tensor::new(&[3f32, 500.0], &dev).unwrap();
        let c = TimestepEmbedder::new(32, 16, vb.pp("time"))
            .unwrap()
            .forward(&t)
            .unwrap();
        let block = DitBlock::new(
            &DitBlockConfig {
                dim: 16,
                heads: 2,
                mlp_ratio: 2.0,
                context_dim: Some(12),
                decoupled_context_dim: None,
            },
            vb.pp("dit"),
        )
        .unwrap();
        let h = block.forward(&h, &c, Some(&context), true).unwrap();

        let map = randn(&mut rng, (2, 4, 4, 8), &dev).unwrap();
        let conv = ConvResBlock::new(8, vb.pp("conv"))
            .unwrap()
            .forward(&map, true)
            .unwrap();

        let target = randn(&mut rng, (2, 5, 16), &dev).unwrap();
        let loss = ((h - target).unwrap().sqr().unwrap().mean_all().unwrap()
            + conv.sqr().unwrap().mean_all().unwrap())
        .unwrap();
        assert_full_coverage(&varmap, &loss);
    }
}
