//! Movie options shared by every command that makes a movie, and `moviedreamer world
//! movie`: a StoryWorld film's ground-truth clips assembled the way `generate` assembles
//! generated ones (the benchmark's ground-truth row, and a way to see the data).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, ensure};
use clap::Args;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use moviedreamer_media::MovieFormats;
use moviedreamer_media::strip::split_frames;
use moviedreamer_models::animator::Motion;
use moviedreamer_pipeline::{
    Assembly, AssemblySettings, PipelineError, Report, ShotMedia, assemble, write_report,
};
use moviedreamer_script::model::{SceneHeading, Script, Setting};

/// How a movie is assembled and which files it is written as.
#[derive(Args, Clone, Debug)]
pub struct MovieOptions {
    /// Frames per second of the movie.
    #[arg(long, default_value_t = 8)]
    pub fps: u32,
    /// Show the pictures this many times larger (no smoothing: pixels stay crisp).
    #[arg(long, default_value_t = 4)]
    pub scale: u32,
    /// Seconds of title card (scene heading) at the start of each scene; 0 for none.
    #[arg(long, default_value_t = 0.0)]
    pub title_seconds: f32,
    /// Also write movie.gif (large and slow for long films: about 12 ms and 9 KB a frame
    /// at 256 px).
    #[arg(long)]
    pub gif: bool,
    /// Also write every frame as a PNG under frames/.
    #[arg(long)]
    pub frames: bool,
}

impl MovieOptions {
    /// The assembly settings these options ask for, checked.
    pub fn settings(&self) -> anyhow::Result<AssemblySettings> {
        ensure!(
            (1..=120).contains(&self.fps),
            "--fps {} is outside 1 to 120",
            self.fps
        );
        ensure!(
            (1..=16).contains(&self.scale),
            "--scale {} is outside 1 to 16",
            self.scale
        );
        ensure!(
            (0.0..=10.0).contains(&self.title_seconds),
            "--title-seconds {} is outside 0 to 10",
            self.title_seconds
        );
        Ok(AssemblySettings {
            fps: self.fps,
            scale: self.scale,
            title_seconds: self.title_seconds,
            formats: MovieFormats {
                mp4: true,
                gif: self.gif,
                frames: self.frames,
            },
        })
    }
}

/// A scene heading as a title card's lines: `EXT. HARBOUR - NIGHT`.
pub fn title_lines(scene: usize, heading: &SceneHeading) -> Vec<String> {
    let setting = match heading.setting {
        Setting::Interior => "INT.",
        Setting::Exterior => "EXT.",
        Setting::InteriorExterior => "INT./EXT.",
    };
    let mut place = format!("{setting} {}", heading.location.to_uppercase());
    if let Some(time) = &heading.time {
        place.push_str(&format!(" - {}", time.to_uppercase()));
    }
    vec![format!("Scene {}", scene + 1), place]
}

/// Assembles `shots` into `run_dir` with a progress bar and writes its index.html.
pub fn assemble_with_progress(
    run_dir: &Path,
    total: usize,
    shots: impl Iterator<Item = Result<ShotMedia, PipelineError>>,
    settings: &AssemblySettings,
    mut report: Report,
) -> anyhow::Result<Assembly> {
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("assembling {bar:40} {pos}/{len} shots  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let assembly = assemble(run_dir, shots, settings, |_| bar.inc(1))?;
    bar.finish_and_clear();
    let relative = |path: &Path| {
        path.strip_prefix(run_dir)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let files = &assembly.movie.files;
    report.movie = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "mp4"))
        .map(|f| relative(f));
    report.gif = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "gif"))
        .map(|f| relative(f));
    report.storyboards = assembly.storyboards.iter().map(|p| relative(p)).collect();
    write_report(run_dir, &report)?;
    Ok(assembly)
}

