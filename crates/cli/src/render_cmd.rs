//! `moviedreamer render`: a plan's tokens into keyframes with the identity-preserving
//! renderer, whole or one shard at a time; `moviedreamer merge` joins the shards.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, ensure};
use candle_core::Tensor;
use clap::Args;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_models::identity::IdentityEncoder;
use moviedreamer_models::planner::script_prompt::shot_slots;
use moviedreamer_models::renderer::{Renderer, fit_square};
use moviedreamer_nn::checkpoint::load_tensors;
use moviedreamer_pipeline::manifest::sha256_file;
use moviedreamer_pipeline::{
    CastMember, RenderSettings, Shard, ShotToRender, merge_shards, render_keyframes,
};
use moviedreamer_script::Script;

use crate::cast::{cast_costumes, cast_identities};
use crate::generate_cmd::check_guidance;
use crate::load_trained;

#[derive(Args)]
pub struct RenderArgs {
    /// The planned tokens, from `moviedreamer plan` (tensor `tokens`, one row per shot).
    plan: PathBuf,
    /// The script the plan was made from: who stands where in each shot, and the cast's
    /// reference faces.
    #[arg(long)]
    script: PathBuf,
    /// The trained renderer's model directory.
    #[arg(long, default_value = "runs/renderer/model")]
    renderer: PathBuf,
    /// The trained identity encoder's model directory (the one the renderer was trained
    /// with).
    #[arg(long, default_value = "runs/identity/model")]
    identity: PathBuf,
    /// Output directory: keyframes/000000.png, … and manifest.json. An interrupted run
    /// continues when the same command is run again, with the same bytes.
    #[arg(long, short)]
    out: PathBuf,
    /// Render one slice of the film only: shard i of n (0/4, 1/4, 2/4, 3/4), each into its
    /// own output directory, so that several processes or machines share a film; join them
    /// with `moviedreamer merge`. Each shard's keyframes are the same bytes the whole run
    /// gives for its shots.
    #[arg(long, default_value = "0/1")]
    shard: Shard,
    /// Sampling steps per keyframe.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Guidance on the planned tokens (1 = none).
    #[arg(long, default_value_t = 1.0)]
    token_guidance: f64,
    /// Guidance on the characters' identities, over the tokens (1 = none, 0 = ignore the
    /// identities, above 1 = hold to them more strongly).
    #[arg(long, default_value_t = 1.0)]
    identity_guidance: f64,
    /// Seed of the sampling noise (each shot has its own stream of it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keyframes rendered together.
    #[arg(long, default_value_t = 8)]
    batch: usize,
}

