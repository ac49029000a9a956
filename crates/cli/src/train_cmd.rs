//! `moviedreamer train …`: train one stage on a StoryWorld dataset. Every stage takes the
//! same run options ([`RunArgs`]) and reports the same way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use moviedreamer_models::planner::PlannerHead;
use moviedreamer_models::planner::diffusion_head::DiffusionHeadConfig;
use moviedreamer_nn::train::saved_settings;
use moviedreamer_train::animator::{AnimatorTraining, train_animator};
use moviedreamer_train::data::training_batches;
use moviedreamer_train::evaluator::{EvaluatorTraining, train_evaluator};
use moviedreamer_train::identity::{IdentityTraining, train_identity};
use moviedreamer_train::planner::{AntiOverfitting, PlannerTraining, train_planner};
use moviedreamer_train::renderer::{RendererTraining, train_renderer};
use moviedreamer_train::session::{MODEL_DIR, RunOptions, TrainingSummary};
use moviedreamer_train::tokenizer::{TokenizerTraining, train_tokenizer};
use serde::de::DeserializeOwned;

/// The preset a run uses when none is named: the bundled models' sizes.
const DEFAULT_PRESET: &str = "storyworld";

#[derive(Subcommand)]
pub enum TrainCommand {
    /// Train every stage, one after the other, on one StoryWorld dataset: tokenizer,
    /// identity encoder, planner, renderer, animator, evaluator.
    ///
    /// Each stage goes into OUT/<stage> and the next stages use its model; at the end
    /// OUT/moviedreamer.json names them all, so `moviedreamer generate --models OUT` makes
    /// films with them. Ctrl-C stops the stage at hand with a checkpoint; the same command
    /// with --resume continues it, and finished stages are not trained again.
    All(TrainAllArgs),
    /// Train the keyframe tokenizer (encoder and diffusion decoder, end to end) on the
    /// keyframes of a StoryWorld dataset.
    ///
    /// Writes checkpoints, metrics.jsonl and loss.png into the output directory as it goes,
    /// and model/ (the EMA weights, f16) at the end. Ctrl-C saves a checkpoint first; run
    /// the same command with --resume to continue exactly where it stopped. A tokenizer in
    /// latent space (both presets, or settings with an "autoencoder") first trains its
    /// autoencoder alone, in OUT/autoencoder, for autoencoder_steps steps (the storyworld
    /// preset: 1,000 steps, about 7 minutes on 2 cores).
    Tokenizer(TrainTokenizerArgs),
    /// Train the identity encoder (face → identity embedding) on the portraits and keyframe
    /// faces of a StoryWorld dataset, with a contrastive loss.
    ///
    /// The planner reads its embeddings as the cast's faces, the renderer conditions on
    /// them and the evaluator compares them. Output as for the tokenizer; measure it with
    /// `moviedreamer eval identity`.
    Identity(RunArgs),
    /// Train the planner (script → keyframe tokens, autoregressive) on tokenized films.
    ///
    /// Tokenizes every training film once with the trained tokenizer and embeds every
    /// cast member's faces with the identity encoder (cached in the output directory as
    /// films-train.safetensors), builds the word vocabulary, then trains with teacher
    /// forcing and the anti-overfitting measures. model/ holds the weights and the
    /// vocabulary (tokenizer.json). Use it with `moviedreamer plan`.
    Planner(TrainPlannerArgs),
    /// Fine-tune the renderer (planned tokens + who stands where → keyframe) from the
    /// trained tokenizer's decoder, on the planner's predicted tokens of the training films.
    ///
    /// Computes the films' true tokens, cast embeddings and the planner's tokens for each
    /// film, planned from its script alone as `generate` plans them, once (cached in the
    /// output directory), starts from the tokenizer's
    /// decoder with a new identity cross-attention per block, and learns to render the true
    /// keyframe from predicted (or true) tokens and the identities of the characters in each
    /// slot. Output as for the tokenizer; use it with `moviedreamer render`.
    Renderer(TrainRendererArgs),
    /// Train the evaluator (keyframe → place, time, style, shot type, and per slot who
    /// stands there, their pose and traits) on ground-truth keyframes only.
    ///
    /// The benchmark scores generated films with it; `moviedreamer eval evaluator` reports
    /// its accuracy per attribute on unseen keyframes. Output as for the tokenizer.
    Evaluator(RunArgs),
    /// Train the animator (keyframe + the shot's motion → a short clip) on the clips of a
    /// StoryWorld dataset.
    ///
    /// Each clip starts at its shot's keyframe and moves as the shot's script says (who
    /// walks, waves, sits, jumps or talks; how the camera moves). The dataset's clips must
    /// have the model's number of frames (8 for the storyworld preset: generate with
    /// --frames 8). Output as for the tokenizer; use it with `moviedreamer animate`.
    Animator(RunArgs),
}

