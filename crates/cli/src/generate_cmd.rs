//! `moviedreamer generate`: a script → a movie, the whole pipeline in one run directory:
//! plan (tokens of every keyframe) → render (keyframes) → animate (clips) → assemble
//! (movie, storyboard, index.html). Every stage keeps what it finished, so running the same
//! command again after an interruption continues where it stopped, with the same bytes.
//!
//! ```text
//! RUN/plan.safetensors, plan.json    the planned tokens and what they were planned from
//! RUN/render/keyframes/, manifest    one keyframe per shot
//! RUN/animate/clips/, manifest       one clip per shot
//! RUN/movie.mp4, storyboard-*.png, index.html
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, ensure};
use candle_core::DType;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_models::animator::{Animator, ClipSampling};
use moviedreamer_models::evaluator::Evaluator;
use moviedreamer_models::identity::IdentityEncoder;
use moviedreamer_models::planner::Planner;
use moviedreamer_models::planner::generate::FULL_HISTORY;
use moviedreamer_models::renderer::Renderer;
use moviedreamer_models::text::Vocabulary;
use moviedreamer_nn::checkpoint::{load_tensors, save_tensors};
use moviedreamer_pipeline::manifest::{setting_differences, sha256_file};
use moviedreamer_pipeline::render::keyframe_path;
use moviedreamer_pipeline::{
    AnimateSettings, PipelineError, RenderSettings, Report, Shard, animate_shots, render_keyframes,
    write_atomically,
};
use moviedreamer_train::data::films::model_fingerprint;
use moviedreamer_train::planner::VOCABULARY_FILE;
use serde::Deserialize;

use crate::animate_cmd::{assemble_clips, shots_to_animate};
use crate::cast::{cast_costumes, cast_identities};
use crate::eval_film::{clip_rows, metric_rows, print_table, score_clips, score_keyframes};
use crate::load_trained;
use crate::movie_cmd::{MovieOptions, film_shots, print_outputs};
use crate::plan_cmd::{FilmToPlan, plan_film};
use crate::render_cmd::shots_to_render;

/// The file in a models directory that names its stages' model directories.
const MODELS_FILE: &str = "moviedreamer.json";

#[derive(Args)]
pub struct GenerateArgs {
    /// The script (YAML, or a Fountain screenplay); its characters' `faces` give who they
    /// are.
    script: PathBuf,
    /// Output directory. Run the same command again to continue an interrupted run.
    #[arg(long, short)]
    out: PathBuf,
    /// Where the trained stages are: a directory with moviedreamer.json naming the planner,
    /// identity, renderer and animator model directories (relative to it), or, without
    /// that file, the layout `moviedreamer train` writes (DIR/planner/model, …).
    #[arg(long, default_value = "runs")]
    models: PathBuf,
    /// Seed of every random choice (planning, rendering and animating noise).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Sampling steps per keyframe.
    #[arg(long, default_value_t = 20)]
    render_steps: usize,
    /// Guidance on the planned tokens when rendering (1 = none).
    #[arg(long, default_value_t = 1.0)]
    token_guidance: f64,
    /// Guidance on the characters' identities when rendering (1 = none, 0 = ignore them).
    #[arg(long, default_value_t = 1.0)]
    identity_guidance: f64,
    /// Sampling steps per clip.
    #[arg(long, default_value_t = ClipSampling::DEFAULT_STEPS)]
    animate_steps: usize,
    /// Guidance on each shot's motion (1 = none).
    #[arg(long, default_value_t = 1.0)]
    motion_guidance: f64,
    /// Where clip sampling starts: 1 from pure noise, less from the keyframe held still
    /// and noised that far.
    #[arg(long, default_value_t = 0.5)]
    start_noise: f64,
    /// Keyframes or clips made together.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// A StoryWorld film folder whose labels.jsonl says what each shot shows (as the demo's
    /// examples/demo): the keyframes are scored against it by the evaluator and the numbers
    /// printed and put in index.html.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// The evaluator that scores against --labels [default: the models directory's
    /// evaluator, MODELS/evaluator/model].
    #[arg(long, requires = "labels")]
    evaluator: Option<PathBuf>,
    #[command(flatten)]
    movie: MovieOptions,
}

