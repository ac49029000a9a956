//! `moviedreamer eval film`: the evaluator reads a film's keyframes, and the film's metrics
//! ([`moviedreamer_eval::film`]) compare them with what each shot of a StoryWorld film asks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use candle_core::{D, Tensor};
use clap::Args;
use moviedreamer_eval::clip::{ClipScores, mean_scores, score_clip};
use moviedreamer_eval::film::{
    ExpectedCharacter, ExpectedShot, FilmScores, ReadShot, ReadSlot, SCENE_ATTRIBUTES, SLOTS,
    distance_bucket_name, score_film,
};
use moviedreamer_media::strip::split_frames;
use moviedreamer_models::evaluator::{Evaluator, Reading};
use moviedreamer_pipeline::animate::clip_path;
use moviedreamer_storyworld::identity::TRAIT_NAMES;
use moviedreamer_train::data::labels::parse_label_line;
use moviedreamer_train::data::{KeyframeLabels, to_tensor};
use serde_json::json;

use crate::eval_cmd::write_report;
use crate::load_trained;

#[derive(Args)]
pub struct EvalFilmArgs {
    /// A StoryWorld film folder (`labels.jsonl` says what each shot shows), e.g. one of a
    /// dataset's test films.
    #[arg(long)]
    film: PathBuf,
    /// Folder of the keyframes to score, `000000.png` for the first shot (as `render` and
    /// `generate` write them: RUN/render/keyframes). Default: the film's own keyframes, the
    /// ground truth.
    #[arg(long)]
    keyframes: Option<PathBuf>,
    /// The evaluator's model directory.
    #[arg(long, default_value = "runs/evaluator/model")]
    model: PathBuf,
    /// Output directory.
    #[arg(long, short, default_value = "runs/eval-film")]
    out: PathBuf,
}

/// Keyframes read at once.
const BATCH: usize = 64;

/// The traits that make a character's costume rather than its face or build: what its
/// clothes are, their pattern, and what it wears (hat, glasses, scarf).
const COSTUME_TRAITS: [&str; 3] = ["outfit", "pattern", "accessory"];

/// Indices of [`COSTUME_TRAITS`] in the evaluator's (StoryWorld's) trait order.
pub(crate) fn costume_traits() -> Vec<usize> {
    COSTUME_TRAITS
        .iter()
        .filter_map(|name| TRAIT_NAMES.iter().position(|n| n == name))
        .collect()
}

pub fn run(args: EvalFilmArgs) -> anyhow::Result<ExitCode> {
    let model = load_trained(&args.model, "evaluator", Evaluator::load)?;
    let keyframes = args
        .keyframes
        .clone()
        .unwrap_or_else(|| args.film.join("keyframes"));
    let scores = score_keyframes(&model, &args.film, &keyframes)?;
    let report = json!({
        "film": args.film,
        "keyframes": keyframes,
        "model": args.model,
        "scores": scores,
    });
    let path = write_report(&args.out, &report)?;
    print_table(&metric_rows(&scores));
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// The keyframes in `keyframes` (`000000.png` for the first shot) scored against what the
/// StoryWorld film folder `film`'s labels say each shot shows.
pub(crate) fn score_keyframes(
    model: &Evaluator,
    film: &Path,
    keyframes: &Path,
) -> anyhow::Result<FilmScores> {
    // Traits are asked for where a keyframe at the evaluator's size shows them.
    let expected = expected_shots(film, model.config().image_size as u32)?;
    let read = read_keyframes(model, keyframes, expected.len())?;
    Ok(score_film(&expected, &read.shots)?)
}

/// What every shot of the film asks for, from its `labels.jsonl`, in shot order, as
/// keyframes of `size` px show it.
pub(crate) fn expected_shots(film: &Path, size: u32) -> anyhow::Result<Vec<ExpectedShot>> {
    let path = film.join("labels.jsonl");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (--film takes a StoryWorld film folder, as `moviedreamer world generate` writes)",
            path.display()
        )
    })?;
    let mut shots = Vec::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parsed = parse_label_line(line)
            .map_err(|problem| anyhow::anyhow!("{}:{}: {problem}", path.display(), number + 1))?;
        if parsed.shot != shots.len() {
            bail!(
                "{}:{}: shot {} where shot {} was expected (one line per shot, in order from 0)",
                path.display(),
                number + 1,
                parsed.shot,
                shots.len()
            );
        }
        shots.push(expected_shot(&parsed.labels, size));
    }
    if shots.is_empty() {
        bail!("{} lists no shot", path.display());
    }
    Ok(shots)
}

