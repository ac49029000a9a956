//! A training run's output directory: checkpoints to resume from, metrics, the loss curve.

use std::path::{Path, PathBuf};

use candle_core::DType;
use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::metrics::MetricsLog;
use crate::checkpoint::{CheckpointError, load_weights, save_model, write_atomically};
use crate::optim::{AdamW, Ema};

/// Directory of the latest checkpoint inside a run directory.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// File name of the optimiser state in a checkpoint.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// File name of the EMA weights in a checkpoint.
pub const EMA_FILE: &str = "ema.safetensors";
/// File name of the training loop's own state in a checkpoint.
pub const TRAINER_FILE: &str = "trainer.json";
/// File name of the metrics log in a run directory.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// File name of the loss curve in a run directory.
pub const LOSS_PLOT_FILE: &str = "loss.png";

/// Where a checkpoint is written before it replaces the last one.
const PARTIAL_DIR: &str = "checkpoint.partial";
/// Where the last checkpoint waits while the new one takes its place.
const OLD_DIR: &str = "checkpoint.old";

/// The settings the run in `root` was training with (its latest checkpoint's
/// `config.json`), if it has a checkpoint: a resumed run goes on with these, so a preset that
/// changed since the run began does not change the model under it.
pub fn saved_settings(root: &Path) -> Option<PathBuf> {
    latest_checkpoint_in(root)
        .map(|dir| dir.join(crate::checkpoint::CONFIG_FILE))
        .filter(|path| path.is_file())
}

/// The complete checkpoint in run directory `root`: `checkpoint/`, or `checkpoint.old/` if a
/// save was cut off between its two renames.
fn latest_checkpoint_in(root: &Path) -> Option<PathBuf> {
    [CHECKPOINT_DIR, OLD_DIR]
        .into_iter()
        .map(|name| root.join(name))
        .find(|dir| dir.join(TRAINER_FILE).is_file())
}

/// What a training loop needs, beyond the weights and the optimiser, to go on exactly where
/// it stopped. Saved as `trainer.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimiser steps done.
    pub step: u64,
    /// The state of the generator that draws the data, if the loop uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rng: Option<RngState>,
    /// Anything else the stage needs (an epoch, a position in a shuffled list, the best
    /// validation loss...).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub extra: serde_json::Value,
}

impl TrainerState {
    /// The state after `step` steps, with no generator and nothing else.
    pub fn new(step: u64) -> Self {
        Self {
            step,
            rng: None,
            extra: serde_json::Value::Null,
        }
    }
}