/// The model directories of the four generating stages, of the evaluator that scores their
/// films, and of the tokenizer (the benchmark's oracle row).
#[derive(Debug, Deserialize)]
pub(crate) struct Models {
    pub planner: PathBuf,
    pub identity: PathBuf,
    pub renderer: PathBuf,
    pub animator: PathBuf,
    #[serde(default = "default_evaluator")]
    pub evaluator: PathBuf,
    #[serde(default = "default_tokenizer")]
    pub tokenizer: PathBuf,
}

/// Where `moviedreamer train` leaves a stage's model: `<stage>/model`.
fn trained_stage(stage: &str) -> PathBuf {
    Path::new(stage).join("model")
}

fn default_evaluator() -> PathBuf {
    trained_stage("evaluator")
}

fn default_tokenizer() -> PathBuf {
    trained_stage("tokenizer")
}

impl Models {
    /// Reads `dir/moviedreamer.json`, or assumes the layout of `moviedreamer train`.
    pub(crate) fn find(dir: &Path) -> anyhow::Result<Self> {
        let file = dir.join(MODELS_FILE);
        let models = if file.is_file() {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let named: Models = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{}: not a models file; it names \"planner\", \"identity\", \"renderer\" and \"animator\" model directories",
                    file.display()
                )
            })?;
            named
        } else {
            Models {
                planner: trained_stage("planner"),
                identity: trained_stage("identity"),
                renderer: trained_stage("renderer"),
                animator: trained_stage("animator"),
                evaluator: default_evaluator(),
                tokenizer: default_tokenizer(),
            }
        };
        Ok(Models {
            planner: dir.join(models.planner),
            identity: dir.join(models.identity),
            renderer: dir.join(models.renderer),
            animator: dir.join(models.animator),
            evaluator: dir.join(models.evaluator),
            tokenizer: dir.join(models.tokenizer),
        })
    }
}

/// `generate`'s arguments as the command line would give them, for `demo`.
#[derive(clap::Parser)]
struct GenerateLine {
    #[command(flatten)]
    args: GenerateArgs,
}

impl GenerateArgs {
    /// `generate SCRIPT --models MODELS -o OUT --seed SEED` with every other option at its
    /// default.
    pub fn with_defaults(script: &Path, models: &Path, out: &Path, seed: u64) -> Self {
        let line = [
            "generate".into(),
            script.as_os_str().to_owned(),
            "--models".into(),
            models.as_os_str().to_owned(),
            "-o".into(),
            out.as_os_str().to_owned(),
            "--seed".into(),
            seed.to_string().into(),
        ];
        <GenerateLine as clap::Parser>::parse_from(line).args
    }

    /// The same, with the keyframes scored against the StoryWorld film folder `film`.
    pub fn scored_against(self, film: &Path) -> Self {
        GenerateArgs {
            labels: Some(film.to_owned()),
            ..self
        }
    }
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let movie_settings = args.movie.settings()?;
    ensure!(args.batch > 0, "--batch must be at least 1");
    check_sampling_steps(args.render_steps, args.animate_steps)?;
    check_guidance("--token-guidance", args.token_guidance)?;
    check_guidance("--identity-guidance", args.identity_guidance)?;
    check_guidance("--motion-guidance", args.motion_guidance)?;
    ensure!(
        args.start_noise > 0.0 && args.start_noise <= 1.0,
        "--start-noise {} is outside (0, 1]",
        args.start_noise
    );
    let loaded = moviedreamer_script::load(&args.script)?;
    let script = loaded.script;
    let shots = film_shots(&script);
    ensure!(!shots.is_empty(), "{} has no shots", args.script.display());

