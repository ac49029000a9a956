//! What every training loop shares around its steps: the run directory, resuming, the
//! noise generator, the metrics log and loss curve, the progress bar, Ctrl-C and the final
//! summary. Each loop (tokenizer, identity, planner) keeps its own steps in plain sight and
//! calls this before, between and after them.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::DType;
use candle_nn::VarMap;
use moviedreamer_nn::train::{
    Interrupt, MetricsLog, Progress, RngState, RunDir, TrainError, TrainerState,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::optimisation::{Optimisation, StepReport};

/// Name of the model directory a run leaves in its output directory.
pub const MODEL_DIR: &str = "model";

/// What a finished (or interrupted) run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSummary {
    /// Steps done in all, earlier runs included.
    pub steps: u64,
    /// Mean loss of the last 50 steps of this run; `None` when this run took no step (the
    /// stage was already trained, or Ctrl-C came before its first step).
    pub recent_loss: Option<f64>,
    /// Seconds this run took.
    pub seconds: f64,
    /// Whether Ctrl-C stopped it early (a checkpoint was saved).
    pub interrupted: bool,
    /// The model directory with the kept weights.
    pub model_dir: PathBuf,
}

/// Where a run writes and how it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// The run directory: checkpoints, metrics, loss curve, and `model/` at the end.
    pub out: PathBuf,
    /// Continue the run in `out` from its last checkpoint.
    pub resume: bool,
    /// Draw a progress bar on the terminal.
    pub show_progress: bool,
}

/// A training run in progress.
pub struct Session {
    run: RunDir,
    total_steps: u64,
    /// Steps done so far, earlier runs included.
    pub step: u64,
    /// The run's generator of noise and choices, restored on resume.
    pub rng: ChaCha8Rng,
    resumed_extra: Option<serde_json::Value>,
    metrics: MetricsLog,
    interrupt: Interrupt,
    progress: Progress,
    started: Instant,
    recent: Vec<f64>,
}

impl Session {
    /// Opens the run directory and, when resuming, restores the weights, optimiser, EMA,
    /// generator and step of its last checkpoint. The model, optimiser and EMA must be built
    /// as for a fresh run first. A fresh run's generator is seeded from `seed`.
    pub fn open(
        options: &RunOptions,
        total_steps: u64,
        seed: u64,
        varmap: &VarMap,
        optimisation: &mut Optimisation,
    ) -> Result<Self, TrainError> {
        let run = RunDir::open(&options.out, options.resume)?;
        let resumed = run.resume(
            varmap,
            &mut optimisation.optimizer,
            Some(&mut optimisation.ema),
        )?;
        let step = resumed.as_ref().map_or(0, |state| state.step);
        let rng = match resumed.as_ref().and_then(|state| state.rng.as_ref()) {
            Some(saved) => saved.restore()?,
            None => ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_6973_6521),
        };
        let metrics = run.metrics(resumed.as_ref())?;
        let progress = if options.show_progress {
            Progress::new(total_steps, step)
        } else {
            Progress::hidden(total_steps, step)
        };
        Ok(Session {
            run,
            total_steps,
            step,
            rng,
            resumed_extra: resumed.map(|state| state.extra),
            metrics,
            interrupt: Interrupt::install(),
            progress,
            started: Instant::now(),
            recent: Vec::new(),
        })
    }

    /// What the loop saved with its last checkpoint (e.g. its place in the data), if this
    /// run resumed one.
    pub fn resumed<T: DeserializeOwned>(&self) -> Option<T> {
        self.resumed_extra
            .clone()
            .and_then(|value| serde_json::from_value(value).ok())
    }

    /// Whether to take another step: steps remain and Ctrl-C was not pressed.
    pub fn running(&self) -> bool {
        self.step < self.total_steps && !self.interrupt.requested()
    }

    /// Counts a finished step: logs it (step, loss, learning rate, gradient norm) and moves
    /// the progress bar.
    pub fn finish_step(&mut self, report: StepReport) -> Result<(), TrainError> {
        let (loss, mut record) = (report.loss, report.record());
        self.step += 1;
        self.recent.push(loss);
        if let Some(fields) = record.as_object_mut() {
            fields.insert("step".into(), self.step.into());
            fields.insert("loss".into(), loss.into());
        }
        self.metrics.log(&record)?;
        self.progress.update(self.step, loss);
        Ok(())
    }

    /// Whether a checkpoint is due now: every `every` steps, at the end, and on Ctrl-C.
    pub fn checkpoint_due(&self, every: u64) -> bool {
        self.step.is_multiple_of(every.max(1))
            || self.step == self.total_steps
            || self.interrupt.requested()
    }

    /// Saves a checkpoint (with the loop's `extra` state) and redraws the loss curve.
    pub fn save(
        &self,
        settings: &impl Serialize,
        varmap: &VarMap,
        optimisation: &Optimisation,
        extra: serde_json::Value,
    ) -> Result<(), TrainError> {
        let state = TrainerState {
            step: self.step,
            rng: Some(RngState::of(&self.rng)),
            extra,
        };
        self.progress.suspend(|| {
            self.run.save_checkpoint(
                &state,
                settings,
                varmap,
                &optimisation.optimizer,
                Some(&optimisation.ema),
            )
        })?;
        self.metrics.plot_loss(&self.run.loss_plot_path())
    }

    /// Ends the run: writes `model/` (the EMA weights, in f16) with `config`, and sums up.
    /// A run that took no step leaves `model/` as it is: rewriting the same weights would
    /// make caches keyed on the model's files (the planner's tokenized films) stale, and a
    /// run that never trained writes none, since untrained weights under that name would
    /// pass for a trained stage.
    pub fn finish(
        self,
        config: &impl Serialize,
        optimisation: &Optimisation,
    ) -> Result<TrainingSummary, TrainError> {
        self.progress.finish();
        let model_dir = self.run.path().join(MODEL_DIR);
        let trained_now = !self.recent.is_empty();
        if trained_now
            || (self.step > 0
                && !model_dir
                    .join(moviedreamer_nn::checkpoint::WEIGHTS_FILE)
                    .is_file())
        {
            optimisation
                .ema
                .save_model(&model_dir, config, DType::F16)?;
        }
        let tail = &self.recent[self.recent.len().saturating_sub(50)..];
        Ok(TrainingSummary {
            steps: self.step,
            recent_loss: (!tail.is_empty()).then(|| tail.iter().sum::<f64>() / tail.len() as f64),
            seconds: self.started.elapsed().as_secs_f64(),
            interrupted: self.interrupt.requested(),
            model_dir,
        })
    }
}
