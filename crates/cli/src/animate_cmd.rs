//! `moviedreamer animate`: a film's keyframes (one per shot) into clips that move as the
//! script says, assembled into the movie, storyboard and index.html.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::ensure;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_models::animator::{Animator, ClipSampling};
use moviedreamer_pipeline::animate::clip_path;
use moviedreamer_pipeline::{
    AnimateSettings, Assembly, AssemblySettings, Report, ShotToAnimate, animate_shots,
};

use crate::generate_cmd::check_guidance;
use crate::load_trained;
use crate::movie_cmd::{
    FilmShot, MovieOptions, assemble_with_progress, film_shots, print_outputs, read_png,
};

#[derive(Args)]
pub struct AnimateArgs {
    /// The film's script (YAML, or a Fountain screenplay).
    script: PathBuf,
    /// Folder of keyframes, one per shot in script order: 000000.png, 000001.png, … (as a
    /// StoryWorld film's keyframes/ folder).
    #[arg(long)]
    keyframes: PathBuf,
    /// The animator's model directory.
    #[arg(long, default_value = "runs/animator/model")]
    model: PathBuf,
    /// Output directory: clips/, the movie, storyboard, index.html and manifest.json. An
    /// interrupted run continues when the same command is run again.
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    sampling: SamplingOptions,
    /// Shots animated together.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Only the first N shots.
    #[arg(long)]
    shots: Option<usize>,
    #[command(flatten)]
    movie: MovieOptions,
}

/// How clips are sampled, for `animate` and `eval animator`.
#[derive(Args, Clone, Debug)]
pub struct SamplingOptions {
    /// Sampling steps per clip.
    #[arg(long, default_value_t = ClipSampling::DEFAULT_STEPS)]
    pub steps: usize,
    /// Guidance on the shot's motion (1 = none; above 1 measured worse so far, see
    /// docs/results/animator.md).
    #[arg(long, default_value_t = 1.0)]
    pub guidance: f64,
    /// Where sampling starts: 1 from pure noise; less from each keyframe held still and
    /// noised that far, which keeps more of the keyframe (0.5 measured best so far).
    #[arg(long, default_value_t = 0.5)]
    pub start_noise: f64,
    /// Seed of the sampling noise (each shot has its own stream of it).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingOptions {
    /// The sampler's settings.
    pub fn clip_sampling(&self) -> ClipSampling {
        ClipSampling {
            steps: self.steps,
            guidance: self.guidance,
            start_noise: self.start_noise,
        }
    }

    /// Refuses settings the sampler cannot use.
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            (1..=1000).contains(&self.steps),
            "--steps {} is outside 1 to 1,000",
            self.steps
        );
        check_guidance("--guidance", self.guidance)?;
        ensure!(
            self.start_noise > 0.0 && self.start_noise <= 1.0,
            "--start-noise {} is outside (0, 1]",
            self.start_noise
        );
        Ok(())
    }
}

pub fn run(args: AnimateArgs) -> anyhow::Result<ExitCode> {
    let movie_settings = args.movie.settings()?;
    let sampling = &args.sampling;
    sampling.check()?;
    ensure!(args.batch > 0, "--batch must be at least 1");
    let loaded = moviedreamer_script::load(&args.script)?;
    let mut shots = film_shots(&loaded.script);
    if let Some(limit) = args.shots {
        ensure!(limit > 0, "--shots must be at least 1");
        shots.truncate(limit);
    }
    ensure!(!shots.is_empty(), "{} has no shots", args.script.display());
    let keyframe_path = |index: usize| args.keyframes.join(format!("{index:06}.png"));
    if let Some(missing) = (0..shots.len()).find(|&i| !keyframe_path(i).is_file()) {
        anyhow::bail!(
            "{} is missing: the script has {} shots, so the keyframes folder needs 000000.png to {:06}.png",
            keyframe_path(missing).display(),
            shots.len(),
            shots.len() - 1
        );
    }
    let animator = load_trained(&args.model, "animator", Animator::load)?;

    let to_animate = shots_to_animate(&shots, keyframe_path);
    let settings = AnimateSettings {
        sampling: sampling.clip_sampling(),
        seed: sampling.seed,
        batch: args.batch,
    };
    let config = serde_json::json!({
        "model": args.model.display().to_string(),
        "keyframes": args.keyframes.display().to_string(),
    });
    let bar = ProgressBar::new(shots.len() as u64).with_style(
        ProgressStyle::with_template("animating {bar:40} {pos}/{len} shots  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let animated = animate_shots(
        &animator,
        &args.script,
        config,
        &to_animate,
        &args.out,
        &settings,
        || bar.inc(1),
    )?;
    bar.finish_and_clear();
    println!(
        "animated {animated} shots ({} were already done)",
        shots.len() - animated
    );

    let summary = format!(
        "{} shots animated by {} from the keyframes in {} ({} steps, guidance {}, start noise {}, seed {}).",
        shots.len(),
        args.model.display(),
        args.keyframes.display(),
        sampling.steps,
        sampling.guidance,
        sampling.start_noise,
        sampling.seed
    );
    let report = Report {
        title: loaded.script.title.clone(),
        summary,
        script: std::fs::read_to_string(&args.script).ok(),
        ..Report::default()
    };
    let assembly = assemble_clips(
        report,
        shots,
        keyframe_path,
        &args.out,
        &args.out,
        &movie_settings,
    )?;
    print_outputs(&args.out, &assembly);
    Ok(ExitCode::SUCCESS)
}

/// Each of `shots` with its keyframe file and motion.
pub fn shots_to_animate(
    shots: &[FilmShot],
    keyframe_path: impl Fn(usize) -> PathBuf,
) -> Vec<ShotToAnimate> {
    shots
        .iter()
        .enumerate()
        .map(|(index, shot)| ShotToAnimate {
            index,
            keyframe: keyframe_path(index),
            motion: shot.motion,
            previous: shot.previous,
        })
        .collect()
}

/// The film's keyframes and their clips (animated into `clips_run`) assembled into `out`:
/// the movie, storyboard and an index.html showing them with what `report` holds.
pub fn assemble_clips(
    report: Report,
    shots: Vec<FilmShot>,
    keyframe_path: impl Fn(usize) -> PathBuf,
    clips_run: &Path,
    out: &Path,
    settings: &AssemblySettings,
) -> anyhow::Result<Assembly> {
    let total = shots.len();
    let media = shots.into_iter().enumerate().map(|(index, shot)| {
        let keyframe = read_png(&keyframe_path(index))?;
        let strip = read_png(&clip_path(clips_run, index))?;
        Ok(shot.media(keyframe, &strip))
    });
    assemble_with_progress(out, total, media, settings, report)
}