    // The trained stages.
    let models = Models::find(&args.models)?;
    let planner = load_trained(&models.planner, "planner", Planner::load)?;
    let vocabulary = Vocabulary::load(&models.planner.join(VOCABULARY_FILE))?;
    let identity = load_trained(&models.identity, "identity encoder", IdentityEncoder::load)?;
    let renderer = load_trained(&models.renderer, "renderer", Renderer::load)?;
    let animator = load_trained(&models.animator, "animator", Animator::load)?;
    ensure!(
        renderer.config().tokenizer.image_size == animator.config().image_size,
        "the renderer makes {} px keyframes but the animator animates {} px ones\n  help: train both on the same dataset",
        renderer.config().tokenizer.image_size,
        animator.config().image_size
    );
    let faces = cast_identities(&args.script, &script, &identity)?;

    // One progress line that every stage uses in turn.
    let bar = ProgressBar::new(shots.len() as u64).with_style(
        ProgressStyle::with_template("{prefix:>10} {bar:40} {pos}/{len} shots  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stage = |name: &'static str| {
        bar.set_prefix(name);
        bar.set_position(0);
        bar.reset_eta();
    };

    // 1. Plan, unless this run already planned with the same script, models and seed.
    stage("planning");
    let plan_path = args.out.join("plan.safetensors");
    let plan_key = serde_json::json!({
        "script_sha256": sha256_file(&args.script)?,
        "planner": model_fingerprint(&models.planner),
        "identity": model_fingerprint(&models.identity),
        "seed": args.seed,
    });
    let tokens = match saved_plan(&plan_path, &plan_key) {
        SavedPlan::Same(tokens) => {
            bar.set_position(shots.len() as u64);
            tokens
        }
        // Another run's finished plan: refused rather than overwritten under that run's
        // keyframes.
        SavedPlan::Other(saved) => {
            return Err(PipelineError::OtherRun {
                path: plan_path.with_extension("json"),
                message: format!(
                    "this run was planned from other inputs ({})",
                    setting_differences(&saved, &plan_key).join("; ")
                ),
            }
            .into());
        }
        SavedPlan::Missing => {
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
                || bar.inc(1),
            )?;
            save_tensors(
                &plan_path,
                &BTreeMap::from([("tokens".to_owned(), tokens.clone())]),
                DType::F32,
            )?;
            write_atomically(
                &plan_path.with_extension("json"),
                format!("{plan_key:#}\n").as_bytes(),
            )?;
            tokens
        }
    };

    // 2. Render every keyframe.
    stage("rendering");
    let render_dir = args.out.join("render");
    let costumes = cast_costumes(&args.script, &script)?;
    let to_render = shots_to_render(&renderer, &script, &tokens, &faces, &costumes)?;
    let render_settings = RenderSettings {
        steps: args.render_steps,
        token_guidance: args.token_guidance,
        identity_guidance: args.identity_guidance,
        seed: args.seed,
        batch: args.batch,
        shard: Shard::WHOLE,
    };
    let render_config = serde_json::json!({
        "plan_sha256": sha256_file(&plan_path)?,
        "renderer": model_fingerprint(&models.renderer),
        "identity": model_fingerprint(&models.identity),
    });
    render_keyframes(
        &renderer,
        &args.script,
        render_config,
        &to_render,
        &render_dir,
        &render_settings,
        || bar.inc(1),
    )?;

    // 3. Animate every keyframe into its clip.
    stage("animating");
    let animate_dir = args.out.join("animate");
    let keyframe = |index: usize| keyframe_path(&render_dir, index);
    let animate_settings = AnimateSettings {
        sampling: ClipSampling {
            steps: args.animate_steps,
            guidance: args.motion_guidance,
            start_noise: args.start_noise,
        },
        seed: args.seed,
        batch: args.batch,
    };
    let animate_config = serde_json::json!({
        "animator": model_fingerprint(&models.animator),
        "keyframes": render_dir.join("keyframes").display().to_string(),
    });
    animate_shots(
        &animator,
        &args.script,
        animate_config,
        &shots_to_animate(&shots, keyframe),
        &animate_dir,
        &animate_settings,
        || bar.inc(1),
    )?;
    bar.finish_and_clear();

