//! `moviedreamer world …`: StoryWorld datasets and previews.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::ensure;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_storyworld::dataset::{self, DatasetConfig};
use moviedreamer_storyworld::identity::Split;
use moviedreamer_storyworld::preview;
use moviedreamer_storyworld::render::{MAX_SIZE, MIN_SIZE};
use moviedreamer_storyworld::story::Film;

use crate::movie_cmd::{WorldMovieArgs, world_movie};
use crate::write_png;

#[derive(Subcommand)]
pub enum WorldCommand {
    /// Generate a StoryWorld dataset: scripts, portraits, keyframes, clips and exact labels.
    ///
    /// Films are split 80/10/10 into train, validation and test, and no character appears
    /// in two splits. The same settings give byte-identical files. An interrupted run
    /// resumes: run the same command again and finished films are kept.
    Generate(GenerateArgs),
    /// Draw one film's contact sheet (keyframes with their shot text) and its cast's
    /// reference portraits.
    Preview(PreviewArgs),
    /// Assemble one film's ground-truth clips into a movie: movie.mp4, movie.gif,
    /// storyboard pages of every keyframe with its shot text, and index.html.
    Movie(WorldMovieArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Number of films, all splits together.
    #[arg(long, default_value_t = 10)]
    films: usize,
    /// Shots per film (1 to 10,000).
    #[arg(long, default_value_t = 50)]
    shots: usize,
    /// Picture side in pixels (32 to 256).
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Frames per clip (8 to 16).
    #[arg(long, default_value_t = 12)]
    frames: usize,
    /// Reference portraits per character.
    #[arg(long, default_value_t = 3)]
    portraits: usize,
    /// Seed of everything generated.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory.
    #[arg(long, short)]
    out: PathBuf,
}

#[derive(Args)]
pub struct PreviewArgs {
    /// Seed of the film.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Shots on the contact sheet.
    #[arg(long, default_value_t = 24)]
    shots: usize,
    /// Picture side in pixels (32 to 256); sheets scale pictures up to make them readable.
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Output directory for film.png and cast.png.
    #[arg(long, short, default_value = ".")]
    out: PathBuf,
}

pub fn run(command: WorldCommand) -> anyhow::Result<ExitCode> {
    match command {
        WorldCommand::Generate(args) => generate(args),
        WorldCommand::Preview(args) => preview(args),
        WorldCommand::Movie(args) => world_movie(args),
    }
}

fn check_size(size: u32) -> anyhow::Result<()> {
    ensure!(
        (MIN_SIZE..=MAX_SIZE).contains(&size),
        "--size {size} is outside {MIN_SIZE} to {MAX_SIZE} pixels"
    );
    Ok(())
}

fn generate(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    check_size(args.size)?;
    ensure!(
        (1..=10_000).contains(&args.shots),
        "--shots {} is outside 1 to 10,000",
        args.shots
    );
    ensure!(
        (8..=16).contains(&args.frames),
        "--frames {} is outside 8 to 16",
        args.frames
    );
    ensure!(args.films > 0, "--films must be at least 1");
    let config = DatasetConfig {
        films: args.films,
        shots: args.shots,
        size: args.size,
        frames: args.frames,
        portraits: args.portraits,
        seed: args.seed,
    };
    let bar = ProgressBar::new(args.films as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} films  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let written = dataset::generate(&config, &args.out, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let keyframes = written * args.shots;
    println!(
        "wrote {written} films ({keyframes} keyframes with clips) to {} in {seconds:.1} s ({:.0} keyframes/s); {} already there",
        args.out.display(),
        keyframes as f64 / seconds.max(1e-9),
        args.films - written
    );
    Ok(ExitCode::SUCCESS)
}

fn preview(args: PreviewArgs) -> anyhow::Result<ExitCode> {
    check_size(args.size)?;
    let film = Film::generate(args.seed, args.shots.max(1), Split::Train);
    let film_png = args.out.join("film.png");
    let cast_png = args.out.join("cast.png");
    let sheet = preview::film_sheet(&film, args.size, args.shots)?;
    let cast = preview::cast_sheet(&film, args.size, 4)?;
    write_png(&sheet, &film_png)?;
    write_png(&cast, &cast_png)?;
    println!(
        "\"{}\": {} characters, {} style; wrote {} and {}",
        film.title,
        film.cast.len(),
        film.style.name(),
        film_png.display(),
        cast_png.display()
    );
    Ok(ExitCode::SUCCESS)
}