#[derive(Args)]
pub struct TrainAllArgs {
    /// A dataset made by `moviedreamer world generate` (its train split is used; clips
    /// must have 8 frames for the storyworld preset: generate with --frames 8).
    #[arg(long)]
    data: PathBuf,
    /// A dataset for the evaluator alone [default: DATA]. Give it many characters, e.g.
    /// `world generate --films 8000 --shots 6 --frames 8 --portraits 1`: on a few hundred
    /// characters the evaluator learns to recognise each one and recall its traits instead
    /// of reading them (docs/results/evaluator.md).
    #[arg(long)]
    evaluator_data: Option<PathBuf>,
    /// Model sizes and training settings of every stage: storyworld or micro (seconds).
    #[arg(long, default_value = DEFAULT_PRESET)]
    preset: String,
    /// Output directory, one folder per stage [default: runs].
    #[arg(long, short, default_value = "runs")]
    out: PathBuf,
    /// Seed of every stage's data order and noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue: finished stages are kept, the interrupted one resumes from its checkpoint.
    #[arg(long)]
    resume: bool,
}

#[derive(Args)]
pub struct TrainPlannerArgs {
    #[command(flatten)]
    run: RunArgs,
    /// The trained tokenizer's model directory.
    #[arg(long, default_value = "runs/tokenizer/model")]
    tokenizer: PathBuf,
    /// The trained identity encoder's model directory.
    #[arg(long, default_value = "runs/identity/model")]
    identity: PathBuf,
    /// The output head: regression (as in the paper) or diffusion (a small per-token
    /// denoiser as in MAR, which samples instead of averaging) [default: the preset's].
    #[arg(long, value_parser = ["regression", "diffusion"])]
    head: Option<String>,
    /// Switch every anti-overfitting measure off (augmented token versions, face views and
    /// noise, history masking, cast shuffling) and the model's dropout too: the planner of
    /// the benchmark's no-anti-overfitting row (`bench --planner-without-measures`).
    #[arg(long)]
    without_measures: bool,
    /// Predict each keyframe token by token, each from the one before, as in the paper,
    /// instead of all at once from query rows (the presets' way: token by token, teacher
    /// forcing rewards copying the neighbour, which planning cannot give, and the planned
    /// keyframes come out as the mean; docs/results/planner.md).
    #[arg(long)]
    token_by_token: bool,
}

#[derive(Args)]
pub struct TrainRendererArgs {
    #[command(flatten)]
    run: RunArgs,
    /// The trained tokenizer's model directory (the renderer starts from its decoder).
    #[arg(long, default_value = "runs/tokenizer/model")]
    tokenizer: PathBuf,
    /// The trained identity encoder's model directory.
    #[arg(long, default_value = "runs/identity/model")]
    identity: PathBuf,
    /// The trained planner's model directory (its predictions are what the renderer learns
    /// to render).
    #[arg(long, default_value = "runs/planner/model")]
    planner: PathBuf,
}

/// What every stage's training takes.
#[derive(Args)]
pub struct RunArgs {
    /// A dataset made by `moviedreamer world generate` (its train split is used).
    #[arg(long)]
    data: PathBuf,
    /// Model size and training settings: storyworld (the bundled model) or micro (seconds)
    /// [default: storyworld; with --resume, the settings the run was started with].
    #[arg(long, conflicts_with = "settings")]
    preset: Option<String>,
    /// All model and training settings from a JSON file instead of a preset, e.g. a run's
    /// checkpoint/config.json edited; the options below still override it.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Output directory [default: runs/<stage>].
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Optimiser steps in all [default: the preset's].
    #[arg(long)]
    steps: Option<u64>,
    /// Examples per step [default: the preset's].
    #[arg(long)]
    batch: Option<usize>,
    /// Seed of the data order and the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue the run in the output directory from its last checkpoint, with the settings
    /// it was started with (its checkpoint/config.json) unless --preset or --settings says
    /// otherwise; --steps may lengthen it.
    #[arg(long)]
    resume: bool,
}

#[derive(Args)]
pub struct TrainTokenizerArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Tokens per keyframe (K) [default: the preset's].
    #[arg(long)]
    tokens: Option<usize>,
}

impl RunArgs {
    /// The settings of `stage`: the settings file's, the named preset's, on --resume the
    /// run's own (so a preset changed since the run began does not change its model), else
    /// the storyworld preset's.
    fn settings<T: DeserializeOwned>(
        &self,
        stage: &str,
        preset: impl Fn(&str) -> Option<T>,
    ) -> anyhow::Result<T> {
        if let Some(path) = &self.settings {
            return read_settings(path, stage);
        }
        if self.preset.is_none()
            && self.resume
            && let Some(path) = saved_settings(&self.options(stage).out)
        {
            println!("resuming with the run's own settings, {}", path.display());
            return read_settings(&path, stage);
        }
        let name = self.preset.as_deref().unwrap_or(DEFAULT_PRESET);
        preset(name).with_context(|| format!("unknown preset \"{name}\"; use storyworld or micro"))
    }

