//! Shots to a movie: clips joined at the frame rate asked for, a hard cut between scenes
//! (with an optional title card at the start of each), written as MP4, GIF and PNG frames,
//! plus storyboard pages of every keyframe with its shot text.
//!
//! Shots arrive one at a time and only the current storyboard page's keyframes are held,
//! so memory stays flat however long the film.

use std::path::{Path, PathBuf};

use image::RgbImage;
use moviedreamer_media::sheet::{Tile, contact_sheet};
use moviedreamer_media::{MovieFormats, MovieSummary, MovieWriter};

use crate::PipelineError;

/// Keyframes per storyboard page: 8 columns of 12 rows.
pub const STORYBOARD_PAGE: usize = 96;
const STORYBOARD_COLUMNS: u32 = 8;
const STORYBOARD_CELL: u32 = 128;
const STORYBOARD_CAPTION_LINES: u32 = 4;

/// One shot as the movie shows it.
pub struct ShotMedia {
    /// Index of its scene; a new index starts a new scene (and its title card).
    pub scene: usize,
    /// The title card's lines, shown when the shot starts a scene and cards are on.
    pub scene_title: Vec<String>,
    /// The storyboard caption (usually the shot's description).
    pub caption: String,
    /// The shot's keyframe.
    pub keyframe: RgbImage,
    /// The clip, frame 0 first; every frame of every shot has one size.
    pub frames: Vec<RgbImage>,
}

/// How a film is assembled.
#[derive(Clone, Debug)]
pub struct AssemblySettings {
    /// Frames per second of the movie.
    pub fps: u32,
    /// How many times larger than the clips the movie is shown (nearest neighbour).
    pub scale: u32,
    /// Seconds of title card at the start of each scene; 0 for none.
    pub title_seconds: f32,
    /// Which files the movie is written as.
    pub formats: MovieFormats,
}

impl Default for AssemblySettings {
    fn default() -> Self {
        Self {
            fps: 8,
            scale: 4,
            title_seconds: 0.0,
            formats: MovieFormats {
                mp4: true,
                gif: false,
                frames: false,
            },
        }
    }
}

/// What assembly wrote.
#[derive(Clone, Debug)]
pub struct Assembly {
    /// The movie files and their length.
    pub movie: MovieSummary,
    /// Storyboard pages, in order.
    pub storyboards: Vec<PathBuf>,
    /// Shots in the movie.
    pub shots: usize,
}

/// Writes the movie and storyboard of `shots` into `run_dir`; `on_shot` is called after
/// each shot (for a progress bar).
pub fn assemble<I>(
    run_dir: &Path,
    shots: I,
    settings: &AssemblySettings,
    mut on_shot: impl FnMut(usize),
) -> Result<Assembly, PipelineError>
where
    I: IntoIterator<Item = Result<ShotMedia, PipelineError>>,
{
    let mut movie: Option<MovieWriter> = None;
    let mut page: Vec<(RgbImage, String)> = Vec::new();
    let mut storyboards = Vec::new();
    let mut last_scene = None;
    let mut count = 0;
    for (index, shot) in shots.into_iter().enumerate() {
        let shot = shot?;
        let Some(first) = shot.frames.first() else {
            return Err(PipelineError::BadShot {
                shot: index,
                message: "the clip has no frames".into(),
            });
        };
        let writer = match &mut movie {
            Some(writer) => writer,
            None => movie.insert(MovieWriter::create(
                run_dir,
                first.width(),
                first.height(),
                settings.scale,
                settings.fps,
                settings.formats,
            )?),
        };
        if settings.title_seconds > 0.0 && last_scene != Some(shot.scene) {
            writer.push_title(&shot.scene_title, settings.title_seconds)?;
        }
        last_scene = Some(shot.scene);
        for frame in &shot.frames {
            writer.push(frame).map_err(|err| PipelineError::BadShot {
                shot: index,
                message: err.to_string(),
            })?;
        }
        page.push((shot.keyframe, shot.caption));
        if page.len() == STORYBOARD_PAGE {
            storyboards.push(write_storyboard(run_dir, storyboards.len(), &page)?);
            page.clear();
        }
        count += 1;
        on_shot(index);
    }
    let Some(movie) = movie else {
        return Err(PipelineError::BadShot {
            shot: 0,
            message: "the film has no shots".into(),
        });
    };
    if !page.is_empty() {
        storyboards.push(write_storyboard(run_dir, storyboards.len(), &page)?);
    }
    Ok(Assembly {
        movie: movie.finish()?,
        storyboards,
        shots: count,
    })
}

/// Writes storyboard page `index` (`storyboard-001.png` is the first).
fn write_storyboard(
    run_dir: &Path,
    index: usize,
    page: &[(RgbImage, String)],
) -> Result<PathBuf, PipelineError> {
    let first_shot = index * STORYBOARD_PAGE;
    let tiles: Vec<Tile> = page
        .iter()
        .enumerate()
        .map(|(k, (image, caption))| Tile {
            image,
            caption: format!("{}. {caption}", first_shot + k + 1),
        })
        .collect();
    let sheet = contact_sheet(
        &tiles,
        STORYBOARD_COLUMNS,
        STORYBOARD_CELL,
        STORYBOARD_CAPTION_LINES,
    );
    let path = run_dir.join(format!("storyboard-{:03}.png", index + 1));
    crate::write_png(&path, &sheet)?;
    Ok(path)
}
