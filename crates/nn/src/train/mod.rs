//! Parts for the training loop every stage writes: a run directory with checkpoints and
//! `--resume`, a metrics log and its loss curve, a progress bar, and Ctrl-C handling.
//!
//! There is no framework to plug a model into: each stage writes its own loop, top to
//! bottom, in the manner of nanoGPT, and takes from here what it needs. A loop looks like
//! this (`tests/optim_resume.rs` runs one and checks that resuming is exact):
//!
//! ```no_run
//! # use candle_core::{DType, Device, Module, Tensor};
//! # use candle_nn::{VarBuilder, VarMap};
//! # use moviedreamer_nn::optim::{AdamW, AdamWConfig, Ema, GradAccumulator, LrSchedule, clip_grad_norm};
//! # use moviedreamer_nn::train::{Interrupt, Progress, RngState, RunDir, TrainerState};
//! # use rand::{Rng, SeedableRng};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (resume, total_steps, micro_batches, seed) = (false, 1000u64, 2, 0u64);
//! # let config = serde_json::json!({"hidden": 16});
//! let run = RunDir::open("runs/stage1", resume)?;
//! let varmap = VarMap::new();
//! let model = candle_nn::linear(4, 1, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
//! let mut optimizer = AdamW::new(&varmap, AdamWConfig::default())?;
//! let mut ema = Ema::new(&varmap, 0.999)?;
//! let schedule = LrSchedule { peak: 1e-3, min: 1e-5, warmup_steps: 100, total_steps };
//!
//! let resumed = run.resume(&varmap, &mut optimizer, Some(&mut ema))?;
//! let mut rng = match resumed.as_ref().and_then(|s| s.rng.as_ref()) {
//!     Some(state) => state.restore()?,
//!     None => rand_chacha::ChaCha8Rng::seed_from_u64(seed),
//! };
//! let mut step = resumed.as_ref().map_or(0, |s| s.step);
//! let mut metrics = run.metrics(resumed.as_ref())?;
//! let progress = Progress::new(total_steps, step);
//! let interrupt = Interrupt::install();
//! let mut accumulator = GradAccumulator::new(&varmap);
//!
//! while step < total_steps {
//!     let mut loss_sum = 0.0;
//!     for _ in 0..micro_batches {
//!         let x = Tensor::new(&[[rng.random::<f32>(); 4]], &Device::Cpu)?;
//!         let loss = model.forward(&x)?.sqr()?.mean_all()?;
//!         loss_sum += loss.to_scalar::<f32>()? as f64;
//!         accumulator.add(&loss.backward()?)?;
//!     }
//!     let mut grads = accumulator.take()?;
//!     let grad_norm = clip_grad_norm(&mut grads, &varmap, 1.0)?;
//!     let lr = schedule.lr(step);
//!     optimizer.step(&grads, lr)?;
//!     ema.update()?;
//!     step += 1;
//!
//!     let loss = loss_sum / micro_batches as f64;
//!     progress.update(step, loss);
//!     metrics.log(&serde_json::json!({
//!         "step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm,
//!         "steps_per_s": progress.steps_per_sec(step),
//!     }))?;
//!     if step.is_multiple_of(100) || step == total_steps || interrupt.requested() {
//!         let state = TrainerState { rng: Some(RngState::of(&rng)), ..TrainerState::new(step) };
//!         run.save_checkpoint(&state, &config, &varmap, &optimizer, Some(&ema))?;
//!         metrics.plot_loss(&run.loss_plot_path())?;
//!     }
//!     if interrupt.requested() {
//!         break;
//!     }
//! }
//! progress.finish();
//! ema.save_model(&run.path().join("ema"), &config, DType::F32)?;
//! # Ok(())
//! # }
//! ```

mod interrupt;
mod metrics;
mod progress;
mod run_dir;

use std::path::PathBuf;

pub use interrupt::Interrupt;
pub use metrics::MetricsLog;
pub use progress::Progress;
pub use run_dir::{
    CHECKPOINT_DIR, EMA_FILE, LOSS_PLOT_FILE, METRICS_FILE, OPTIMIZER_FILE, RngState, RunDir,
    TRAINER_FILE, TrainerState, saved_settings,
};

use crate::checkpoint::CheckpointError;

/// Why a training run could not save, resume or log.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A checkpoint file could not be written or read, or does not fit the model.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A run without `--resume` was pointed at a directory that holds a checkpoint.
    #[error("{}: already holds a checkpoint\n  help: pass --resume to continue that run, or choose another directory", path.display())]
    CheckpointExists {
        /// The run directory.
        path: PathBuf,
    },
    /// A file or directory could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A metrics record could not be logged.
    #[error("{}: {message}", path.display())]
    Metrics {
        /// The metrics file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The loss curve could not be drawn.
    #[error("{}: cannot draw the loss curve: {message}", path.display())]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What plotters said.
        message: String,
    },
    /// The training loop's state is unusable.
    #[error("training state: {message}")]
    State {
        /// What is wrong.
        message: String,
    },
}

impl From<candle_core::Error> for TrainError {
    fn from(err: candle_core::Error) -> Self {
        Self::Checkpoint(err.into())
    }
}
