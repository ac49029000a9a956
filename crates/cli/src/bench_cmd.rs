//! `moviedreamer bench` (issue #9, part 3): held-out StoryWorld films made from their
//! scripts by the full pipeline and by ablations of it, each scored by the evaluator against
//! what the film's labels say every shot shows, in one markdown table.
//!
//! A row is a way of making the keyframes of a film; every row makes every film:
//!
//! - **ground truth**: the film's own keyframes (the ceiling the evaluator allows);
//! - **full MovieDreamer**: planned from the script with the cast's faces, rendered with
//!   identity conditioning;
//! - **no history**: each keyframe planned from the style, the cast and its own shot alone
//!   (no keyframe before it), rendered as the full row: the usual text-to-image baseline;
//! - **no face embeddings in the script**: planned with the cast's faces zeroed, rendered
//!   as the full row;
//! - **no identity-preserving rendering**: the full row's plan, rendered with identity
//!   guidance 0 (the renderer ignores who stands where);
//! - **no anti-overfitting**: planned as the full row by a second planner trained with the
//!   anti-overfitting measures switched off (`--planner-without-measures`; the row is left
//!   out without one), rendered as the full row;
//! - **oracle** (left out when the models have no tokenizer, as the bundled ones): the
//!   tokenizer's tokens of the film's own keyframes, rendered as the full
//!   row: what the renderer makes of a perfect plan.
//!
//! The full row's keyframes are also animated (`OUT/full/<film>/animate`) and their clips
//! scored for motion, flicker and first-frame fidelity beside StoryWorld's own clips.
//!
//! Keyframes go to `OUT/<row>/<film>/keyframes`, resumable as `render` is; the tables to
//! `OUT/bench.md`, identity consistency by distance between shots per row to
//! `OUT/consistency.png` and along the film (to a character's first shot, by shot index)
//! to `OUT/consistency-by-shot.png`, and the numbers per film to `OUT/bench.json`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, ensure};
use candle_core::{Device, Tensor};
use clap::Args;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_eval::clip::{ClipScores, mean_scores};
use moviedreamer_eval::film::{
    DISTANCE_BUCKETS, FilmScores, SCENE_ATTRIBUTES, distance_bucket_name, score_film,
};
use moviedreamer_eval::frechet::frechet_distance;
use moviedreamer_models::animator::{Animator, ClipSampling};
use moviedreamer_models::evaluator::Evaluator;
use moviedreamer_models::identity::IdentityEncoder;
use moviedreamer_models::planner::Planner;
use moviedreamer_models::planner::generate::FULL_HISTORY;
use moviedreamer_models::renderer::Renderer;
use moviedreamer_models::text::Vocabulary;
use moviedreamer_models::tokenizer::KeyframeTokenizer;
use moviedreamer_nn::plot::{Chart, Line, write_chart};
use moviedreamer_pipeline::render::keyframe_path;
use moviedreamer_pipeline::{
    AnimateSettings, RenderSettings, Shard, animate_shots, render_keyframes, write_atomically,
};
use moviedreamer_script::Script;
use moviedreamer_train::data::to_tensor;
use moviedreamer_train::planner::VOCABULARY_FILE;
use serde::Serialize;

use crate::animate_cmd::shots_to_animate;
use crate::cast::{cast_costumes, cast_identities};
use crate::eval_film::{
    costume_traits, expected_shots, load_keyframes, read_keyframes, score_clips,
};
use crate::generate_cmd::{Models, check_guidance, check_sampling_steps};
use crate::load_trained;
use crate::movie_cmd::film_shots;
use crate::plan_cmd::{FilmToPlan, plan_film};
use crate::render_cmd::shots_to_render;

