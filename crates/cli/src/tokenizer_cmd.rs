//! `moviedreamer train …`, `moviedreamer tokenize` and `moviedreamer reconstruct`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use candle_core::{DType, Device};
use clap::{Args, Subcommand};
use image::RgbImage;
use moviedreamer_eval::reconstruction::score;
use moviedreamer_models::tokenizer::KeyframeTokenizer;
use moviedreamer_nn::checkpoint::save_tensors;
use moviedreamer_storyworld::sheet::{Tile, contact_sheet};
use moviedreamer_train::data::{from_tensor, to_tensor};
use moviedreamer_train::session::RunOptions;
use moviedreamer_train::tokenizer::{TokenizerTraining, train_tokenizer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::write_png;

/// Decoder sampling steps unless told otherwise (see docs/results/tokenizer.md).
pub const DEFAULT_STEPS: usize = 20;
/// Guidance on the tokens unless told otherwise (see docs/results/tokenizer.md).
pub const DEFAULT_GUIDANCE: f64 = 1.0;

#[derive(Subcommand)]
pub enum TrainCommand {
    /// Train the keyframe tokenizer (encoder and diffusion decoder, end to end) on the
    /// keyframes of a StoryWorld dataset.
    ///
    /// Writes checkpoints, metrics.jsonl and loss.png into the output directory as it goes,
    /// and model/ (the EMA weights, f16) at the end. Ctrl-C saves a checkpoint first; run
    /// the same command with --resume to continue exactly where it stopped.
    Tokenizer(TrainTokenizerArgs),
}

#[derive(Args)]
pub struct TrainTokenizerArgs {
    /// A dataset made by `moviedreamer world generate` (its train split is used).
    #[arg(long)]
    data: PathBuf,
    /// Model size and training settings: storyworld (the bundled model) or micro (seconds).
    #[arg(long, default_value = "storyworld", conflicts_with = "settings")]
    preset: String,
    /// All model and training settings from a JSON file instead of a preset, e.g. a run's
    /// checkpoint/config.json edited; the options below still override it.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Output directory.
    #[arg(long, short, default_value = "runs/tokenizer")]
    out: PathBuf,
    /// Optimiser steps in all [default: the preset's].
    #[arg(long)]
    steps: Option<u64>,
    /// Keyframes per step [default: the preset's].
    #[arg(long)]
    batch: Option<usize>,
    /// Tokens per keyframe (K) [default: the preset's].
    #[arg(long)]
    tokens: Option<usize>,
    /// Seed of the data order and the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue the run in the output directory from its last checkpoint.
    #[arg(long)]
    resume: bool,
}

/// Keyframes and the tokenizer to run on them.
#[derive(Args)]
pub struct KeyframesAndModel {
    /// Keyframe images (PNG or JPEG); resized to the model's size if needed.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// The tokenizer's model directory.
    #[arg(long, default_value = "runs/tokenizer/model")]
    model: PathBuf,
}

#[derive(Args)]
pub struct TokenizeArgs {
    #[command(flatten)]
    input: KeyframesAndModel,
    /// Output file: one tensor `tokens` of shape (images, K, D), in argument order.
    #[arg(long, short)]
    output: PathBuf,
}

#[derive(Args)]
pub struct ReconstructArgs {
    #[command(flatten)]
    input: KeyframesAndModel,
    /// Output directory for the reconstructions and reconstructions.png.
    #[arg(long, short)]
    output: PathBuf,
    /// Sampling steps of the diffusion decoder.
    #[arg(long, default_value_t = DEFAULT_STEPS)]
    steps: usize,
    /// Classifier-free guidance scale on the tokens (1 = none).
    #[arg(long, default_value_t = DEFAULT_GUIDANCE)]
    guidance: f64,
    /// Seed of the sampling noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn train(command: TrainCommand) -> anyhow::Result<ExitCode> {
    let TrainCommand::Tokenizer(args) = command;
    let mut settings = match &args.settings {
        Some(path) => read_settings(path)?,
        None => TokenizerTraining::preset(&args.preset).with_context(|| {
            format!(
                "unknown preset \"{}\"; use storyworld or micro",
                args.preset
            )
        })?,
    };
    settings.steps = args.steps.unwrap_or(settings.steps);
    settings.batch = args.batch.unwrap_or(settings.batch);
    settings.model.tokens = args.tokens.unwrap_or(settings.model.tokens);
    settings.seed = args.seed;
    let options = RunOptions {
        out: args.out.clone(),
        resume: args.resume,
        show_progress: true,
    };
    let summary = train_tokenizer(&settings, &args.data, &options)?;
    if summary.interrupted {
        println!(
            "stopped at step {} of {}; checkpoint saved. Continue with the same command and --resume.",
            summary.steps, settings.steps
        );
    }
    println!(
        "step {}: loss {:.4} (mean of the last 50 steps), {:.0} s; model in {}; curve in {}",
        summary.steps,
        summary.recent_loss,
        summary.seconds,
        summary.model_dir.display(),
        args.out.join("loss.png").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads training settings written as JSON, naming the file and the field that is wrong.
fn read_settings(path: &Path) -> anyhow::Result<TokenizerTraining> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the settings file", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not valid tokenizer training settings (compare with a run's checkpoint/config.json)",
            path.display()
        )
    })
}

