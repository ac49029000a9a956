//! `moviedreamer eval …`: measure a trained stage on held-out StoryWorld data.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::Device;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_eval::reconstruction::score;
use moviedreamer_media::sheet::{Tile, contact_sheet};
use moviedreamer_models::animator::Animator;
use moviedreamer_models::evaluator::Evaluator;
use moviedreamer_models::identity::IdentityEncoder;
use moviedreamer_models::planner::Planner;
use moviedreamer_models::planner::script_prompt::shot_slots;
use moviedreamer_models::renderer::{Renderer, SlotCharacter, SlotIdentities};
use moviedreamer_models::text::Vocabulary;
use moviedreamer_pipeline::write_atomically;
use moviedreamer_storyworld::identity::Split;
use moviedreamer_train::animator::evaluate_animator;
use moviedreamer_train::data::films::model_fingerprint;
use moviedreamer_train::data::{
    ClipDataset, FaceDataset, KeyframeDataset, from_tensor, prepare_films, to_tensor,
};
use moviedreamer_train::evaluator::{AttributeAccuracy, evaluate_evaluator};
use moviedreamer_train::identity::evaluate_identity;
use moviedreamer_train::planner::{VOCABULARY_FILE, evaluate_planner};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::animate_cmd::SamplingOptions;
use crate::cast::cast_costumes;
use crate::tokenizer_cmd::{DEFAULT_GUIDANCE, DEFAULT_STEPS, comparison_sheet, load_model};
use crate::{load_trained, write_png};

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Reconstruction quality of a tokenizer on keyframes it never saw: encode, generate
    /// back, and compare (PSNR, SSIM).
    ///
    /// Keyframes are taken evenly across the split, so the same command measures the same
    /// keyframes every time. Writes scores.json and reconstructions.png (originals beside
    /// reconstructions) into the output directory; with --evaluator, also how often each
    /// label (place, time, style, shot type, presence, pose, traits) is read right in the
    /// originals and in the reconstructions.
    Tokenizer(EvalTokenizerArgs),
    /// How well an identity encoder recognises characters it never saw: each keyframe face
    /// of the split is matched to the nearest portrait (cosine), among its film's cast and
    /// among every character of the split.
    ///
    /// Writes scores.json into the output directory.
    Identity(EvalIdentityArgs),
    /// How close a planner's tokens come to the true ones on films it never saw, teacher-
    /// forced and planned from the script alone, and a sheet of keyframes beside their
    /// reconstruction from the true tokens and from the planned ones.
    ///
    /// Writes scores.json and planned.png into the output directory.
    Planner(EvalPlannerArgs),
    /// How close the renderer's keyframes of unseen films come to the true ones: planned
    /// tokens rendered with and without the characters' identities, against the tokenizer's
    /// decoder alone (the rows of #7's ablation).
    ///
    /// Plans the first films of the split with the planner, renders every keyframe four
    /// ways (the tokenizer's decoder from the true and from the planned tokens; the renderer
    /// from the planned tokens with identity guidance 0, and with the given guidance and the
    /// script's full-body pictures where it gives them), and
    /// writes scores.json (PSNR and SSIM against the true keyframes) and renderer.png (a
    /// sheet of the first film's keyframes in every row).
    Renderer(EvalRendererArgs),
    /// Accuracy of the evaluator per attribute on ground-truth keyframes it never saw (the
    /// benchmark's numbers mean little below 97 %).
    ///
    /// Writes scores.json into the output directory and prints a table.
    Evaluator(EvalEvaluatorArgs),
    /// How an animator's clips compare with the true clips of shots it never saw, by kind
    /// of motion, against the baseline of holding the keyframe still (PSNR), and how much
    /// they move (mean change between frames); whether walkers, jumpers and pans move the
    /// way and the distance the true clips do, tracked by block matching in both; and
    /// whether wavers' figures change as much as the truth's and come closer to it than
    /// holding still.
    ///
    /// Clips are taken evenly across the split, so the same command measures the same clips
    /// every time. Writes scores.json and clips.png (true clips above generated ones).
    Animator(EvalAnimatorArgs),
    /// How well a film's keyframes show what each shot of a StoryWorld film asks for, as the
    /// evaluator reads them: adherence (place, time, style, shot type), presence F1,
    /// identity accuracy (each character's traits) and identity consistency (one
    /// character's embeddings across shots, by distance between them).
    ///
    /// Scores the film's own keyframes (the ground truth) or, with --keyframes, those a run
    /// made from its script. Writes scores.json into the output directory and prints a
    /// table.
    Film(crate::eval_film::EvalFilmArgs),
}