#[derive(Args)]
pub struct BenchArgs {
    /// A dataset made by `moviedreamer world generate`; its test films (characters the
    /// models never saw) are made from their scripts and scored.
    #[arg(long)]
    data: PathBuf,
    /// The trained stages, as `generate --models` takes them.
    #[arg(long, default_value = "runs")]
    models: PathBuf,
    /// The evaluator's model directory [default: the one MODELS/moviedreamer.json names, or
    /// MODELS/evaluator/model].
    #[arg(long)]
    evaluator: Option<PathBuf>,
    /// The tokenizer's model directory, for the oracle row [default: the one
    /// MODELS/moviedreamer.json names, or MODELS/tokenizer/model; where that does not
    /// exist the oracle row is left out].
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// A planner trained with the anti-overfitting measures off (`train planner --settings`
    /// with them switched off), for the no-anti-overfitting row; without it that row is
    /// left out.
    #[arg(long)]
    planner_without_measures: Option<PathBuf>,
    /// Test films to make, the first ones in name order [default: 4, or all the test
    /// films when there are fewer].
    #[arg(long)]
    films: Option<usize>,
    /// Sampling steps per keyframe.
    #[arg(long, default_value_t = 20)]
    render_steps: usize,
    /// Guidance on the planned tokens when rendering (1 = none), every generated row.
    #[arg(long, default_value_t = 1.0)]
    token_guidance: f64,
    /// Guidance on the characters' identities when rendering (1 = none); the
    /// no-identity-preserving-rendering row always uses 0.
    #[arg(long, default_value_t = 1.0)]
    identity_guidance: f64,
    /// Sampling steps per clip, for the clips table (the full row's keyframes animated).
    #[arg(long, default_value_t = ClipSampling::DEFAULT_STEPS)]
    animate_steps: usize,
    /// Keyframes or clips made together.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Seed of planning and rendering noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory; run the same command again to continue an interrupted bench.
    #[arg(long, short, default_value = "runs/bench")]
    out: PathBuf,
}

/// The ways of making a film's keyframes that the table compares.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Row {
    GroundTruth,
    Full,
    NoHistory,
    NoFaces,
    NoIdentityRendering,
    NoAntiOverfitting,
    Oracle,
}

impl Row {
    const ALL: [Row; 7] = [
        Row::GroundTruth,
        Row::Full,
        Row::NoHistory,
        Row::NoFaces,
        Row::NoIdentityRendering,
        Row::NoAntiOverfitting,
        Row::Oracle,
    ];

    /// The rows a bench with `stages` makes: all, less the no-anti-overfitting row without
    /// a planner trained without the measures and the oracle without a tokenizer.
    fn of(stages: &Stages) -> Vec<Row> {
        Row::ALL
            .into_iter()
            .filter(|&row| match row {
                Row::NoAntiOverfitting => stages.planner_without_measures.is_some(),
                Row::Oracle => stages.tokenizer.is_some(),
                _ => true,
            })
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Row::GroundTruth => "ground truth",
            Row::Full => "full MovieDreamer",
            Row::NoHistory => "no history",
            Row::NoFaces => "no face embeddings in the script",
            Row::NoIdentityRendering => "no identity-preserving rendering",
            Row::NoAntiOverfitting => "no anti-overfitting",
            Row::Oracle => "oracle (true tokens rendered)",
        }
    }

    /// The row whose plan this one renders: the no-identity-rendering row renders the full
    /// row's plan differently.
    fn plan(self) -> Row {
        match self {
            Row::NoIdentityRendering => Row::Full,
            row => row,
        }
    }

    /// Its folder under the output directory.
    fn folder(self) -> &'static str {
        match self {
            Row::GroundTruth => "ground-truth",
            Row::Full => "full",
            Row::NoHistory => "no-history",
            Row::NoFaces => "no-faces",
            Row::NoIdentityRendering => "no-identity-rendering",
            Row::NoAntiOverfitting => "no-anti-overfitting",
            Row::Oracle => "oracle",
        }
    }
}

/// One film made one way, scored.
#[derive(Debug, Serialize)]
struct FilmResult {
    row: &'static str,
    film: String,
    scores: FilmScores,
    /// Seconds spent planning and rendering per keyframe; `None` for the ground truth and
    /// where a resumed run found keyframes already made (their time is not known).
    seconds_per_keyframe: Option<f64>,
}

/// The models a bench needs.
struct Stages {
    planner: Planner,
    vocabulary: Vocabulary,
    /// The planner trained without the anti-overfitting measures, with its vocabulary.
    planner_without_measures: Option<(Planner, Vocabulary)>,
    identity: IdentityEncoder,
    renderer: Renderer,
    animator: Animator,
    /// For the oracle row, when there is a tokenizer.
    tokenizer: Option<KeyframeTokenizer>,
    evaluator: Evaluator,
}