/// What one shot asks for: its scene, and who stands where with the traits it shows.
fn expected_shot(labels: &KeyframeLabels, size: u32) -> ExpectedShot {
    let mut slots: [Option<ExpectedCharacter>; SLOTS] = Default::default();
    for actor in &labels.actors {
        let traits = actor.traits.iter().enumerate();
        slots[labels.drawn_slot(actor)] = Some(ExpectedCharacter {
            id: actor.id.clone(),
            traits: traits
                .map(|(index, &class)| labels.shows_trait(actor, index, size).then_some(class))
                .collect(),
        });
    }
    ExpectedShot {
        scene: labels.scene(),
        slots,
    }
}

/// What the evaluator reads in a film's keyframes.
pub(crate) struct FilmReading {
    /// Per shot, its classes and identity embeddings.
    pub shots: Vec<ReadShot>,
    /// Per shot, its feature vector ([`Reading::features`]).
    pub features: Vec<Vec<f32>>,
}

/// The evaluator's readings of `keyframes/000000.png` … for `shots` shots.
pub(crate) fn read_keyframes(
    model: &Evaluator,
    keyframes: &Path,
    shots: usize,
) -> anyhow::Result<FilmReading> {
    let size = model.config().image_size as u32;
    let mut read = FilmReading {
        shots: Vec::with_capacity(shots),
        features: Vec::with_capacity(shots),
    };
    for start in (0..shots).step_by(BATCH) {
        let range = start..(start + BATCH).min(shots);
        let pictures = load_keyframes(keyframes, range, size, "evaluator")?;
        let reading = model.forward(&to_tensor(&pictures, &candle_core::Device::Cpu)?, false)?;
        read.shots.extend(readings(&reading)?);
        read.features.extend(reading.features()?.to_vec2::<f32>()?);
    }
    Ok(read)
}

/// The keyframes `keyframes/<shot:06>.png` of `shots`, each checked to be `size` px square
/// as `reader` (the model that takes them) needs.
pub(crate) fn load_keyframes(
    keyframes: &Path,
    shots: std::ops::Range<usize>,
    size: u32,
    reader: &str,
) -> anyhow::Result<Vec<image::RgbImage>> {
    let mut pictures = Vec::with_capacity(shots.len());
    for shot in shots {
        let path = keyframes.join(format!("{shot:06}.png"));
        let picture = image::open(&path)
            .with_context(|| {
                format!(
                    "cannot read the keyframe of shot {shot}: {}",
                    path.display()
                )
            })?
            .to_rgb8();
        if picture.dimensions() != (size, size) {
            bail!(
                "{}: the keyframe is {}×{} but the {reader} reads {size}×{size} pictures",
                path.display(),
                picture.width(),
                picture.height()
            );
        }
        pictures.push(picture);
    }
    Ok(pictures)
}

/// Each shot's clip (`clip_path(clips_run, shot)`, frames side by side) scored against its
/// keyframe (`keyframes/<shot:06>.png`), for shots `0..shots`.
pub(crate) fn score_clips(
    keyframes: &Path,
    clips_run: &Path,
    shots: usize,
) -> anyhow::Result<Vec<ClipScores>> {
    let open = |path: &Path, what: &str| -> anyhow::Result<image::RgbImage> {
        Ok(image::open(path)
            .with_context(|| format!("cannot read the {what} {}", path.display()))?
            .to_rgb8())
    };
    (0..shots)
        .map(|shot| {
            let keyframe = open(&keyframes.join(format!("{shot:06}.png")), "keyframe")?;
            let clip = clip_path(clips_run, shot);
            let frames = split_frames(&open(&clip, "clip")?, keyframe.width());
            score_clip(&frames, &keyframe).with_context(|| format!("scoring {}", clip.display()))
        })
        .collect()
}