/// Loads images at the model's size, resizing where needed.
fn load_images(paths: &[PathBuf], size: u32) -> anyhow::Result<Vec<image::RgbImage>> {
    paths
        .iter()
        .map(|path| {
            let image = image::open(path)
                .with_context(|| format!("{}: not a readable image", path.display()))?
                .to_rgb8();
            Ok(if image.dimensions() == (size, size) {
                image
            } else {
                image::imageops::resize(&image, size, size, image::imageops::FilterType::Triangle)
            })
        })
        .collect()
}

pub fn load_model(dir: &Path) -> anyhow::Result<KeyframeTokenizer> {
    KeyframeTokenizer::load(dir).with_context(|| {
        format!(
            "cannot load the tokenizer from {} (train one with `moviedreamer train tokenizer`)",
            dir.display()
        )
    })
}

impl KeyframesAndModel {
    /// The model and the images at its size.
    fn load(&self) -> anyhow::Result<(KeyframeTokenizer, Vec<image::RgbImage>)> {
        let model = load_model(&self.model)?;
        let images = load_images(&self.images, model.config().image_size as u32)?;
        Ok((model, images))
    }
}

pub fn tokenize(args: TokenizeArgs) -> anyhow::Result<ExitCode> {
    let (model, images) = args.input.load()?;
    let tokens = model.encode(&to_tensor(&images, &Device::Cpu)?, false)?;
    let dims = tokens.dims().to_vec();
    save_tensors(
        &args.output,
        &BTreeMap::from([("tokens".to_owned(), tokens)]),
        DType::F32,
    )?;
    println!("wrote tokens {dims:?} to {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}

pub fn reconstruct(args: ReconstructArgs) -> anyhow::Result<ExitCode> {
    let (model, images) = args.input.load()?;
    let tokens = model.encode(&to_tensor(&images, &Device::Cpu)?, false)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let decoded = model.decode(&tokens, args.steps, args.guidance, &mut rng)?;
    let reconstructions = from_tensor(&decoded)?;
    let mut names = Vec::new();
    for (i, (path, reconstruction)) in args.input.images.iter().zip(&reconstructions).enumerate() {
        // Numbered, because keyframes of different films share file names.
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        write_png(
            reconstruction,
            &args.output.join(format!("{i:03}-{name}.png")),
        )?;
        names.push(name);
    }
    let sheet = args.output.join("reconstructions.png");
    write_png(&comparison_sheet(&names, &images, &reconstructions), &sheet)?;
    let scores = score(&images, &reconstructions)?;
    println!(
        "wrote {} reconstructions and {}
PSNR {:.2} dB, SSIM {:.4} (mean over the pictures)",
        reconstructions.len(),
        sheet.display(),
        scores.psnr,
        scores.ssim
    );
    Ok(ExitCode::SUCCESS)
}

/// A contact sheet of each original (captioned with its name) beside its reconstruction.
pub fn comparison_sheet(
    names: &[String],
    originals: &[RgbImage],
    reconstructions: &[RgbImage],
) -> RgbImage {
    let tiles: Vec<Tile> = names
        .iter()
        .zip(originals)
        .zip(reconstructions)
        .flat_map(|((name, original), reconstruction)| {
            [
                Tile {
                    image: original,
                    caption: name.clone(),
                },
                Tile {
                    image: reconstruction,
                    caption: "reconstructed".into(),
                },
            ]
        })
        .collect();
    contact_sheet(&tiles, 8, 96, 1)
}
