//! Writing StoryWorld datasets to disk: per film its script (with portrait files),
//! keyframes, clips and labels, in train, validation and test splits whose characters never
//! overlap.
//!
//! ```text
//! DIR/dataset.json                       settings and counts
//! DIR/<split>/film-00012/script.yaml     the multimodal script (our YAML format)
//!                        cast.json       id, name and traits of every character
//!                        portraits/<id>-<k>.png
//!                        bodies/<id>.png  a full-body picture (the script's `full_body`)
//!                        keyframes/<shot>.png
//!                        clips/<shot>.png   the clip's frames side by side
//!                        labels.jsonl    one line of exact labels per shot
//! ```
//!
//! A film is written into a hidden folder and renamed when complete, so an interrupted run
//! resumes by skipping finished films; the same settings give byte-identical files.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use moviedreamer_media::strip::join_frames;

use crate::clip::clip_specs;
use crate::identity::{Split, TRAIT_NAMES};
use crate::render::{PortraitVariant, RenderError, render, render_full_body, render_portrait};
use crate::story::Film;
use crate::world::{shot_type_name, slot_name};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetConfig {
    /// Films in all splits together: 80% train, 10% validation, 10% test.
    pub films: usize,
    /// Shots per film.
    pub shots: usize,
    /// Picture side in pixels.
    pub size: u32,
    /// Frames per clip.
    pub frames: usize,
    /// Reference portraits per character.
    pub portraits: usize,
    /// The seed everything is drawn from.
    pub seed: u64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            films: 10,
            shots: 50,
            size: 64,
            frames: 12,
            portraits: 3,
            seed: 0,
        }
    }
}

/// Why a dataset could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A picture could not be drawn.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The directory holds a dataset made with other settings.
    #[error(
        "{}: this directory holds a dataset made with other settings\n  help: choose another --out directory, or delete this one to start again",
        path.display()
    )]
    Mismatch {
        /// The existing `dataset.json`.
        path: PathBuf,
    },
    /// An image could not be encoded.
    #[error("{}: cannot encode the image: {message}", path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The split of the `index`-th film: indices ending in 8 are validation, in 9 test.
pub fn film_split(index: usize) -> Split {
    match index % 10 {
        8 => Split::Validation,
        9 => Split::Test,
        _ => Split::Train,
    }
}

/// The seed of the `index`-th film: well mixed, so neighbouring films share nothing.
pub fn film_seed(seed: u64, index: usize) -> u64 {
    crate::seed::mix_seeds(seed, index as u64)
}

/// The folder of the `index`-th film under `out`.
pub fn film_dir(out: &Path, index: usize) -> PathBuf {
    out.join(film_split(index).name())
        .join(format!("film-{index:05}"))
}

/// Writes the dataset into `out`, films in parallel, calling `film_done` after each film.
/// Films already complete from an earlier run are skipped. Returns how many films were
/// written now.
pub fn generate(
    config: &DatasetConfig,
    out: &Path,
    film_done: &(dyn Fn() + Sync),
) -> Result<usize, DatasetError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let settings = out.join("dataset.json");
    let json = serde_json::to_string_pretty(config).unwrap_or_default() + "\n";
    match std::fs::read_to_string(&settings) {
        Ok(existing) if existing != json => {
            return Err(DatasetError::Mismatch { path: settings });
        }
        Ok(_) => {}
        Err(_) => write_file(&settings, json.as_bytes())?,
    }
    // A pool of its own, one thread per core: the `moviedreamer` binary limits rayon's
    // global pool to one thread so that candle's kernels stay single-threaded.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    let generate_all = || -> Result<Vec<bool>, DatasetError> {
        (0..config.films)
            .into_par_iter()
            .map(|index| {
                let dir = film_dir(out, index);
                if dir.exists() {
                    film_done();
                    return Ok(false);
                }
                let film = Film::generate(
                    film_seed(config.seed, index),
                    config.shots,
                    film_split(index),
                );
                write_film(&film, config, &dir)?;
                film_done();
                Ok(true)
            })
            .collect()
    };
    let written = match pool {
        Ok(pool) => pool.install(generate_all),
        Err(_) => generate_all(),
    };
    Ok(written?.into_iter().filter(|&w| w).count())
}