#[derive(Args)]
pub struct EvalAnimatorArgs {
    /// A dataset made by `moviedreamer world generate` (clips of the animator's length).
    #[arg(long)]
    data: PathBuf,
    /// Which split to measure on: test, validation or train.
    #[arg(long, default_value = "test")]
    split: String,
    /// The animator's model directory.
    #[arg(long, default_value = "runs/animator/model")]
    model: PathBuf,
    /// How many clips to measure.
    #[arg(long, default_value_t = 64)]
    count: usize,
    #[command(flatten)]
    sampling: SamplingOptions,
    /// Output directory.
    #[arg(long, short, default_value = "runs/eval-animator")]
    out: PathBuf,
}

#[derive(Args)]
pub struct EvalEvaluatorArgs {
    /// A dataset made by `moviedreamer world generate`.
    #[arg(long)]
    data: PathBuf,
    /// Which split to measure on: test, validation or train.
    #[arg(long, default_value = "test")]
    split: String,
    /// The evaluator's model directory.
    #[arg(long, default_value = "runs/evaluator/model")]
    model: PathBuf,
    /// Output directory.
    #[arg(long, short, default_value = "runs/eval-evaluator")]
    out: PathBuf,
}

#[derive(Args)]
pub struct EvalIdentityArgs {
    /// A dataset made by `moviedreamer world generate`.
    #[arg(long)]
    data: PathBuf,
    /// Which split to measure on: test (identities never seen in training), validation or
    /// train.
    #[arg(long, default_value = "test")]
    split: String,
    /// The identity encoder's model directory.
    #[arg(long, default_value = "runs/identity/model")]
    model: PathBuf,
    /// Output directory.
    #[arg(long, short, default_value = "runs/eval-identity")]
    out: PathBuf,
}

#[derive(Args)]
pub struct EvalTokenizerArgs {
    /// A dataset made by `moviedreamer world generate`.
    #[arg(long)]
    data: PathBuf,
    /// Which split to measure on: test (identities never seen in training), validation or
    /// train.
    #[arg(long, default_value = "test")]
    split: String,
    /// The tokenizer's model directory.
    #[arg(long, default_value = "runs/tokenizer/model")]
    model: PathBuf,
    /// How many keyframes to measure.
    #[arg(long, default_value_t = 64)]
    count: usize,
    /// Sampling steps of the diffusion decoder.
    #[arg(long, default_value_t = crate::tokenizer_cmd::DEFAULT_STEPS)]
    steps: usize,
    /// Classifier-free guidance scale on the tokens (1 = none).
    #[arg(long, default_value_t = crate::tokenizer_cmd::DEFAULT_GUIDANCE)]
    guidance: f64,
    /// Seed of the sampling noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// An evaluator's model directory (`train evaluator`): read the originals and their
    /// reconstructions with it and report, per attribute (place, time, style, shot type,
    /// presence, pose, each identity trait), how often each is read right, so the table says
    /// which labels survive tokenizing.
    #[arg(long)]
    evaluator: Option<PathBuf>,
    /// Output directory.
    #[arg(long, short, default_value = "runs/eval-tokenizer")]
    out: PathBuf,
}

/// Keyframes decoded at once.
const BATCH: usize = 16;

pub fn run(command: EvalCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvalCommand::Tokenizer(args) => tokenizer(args),
        EvalCommand::Identity(args) => identity(args),
        EvalCommand::Planner(args) => planner(args),
        EvalCommand::Renderer(args) => renderer(args),
        EvalCommand::Evaluator(args) => evaluator(args),
        EvalCommand::Animator(args) => animator(args),
        EvalCommand::Film(args) => crate::eval_film::run(args),
    }
}

/// Writes `report` as `scores.json` in `out` (made if missing), atomically, and returns its
/// path.
pub(crate) fn write_report(
    out: &std::path::Path,
    report: &serde_json::Value,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("scores.json");
    write_atomically(&path, serde_json::to_string_pretty(report)?.as_bytes())?;
    Ok(path)
}