pub fn render(args: RenderArgs) -> anyhow::Result<ExitCode> {
    ensure!(
        (1..=1000).contains(&args.steps),
        "--steps {} is outside 1 to 1,000",
        args.steps
    );
    ensure!(args.batch > 0, "--batch must be at least 1");
    check_guidance("--token-guidance", args.token_guidance)?;
    check_guidance("--identity-guidance", args.identity_guidance)?;
    let loaded = moviedreamer_script::load(&args.script)?;
    let script = loaded.script;
    let renderer = load_trained(&args.renderer, "renderer", Renderer::load)?;
    let identity = load_trained(&args.identity, "identity encoder", IdentityEncoder::load)?;
    ensure!(
        identity.config().embed_dim == renderer.config().identity_dim,
        "{} makes identities of {} values but the renderer in {} reads {}\n  help: give the identity encoder the renderer was trained with",
        args.identity.display(),
        identity.config().embed_dim,
        args.renderer.display(),
        renderer.config().identity_dim
    );

    let mut plan = load_tensors(&args.plan)
        .with_context(|| format!("cannot read the plan {}", args.plan.display()))?;
    let tokens = plan.remove("tokens").with_context(|| {
        format!(
            "{} holds no tensor \"tokens\"; make the plan with `moviedreamer plan`",
            args.plan.display()
        )
    })?;
    let faces = cast_identities(&args.script, &script, &identity)?;
    let costumes = cast_costumes(&args.script, &script)?;
    let to_render =
        shots_to_render(&renderer, &script, &tokens, &faces, &costumes).with_context(|| {
            format!(
                "{} does not fit {}",
                args.plan.display(),
                args.script.display()
            )
        })?;
    let shots = to_render.len();
    let settings = RenderSettings {
        steps: args.steps,
        token_guidance: args.token_guidance,
        identity_guidance: args.identity_guidance,
        seed: args.seed,
        batch: args.batch,
        shard: args.shard,
    };
    let config = serde_json::json!({
        "plan_sha256": sha256_file(&args.plan)?,
        "renderer": args.renderer.display().to_string(),
        "identity": args.identity.display().to_string(),
    });
    let range = args.shard.shots(shots);
    let bar = ProgressBar::new(range.len() as u64).with_style(
        ProgressStyle::with_template("rendering {bar:40} {pos}/{len} keyframes  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rendered = render_keyframes(
        &renderer,
        &args.script,
        config,
        &to_render,
        &args.out,
        &settings,
        || bar.inc(1),
    )?;
    bar.finish_and_clear();
    println!(
        "rendered {rendered} keyframes ({} were already done) of shots {}..{} into {}",
        range.len() - rendered,
        range.start,
        range.end,
        args.out.join("keyframes").display()
    );
    if args.shard == Shard::WHOLE {
        println!(
            "animate them with: moviedreamer animate {} --keyframes {} -o RUN",
            args.script.display(),
            args.out.join("keyframes").display()
        );
    } else {
        println!(
            "when every shard is done, join them with: moviedreamer merge SHARD_DIRS... -o RUN"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Every shot of `script` with its planned tokens (a row of `tokens`) and who stands in its
/// slots (identity from `faces`, costume from `costumes`, both in cast order); refuses tokens of another shape than the script and renderer
/// need.
pub fn shots_to_render(
    renderer: &Renderer,
    script: &Script,
    tokens: &Tensor,
    faces: &[Vec<f32>],
    costumes: &[Option<RgbImage>],
) -> anyhow::Result<Vec<ShotToRender>> {
    let shots: Vec<_> = script
        .scenes
        .iter()
        .flat_map(|scene| &scene.shots)
        .collect();
    let (k, d) = (
        renderer.config().tokenizer.tokens,
        renderer.config().tokenizer.token_dim,
    );
    ensure!(
        tokens.dims() == [shots.len(), k, d],
        "tokens of shape {:?}, but the script has {} shots and the renderer reads {k} tokens of {d} values each ({:?})\n  help: plan this script with the planner trained on this renderer's tokenizer",
        tokens.dims(),
        shots.len(),
        [shots.len(), k, d]
    );
    // Each cast member once, its costume picture already at the renderer's size.
    let size = renderer.config().costume_size as u32;
    let members: Vec<Arc<CastMember>> = faces
        .iter()
        .zip(costumes)
        .map(|(identity, costume)| {
            Arc::new(CastMember {
                identity: identity.clone(),
                costume: costume
                    .as_ref()
                    .filter(|_| size > 0)
                    .map(|picture| fit_square(picture, size)),
            })
        })
        .collect();
    shots
        .iter()
        .enumerate()
        .map(|(index, shot)| {
            Ok(ShotToRender {
                index,
                tokens: tokens.get(index)?,
                slots: shot_slots(script, shot).map(|cast| cast.map(|c| Arc::clone(&members[c]))),
            })
        })
        .collect()
}

#[derive(Args)]
pub struct MergeArgs {
    /// The output directories of every shard of one `moviedreamer render` run (0/n to
    /// (n-1)/n, in any order).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// The run directory to write: all keyframes and one manifest, the same as a run that
    /// rendered the whole film at once.
    #[arg(long, short)]
    out: PathBuf,
}

pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let keyframes = merge_shards(&args.shards, &args.out)?;
    println!(
        "merged {} shards: {keyframes} keyframes in {}",
        args.shards.len(),
        args.out.join("keyframes").display()
    );
    Ok(ExitCode::SUCCESS)
}