/// The exact position of a [`ChaCha8Rng`]: its seed, stream and word position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    seed: [u8; 32],
    stream: u64,
    /// A `u128`, as a decimal string (JSON numbers are not that wide everywhere).
    word_pos: String,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &ChaCha8Rng) -> Self {
        Self {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator in exactly this state: it draws what the saved one would have drawn next.
    pub fn restore(&self) -> Result<ChaCha8Rng, TrainError> {
        let word_pos: u128 = self.word_pos.parse().map_err(|_| TrainError::State {
            message: format!("RNG word position {:?} is not a number", self.word_pos),
        })?;
        let mut rng = ChaCha8Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}

/// A training run's output directory:
///
/// ```text
/// <run>/checkpoint/      the latest checkpoint, a model directory:
///     config.json            the model's config
///     model.safetensors      its weights (f32)
///     optimizer.safetensors  AdamW's moments and step counts
///     ema.safetensors        the EMA weights, if the run keeps them
///     trainer.json           step, data RNG, the stage's own state
/// <run>/metrics.jsonl    one JSON object per logged step
/// <run>/loss.png         the loss curve
/// ```
///
/// A checkpoint is written whole into `checkpoint.partial/` and then renamed into place, so a
/// crash while saving leaves the previous checkpoint intact.
pub struct RunDir {
    root: PathBuf,
    resume: bool,
}

impl RunDir {
    /// Opens (and creates) the run directory `root`. With `resume` (the `--resume` flag) the
    /// run will continue from the checkpoint there, if any. Without it, a directory that
    /// already holds a checkpoint is refused rather than overwritten.
    pub fn open(root: impl Into<PathBuf>, resume: bool) -> Result<Self, TrainError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| TrainError::Io {
            path: root.clone(),
            source,
        })?;
        let run = Self { root, resume };
        if !resume && run.has_checkpoint() {
            return Err(TrainError::CheckpointExists { path: run.root });
        }
        Ok(run)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The directory of the latest checkpoint (a model directory).
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join(CHECKPOINT_DIR)
    }

    /// The metrics log's path.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join(METRICS_FILE)
    }

    /// The loss curve's path.
    pub fn loss_plot_path(&self) -> PathBuf {
        self.root.join(LOSS_PLOT_FILE)
    }

    /// Whether the directory holds a checkpoint.
    pub fn has_checkpoint(&self) -> bool {
        self.latest_checkpoint().is_some()
    }

    /// The complete checkpoint to resume from: `checkpoint/`, or `checkpoint.old/` if a save
    /// was cut off between its two renames.
    fn latest_checkpoint(&self) -> Option<PathBuf> {
        latest_checkpoint_in(&self.root)
    }

    /// Opens the metrics log: emptied for a fresh run, cut back to the checkpoint's step for a
    /// resumed one (`resumed` is what [`resume`](Self::resume) returned).
    pub fn metrics(&self, resumed: Option<&TrainerState>) -> Result<MetricsLog, TrainError> {
        MetricsLog::open(self.metrics_path(), resumed.map(|state| state.step))
    }

    /// Saves a checkpoint: the model (`config` and the variables of `varmap`, in f32), the
    /// optimiser, the EMA weights if given, and `state`. Returns the checkpoint directory.
    pub fn save_checkpoint<C: Serialize>(
        &self,
        state: &TrainerState,
        config: &C,
        varmap: &VarMap,
        optimizer: &AdamW,
        ema: Option<&Ema>,
    ) -> Result<PathBuf, TrainError> {
        let partial = self.root.join(PARTIAL_DIR);
        let old = self.root.join(OLD_DIR);
        let dir = self.checkpoint_dir();
        remove_dir(&partial)?;
        save_model(&partial, config, varmap, DType::F32)?;
        optimizer.save(&partial.join(OPTIMIZER_FILE))?;
        if let Some(ema) = ema {
            ema.save(&partial.join(EMA_FILE))?;
        }
        let json = serde_json::to_string_pretty(state).map_err(|err| TrainError::State {
            message: err.to_string(),
        })? + "\n";
        write_atomically(&partial.join(TRAINER_FILE), json.as_bytes())?;

        // At every moment one complete checkpoint exists: `checkpoint/` or `checkpoint.old/`.
        if dir.exists() {
            remove_dir(&old)?;
            rename(&dir, &old)?;
        }
        rename(&partial, &dir)?;
        remove_dir(&old)?;
        sync_dir(&self.root);
        tracing::info!(step = state.step, dir = %dir.display(), "checkpoint saved");
        Ok(dir)
    }

    /// Restores the latest checkpoint into the model's variables, the optimiser and the EMA
    /// (if given), and returns the loop's state; `None` when the run was not opened to resume
    /// or has no checkpoint yet, so the loop starts from step 0.
    ///
    /// The model, optimiser and EMA must be built as for a fresh run first (from the same
    /// config): every tensor must fit, or the error names those that do not.
    pub fn resume(
        &self,
        varmap: &VarMap,
        optimizer: &mut AdamW,
        ema: Option<&mut Ema>,
    ) -> Result<Option<TrainerState>, TrainError> {
        if !self.resume {
            return Ok(None);
        }
        let Some(dir) = self.latest_checkpoint() else {
            tracing::info!(dir = %self.root.display(), "no checkpoint to resume from: starting afresh");
            return Ok(None);
        };
        let trainer_path = dir.join(TRAINER_FILE);
        let text = std::fs::read_to_string(&trainer_path).map_err(|source| TrainError::Io {
            path: trainer_path.clone(),
            source,
        })?;
        let state: TrainerState =
            serde_json::from_str(&text).map_err(|err| CheckpointError::Format {
                path: trainer_path.clone(),
                message: err.to_string(),
            })?;
        load_weights(&dir, varmap)?;
        optimizer.load(&dir.join(OPTIMIZER_FILE))?;
        if let Some(ema) = ema {
            let path = dir.join(EMA_FILE);
            if !path.is_file() {
                return Err(TrainError::State {
                    message: format!(
                        "{}: the checkpoint has no EMA weights, but this run keeps an EMA",
                        dir.display()
                    ),
                });
            }
            ema.load(&path)?;
        }
        tracing::info!(step = state.step, dir = %dir.display(), "resumed from checkpoint");
        Ok(Some(state))
    }
}

