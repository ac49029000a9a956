//! `moviedreamer plan`: a script → the visual tokens of every shot, with the trained
//! planner (faces of the cast read from the script's reference images).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_models::identity::IdentityEncoder;
use moviedreamer_models::planner::Planner;
use moviedreamer_models::planner::generate::FULL_HISTORY;
use moviedreamer_models::planner::script_prompt::film_prompt;
use moviedreamer_models::text::Vocabulary;
use moviedreamer_nn::checkpoint::save_tensors;
use moviedreamer_script::Script;
use moviedreamer_train::planner::VOCABULARY_FILE;

use crate::cast::cast_identities;
use crate::load_trained;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Args)]
pub struct PlanArgs {
    /// The script (YAML or Fountain); its characters' `faces` give their identities.
    script: PathBuf,
    /// Output file: tensor `tokens` of shape (shots, K, D), shots in script order.
    #[arg(long, short)]
    output: PathBuf,
    /// The trained planner's model directory.
    #[arg(long, default_value = "runs/planner/model")]
    planner: PathBuf,
    /// The trained identity encoder's model directory.
    #[arg(long, default_value = "runs/identity/model")]
    identity: PathBuf,
    /// Seed of the samples when the planner has a diffusion head.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let loaded = moviedreamer_script::load(&args.script)?;
    let script = loaded.script;
    let planner = load_trained(&args.planner, "planner", Planner::load)?;
    let vocabulary = Vocabulary::load(&args.planner.join(VOCABULARY_FILE))?;
    let identity = load_trained(&args.identity, "identity encoder", IdentityEncoder::load)?;
    let faces = cast_identities(&args.script, &script, &identity)?;

    let shots = script.summary().shots;
    let progress = ProgressBar::new(shots as u64).with_style(
        ProgressStyle::with_template("planning {bar:30} {pos}/{len} keyframes, {eta} left")
            .expect("a valid template"),
    );
    let started = Instant::now();
    let tokens = plan_film(
        &planner,
        &vocabulary,
        &FilmToPlan {
            script_path: &args.script,
            script: &script,
            faces: &faces,
        },
        FULL_HISTORY,
        args.seed,
        || progress.inc(1),
    )?;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let dims = tokens.dims().to_vec();
    save_tensors(
        &args.output,
        &BTreeMap::from([("tokens".to_owned(), tokens)]),
        DType::F32,
    )?;
    println!(
        "planned {shots} keyframes in {seconds:.1} s ({:.0} keyframes/s); wrote tokens {dims:?} to {}",
        shots as f64 / seconds.max(1e-9),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A script to plan and its cast's identities.
pub struct FilmToPlan<'a> {
    /// Where the script was read from, for errors.
    pub script_path: &'a Path,
    pub script: &'a Script,
    /// The identity embedding of each character, in script order.
    pub faces: &'a [Vec<f32>],
}

/// The tokens of every shot of `film` (shots, K, D), each shot seeing at most `history`
/// keyframes before it ([`FULL_HISTORY`]: all its window holds), with `seed` drawing a
/// diffusion head's samples; `on_keyframe` is told of each keyframe planned.
pub fn plan_film(
    planner: &Planner,
    vocabulary: &Vocabulary,
    film: &FilmToPlan,
    history: usize,
    seed: u64,
    mut on_keyframe: impl FnMut(),
) -> anyhow::Result<Tensor> {
    let FilmToPlan {
        script_path,
        script,
        faces,
    } = film;
    let prompt = film_prompt(script, vocabulary, planner.config().text.max_words, faces)?;
    planner.check_film(&prompt).with_context(|| {
        format!(
            "{}: the planner cannot take this script",
            script_path.display()
        )
    })?;
    let mut keyframes = Vec::with_capacity(prompt.shots.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    planner.plan_with_history(&prompt, history, &mut rng, |_, tokens| {
        keyframes.push(tokens);
        on_keyframe();
        Ok(())
    })?;
    if keyframes.is_empty() {
        let cfg = planner.config();
        return Ok(Tensor::zeros(
            (0, cfg.tokens, cfg.token_dim),
            DType::F32,
            &Device::Cpu,
        )?);
    }
    Ok(Tensor::stack(&keyframes, 0)?)
}
