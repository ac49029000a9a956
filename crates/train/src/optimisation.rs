//! One optimiser step as every loop takes it: the loss of each part of the batch computed
//! side by side on the cores, each part's gradients averaged, the norm clipped, AdamW at the
//! scheduled rate, then the EMA of the weights.

use candle_core::Tensor;
use candle_nn::VarMap;
use moviedreamer_nn::optim::{
    AdamW, AdamWConfig, Ema, GradAccumulator, LrSchedule, clip_grad_norm,
};
use moviedreamer_nn::parallel::run_parts;
use serde::{Deserialize, Serialize};

/// What the optimiser is set to; every loop's settings hold these (flattened, so a
/// settings file lists them beside the loop's own).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimiserSettings {
    /// Peak learning rate (after warm-up; decays to a tenth by the last step).
    pub learning_rate: f64,
    /// Steps of linear warm-up.
    pub warmup: u64,
    /// Gradient-norm clipping threshold.
    pub clip: f64,
    /// EMA decay of the weights that are kept.
    pub ema_decay: f64,
}

/// The optimiser, the weight average and the learning-rate schedule of one model.
pub struct Optimisation {
    varmap: VarMap,
    /// AdamW with its state (saved in checkpoints).
    pub optimizer: AdamW,
    /// The weights' moving average (what `model/` keeps).
    pub ema: Ema,
    accumulator: GradAccumulator,
    schedule: LrSchedule,
    clip: f64,
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// The mean loss of the parts.
    pub loss: f64,
    /// The gradient norm before clipping.
    pub grad_norm: f64,
    /// The learning rate used.
    pub lr: f64,
}

impl StepReport {
    /// The fields every loop logs beside the step and the loss.
    pub fn record(&self) -> serde_json::Value {
        serde_json::json!({ "lr": self.lr, "grad_norm": self.grad_norm })
    }
}

impl Optimisation {
    /// AdamW (default betas and weight decay), an EMA and the schedule over `varmap`, for a
    /// run of `steps` steps.
    pub fn new(
        varmap: &VarMap,
        settings: OptimiserSettings,
        steps: u64,
    ) -> candle_core::Result<Self> {
        Ok(Optimisation {
            varmap: varmap.clone(),
            optimizer: AdamW::new(varmap, AdamWConfig::default())?,
            ema: Ema::new(varmap, settings.ema_decay)?,
            accumulator: GradAccumulator::new(varmap),
            schedule: LrSchedule {
                peak: settings.learning_rate,
                min: settings.learning_rate / 10.0,
                warmup_steps: settings.warmup,
                total_steps: steps,
            },
            clip: settings.clip,
        })
    }

    /// Step `step` of training: `loss_of(i)` is the loss of part i of the batch, for i in
    /// 0..`parts`, computed side by side; their gradients are averaged.
    pub fn step(
        &mut self,
        step: u64,
        parts: usize,
        loss_of: impl Fn(usize) -> candle_core::Result<Tensor> + Sync,
    ) -> candle_core::Result<StepReport> {
        let micro = run_parts(parts, |i| {
            let loss = loss_of(i)?;
            Ok((loss.to_scalar::<f32>()? as f64, loss.backward()?))
        })?;
        let mut loss = 0.0;
        for (part_loss, grads) in &micro {
            loss += part_loss / micro.len() as f64;
            self.accumulator.add(grads)?;
        }
        drop(micro);
        let mut grads = self.accumulator.take()?;
        let grad_norm = clip_grad_norm(&mut grads, &self.varmap, self.clip)?;
        let lr = self.schedule.lr(step);
        self.optimizer.step(&grads, lr)?;
        self.ema.update()?;
        Ok(StepReport {
            loss,
            grad_norm,
            lr,
        })
    }
}