fn parse_split(name: &str) -> anyhow::Result<Split> {
    match Split::ALL.into_iter().find(|s| s.name() == name) {
        Some(split) => Ok(split),
        None => bail!("unknown split \"{name}\"; use test, validation or train"),
    }
}

fn evaluator(args: EvalEvaluatorArgs) -> anyhow::Result<ExitCode> {
    let split = parse_split(&args.split)?;
    let model = load_trained(&args.model, "evaluator", Evaluator::load)?;
    let dataset = KeyframeDataset::open(&args.data, split)?;
    if dataset.image_size() as usize != model.config().image_size {
        bail!(
            "{}: keyframes are {} px but the evaluator takes {} px",
            args.data.display(),
            dataset.image_size(),
            model.config().image_size
        );
    }
    let progress = ProgressBar::new(dataset.len() as u64).with_style(
        ProgressStyle::with_template("reading {bar:30} {pos}/{len} keyframes, {eta} left")
            .expect("a valid template"),
    );
    let every: Vec<usize> = (0..dataset.len()).collect();
    let accuracies =
        evaluate_evaluator(&model, &dataset, &every, None, |n| progress.inc(n as u64))?;
    progress.finish_and_clear();
    let report = json!({
        "model": args.model,
        "data": args.data,
        "split": split.name(),
        "accuracy": accuracies,
    });
    let report_path = write_report(&args.out, &report)?;
    println!(
        "| attribute | cases | accuracy | wide | medium | close-up |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    );
    let percent =
        |share: Option<f64>| share.map_or("–".to_owned(), |s| format!("{:.1} %", 100.0 * s));
    for a in &accuracies {
        let [wide, medium, close_up] = a.by_shot_type.map(percent);
        // An attribute with no case (height in a set of close-ups) has no accuracy.
        let overall = percent((a.cases > 0).then_some(a.accuracy));
        println!(
            "| {} | {} | {overall} | {wide} | {medium} | {close_up} |",
            a.attribute, a.cases
        );
    }
    // The same shares split by style and by time of day, a table each.
    let split_table =
        |columns: &[&str], shares: &dyn Fn(&AttributeAccuracy) -> Vec<Option<f64>>| {
            println!(
                "\n| attribute | {} |\n| --- |{}",
                columns.join(" | "),
                " ---: |".repeat(columns.len())
            );
            for a in &accuracies {
                let cells: Vec<String> = shares(a).into_iter().map(percent).collect();
                println!("| {} | {} |", a.attribute, cells.join(" | "));
            }
        };
    split_table(&["flat", "sketch", "neon", "sepia"], &|a| {
        a.by_style.to_vec()
    });
    split_table(&["day", "dusk", "night"], &|a| a.by_time.to_vec());
    println!("wrote {}", report_path.display());
    Ok(ExitCode::SUCCESS)
}

/// Clips shown on the sheet of `eval animator`.
const SHEET_CLIPS: usize = 8;

fn animator(args: EvalAnimatorArgs) -> anyhow::Result<ExitCode> {
    let split = parse_split(&args.split)?;
    let sampling = &args.sampling;
    sampling.check()?;
    let model = load_trained(&args.model, "animator", Animator::load)?;
    let dataset = ClipDataset::open(&args.data, split)?;
    let config = model.config();
    if dataset.image_size() as usize != config.image_size || dataset.frames() != config.frames {
        bail!(
            "{}: clips are {} frames of {} px but the animator makes {} frames of {} px\n  help: generate a dataset with --size {} --frames {}",
            args.data.display(),
            dataset.frames(),
            dataset.image_size(),
            config.frames,
            config.image_size,
            config.image_size,
            config.frames
        );
    }
    let count = args.count.clamp(1, dataset.len());
    let progress = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("animating {bar:30} {pos}/{len} clips, {eta} left")
            .expect("a valid template"),
    );
    let started = Instant::now();
    let (scores, examples) = evaluate_animator(
        &model,
        &dataset,
        count,
        sampling.clip_sampling(),
        sampling.seed,
        SHEET_CLIPS,
        |n| progress.inc(n as u64),
    )?;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let mut pictures = Vec::new();
    for (k, (truth, generated)) in examples.iter().enumerate() {
        for (name, clip) in [("true", truth), ("animated", generated)] {
            for (f, frame) in from_tensor(clip)?.into_iter().enumerate() {
                pictures.push((frame, format!("{k} {name} {f}")));
            }
        }
    }
    let tiles: Vec<Tile> = pictures
        .iter()
        .map(|(image, caption)| Tile {
            image,
            caption: caption.clone(),
        })
        .collect();
    let sheet_path = args.out.join("clips.png");
    write_png(
        &contact_sheet(&tiles, config.frames as u32, 96, 1),
        &sheet_path,
    )?;
    let report = json!({
        "model": args.model,
        "data": args.data,
        "split": split.name(),
        "steps": sampling.steps,
        "guidance": sampling.guidance,
        "start_noise": sampling.start_noise,
        "seed": sampling.seed,
        "seconds": seconds,
        "scores": scores,
    });
    let report_path = write_report(&args.out, &report)?;
    println!(
        "| clips | n | PSNR animated | PSNR keyframe held still | motion animated | motion true |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let db = |psnr: Option<f64>| psnr.map_or("exact".to_owned(), |p| format!("{p:.2} dB"));
    for s in &scores.by_motion {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} |",
            s.motion,
            s.clips,
            db(s.animated_psnr),
            db(s.still_psnr),
            s.animated_motion,
            s.true_motion
        );
    }
    println!();
    println!(
        "| tracked | cases | true distance | animated, along the true direction | moved as told |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for t in &scores.tracked {
        println!(
            "| {} | {} | {:.1} px | {:.1} px | {:.1} % |",
            t.what,
            t.cases,
            t.true_distance,
            t.animated_along,
            100.0 * t.moved_as_told
        );
    }
    if !scores.waves.is_empty() {
        println!();
        println!(
            "| wavers (figure box) | cases | change true | change animated | PSNR animated | PSNR held still | waved as told |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    for w in &scores.waves {
        println!(
            "| wavers, {} | {} | {:.2} | {:.2} | {} | {} | {:.1} % |",
            w.shots,
            w.cases,
            w.true_change,
            w.animated_change,
            db(w.animated_psnr),
            db(w.still_psnr),
            100.0 * w.waved_as_told
        );
    }
    println!(
        "{count} clips in {seconds:.1} s ({:.2} clips/s); wrote {} and {}",
        count as f64 / seconds.max(1e-9),
        report_path.display(),
        sheet_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn identity(args: EvalIdentityArgs) -> anyhow::Result<ExitCode> {
    let split = parse_split(&args.split)?;
    let model = load_trained(&args.model, "identity encoder", IdentityEncoder::load)?;
    let faces = FaceDataset::open(&args.data, split)?;
    let started = Instant::now();
    let scores = evaluate_identity(&model, &faces)?;
    let report = json!({
        "model": args.model,
        "data": args.data,
        "split": split.name(),
        "seconds": started.elapsed().as_secs_f64(),
        "scores": scores,
    });
    let report_path = write_report(&args.out, &report)?;
    println!(
        "{} {} keyframe faces of {} characters: right cast member {:.1}% (among the film's cast), {:.1}% (among all)\nwrote {}",
        scores.faces,
        split.name(),
        scores.characters,
        100.0 * scores.within_film_accuracy,
        100.0 * scores.split_accuracy,
        report_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn tokenizer(args: EvalTokenizerArgs) -> anyhow::Result<ExitCode> {
    let split = parse_split(&args.split)?;
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let model = load_model(&args.model)?;
    let dataset = KeyframeDataset::open(&args.data, split)?;
    if dataset.image_size() as usize != model.config().image_size {
        bail!(
            "{}: keyframes are {} px but the tokenizer takes {} px",
            args.data.display(),
            dataset.image_size(),
            model.config().image_size
        );
    }
    let evaluator = match &args.evaluator {
        Some(dir) => {
            let evaluator = load_trained(dir, "evaluator", Evaluator::load)?;
            if evaluator.config().image_size != model.config().image_size {
                bail!(
                    "{}: the evaluator reads {} px keyframes but the tokenizer makes {} px",
                    dir.display(),
                    evaluator.config().image_size,
                    model.config().image_size
                );
            }
            Some(evaluator)
        }
        None => None,
    };
    let count = args.count.min(dataset.len());
    let indices: Vec<usize> = (0..count).map(|i| i * dataset.len() / count).collect();
    let originals = indices
        .iter()
        .map(|&i| dataset.load_image(i))
        .collect::<Result<Vec<_>, _>>()?;

    let progress = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} keyframes, {eta} left")
            .expect("a valid template"),
    );
    progress.set_message("reconstructing");
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut reconstructions = Vec::with_capacity(count);
    let started = Instant::now();
    for chunk in originals.chunks(BATCH) {
        let tokens = model.encode(&to_tensor(chunk, &Device::Cpu)?, false)?;
        let decoded = model.decode(&tokens, args.steps, args.guidance, &mut rng)?;
        reconstructions.extend(from_tensor(&decoded)?);
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    let scores = score(&originals, &reconstructions)?;
    let labels = match &evaluator {
        Some(evaluator) => {
            let read =
                |pictures| evaluate_evaluator(evaluator, &dataset, &indices, pictures, |_| {});
            let (on_originals, on_reconstructions) = (read(None)?, read(Some(&reconstructions))?);
            Some(label_survival(&on_originals, &on_reconstructions))
        }
        None => None,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let names: Vec<String> = indices
        .iter()
        .map(|&i| {
            let item = &dataset.items()[i];
            format!("film {} shot {}", item.film, item.shot)
        })
        .collect();
    let sheet = args.out.join("reconstructions.png");
    write_png(
        &comparison_sheet(&names, &originals, &reconstructions),
        &sheet,
    )?;
    let report = json!({
        "model": args.model,
        "data": args.data,
        "split": split.name(),
        "keyframes": count,
        "steps": args.steps,
        "guidance": args.guidance,
        "seed": args.seed,
        "seconds": seconds,
        "psnr": scores.psnr,
        "ssim": scores.ssim,
        "pictures": scores.pictures,
        "evaluator": args.evaluator,
        "labels": labels,
    });
    let report_path = write_report(&args.out, &report)?;
    println!(
        "{count} {} keyframes: PSNR {:.2} dB, SSIM {:.4} ({} steps, guidance {}; {:.1} keyframes/s)\nwrote {} and {}",
        split.name(),
        scores.psnr,
        scores.ssim,
        args.steps,
        args.guidance,
        count as f64 / seconds,
        report_path.display(),
        sheet.display()
    );
    if let Some(labels) = &labels {
        println!(
            "labels read right by the evaluator:\n| attribute | cases | originals | reconstructions |\n| --- | ---: | ---: | ---: |"
        );
        let percent =
            |share: Option<f64>| share.map_or("–".to_owned(), |s| format!("{:.1} %", 100.0 * s));
        for label in labels {
            println!(
                "| {} | {} | {} | {} |",
                label.attribute,
                label.cases,
                percent(label.originals),
                percent(label.reconstructions)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How often the evaluator reads one attribute right in the original keyframes and in
/// their reconstructions.
#[derive(serde::Serialize)]
struct LabelSurvival {
    attribute: String,
    cases: usize,
    /// `None` where the attribute had no case (a trait no measured keyframe shows).
    originals: Option<f64>,
    reconstructions: Option<f64>,
}

fn label_survival(
    originals: &[AttributeAccuracy],
    reconstructions: &[AttributeAccuracy],
) -> Vec<LabelSurvival> {
    let share = |a: &AttributeAccuracy| (a.cases > 0).then_some(a.accuracy);
    originals
        .iter()
        .zip(reconstructions)
        .map(|(o, r)| LabelSurvival {
            attribute: o.attribute.clone(),
            cases: o.cases,
            originals: share(o),
            reconstructions: share(r),
        })
        .collect()
}

#[derive(Args)]
pub struct EvalPlannerArgs {
    /// A dataset made by `moviedreamer world generate`.
    #[arg(long)]
    data: PathBuf,
    /// Which split to measure on: test (characters never seen in training), validation or
    /// train.
    #[arg(long, default_value = "test")]
    split: String,
    /// How many films of the split to plan (the first ones).
    #[arg(long, default_value_t = 10)]
    films: usize,
    /// The planner's model directory.
    #[arg(long, default_value = "runs/planner/model")]
    planner: PathBuf,
    /// The tokenizer the planner was trained on, to tokenize the films and decode the sheet.
    #[arg(long, default_value = "runs/tokenizer/model")]
    tokenizer: PathBuf,
    /// The identity encoder the planner was trained with.
    #[arg(long, default_value = "runs/identity/model")]
    identity: PathBuf,
    /// Seed of a diffusion head's samples and of the sheet's decoding.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Shots of each of the first two films shown in the sheet, spread evenly over the
    /// film (the first, and then every film-length / N shots).
    #[arg(long, default_value_t = 12)]
    sheet_shots: usize,
    /// Output directory.
    #[arg(long, short, default_value = "runs/eval-planner")]
    out: PathBuf,
}

#[derive(Args)]
pub struct EvalRendererArgs {
    /// A dataset made by `moviedreamer world generate`.
    #[arg(long)]
    data: PathBuf,
    /// Which split to measure on: test (characters never seen in training), validation or
    /// train.
    #[arg(long, default_value = "test")]
    split: String,
    /// How many films of the split to render (the first ones).
    #[arg(long, default_value_t = 4)]
    films: usize,
    /// The renderer's model directory.
    #[arg(long, default_value = "runs/renderer/model")]
    renderer: PathBuf,
    /// The planner whose tokens are rendered.
    #[arg(long, default_value = "runs/planner/model")]
    planner: PathBuf,
    /// The tokenizer the planner and renderer were trained on.
    #[arg(long, default_value = "runs/tokenizer/model")]
    tokenizer: PathBuf,
    /// The identity encoder they were trained with.
    #[arg(long, default_value = "runs/identity/model")]
    identity: PathBuf,
    /// Sampling steps per keyframe, for the decoder and the renderer alike.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Token guidance of the renderer.
    #[arg(long, default_value_t = 1.0)]
    token_guidance: f64,
    /// Identity guidance of the full renderer row.
    #[arg(long, default_value_t = 1.0)]
    identity_guidance: f64,
    /// Seed of the planning and of every keyframe's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Shots of the first film shown in the sheet, spread evenly over it.
    #[arg(long, default_value_t = 12)]
    sheet_shots: usize,
    /// Output directory.
    #[arg(long, short, default_value = "runs/eval-renderer")]
    out: PathBuf,
}

fn renderer(args: EvalRendererArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (1..=1000).contains(&args.steps),
        "--steps {} is outside 1 to 1,000",
        args.steps
    );
    let split = parse_split(&args.split)?;
    let renderer = load_trained(&args.renderer, "renderer", Renderer::load)?;
    let planner = load_trained(&args.planner, "planner", Planner::load)?;
    let vocabulary = Vocabulary::load(&args.planner.join(VOCABULARY_FILE))?;
    let tokenizer = load_model(&args.tokenizer)?;
    let identity = load_trained(&args.identity, "identity encoder", IdentityEncoder::load)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let films = prepare_films(
        &args.data,
        split,
        args.films,
        &tokenizer,
        &identity,
        1,
        &args.out.join(format!("films-{}.safetensors", split.name())),
        &json!({
            "tokenizer": model_fingerprint(&args.tokenizer),
            "identity": model_fingerprint(&args.identity),
        }),
        |done, total| eprint!("\rtokenized {done}/{total} films"),
    )?;
    eprintln!();
    let (_, planned) = evaluate_planner(&planner, &vocabulary, films, args.seed, |done| {
        eprint!("\rplanned {done}/{} films", args.films)
    })?;
    eprintln!();

    // Every keyframe of the planned films, rendered four ways.
    const ROWS: [&str; 4] = [
        "decoder, true tokens",
        "decoder, planned tokens",
        "renderer, planned tokens, no identities",
        "renderer, planned tokens, identities",
    ];
    let keyframes = KeyframeDataset::open(&args.data, split)?;
    let mut originals = Vec::new();
    let mut rows: [Vec<image::RgbImage>; 4] = Default::default();
    let started = Instant::now();
    let total: usize = planned.iter().map(|f| f.planned.dim(0).unwrap_or(0)).sum();
    let progress = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("rendering {bar:30} {pos}/{len} keyframes, {eta} left")
            .expect("a valid template"),
    );
    for film in &planned {
        let items: Vec<usize> = (0..keyframes.len())
            .filter(|&i| keyframes.items()[i].film == film.film.number)
            .collect();
        let faces = film.film.portrait_identities()?;
        // The full-body pictures the film's script gives (StoryWorld's bodies/), if any.
        let folder = keyframes.items()[items[0]]
            .path
            .parent()
            .and_then(std::path::Path::parent)
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let costumes = cast_costumes(&folder.join("script.yaml"), &film.film.script)?;
        let shots: Vec<_> = film
            .film
            .script
            .scenes
            .iter()
            .flat_map(|s| &s.shots)
            .collect();
        for chunk in (0..shots.len()).collect::<Vec<_>>().chunks(8) {
            let slots: Vec<[Option<SlotCharacter>; 3]> = chunk
                .iter()
                .map(|&shot| {
                    shot_slots(&film.film.script, shots[shot]).map(|cast| {
                        cast.map(|c| SlotCharacter {
                            identity: &faces[c],
                            costume: costumes[c].as_ref(),
                        })
                    })
                })
                .collect();
            let identities = SlotIdentities::new(&slots, renderer.config(), &Device::Cpu)?;
            let picked = candle_core::Tensor::new(
                chunk
                    .iter()
                    .map(|&s| s as u32)
                    .collect::<Vec<_>>()
                    .as_slice(),
                &Device::Cpu,
            )?;
            let truth = film.film.tokens.get(0)?.index_select(&picked, 0)?;
            let plan = film.planned.index_select(&picked, 0)?;
            // The same noise for every row: each shot's own stream of the seed.
            let streams: Vec<usize> = chunk
                .iter()
                .map(|&s| film.film.number * 100_000 + s)
                .collect();
            let noise = renderer.shot_noise(args.seed, &streams, &Device::Cpu)?;
            let decode = |tokens: &candle_core::Tensor| {
                let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ streams[0] as u64);
                from_tensor(&tokenizer.decode(tokens, args.steps, 1.0, &mut rng)?)
            };
            let render = |identity_guidance: f64| {
                from_tensor(&renderer.render(
                    &plan,
                    &identities,
                    &noise,
                    args.steps,
                    args.token_guidance,
                    identity_guidance,
                )?)
            };
            rows[0].extend(decode(&truth)?);
            rows[1].extend(decode(&plan)?);
            rows[2].extend(render(0.0)?);
            rows[3].extend(render(args.identity_guidance)?);
            for &shot in chunk {
                originals.push(keyframes.load_image(items[shot])?);
            }
            progress.inc(chunk.len() as u64);
        }
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let scores = rows
        .iter()
        .zip(ROWS)
        .map(|(row, name)| {
            let scores = score(&originals, row)?;
            Ok(json!({ "row": name, "psnr": scores.psnr, "ssim": scores.ssim }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    // The sheet: the first film's shots, spread evenly, in every row.
    let first = planned.first().map_or(0, |f| f.planned.dim(0).unwrap_or(0));
    let shown = args.sheet_shots.min(first);
    let mut tiles = Vec::new();
    for i in 0..shown {
        let shot = i * first / shown;
        tiles.push(Tile {
            image: &originals[shot],
            caption: format!("shot {shot}"),
        });
        // Short enough for a 96 px tile: decoder from true / planned tokens, renderer
        // without / with identities.
        for (row, name) in rows
            .iter()
            .zip(["dec. true", "dec. plan", "rend. no id", "rend. id"])
        {
            tiles.push(Tile {
                image: &row[shot],
                caption: name.into(),
            });
        }
    }
    let sheet = args.out.join("renderer.png");
    write_png(&contact_sheet(&tiles, 10, 96, 1), &sheet)?;
    let report = json!({
        "renderer": args.renderer,
        "planner": args.planner,
        "tokenizer": args.tokenizer,
        "identity": args.identity,
        "data": args.data,
        "split": split.name(),
        "keyframes": originals.len(),
        "steps": args.steps,
        "token_guidance": args.token_guidance,
        "identity_guidance": args.identity_guidance,
        "seed": args.seed,
        "seconds": seconds,
        "rows": scores,
    });
    let report_path = write_report(&args.out, &report)?;
    println!(
        "{} keyframes of {} {} films, {} steps ({seconds:.0} s):",
        originals.len(),
        planned.len(),
        split.name(),
        args.steps
    );
    println!("| row | PSNR | SSIM |\n| --- | --- | --- |");
    for row in &scores {
        println!(
            "| {} | {:.2} dB | {:.3} |",
            row["row"].as_str().unwrap_or_default(),
            row["psnr"].as_f64().unwrap_or_default(),
            row["ssim"].as_f64().unwrap_or_default()
        );
    }
    println!("wrote {} and {}", report_path.display(), sheet.display());
    Ok(ExitCode::SUCCESS)
}

fn planner(args: EvalPlannerArgs) -> anyhow::Result<ExitCode> {
    let split = parse_split(&args.split)?;
    let planner = load_trained(&args.planner, "planner", Planner::load)?;
    let vocabulary = Vocabulary::load(&args.planner.join(VOCABULARY_FILE))?;
    let tokenizer = load_model(&args.tokenizer)?;
    let identity = load_trained(&args.identity, "identity encoder", IdentityEncoder::load)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let films = prepare_films(
        &args.data,
        split,
        args.films,
        &tokenizer,
        &identity,
        1,
        &args.out.join(format!("films-{}.safetensors", split.name())),
        &json!({
            "tokenizer": model_fingerprint(&args.tokenizer),
            "identity": model_fingerprint(&args.identity),
        }),
        |done, total| eprint!("\rtokenized {done}/{total} films"),
    )?;
    eprintln!();
    let started = Instant::now();
    let (scores, planned) = evaluate_planner(&planner, &vocabulary, films, args.seed, |done| {
        eprint!("\rplanned {done}/{} films", args.films)
    })?;
    eprintln!();
    let seconds = started.elapsed().as_secs_f64();

    // The sheet: each keyframe, its reconstruction from its true tokens (the best the
    // planner can do), and the planned keyframe.
    let keyframes = KeyframeDataset::open(&args.data, split)?;
    let mut tiles_images = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    for film in planned.iter().take(2) {
        let length = film.planned.dim(0)?;
        let shown = args.sheet_shots.min(length);
        let picked: Vec<u32> = (0..shown).map(|i| (i * length / shown) as u32).collect();
        let film_items: Vec<usize> = (0..keyframes.len())
            .filter(|&i| keyframes.items()[i].film == film.film.number)
            .collect();
        let items: Vec<usize> = picked.iter().map(|&s| film_items[s as usize]).collect();
        let picked = candle_core::Tensor::new(picked.as_slice(), &Device::Cpu)?;
        let decode = |tokens: &candle_core::Tensor, rng: &mut ChaCha8Rng| {
            let tokens = tokens.index_select(&picked, 0)?;
            from_tensor(&tokenizer.decode(&tokens, DEFAULT_STEPS, DEFAULT_GUIDANCE, rng)?)
        };
        let oracle = decode(&film.film.tokens.get(0)?, &mut rng)?;
        let plan = decode(&film.planned, &mut rng)?;
        for ((item, oracle), plan) in items.iter().zip(oracle).zip(plan) {
            let original = keyframes.load_image(*item)?;
            let name = format!(
                "film {} shot {}",
                film.film.number,
                keyframes.items()[*item].shot
            );
            tiles_images.push((name, original, oracle, plan));
        }
    }
    let tiles: Vec<Tile> = tiles_images
        .iter()
        .flat_map(|(name, original, oracle, plan)| {
            [
                Tile {
                    image: original,
                    caption: name.clone(),
                },
                Tile {
                    image: oracle,
                    caption: "true tokens".into(),
                },
                Tile {
                    image: plan,
                    caption: "planned".into(),
                },
            ]
        })
        .collect();
    let sheet = args.out.join("planned.png");
    write_png(&contact_sheet(&tiles, 9, 96, 1), &sheet)?;

    let report = json!({
        "planner": args.planner,
        "tokenizer": args.tokenizer,
        "identity": args.identity,
        "data": args.data,
        "split": split.name(),
        "seconds": seconds,
        "scores": scores,
    });
    let report_path = write_report(&args.out, &report)?;
    println!(
        "{} keyframes of {} {} films (normalised MSE; 1 = always the mean token):\n  teacher-forced: MSE {:.3}, cosine {:.3}\n  planned:        MSE {:.3}, cosine {:.3}\n  the keyframe before, repeated (no model): MSE {:.3}, cosine {:.3}\n({:.0} s) wrote {} and {}",
        scores.keyframes,
        scores.films,
        split.name(),
        scores.teacher_forced_mse,
        scores.teacher_forced_cosine,
        scores.planned_mse,
        scores.planned_cosine,
        scores.previous_keyframe_mse,
        scores.previous_keyframe_cosine,
        seconds,
        report_path.display(),
        sheet.display()
    );
    Ok(ExitCode::SUCCESS)
}
