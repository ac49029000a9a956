//! `moviedreamer train …`, `moviedreamer tokenize` and `moviedreamer reconstruct`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use candle_core::{DType, Device};
use clap::Args;
use image::RgbImage;
use moviedreamer_eval::reconstruction::score;
use moviedreamer_media::sheet::{Tile, contact_sheet};
use moviedreamer_models::tokenizer::KeyframeTokenizer;
use moviedreamer_nn::checkpoint::save_tensors;
use moviedreamer_train::data::{from_tensor, to_tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{load_trained, write_png};

/// Decoder sampling steps unless told otherwise (see docs/results/tokenizer.md).
pub const DEFAULT_STEPS: usize = 20;
/// Guidance on the tokens unless told otherwise (see docs/results/tokenizer.md).
pub const DEFAULT_GUIDANCE: f64 = 1.0;

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
    load_trained(dir, "tokenizer", KeyframeTokenizer::load)
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
