//! A run stopped by Ctrl-C and resumed from its checkpoint must give exactly the losses,
//! weights, EMA weights and optimiser state of the run that never stopped: AdamW with its
//! moments, the learning-rate schedule, gradient clipping, the EMA and gradient
//! accumulation all take part.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder, VarMap};
use moviedreamer_nn::checkpoint::named_vars;
use moviedreamer_nn::ops::randn;
use moviedreamer_nn::optim::{
    AdamW, AdamWConfig, Ema, GradAccumulator, LrSchedule, clip_grad_norm,
};
use moviedreamer_nn::train::{Interrupt, MetricsLog, RngState, RunDir, TrainerState};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const STEPS: u64 = 20;
const MICRO_BATCHES: usize = 2;
const MAX_NORM: f64 = 0.5;
const DATA_SEED: u64 = 42;

const SCHEDULE: LrSchedule = LrSchedule {
    peak: 3e-2,
    min: 1e-3,
    warmup_steps: 4,
    total_steps: STEPS,
};

/// Everything a run holds: a two-layer MLP, its optimiser, EMA and accumulator.
struct Trainer {
    varmap: VarMap,
    l1: Linear,
    l2: Linear,
    optimizer: AdamW,
    ema: Ema,
    accumulator: GradAccumulator,
    /// Steps whose gradient norm was clipped.
    clipped: usize,
}

impl Trainer {
    /// A model whose weights come from `init_seed` (candle's own initialisation is not
    /// seeded), with a fresh optimiser and EMA.
    fn new(init_seed: u64) -> Self {
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let l1 = candle_nn::linear(4, 16, vb.pp("l1")).unwrap();
        let l2 = candle_nn::linear(16, 1, vb.pp("l2")).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(init_seed);
        for var in named_vars(&varmap).values() {
            let init = (randn(&mut rng, var.shape(), &device).unwrap() * 0.5).unwrap();
            var.set(&init).unwrap();
        }
        let config = AdamWConfig {
            weight_decay: 0.1,
            ..AdamWConfig::default()
        };
        Self {
            optimizer: AdamW::new(&varmap, config).unwrap(),
            ema: Ema::new(&varmap, 0.9).unwrap(),
            accumulator: GradAccumulator::new(&varmap),
            varmap,
            l1,
            l2,
            clipped: 0,
        }
    }

    /// One optimiser step (`step` counted from 0) over two micro-batches drawn from `rng`;
    /// returns the mean loss before the update.
    fn step(&mut self, step: u64, rng: &mut ChaCha8Rng) -> f32 {
        let device = Device::Cpu;
        let mut loss_sum = 0.0f32;
        for _ in 0..MICRO_BATCHES {
            let x = randn(rng, (8, 4), &device).unwrap();
            let target = (x.sum_keepdim(1).unwrap().sin().unwrap() * 2.0).unwrap();
            let hidden = self.l1.forward(&x).unwrap().tanh().unwrap();
            let prediction = self.l2.forward(&hidden).unwrap();
            let loss = (prediction - target)
                .unwrap()
                .sqr()
                .unwrap()
                .mean_all()
                .unwrap();
            loss_sum += loss.to_scalar::<f32>().unwrap();
            self.accumulator.add(&loss.backward().unwrap()).unwrap();
        }
        let mut grads = self.accumulator.take().unwrap();
        let norm = clip_grad_norm(&mut grads, &self.varmap, MAX_NORM).unwrap();
        if norm > MAX_NORM {
            self.clipped += 1;
        }
        self.optimizer.step(&grads, SCHEDULE.lr(step)).unwrap();
        self.ema.update().unwrap();
        loss_sum / MICRO_BATCHES as f32
    }
}

/// The bits of every tensor, by name: equal maps mean bit-identical weights.
fn bits(tensors: BTreeMap<String, Tensor>) -> BTreeMap<String, Vec<u32>> {
    tensors
        .into_iter()
        .map(|(name, t)| {
            let values: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            (name, values.into_iter().map(f32::to_bits).collect())
        })
        .collect()
}

fn weights(varmap: &VarMap) -> BTreeMap<String, Vec<u32>> {
    bits(
        named_vars(varmap)
            .into_iter()
            .map(|(name, var)| (name, var.as_tensor().clone()))
            .collect(),
    )
}