/// The mean clip scores as (metric, value) rows.
pub(crate) fn clip_rows(clips: &[ClipScores]) -> Vec<(String, String)> {
    let Some(mean) = mean_scores(clips) else {
        return Vec::new();
    };
    vec![
        (
            "clips: motion (mean pixel change a frame, 0–255)".to_owned(),
            format!("{:.2}", mean.motion),
        ),
        (
            "clips: flicker (mean colour change a frame, 0–255)".to_owned(),
            format!("{:.3}", mean.flicker),
        ),
        (
            "clips: first frame against the keyframe (PSNR)".to_owned(),
            format!("{:.1} dB", mean.first_frame_psnr),
        ),
    ]
}

/// A batch's logits as class readings and identity embeddings, keyframe by keyframe.
fn readings(reading: &Reading) -> candle_core::Result<Vec<ReadShot>> {
    let argmax = |t: &Tensor| t.argmax(D::Minus1)?.to_dtype(candle_core::DType::U32);
    let scene: Vec<Vec<u32>> = reading
        .scene
        .iter()
        .map(|logits| argmax(logits)?.to_vec1())
        .collect::<candle_core::Result<_>>()?;
    let presence: Vec<Vec<u32>> = argmax(&reading.presence)?.to_vec2()?;
    let traits: Vec<Vec<Vec<u32>>> = reading
        .traits
        .iter()
        .map(|logits| argmax(logits)?.to_vec2())
        .collect::<candle_core::Result<_>>()?;
    let embeddings: Vec<Vec<Vec<f32>>> = reading.identity_embeddings()?.to_vec3()?;
    Ok((0..presence.len())
        .map(|k| ReadShot {
            scene: std::array::from_fn(|a| scene[a][k] as usize),
            slots: std::array::from_fn(|s| ReadSlot {
                present: presence[k][s] == 1,
                traits: traits.iter().map(|t| t[k][s] as usize).collect(),
                embedding: embeddings[k][s].clone(),
            }),
        })
        .collect())
}

/// The film's scores as (metric, value) rows: the table `eval film`, `generate --labels`
/// and the run's index.html show.
pub(crate) fn metric_rows(scores: &FilmScores) -> Vec<(String, String)> {
    let percent = |share: f64| format!("{:.1} %", 100.0 * share);
    let optional =
        |share: Option<f64>, format: &dyn Fn(f64) -> String| share.map_or("–".to_owned(), format);
    let mut rows = vec![("shots".to_owned(), scores.shots.to_string())];
    for (name, share) in SCENE_ATTRIBUTES.iter().zip(scores.adherence) {
        rows.push((format!("adherence: {name}"), percent(share)));
    }
    let presence = &scores.presence;
    rows.push((
        "presence F1 (precision, recall)".to_owned(),
        format!(
            "{} ({}, {})",
            percent(presence.f1),
            percent(presence.precision),
            percent(presence.recall)
        ),
    ));
    rows.push((
        "identity accuracy (traits)".to_owned(),
        optional(scores.identity_accuracy, &percent),
    ));
    rows.push((
        format!("costume accuracy ({})", COSTUME_TRAITS.join(", ")),
        optional(scores.accuracy_of(&costume_traits()), &percent),
    ));
    rows.push((
        "identity consistency (cosine)".to_owned(),
        optional(scores.consistency, &|c| format!("{c:.3}")),
    ));
    rows.push((
        "identity separation (consistency less the cosine between different characters)".to_owned(),
        optional(scores.identity_separation, &|c| format!("{c:.3}")),
    ));
    for bucket in &scores.consistency_by_distance {
        let range =
            distance_bucket_name(bucket.from, bucket.to.unwrap_or(usize::MAX)).replace('-', "–");
        rows.push((
            format!("consistency, shots {range} apart ({} pairs)", bucket.pairs),
            format!("{:.3}", bucket.cosine),
        ));
    }
    rows
}

/// Prints (metric, value) rows as a markdown table.
pub(crate) fn print_table(rows: &[(String, String)]) {
    println!("| metric | value |\n| --- | ---: |");
    for (name, value) in rows {
        println!("| {name} | {value} |");
    }
}