/// Writes one film into `dir`, through a hidden folder renamed at the end.
pub fn write_film(film: &Film, config: &DatasetConfig, dir: &Path) -> Result<(), DatasetError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = dir.with_file_name(format!(".{name}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    for sub in ["portraits", "bodies", "keyframes", "clips"] {
        let path = partial.join(sub);
        std::fs::create_dir_all(&path).map_err(io(&path))?;
    }

    let portrait_path = |cast: usize, k: usize| {
        PathBuf::from(format!("portraits/{}-{}.png", film.cast[cast].id, k + 1))
    };
    let body_path = |cast: usize| PathBuf::from(format!("bodies/{}.png", film.cast[cast].id));
    for (c, member) in film.cast.iter().enumerate() {
        for k in 0..config.portraits {
            let image = render_portrait(&member.identity, PortraitVariant::nth(k), config.size)?;
            save_png(&image, &partial.join(portrait_path(c, k)))?;
        }
        let body = render_full_body(&member.identity, config.size)?;
        save_png(&body, &partial.join(body_path(c)))?;
    }
    let script = film.to_script(
        |c| (0..config.portraits).map(|k| portrait_path(c, k)).collect(),
        |c| vec![body_path(c)],
    );
    let yaml = moviedreamer_script::yaml::to_yaml_string(&script);
    write_file(&partial.join("script.yaml"), yaml.as_bytes())?;
    let cast = serde_json::to_string_pretty(&film.cast).unwrap_or_default() + "\n";
    write_file(&partial.join("cast.json"), cast.as_bytes())?;

    let shots: Vec<(usize, usize, usize)> = film
        .shots()
        .enumerate()
        .map(|(i, (scene, shot, _, _))| (i, scene, shot))
        .collect();
    let labels: Result<Vec<String>, DatasetError> = shots
        .par_iter()
        .map(|&(i, scene, shot)| write_shot(film, config, &partial, i, scene, shot))
        .collect();
    let mut jsonl = labels?.join("\n");
    jsonl.push('\n');
    write_file(&partial.join("labels.jsonl"), jsonl.as_bytes())?;
    std::fs::rename(&partial, dir).map_err(io(dir))
}

/// Renders the keyframe and clip of one shot and returns its label line.
fn write_shot(
    film: &Film,
    config: &DatasetConfig,
    dir: &Path,
    index: usize,
    scene: usize,
    shot: usize,
) -> Result<String, DatasetError> {
    let plan = &film.scenes[scene].shots[shot];
    let keyframe = film.keyframe_spec(scene, shot);
    let (image, labels) = render(&keyframe, config.size)?;
    save_png(&image, &dir.join(format!("keyframes/{index:06}.png")))?;

    let frames = clip_specs(&keyframe, plan.camera, config.frames)
        .iter()
        .map(|spec| Ok(render(spec, config.size)?.0))
        .collect::<Result<Vec<_>, DatasetError>>()?;
    save_png(
        &join_frames(&frames),
        &dir.join(format!("clips/{index:06}.png")),
    )?;

    let actors: Vec<serde_json::Value> = labels
        .actors
        .iter()
        .zip(&plan.actors)
        .map(|(label, actor)| {
            let traits: serde_json::Map<String, serde_json::Value> = TRAIT_NAMES
                .iter()
                .zip(label.identity.trait_indices())
                .map(|(name, value)| (name.to_string(), value.into()))
                .collect();
            serde_json::json!({
                "id": film.cast[actor.cast].id,
                "slot": slot_name(label.slot),
                "pose": label.pose.name(),
                "facing": label.facing.name(),
                "bbox": label.bbox,
                "face_box": label.face_box,
                "traits": traits,
            })
        })
        .collect();
    let line = serde_json::json!({
        "shot": index,
        "scene": scene,
        "event": plan.event,
        "description": plan.description,
        "camera": plan.camera,
        "location": labels.location.name(),
        "time": labels.time.name(),
        "style": labels.style.name(),
        "shot_type": shot_type_name(labels.shot),
        "actors": actors,
    });
    Ok(line.to_string())
}

fn save_png(image: &image::RgbImage, path: &Path) -> Result<(), DatasetError> {
    image
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|err| DatasetError::Encode {
            path: path.to_path_buf(),
            message: err.to_string(),
        })
}

/// Writes a small file atomically (temporary name, then rename).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), DatasetError> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes).map_err(io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io(path))
}