/// Trains in `run` from wherever it stands until `STEPS`, or until `stop_after` steps when a
/// "Ctrl-C" arrives then, as a stage's loop does; returns the losses of the steps it ran.
fn train_in(
    root: &Path,
    resume: bool,
    init_seed: u64,
    stop_after: Option<u64>,
) -> (Trainer, Vec<f32>) {
    let run = RunDir::open(root, resume).unwrap();
    let mut trainer = Trainer::new(init_seed);
    let resumed = run
        .resume(
            &trainer.varmap,
            &mut trainer.optimizer,
            Some(&mut trainer.ema),
        )
        .unwrap();
    let mut rng = match resumed.as_ref().and_then(|state| state.rng.as_ref()) {
        Some(state) => state.restore().unwrap(),
        None => ChaCha8Rng::seed_from_u64(DATA_SEED),
    };
    let mut step = resumed.as_ref().map_or(0, |state| state.step);
    let mut metrics = run.metrics(resumed.as_ref()).unwrap();
    let interrupt = Interrupt::install();
    let config = serde_json::json!({"hidden": 16});
    let mut losses = Vec::new();
    while step < STEPS {
        let loss = trainer.step(step, &mut rng);
        step += 1;
        losses.push(loss);
        metrics
            .log(&serde_json::json!({"step": step, "loss": loss, "lr": SCHEDULE.lr(step - 1)}))
            .unwrap();
        if stop_after == Some(step) {
            interrupt.request(); // what the Ctrl-C handler does
        }
        if step.is_multiple_of(4) || interrupt.requested() {
            let state = TrainerState {
                rng: Some(RngState::of(&rng)),
                ..TrainerState::new(step)
            };
            let opt = &trainer.optimizer;
            run.save_checkpoint(&state, &config, &trainer.varmap, opt, Some(&trainer.ema))
                .unwrap();
            metrics.plot_loss(&run.loss_plot_path()).unwrap();
        }
        if interrupt.requested() {
            interrupt.clear();
            break;
        }
    }
    (trainer, losses)
}

#[test]
fn a_resumed_run_is_bit_identical_to_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();

    let (whole, whole_losses) = train_in(&dir.path().join("whole"), false, 1, None);
    assert_eq!(whole_losses.len(), STEPS as usize);
    assert!(whole.clipped > 0, "clipping took part");
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len() as f32;
    assert!(
        mean(&whole_losses[15..]) < mean(&whole_losses[..5]),
        "it learns: {whole_losses:?}"
    );

    // Stopped by "Ctrl-C" after step 10 (with a checkpoint), then resumed in a new model,
    // optimiser and EMA, built from other random weights that the checkpoint replaces.
    let root = dir.path().join("resumed");
    let (_, first) = train_in(&root, false, 1, Some(10));
    assert_eq!(first.len(), 10);
    let (resumed, second) = train_in(&root, true, 99, None);
    assert_eq!(second.len(), 10);

    let losses: Vec<u32> = first.iter().chain(&second).map(|l| l.to_bits()).collect();
    let expected: Vec<u32> = whole_losses.iter().map(|l| l.to_bits()).collect();
    assert_eq!(
        losses, expected,
        "losses {first:?} {second:?} vs {whole_losses:?}"
    );
    assert_eq!(weights(&resumed.varmap), weights(&whole.varmap), "weights");
    assert_eq!(
        bits(resumed.ema.shadows().unwrap()),
        bits(whole.ema.shadows().unwrap()),
        "EMA weights"
    );
    assert_eq!(resumed.optimizer.steps(), STEPS);
    assert_eq!(resumed.ema.updates(), STEPS);

    // The checkpoint's optimiser state is the uninterrupted run's too.
    let saved = |root: &Path| {
        moviedreamer_nn::checkpoint::load_tensors(&root.join("checkpoint/optimizer.safetensors"))
            .unwrap()
    };
    assert_eq!(bits(saved(&root)), bits(saved(&dir.path().join("whole"))));

    // One metrics line per step across both halves, with the same losses.
    let metrics = std::fs::read_to_string(root.join("metrics.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<u64> = records
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=STEPS).collect::<Vec<_>>());
    let logged = MetricsLog::open(root.join("metrics.jsonl"), Some(STEPS)).unwrap();
    let logged: Vec<f32> = logged.losses().iter().map(|&(_, l)| l as f32).collect();
    assert_eq!(logged, whole_losses);

    let png = std::fs::read(root.join("loss.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 2000, "a real picture: {} bytes", png.len());
    assert!(
        RunDir::open(&root, false).is_err(),
        "a fresh run does not overwrite the checkpoint"
    );
}