fn remove_dir(dir: &Path) -> Result<(), TrainError> {
    match std::fs::remove_dir_all(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(TrainError::Io {
            path: dir.to_path_buf(),
            source: err,
        }),
        _ => Ok(()),
    }
}

fn rename(from: &Path, to: &Path) -> Result<(), TrainError> {
    std::fs::rename(from, to).map_err(|source| TrainError::Io {
        path: to.to_path_buf(),
        source,
    })
}

/// Makes the renames durable where the platform allows it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::{Init, VarBuilder};
    use rand::Rng;

    #[test]
    fn the_rng_state_restores_the_exact_stream() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        rng.set_stream(3);
        for _ in 0..13 {
            rng.random::<u32>();
        }
        let state = RngState::of(&rng);
        let json = serde_json::to_string(&state).unwrap();
        let mut restored = serde_json::from_str::<RngState>(&json)
            .unwrap()
            .restore()
            .unwrap();
        let a: Vec<u64> = (0..20).map(|_| rng.random()).collect();
        let b: Vec<u64> = (0..20).map(|_| restored.random()).collect();
        assert_eq!(a, b);
    }

    fn model() -> VarMap {
        let varmap = VarMap::new();
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)
            .get_with_hints((2, 2), "w", Init::Const(1.0))
            .unwrap();
        varmap
    }

    #[test]
    fn a_run_directory_guards_its_checkpoint_and_survives_a_cut_off_save() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("run");
        let run = RunDir::open(&root, false).unwrap();
        let varmap = model();
        let mut adamw = AdamW::new(&varmap, Default::default()).unwrap();
        assert_eq!(run.resume(&varmap, &mut adamw, None).unwrap(), None);
        for step in [10, 20] {
            let mut state = TrainerState::new(step);
            state.extra = serde_json::json!({"epoch": 1});
            run.save_checkpoint(
                &state,
                &serde_json::json!({"hidden": 2}),
                &varmap,
                &adamw,
                None,
            )
            .unwrap();
        }
        let names: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["checkpoint"]);
        let err = RunDir::open(&root, false).err().unwrap().to_string();
        assert!(err.contains("--resume"), "{err}");

        // A save cut off between its renames leaves only checkpoint.old/.
        std::fs::rename(root.join(CHECKPOINT_DIR), root.join(OLD_DIR)).unwrap();
        let run = RunDir::open(&root, true).unwrap();
        let state = run.resume(&varmap, &mut adamw, None).unwrap().unwrap();
        assert_eq!((state.step, state.extra["epoch"].as_u64()), (20, Some(1)));

        let mut ema = Ema::new(&varmap, 0.9).unwrap();
        let err = run
            .resume(&varmap, &mut adamw, Some(&mut ema))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no EMA weights"), "{err}");
    }
}
