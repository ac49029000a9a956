//! Evaluator speed at the storyworld preset: reading keyframes (what the benchmark does to
//! every generated film) and one training micro-batch, forward and backward (what
//! `train evaluator` does twice a step, one part per core).
//!
//! `RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 cargo bench -p moviedreamer-models --bench evaluator`
//!
//! The two variables make candle's kernels single-threaded, as the `moviedreamer` binary
//! does; training runs one micro-batch per core. The model is the bundled evaluator's
//! configuration (models/storyworld/evaluator/config.json), untrained.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moviedreamer_models::evaluator::{Evaluator, EvaluatorConfig};
use moviedreamer_nn::checkpoint::untrained_for_inference;
use moviedreamer_nn::ops::randn;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The binary's allocator.
mod common;

const READ_BATCH: usize = 64;
/// Keyframes per training micro-batch: the preset's batch of 32 in two parts.
const TRAIN_BATCH: usize = 16;

/// The sum of squares of every logit: a loss that reaches every head, as training's
/// cross-entropies do.
fn every_logit_squared(model: &Evaluator, images: &Tensor) -> candle_core::Result<Tensor> {
    let reading = model.forward(images, true)?;
    let mut heads = reading.scene.clone();
    heads.extend([reading.presence.clone(), reading.pose.clone()]);
    heads.extend(reading.traits.iter().cloned());
    let mut loss = Tensor::zeros((), DType::F32, &Device::Cpu)?;
    for head in heads {
        loss = (loss + head.sqr()?.sum_all()?)?;
    }
    Ok(loss)
}

fn evaluator(c: &mut Criterion) {
    common::keep_freed_memory();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/storyworld/evaluator/config.json"
    );
    let config: EvaluatorConfig =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let size = config.image_size;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let images = randn(&mut rng, (READ_BATCH, 3, size, size), &Device::Cpu)
        .unwrap()
        .tanh()
        .unwrap();
    let reader = untrained_for_inference(|vb| Evaluator::new(&config, vb)).unwrap();
    let varmap = VarMap::new();
    let trained = Evaluator::new(
        &config,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let micro_batch = images.narrow(0, 0, TRAIN_BATCH).unwrap();

    let mut group = c.benchmark_group("evaluator");
    group.sample_size(10);
    group.throughput(Throughput::Elements(READ_BATCH as u64));
    group.bench_function("read 64 keyframes at 64 px", |b| {
        b.iter(|| reader.forward(&images, false).unwrap())
    });
    group.throughput(Throughput::Elements(TRAIN_BATCH as u64));
    group.bench_function("forward and backward, 16 keyframes", |b| {
        b.iter(|| {
            every_logit_squared(&trained, &micro_batch)
                .unwrap()
                .backward()
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, evaluator);
criterion_main!(benches);