/// One film's clips, scored: StoryWorld's own, or the full row's keyframes animated.
#[derive(Debug, Serialize)]
struct ClipResult {
    row: &'static str,
    film: String,
    clips: Vec<ClipScores>,
    /// Seconds spent animating per clip; `None` for the ground truth and where a resumed
    /// run found the clips already made.
    seconds_per_clip: Option<f64>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    ensure!(args.films != Some(0), "--films must be at least 1");
    ensure!(args.batch > 0, "--batch must be at least 1");
    check_sampling_steps(args.render_steps, args.animate_steps)?;
    check_guidance("--token-guidance", args.token_guidance)?;
    check_guidance("--identity-guidance", args.identity_guidance)?;
    let films = test_films(&args.data, args.films)?;
    let models = Models::find(&args.models)?;
    let evaluator_dir = args
        .evaluator
        .clone()
        .unwrap_or_else(|| models.evaluator.clone());
    let tokenizer_dir = match &args.tokenizer {
        Some(dir) => Some(dir.clone()),
        None => Some(models.tokenizer.clone()).filter(|dir| dir.is_dir()),
    };
    if tokenizer_dir.is_none() {
        println!(
            "No tokenizer in {}: the oracle row is left out (give one with --tokenizer).",
            models.tokenizer.display()
        );
    }
    let stages = Stages {
        planner: load_trained(&models.planner, "planner", Planner::load)?,
        vocabulary: Vocabulary::load(&models.planner.join(VOCABULARY_FILE))?,
        planner_without_measures: match &args.planner_without_measures {
            Some(dir) => Some((
                load_trained(dir, "planner without anti-overfitting", Planner::load)?,
                Vocabulary::load(&dir.join(VOCABULARY_FILE))?,
            )),
            None => None,
        },
        identity: load_trained(&models.identity, "identity encoder", IdentityEncoder::load)?,
        renderer: load_trained(&models.renderer, "renderer", Renderer::load)?,
        animator: load_trained(&models.animator, "animator", Animator::load)?,
        tokenizer: match &tokenizer_dir {
            Some(dir) => Some(load_trained(dir, "tokenizer", KeyframeTokenizer::load)?),
            None => None,
        },
        evaluator: load_trained(&evaluator_dir, "evaluator", Evaluator::load)?,
    };
    let evaluator_size = stages.evaluator.config().image_size as u32;
    ensure!(
        stages.renderer.config().tokenizer.image_size as u32 == evaluator_size,
        "the renderer makes {} px keyframes but the evaluator reads {evaluator_size} px ones\n  help: train both on the same dataset",
        stages.renderer.config().tokenizer.image_size
    );