    // 4. Score the clips, and the keyframes against the film's labels when it has them.
    let clip_scores = clip_rows(&score_clips(
        &render_dir.join("keyframes"),
        &animate_dir,
        shots.len(),
    )?);
    let film_scores = match &args.labels {
        Some(film) => {
            let evaluator_dir = args
                .evaluator
                .clone()
                .unwrap_or_else(|| models.evaluator.clone());
            let evaluator = load_trained(&evaluator_dir, "evaluator", Evaluator::load)?;
            let scores = score_keyframes(&evaluator, film, &render_dir.join("keyframes"))?;
            Some((metric_rows(&scores), film, evaluator_dir))
        }
        None => None,
    };

    // 5. Assemble the movie, storyboard and report.
    let summary = format!(
        "{} shots planned, rendered ({} steps, token guidance {}, identity guidance {}) and animated ({} steps, start noise {}) from the models in {}, seed {}.",
        shots.len(),
        args.render_steps,
        args.token_guidance,
        args.identity_guidance,
        args.animate_steps,
        args.start_noise,
        args.models.display(),
        args.seed
    );
    let metrics: Vec<(String, String)> = film_scores
        .iter()
        .flat_map(|(rows, _, _)| rows.iter().cloned())
        .chain(clip_scores)
        .collect();
    let report = Report {
        title: script.title.clone(),
        summary,
        script: std::fs::read_to_string(&args.script).ok(),
        metrics: metrics.clone(),
        ..Report::default()
    };
    let assembly = assemble_clips(
        report,
        shots,
        keyframe,
        &animate_dir,
        &args.out,
        &movie_settings,
    )?;
    print_outputs(&args.out, &assembly);
    match &film_scores {
        Some((_, film, evaluator)) => println!(
            "\nThis film against {} (keyframes scored by the evaluator in {}):\n",
            film.join("labels.jsonl").display(),
            evaluator.display()
        ),
        None => println!(),
    }
    print_table(&metrics);
    Ok(ExitCode::SUCCESS)
}

/// Refuses `--render-steps` or `--animate-steps` outside 1 to 1,000, naming the flag.
pub(crate) fn check_sampling_steps(render: usize, animate: usize) -> anyhow::Result<()> {
    for (flag, steps) in [("--render-steps", render), ("--animate-steps", animate)] {
        ensure!(
            (1..=1000).contains(&steps),
            "{flag} {steps} is outside 1 to 1,000"
        );
    }
    Ok(())
}

/// Refuses a guidance scale the samplers cannot use: each must be a finite number, at
/// least 0 (0 drops that condition, 1 uses it plainly, above 1 holds to it more strongly).
pub(crate) fn check_guidance(flag: &str, scale: f64) -> anyhow::Result<()> {
    ensure!(
        scale.is_finite() && scale >= 0.0,
        "{flag} {scale} is not a guidance scale: give a number of at least 0 (1 = no guidance, 0 = ignore that condition)"
    );
    Ok(())
}

/// What a run directory holds of a finished plan.
enum SavedPlan {
    /// The plan made from what the key describes: reused.
    Same(candle_core::Tensor),
    /// A plan made from other inputs (its key): another run's, not to be overwritten.
    Other(serde_json::Value),
    /// None, or an unreadable one: plan again.
    Missing,
}

/// The plan in the run directory, against what `key` describes.
fn saved_plan(path: &Path, key: &serde_json::Value) -> SavedPlan {
    let saved = std::fs::read_to_string(path.with_extension("json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    match saved {
        Some(saved) if &saved != key => SavedPlan::Other(saved),
        Some(_) => load_tensors(path)
            .ok()
            .and_then(|mut tensors| tensors.remove("tokens"))
            .map_or(SavedPlan::Missing, SavedPlan::Same),
        None => SavedPlan::Missing,
    }
}
