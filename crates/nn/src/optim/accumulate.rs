//! Gradient accumulation over micro-batches.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::VarMap;

use crate::checkpoint::named_vars;

/// Sums the gradients of a model's variables over micro-batches and hands back their mean,
/// so that a batch too large for memory can be run in parts.
///
/// Only the variables' gradients are kept: a [`GradStore`] from `backward` also holds the
/// gradient of every intermediate tensor, which [`add`](Self::add) lets go.
///
/// ```text
/// for _ in 0..micro_batches {
///     accumulator.add(&loss(batch)?.backward()?)?;
/// }
/// let mut grads = accumulator.take()?;   // the mean over the micro-batches
/// clip_grad_norm(&mut grads, &varmap, 1.0)?;
/// optimizer.step(&grads, lr)?;
/// ```
pub struct GradAccumulator {
    /// The variables in name order, with the sum of their gradients so far.
    sums: Vec<(Var, Option<Tensor>)>,
    count: usize,
}

impl GradAccumulator {
    /// An empty accumulator for the variables of `varmap`.
    pub fn new(varmap: &VarMap) -> Self {
        Self {
            sums: named_vars(varmap)
                .into_values()
                .map(|var| (var, None))
                .collect(),
            count: 0,
        }
    }

    /// Adds the gradients of one micro-batch. A variable without a gradient in it counts as
    /// zero for that micro-batch.
    pub fn add(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        for (var, sum) in &mut self.sums {
            if let Some(grad) = grads.get(var.as_tensor()) {
                *sum = Some(match sum.take() {
                    None => grad.detach(),
                    Some(sum) => (sum + grad)?,
                });
            }
        }
        self.count += 1;
        Ok(())
    }

    /// How many micro-batches have been added since the last [`take`](Self::take).
    pub fn micro_batches(&self) -> usize {
        self.count
    }

    /// The mean of the gradients added since the last take (their sum divided by the number of
    /// micro-batches), as a store the optimiser and clipping accept; the accumulator is empty
    /// again afterwards. Variables that had no gradient in any micro-batch have none in it.
    pub fn take(&mut self) -> candle_core::Result<GradStore> {
        let mut store = GradStore::default();
        let scale = 1.0 / self.count.max(1) as f64;
        for (var, sum) in &mut self.sums {
            if let Some(sum) = sum.take() {
                store.insert(var.as_tensor(), sum.affine(scale, 0.0)?);
            }
        }
        self.count = 0;
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Module};
    use candle_nn::VarBuilder;

    #[test]
    fn the_mean_of_micro_batch_gradients_is_the_gradient_of_the_whole_batch() {
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let layer =
            candle_nn::linear(3, 2, VarBuilder::from_varmap(&varmap, DType::F32, &device)).unwrap();
        let x = Tensor::arange(0f32, 24.0, &device)
            .unwrap()
            .reshape((8, 3))
            .unwrap();
        let y = Tensor::arange(0f32, 16.0, &device)
            .unwrap()
            .reshape((8, 2))
            .unwrap();
        let loss = |x: &Tensor, y: &Tensor| {
            (layer.forward(x).unwrap() - y)
                .unwrap()
                .sqr()
                .unwrap()
                .mean_all()
                .unwrap()
        };
        let whole = loss(&x, &y).backward().unwrap();

        let mut accumulator = GradAccumulator::new(&varmap);
        for i in 0..2 {
            let part = |t: &Tensor| t.narrow(0, 4 * i, 4).unwrap();
            accumulator
                .add(&loss(&part(&x), &part(&y)).backward().unwrap())
                .unwrap();
        }
        assert_eq!(accumulator.micro_batches(), 2);
        let mean = accumulator.take().unwrap();
        assert_eq!(accumulator.micro_batches(), 0);
        for var in named_vars(&varmap).values() {
            let a = whole.get(var.as_tensor()).unwrap();
            let b = mean.get(var.as_tensor()).unwrap();
            let diff = crate::ops::max_abs_diff(a, b).unwrap();
            let scale = crate::ops::max_abs_diff(a, &a.zeros_like().unwrap()).unwrap();
            assert!(diff <= 1e-5 * scale, "{diff} of {scale}");
        }
        assert_eq!(
            mean.get_ids().count(),
            2,
            "only the variables' gradients are kept"
        );
    }
}