    let mut expected = Vec::with_capacity(films.len());
    for film in &films {
        expected.push(expected_shots(film, evaluator_size)?);
    }
    // Every generated row's keyframes, and the full row's clips.
    let rows = Row::of(&stages);
    let generated_rows = rows.len() - 1;
    let total: usize = expected
        .iter()
        .map(|e| e.len() * (generated_rows + 1))
        .sum();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(
            "{prefix:>10} {bar:40} {pos}/{len} keyframes and clips  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut results = Vec::new();
    let mut clip_results = Vec::new();
    // Per row, the evaluator's features of every keyframe of every film.
    let mut features: Vec<Vec<Vec<f32>>> = vec![Vec::new(); rows.len()];
    for (film, expected) in films.iter().zip(&expected) {
        let name = film_name(film);
        bar.set_prefix(name.clone());
        let inputs = FilmInputs::load(film, &stages.identity)?;
        // Plans already made for this film, with the seconds they took: the full row's is
        // rendered again without identity guidance.
        let mut plans: Vec<(Row, Tensor, f64)> = Vec::new();
        for (r, &row) in rows.iter().enumerate() {
            let (keyframes, seconds) = match row {
                Row::GroundTruth => (film.join("keyframes"), None),
                _ => {
                    let (tokens, planning) = match plans.iter().find(|p| p.0 == row.plan()) {
                        Some((_, tokens, seconds)) => (tokens.clone(), *seconds),
                        None => {
                            let started = Instant::now();
                            let tokens = plan_tokens(&stages, film, &inputs, row, &args)?;
                            let seconds = started.elapsed().as_secs_f64();
                            plans.push((row, tokens.clone(), seconds));
                            (tokens, seconds)
                        }
                    };
                    let dir = args.out.join(row.folder()).join(&name);
                    let started = Instant::now();
                    let made =
                        render_row(&stages, &inputs, &tokens, row, &args, &dir, || bar.inc(1))?;
                    let seconds = planning + started.elapsed().as_secs_f64();
                    (
                        dir.join("keyframes"),
                        (made == expected.len()).then_some(seconds),
                    )
                }
            };
            let read = read_keyframes(&stages.evaluator, &keyframes, expected.len())?;
            let scores = score_film(expected, &read.shots)
                .with_context(|| format!("scoring {} of {}", row.name(), film.display()))?;
            features[r].extend(read.features);
            results.push(FilmResult {
                row: row.name(),
                film: name.clone(),
                scores,
                seconds_per_keyframe: seconds.map(|s| s / expected.len() as f64),
            });
        }
        clip_results.push(ClipResult {
            row: Row::GroundTruth.name(),
            film: name.clone(),
            clips: score_clips(&film.join("keyframes"), film, expected.len())?,
            seconds_per_clip: None,
        });
        clip_results.push(animate_full_row(&stages, &inputs, &name, &args, || {
            bar.inc(1)
        })?);
    }
    bar.finish_and_clear();
    // How far each row's keyframes are, as a whole, from the ground truth's.
    let frechet: Vec<Option<f64>> = features
        .iter()
        .zip(&rows)
        .map(|(set, row)| match row {
            Row::GroundTruth => Ok(None),
            _ => frechet_distance(set, &features[0]).map(Some),
        })
        .collect::<Result<_, _>>()?;

    let mut table = markdown_table(
        &rows,
        &results,
        &frechet,
        films.len(),
        &evaluator_dir,
        &args,
    );
    table.push_str(&clips_table(&clip_results, &args));
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let table_path = args.out.join("bench.md");
    write_atomically(&table_path, table.as_bytes())?;
    let chart_path = args.out.join("consistency.png");
    write_chart(&consistency_chart(&results, &rows), &chart_path)?;
    let by_shot_path = args.out.join("consistency-by-shot.png");
    write_chart(&consistency_by_shot_chart(&results, &rows), &by_shot_path)?;
    let json_path = args.out.join("bench.json");
    write_atomically(
        &json_path,
        serde_json::to_string_pretty(&serde_json::json!({
            "films": results,
            "clips": clip_results,
            "frechet_distance": rows
                .iter()
                .zip(&frechet)
                .map(|(row, distance)| (row.name(), distance))
                .collect::<std::collections::BTreeMap<_, _>>(),
        }))?
        .as_bytes(),
    )?;
    print!("{table}");
    println!(
        "wrote {}, {} (identity consistency by distance between shots), {} (by shot index) and {}",
        table_path.display(),
        chart_path.display(),
        by_shot_path.display(),
        json_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Films benchmarked when `--films` is not given (or all, when the test split has fewer).
const DEFAULT_FILMS: usize = 4;

/// The first `count` films of the dataset's test split, in name order (`None`: up to
/// [`DEFAULT_FILMS`]).
fn test_films(data: &Path, count: Option<usize>) -> anyhow::Result<Vec<PathBuf>> {
    let split = data.join("test");
    let entries = std::fs::read_dir(&split).with_context(|| {
        format!(
            "cannot read {} (--data takes a dataset made by `moviedreamer world generate`)",
            split.display()
        )
    })?;
    let mut films: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("script.yaml").is_file())
        .collect();
    films.sort();
    ensure!(
        !films.is_empty(),
        "{} holds no film with a script.yaml",
        split.display()
    );
    if let Some(count) = count {
        ensure!(
            films.len() >= count,
            "{} holds {} test films but --films asks for {count}",
            split.display(),
            films.len()
        );
    }
    films.truncate(count.unwrap_or(DEFAULT_FILMS));
    Ok(films)
}

fn film_name(film: &Path) -> String {
    film.file_name().map_or_else(
        || film.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// What every row reads of a film's script, loaded once per film.
struct FilmInputs {
    script_path: PathBuf,
    script: Script,
    /// The cast's identity embeddings, from their portraits.
    faces: Vec<Vec<f32>>,
    /// The cast's full-body references, where the script gives them.
    costumes: Vec<Option<RgbImage>>,
}

impl FilmInputs {
    fn load(film: &Path, identity: &IdentityEncoder) -> anyhow::Result<Self> {
        let script_path = film.join("script.yaml");
        let script = moviedreamer_script::load(&script_path)?.script;
        let faces = cast_identities(&script_path, &script, identity)?;
        let costumes = cast_costumes(&script_path, &script)?;
        Ok(FilmInputs {
            script_path,
            script,
            faces,
            costumes,
        })
    }
}

/// The keyframe tokens `row` renders: planned from the script the row's way, or the
/// tokenizer's tokens of the film's own keyframes for the oracle.
fn plan_tokens(
    stages: &Stages,
    film: &Path,
    inputs: &FilmInputs,
    row: Row,
    args: &BenchArgs,
) -> anyhow::Result<Tensor> {
    if let (Row::Oracle, Some(tokenizer)) = (row, &stages.tokenizer) {
        return true_tokens(tokenizer, film, inputs.script.summary().shots);
    }
    let zeroed: Vec<Vec<f32>>;
    let (planner, vocabulary) = match (row, &stages.planner_without_measures) {
        (Row::NoAntiOverfitting, Some((planner, vocabulary))) => (planner, vocabulary),
        _ => (&stages.planner, &stages.vocabulary),
    };
    let faces = match row {
        Row::NoFaces => {
            zeroed = inputs.faces.iter().map(|f| vec![0.0; f.len()]).collect();
            &zeroed
        }
        _ => &inputs.faces,
    };
    let history = if row == Row::NoHistory {
        0
    } else {
        FULL_HISTORY
    };
    plan_film(
        planner,
        vocabulary,
        &FilmToPlan {
            script_path: &inputs.script_path,
            script: &inputs.script,
            faces,
        },
        history,
        args.seed,
        || {},
    )
}

/// Renders `tokens` into `dir` the way `row` says; returns how many keyframes it rendered
/// now (fewer when a previous run had made some).
fn render_row(
    stages: &Stages,
    inputs: &FilmInputs,
    tokens: &Tensor,
    row: Row,
    args: &BenchArgs,
    dir: &Path,
    on_keyframe: impl FnMut(),
) -> anyhow::Result<usize> {
    let shots = shots_to_render(
        &stages.renderer,
        &inputs.script,
        tokens,
        &inputs.faces,
        &inputs.costumes,
    )?;
    let settings = RenderSettings {
        steps: args.render_steps,
        token_guidance: args.token_guidance,
        identity_guidance: if row == Row::NoIdentityRendering {
            0.0
        } else {
            args.identity_guidance
        },
        seed: args.seed,
        batch: args.batch,
        shard: Shard::WHOLE,
    };
    let config = serde_json::json!({ "bench_row": row.folder(), "models": args.models });
    Ok(render_keyframes(
        &stages.renderer,
        &inputs.script_path,
        config,
        &shots,
        dir,
        &settings,
        on_keyframe,
    )?)
}

/// Animates the full row's keyframes of film `name` into `OUT/full/<name>/animate` (as
/// `generate` does) and scores each clip against its keyframe.
fn animate_full_row(
    stages: &Stages,
    inputs: &FilmInputs,
    name: &str,
    args: &BenchArgs,
    on_clip: impl FnMut(),
) -> anyhow::Result<ClipResult> {
    let row_dir = args.out.join(Row::Full.folder()).join(name);
    let keyframes = row_dir.join("keyframes");
    let clips_run = row_dir.join("animate");
    let shots = film_shots(&inputs.script);
    let settings = AnimateSettings {
        sampling: ClipSampling {
            steps: args.animate_steps,
            guidance: 1.0,
            start_noise: 0.5,
        },
        seed: args.seed,
        batch: args.batch,
    };
    let config = serde_json::json!({ "bench_row": Row::Full.folder(), "models": args.models });
    let started = Instant::now();
    let animated = animate_shots(
        &stages.animator,
        &inputs.script_path,
        config,
        &shots_to_animate(&shots, |index| keyframe_path(&row_dir, index)),
        &clips_run,
        &settings,
        on_clip,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(ClipResult {
        row: Row::Full.name(),
        film: name.to_owned(),
        clips: score_clips(&keyframes, &clips_run, shots.len())?,
        seconds_per_clip: (animated == shots.len()).then(|| seconds / shots.len() as f64),
    })
}

/// The clips table: per row, its clips' mean motion, flicker and first-frame fidelity.
fn clips_table(results: &[ClipResult], args: &BenchArgs) -> String {
    let mut table = format!(
        "\nClips: StoryWorld's own, and the full row's keyframes animated ({} steps, start noise 0.5). Motion is the mean change of a pixel between frames and flicker that of a frame's mean colour (0–255); first frame is the PSNR of each clip's first frame against its keyframe.\n\n| row | clips | motion | flicker | first frame (PSNR) | s / clip |\n|---|---:|---:|---:|---:|---:|\n",
        args.animate_steps
    );
    for row in [Row::GroundTruth, Row::Full] {
        let films: Vec<&ClipResult> = results.iter().filter(|r| r.row == row.name()).collect();
        let clips: Vec<ClipScores> = films.iter().flat_map(|r| r.clips.iter().copied()).collect();
        let Some(means) = mean_scores(&clips) else {
            continue;
        };
        let seconds = mean(films.iter().map(|r| r.seconds_per_clip))
            .map_or("–".to_owned(), |s| format!("{s:.3}"));
        table.push_str(&format!(
            "| {} | {} | {:.2} | {:.3} | {:.1} dB | {seconds} |\n",
            row.name(),
            clips.len(),
            means.motion,
            means.flicker,
            means.first_frame_psnr
        ));
    }
    table
}

/// The tokenizer's tokens (shots, K, D) of the film's own keyframes.
fn true_tokens(tokenizer: &KeyframeTokenizer, film: &Path, shots: usize) -> anyhow::Result<Tensor> {
    let size = tokenizer.config().image_size as u32;
    let mut tokens = Vec::new();
    for start in (0..shots).step_by(64) {
        let pictures = load_keyframes(
            &film.join("keyframes"),
            start..(start + 64).min(shots),
            size,
            "tokenizer",
        )?;
        tokens.push(tokenizer.encode(&to_tensor(&pictures, &Device::Cpu)?, false)?);
    }
    Ok(Tensor::cat(&tokens, 0)?)
}

/// Per row, the metrics averaged over its films: the table `bench.md` holds.
fn markdown_table(
    rows: &[Row],
    results: &[FilmResult],
    frechet: &[Option<f64>],
    films: usize,
    evaluator: &Path,
    args: &BenchArgs,
) -> String {
    let mut table = format!(
        "Test films of {} ({films} films, {} render steps, token guidance {}, identity guidance {}, seed {}), scored by the evaluator in {}. The Fréchet distance is between the evaluator's features (every head's class probabilities) of a row's keyframes and of the ground truth's.\n\n",
        args.data.display(),
        args.render_steps,
        args.token_guidance,
        args.identity_guidance,
        args.seed,
        evaluator.display()
    );
    let adherence: Vec<String> = SCENE_ATTRIBUTES
        .iter()
        .map(|a| a.replace('_', " "))
        .collect();
    table.push_str(&format!(
        "| row | {} | presence F1 | identity accuracy | costume accuracy | identity consistency | identity separation | Fréchet distance | s / keyframe |\n",
        adherence.join(" | ")
    ));
    table.push_str(&format!(
        "|---|{}\n",
        "---:|".repeat(SCENE_ATTRIBUTES.len() + 7)
    ));
    let costume = costume_traits();
    let percent = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{:.1} %", 100.0 * v));
    for (&row, frechet) in rows.iter().zip(frechet) {
        let films: Vec<&FilmResult> = results.iter().filter(|r| r.row == row.name()).collect();
        let mean =
            |value: &dyn Fn(&FilmResult) -> Option<f64>| mean(films.iter().map(|r| value(r)));
        let mut cells: Vec<String> = (0..SCENE_ATTRIBUTES.len())
            .map(|a| percent(mean(&|r| Some(r.scores.adherence[a]))))
            .collect();
        cells.push(percent(mean(&|r| Some(r.scores.presence.f1))));
        cells.push(percent(mean(&|r| r.scores.identity_accuracy)));
        cells.push(percent(mean(&|r| r.scores.accuracy_of(&costume))));
        let cosine = |c: f64| format!("{c:.3}");
        cells.push(mean(&|r| r.scores.consistency).map_or("–".to_owned(), cosine));
        cells.push(mean(&|r| r.scores.identity_separation).map_or("–".to_owned(), cosine));
        cells.push(frechet.map_or("–".to_owned(), |d| format!("{d:.3}")));
        cells.push(mean(&|r| r.seconds_per_keyframe).map_or("–".to_owned(), |s| format!("{s:.3}")));
        table.push_str(&format!("| {} | {} |\n", row.name(), cells.join(" | ")));
    }

    // How one character's likeness holds up as shots grow apart: over every film, the
    // mean cosine of all pairs of its shots that far apart.
    table.push_str("\nIdentity consistency (cosine) by distance between the two shots:\n\n| row |");
    for &(from, to) in &DISTANCE_BUCKETS {
        table.push_str(&format!(
            " {} |",
            distance_bucket_name(from, to).replace('-', "–")
        ));
    }
    table.push_str(&format!(
        "\n|---|{}\n",
        "---:|".repeat(DISTANCE_BUCKETS.len())
    ));
    for &row in rows {
        let cells: Vec<String> = consistency_by_distance(results, row)
            .into_iter()
            .map(|bucket| {
                bucket.map_or("–".to_owned(), |(cosine, pairs)| {
                    format!("{cosine:.3} ({pairs})")
                })
            })
            .collect();
        table.push_str(&format!("| {} | {} |\n", row.name(), cells.join(" | ")));
    }
    table
}

/// Per distance bucket ([`DISTANCE_BUCKETS`]), the mean cosine of one character's two
/// shots that far apart over every film of `row`, and the number of such pairs; `None`
/// where there is no pair.
fn consistency_by_distance(results: &[FilmResult], row: Row) -> Vec<Option<(f64, usize)>> {
    DISTANCE_BUCKETS
        .iter()
        .map(|&(from, _)| {
            let (mut pairs, mut sum) = (0, 0.0);
            for bucket in results
                .iter()
                .filter(|r| r.row == row.name())
                .flat_map(|r| &r.scores.consistency_by_distance)
                .filter(|b| b.from == from)
            {
                pairs += bucket.pairs;
                sum += bucket.cosine * bucket.pairs as f64;
            }
            (pairs > 0).then(|| (sum / pairs as f64, pairs))
        })
        .collect()
}

/// Each row's line colour in the charts, in [`Row::ALL`]'s order.
const ROW_COLOURS: [[u8; 3]; Row::ALL.len()] = [
    [0, 0, 0],
    [20, 70, 160],
    [230, 120, 0],
    [150, 60, 170],
    [200, 30, 30],
    [120, 120, 120],
    [40, 150, 60],
];

/// A row's line in a chart: its colour and name.
fn row_line(row: Row, points: Vec<(f64, f64)>) -> Line {
    Line {
        points,
        colour: ROW_COLOURS[row as usize],
        width: 2,
        label: Some(row.name().to_owned()),
    }
}

/// Each row's identity consistency against the distance between shots, as a chart.
fn consistency_chart(results: &[FilmResult], rows: &[Row]) -> Chart {
    // Each row keeps its colour whichever rows are drawn.
    let lines = rows
        .iter()
        .map(|&row| {
            row_line(
                row,
                consistency_by_distance(results, row)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, bucket)| bucket.map(|(cosine, _)| (i as f64, cosine)))
                    .collect(),
            )
        })
        .collect();
    Chart {
        lines,
        y_range: None,
        x_ticks: Some(
            DISTANCE_BUCKETS
                .iter()
                .enumerate()
                .map(|(i, &(from, to))| (i as f64, distance_bucket_name(from, to)))
                .collect(),
        ),
    }
}

/// Bins of shot indices the consistency-by-shot chart averages over.
const SHOT_BINS: usize = 20;

/// Each row's identity consistency along the film: the mean cosine of a character's
/// embedding to its first shot's, over every reappearance in every film, in
/// [`SHOT_BINS`] equal bins of shot index.
fn consistency_by_shot_chart(results: &[FilmResult], rows: &[Row]) -> Chart {
    let longest = results.iter().map(|r| r.scores.shots).max().unwrap_or(1);
    let width = longest.div_ceil(SHOT_BINS).max(1);
    let lines = rows
        .iter()
        .map(|&row| {
            let mut bins = vec![(0usize, 0.0f64); longest.div_ceil(width)];
            for again in results
                .iter()
                .filter(|r| r.row == row.name())
                .flat_map(|r| &r.scores.reappearances)
            {
                let bin = &mut bins[again.shot / width];
                bin.0 += 1;
                bin.1 += again.cosine;
            }
            let centre = |bin: usize| (bin * width) as f64 + width as f64 / 2.0;
            row_line(
                row,
                bins.iter()
                    .enumerate()
                    .filter(|(_, (n, _))| *n > 0)
                    .map(|(i, (n, sum))| (centre(i), sum / *n as f64))
                    .collect(),
            )
        })
        .collect();
    Chart {
        lines,
        y_range: None,
        x_ticks: None,
    }
}

/// The mean of the values present, `None` when none is.
fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let present: Vec<f64> = values.flatten().collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}