    fn options(&self, stage: &str) -> RunOptions {
        RunOptions {
            out: self
                .out
                .clone()
                .unwrap_or_else(|| Path::new("runs").join(stage)),
            resume: self.resume,
            show_progress: true,
        }
    }
}

pub fn run(command: TrainCommand) -> anyhow::Result<ExitCode> {
    match command {
        TrainCommand::All(args) => return train_all(&args),
        TrainCommand::Tokenizer(args) => {
            let run = &args.run;
            let mut settings = run.settings("tokenizer", TokenizerTraining::preset)?;
            settings.steps = run.steps.unwrap_or(settings.steps);
            settings.batch = run.batch.unwrap_or(settings.batch);
            settings.model.tokens = args.tokens.unwrap_or(settings.model.tokens);
            settings.seed = run.seed;
            let options = run.options("tokenizer");
            let summary = train_tokenizer(&settings, &run.data, &options)?;
            report(&summary, settings.steps, &options);
        }
        TrainCommand::Identity(run) => {
            let mut settings = run.settings("identity", IdentityTraining::preset)?;
            settings.steps = run.steps.unwrap_or(settings.steps);
            settings.batch = run.batch.unwrap_or(settings.batch);
            settings.seed = run.seed;
            let options = run.options("identity");
            let summary = train_identity(&settings, &run.data, &options)?;
            report(&summary, settings.steps, &options);
        }
        TrainCommand::Evaluator(run) => {
            let mut settings = run.settings("evaluator", EvaluatorTraining::preset)?;
            settings.steps = run.steps.unwrap_or(settings.steps);
            settings.batch = run.batch.unwrap_or(settings.batch);
            settings.seed = run.seed;
            let options = run.options("evaluator");
            let summary = train_evaluator(&settings, &run.data, &options)?;
            report(&summary, settings.steps, &options);
        }
        TrainCommand::Animator(run) => {
            let mut settings = run.settings("animator", AnimatorTraining::preset)?;
            settings.steps = run.steps.unwrap_or(settings.steps);
            settings.batch = run.batch.unwrap_or(settings.batch);
            settings.seed = run.seed;
            let options = run.options("animator");
            let summary = train_animator(&settings, &run.data, &options)?;
            report(&summary, settings.steps, &options);
        }
        TrainCommand::Renderer(args) => {
            let run = &args.run;
            let mut settings = run.settings("renderer", |name| {
                RendererTraining::preset(name, &args.tokenizer, &args.identity, &args.planner)
            })?;
            settings.steps = run.steps.unwrap_or(settings.steps);
            settings.batch = run.batch.unwrap_or(settings.batch);
            settings.seed = run.seed;
            let options = run.options("renderer");
            let summary = train_renderer(&settings, &run.data, &options)?;
            report(&summary, settings.steps, &options);
        }
        TrainCommand::Planner(args) => {
            let run = &args.run;
            let mut settings = run.settings("planner", |name| {
                PlannerTraining::preset(name, &args.tokenizer, &args.identity)
            })?;
            settings.steps = run.steps.unwrap_or(settings.steps);
            settings.batch = run.batch.unwrap_or(settings.batch);
            settings.seed = run.seed;
            match args.head.as_deref() {
                Some("regression") => settings.model.head = PlannerHead::Regression,
                Some(_) => {
                    settings.model.head = PlannerHead::Diffusion(DiffusionHeadConfig::storyworld())
                }
                None => {}
            }
            if args.without_measures {
                settings.anti_overfitting = AntiOverfitting::none();
                settings.model.dropout = 0.0;
            }
            if args.token_by_token {
                settings.model.whole_keyframes = false;
            }
            let options = run.options("planner");
            let summary = train_planner(&settings, &run.data, &options)?;
            report(&summary, settings.steps, &options);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `train all`: every stage in turn, each from the models of the ones before it.
fn train_all(args: &TrainAllArgs) -> anyhow::Result<ExitCode> {
    let unknown = || {
        format!(
            "unknown preset \"{}\"; use storyworld or micro",
            args.preset
        )
    };
    let options = |stage: &str| RunOptions {
        out: args.out.join(stage),
        resume: args.resume,
        show_progress: true,
    };
    let model = |stage: &str| args.out.join(stage).join(MODEL_DIR);
    // Runs one stage and says whether it finished (else the user interrupted it).
    let finished = |stage: &str, total: u64, summary: TrainingSummary| {
        println!("{stage}:");
        report(&summary, total, &options(stage));
        !summary.interrupted
    };

    // The evaluator trains last: a wrong --evaluator-data (missing, another picture size, a
    // bad label line anywhere in its index) is reported before the hours of the stages
    // before it, not after. Reading its index twice costs seconds (2.4 s for 38,400 keyframes).
    let mut evaluator = EvaluatorTraining::preset(&args.preset).with_context(unknown)?;
    evaluator.seed = args.seed;
    let evaluator_data = args.evaluator_data.as_ref().unwrap_or(&args.data);
    if let Some(data) = &args.evaluator_data {
        training_batches(data, evaluator.model.image_size, evaluator.batch, args.seed)
            .with_context(|| format!("--evaluator-data {}", data.display()))?;
    }

    let mut tokenizer = TokenizerTraining::preset(&args.preset).with_context(unknown)?;
    tokenizer.seed = args.seed;
    let summary = train_tokenizer(&tokenizer, &args.data, &options("tokenizer"))?;
    if !finished("tokenizer", tokenizer.steps, summary) {
        return Ok(ExitCode::FAILURE);
    }
    let mut identity = IdentityTraining::preset(&args.preset).with_context(unknown)?;
    identity.seed = args.seed;
    let summary = train_identity(&identity, &args.data, &options("identity"))?;
    if !finished("identity", identity.steps, summary) {
        return Ok(ExitCode::FAILURE);
    }
    let mut planner =
        PlannerTraining::preset(&args.preset, &model("tokenizer"), &model("identity"))
            .with_context(unknown)?;
    planner.seed = args.seed;
    let summary = train_planner(&planner, &args.data, &options("planner"))?;
    if !finished("planner", planner.steps, summary) {
        return Ok(ExitCode::FAILURE);
    }
    let mut renderer = RendererTraining::preset(
        &args.preset,
        &model("tokenizer"),
        &model("identity"),
        &model("planner"),
    )
    .with_context(unknown)?;
    renderer.seed = args.seed;
    let summary = train_renderer(&renderer, &args.data, &options("renderer"))?;
    if !finished("renderer", renderer.steps, summary) {
        return Ok(ExitCode::FAILURE);
    }
    let mut animator = AnimatorTraining::preset(&args.preset).with_context(unknown)?;
    animator.seed = args.seed;
    let summary = train_animator(&animator, &args.data, &options("animator"))?;
    if !finished("animator", animator.steps, summary) {
        return Ok(ExitCode::FAILURE);
    }
    let summary = train_evaluator(&evaluator, evaluator_data, &options("evaluator"))?;
    if !finished("evaluator", evaluator.steps, summary) {
        return Ok(ExitCode::FAILURE);
    }

    let models = serde_json::json!({
        "tokenizer": "tokenizer/model",
        "identity": "identity/model",
        "planner": "planner/model",
        "renderer": "renderer/model",
        "animator": "animator/model",
        "evaluator": "evaluator/model",
    });
    let path = args.out.join("moviedreamer.json");
    moviedreamer_pipeline::write_atomically(&path, format!("{models:#}\n").as_bytes())?;
    println!(
        "every stage trained; {} names them: make a film with `moviedreamer generate SCRIPT --models {} -o RUN`",
        path.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn report(summary: &TrainingSummary, total_steps: u64, options: &RunOptions) {
    let model = summary.model_dir.display();
    let Some(loss) = summary.recent_loss else {
        if summary.interrupted {
            println!(
                "stopped before the first step; nothing to save. Run the same command again{}.",
                if summary.steps > 0 {
                    " with --resume"
                } else {
                    ""
                }
            );
        } else {
            println!(
                "already trained ({} steps); model in {model}",
                summary.steps
            );
        }
        return;
    };
    if summary.interrupted {
        println!(
            "stopped at step {} of {total_steps}; checkpoint saved. Continue with the same command and --resume.",
            summary.steps
        );
    }
    println!(
        "step {}: loss {loss:.4} (mean of the last 50 steps), {:.0} s; model in {model}; curve in {}",
        summary.steps,
        summary.seconds,
        options.out.join("loss.png").display()
    );
}

/// Reads training settings written as JSON, naming the file and the field that is wrong.
fn read_settings<T: DeserializeOwned>(path: &Path, stage: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the settings file", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not valid {stage} training settings (compare with a run's checkpoint/config.json)",
            path.display()
        )
    })
}
