//! Planner speed and memory at the storyworld preset (weights at their initial values: the
//! cost does not depend on them).
//!
//! `RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 cargo bench -p moviedreamer-models --bench planner`
//!
//! First Criterion times planning a 100-shot film. Then films of the lengths in
//! `PLANNER_SWEEP` (default 100,1000,10000) are planned one after another in this process,
//! and for each the keyframes per second and the process's resident and peak memory
//! (VmRSS, VmHWM from /proc/self/status) are printed: with the sliding window, neither the
//! speed nor the memory may change with the length.

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group};
use moviedreamer_models::planner::prompt::{CastPrompt, FilmPrompt, SLOTS, ShotPrompt};
use moviedreamer_models::planner::{Planner, PlannerConfig};
use moviedreamer_models::tokenizer::TokenizerConfig;
use moviedreamer_nn::checkpoint::untrained_for_inference;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The binary's allocator.
mod common;

const FACE_DIM: usize = 64;
const VOCABULARY: usize = 400;
const CAST: usize = 5;

fn planner() -> Planner {
    // The tokens of the bundled tokenizer (64 grid tokens of width 16, planned in groups).
    let tokenizer = TokenizerConfig::storyworld();
    let config =
        PlannerConfig::storyworld(tokenizer.tokens, tokenizer.token_dim, FACE_DIM, VOCABULARY);
    untrained_for_inference(|vb| Planner::new(&config, vb)).unwrap()
}

/// A film of `shots` shots with texts of 14 words, cycling through the cast.
fn film(shots: usize) -> FilmPrompt {
    let words = |seed: usize| {
        (0..14)
            .map(|i| ((seed * 7 + i * 13) % VOCABULARY) as u32)
            .collect()
    };
    FilmPrompt {
        style: words(1),
        cast: (0..CAST)
            .map(|c| CastPrompt {
                text: words(c + 2),
                face: (0..FACE_DIM).map(|i| ((i + c) % 5) as f32 / 5.0).collect(),
            })
            .collect(),
        shots: (0..shots)
            .map(|s| ShotPrompt {
                text: words(s),
                shot_type: s % 3,
                slots: std::array::from_fn(|slot| {
                    (slot < 1 + s % SLOTS).then_some((s + slot) % CAST)
                }),
            })
            .collect(),
    }
}

fn plan(model: &Planner, film: &FilmPrompt) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    model.plan(film, &mut rng, |_, _| Ok(())).unwrap();
}

fn bench(c: &mut Criterion) {
    let model = planner();
    let film = film(100);
    let mut group = c.benchmark_group("planner");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100));
    group.bench_function("plan a 100-shot film", |b| b.iter(|| plan(&model, &film)));
    group.finish();
}

/// (VmRSS, VmHWM) of this process in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn sweep() {
    let lengths: Vec<usize> = std::env::var("PLANNER_SWEEP")
        .unwrap_or_else(|_| "100,1000,10000".to_owned())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let model = planner();
    println!(
        "\n| keyframes | keyframes/s | resident MiB | peak MiB |\n| ---: | ---: | ---: | ---: |"
    );
    for shots in lengths {
        let film = film(shots);
        let started = Instant::now();
        plan(&model, &film);
        let rate = shots as f64 / started.elapsed().as_secs_f64();
        let (resident, peak) = memory();
        println!("| {shots} | {rate:.1} | {resident:.0} | {peak:.0} |");
    }
}

criterion_group!(benches, bench);

fn main() {
    common::keep_freed_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
    sweep();
}