/// Prints where the movie, storyboard and report are.
pub fn print_outputs(run_dir: &Path, assembly: &Assembly) {
    let movie = &assembly.movie;
    println!(
        "{} shots, {} frames at {} fps ({:.1} s), {}×{} pixels",
        assembly.shots,
        movie.frames,
        movie.fps,
        movie.seconds(),
        movie.size.0,
        movie.size.1
    );
    for file in &movie.files {
        println!("  {}", file.display());
    }
    for page in &assembly.storyboards {
        println!("  {}", page.display());
    }
    println!(
        "  {}  (open it in a browser)",
        run_dir.join(moviedreamer_pipeline::REPORT_FILE).display()
    );
}

#[derive(Args)]
pub struct WorldMovieArgs {
    /// A film directory of a StoryWorld dataset (DATA/test/film-00009).
    film: PathBuf,
    /// Output directory for the movie, storyboard and index.html.
    #[arg(long, short)]
    out: PathBuf,
    /// Only the first N shots.
    #[arg(long)]
    shots: Option<usize>,
    #[command(flatten)]
    movie: MovieOptions,
}

/// `moviedreamer world movie`.
pub fn world_movie(args: WorldMovieArgs) -> anyhow::Result<ExitCode> {
    let settings = args.movie.settings()?;
    let script_path = args.film.join("script.yaml");
    ensure!(
        script_path.is_file(),
        "{} is not a StoryWorld film directory (it has no script.yaml)\n  help: give a film of a dataset made by `moviedreamer world generate`, such as DATA/test/film-00009",
        args.film.display()
    );
    let loaded = moviedreamer_script::source::load(&script_path)?;
    let script = &loaded.script;
    let mut shots = film_shots(script);
    if let Some(limit) = args.shots {
        ensure!(limit > 0, "--shots must be at least 1");
        shots.truncate(limit);
    }
    let total = shots.len();
    let film = args.film.clone();
    let media = shots.into_iter().enumerate().map(move |(index, shot)| {
        let keyframe = read_png(&film.join(format!("keyframes/{index:06}.png")))?;
        let strip = read_png(&film.join(format!("clips/{index:06}.png")))?;
        Ok(shot.media(keyframe, &strip))
    });
    let report = Report {
        title: script.title.clone(),
        summary: format!(
            "Ground-truth StoryWorld film {}: {total} shots.",
            args.film.display()
        ),
        script: Some(
            std::fs::read_to_string(&script_path)
                .with_context(|| format!("could not read {}", script_path.display()))?,
        ),
        ..Report::default()
    };
    let assembly = assemble_with_progress(&args.out, total, media, &settings, report)?;
    print_outputs(&args.out, &assembly);
    Ok(ExitCode::SUCCESS)
}

/// One shot of a script as the movie and storyboard show it.
pub struct FilmShot {
    /// Index of its scene.
    pub scene: usize,
    /// Its scene's title card.
    pub scene_title: Vec<String>,
    /// What the shot shows (its description).
    pub caption: String,
    /// What moves in it.
    pub motion: Motion,
    /// The shot before it in its scene (`None` for a scene's first shot).
    pub previous: Option<usize>,
}

impl FilmShot {
    /// The shot with its keyframe and clip (a strip of frames side by side).
    pub fn media(self, keyframe: RgbImage, strip: &RgbImage) -> ShotMedia {
        ShotMedia {
            scene: self.scene,
            scene_title: self.scene_title,
            caption: self.caption,
            frames: split_frames(strip, keyframe.width()),
            keyframe,
        }
    }
}

/// Every shot of `script`, in order.
pub fn film_shots(script: &Script) -> Vec<FilmShot> {
    let mut shots = Vec::new();
    for (scene, s) in script.scenes.iter().enumerate() {
        for (in_scene, shot) in s.shots.iter().enumerate() {
            shots.push(FilmShot {
                scene,
                scene_title: title_lines(scene, &s.heading),
                caption: shot.description.clone(),
                motion: Motion::of_shot(shot),
                previous: (in_scene > 0).then(|| shots.len() - 1),
            });
        }
    }
    shots
}

/// Reads a picture, naming the file if it cannot.
pub fn read_png(path: &Path) -> Result<RgbImage, PipelineError> {
    image::open(path)
        .map(|image| image.to_rgb8())
        .map_err(|err| PipelineError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(err),
        })
}
