//! Whole StoryWorld films for the planner: each film's script as the planner's prompt, the
//! tokens of all its keyframes, and the identity embeddings of every view of each cast
//! member, computed once with the trained tokenizer and identity encoder and cached.
//!
//! Tokens come in `versions`: version 0 of the keyframes as they are, the others of
//! augmented keyframes (small crops and light, never flips: a mirrored keyframe would no
//! longer match its script's left and right). Faces: row 0 is the mean of the portraits,
//! the other rows are single views (portraits and keyframe faces), for face randomisation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use image::RgbImage;
use moviedreamer_models::identity::{IdentityEncoder, unit_vectors};
use moviedreamer_models::planner::Planner;
use moviedreamer_models::planner::prompt::FilmPrompt;
use moviedreamer_models::planner::script_prompt::film_prompt;
use moviedreamer_models::text::Vocabulary;
use moviedreamer_models::tokenizer::KeyframeTokenizer;
use moviedreamer_nn::checkpoint::{load_tensors, save_tensors, write_atomically};
use moviedreamer_script::Script;
use moviedreamer_storyworld::identity::Split;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::augment::Augment;
use super::dataset::{KeyframeDataset, read_film_script};
use super::error::DataError;
use super::faces::{FaceDataset, FaceSource};
use super::to_tensor;
use crate::error::TrainingError;

/// One film, ready for the planner.
#[derive(Debug, Clone)]
pub struct PlannerFilm {
    /// The film's number.
    pub number: usize,
    /// Its script.
    pub script: Script,
    /// Keyframe tokens (versions, shots, K, D).
    pub tokens: Tensor,
    /// Per cast member (script order): identity embeddings (views, E), row 0 the portraits'
    /// mean.
    pub faces: Vec<Tensor>,
}

impl PlannerFilm {
    /// Each cast member's identity as generation gives it: the mean of its portraits'
    /// embeddings (row 0 of its faces).
    pub fn portrait_identities(&self) -> candle_core::Result<Vec<Vec<f32>>> {
        self.faces
            .iter()
            .map(|f| f.get(0)?.to_vec1::<f32>())
            .collect()
    }

    /// The planner's prompt of this film, with the portraits' identities, checked against
    /// the planner.
    pub fn prompt(
        &self,
        planner: &Planner,
        vocabulary: &Vocabulary,
    ) -> Result<FilmPrompt, TrainingError> {
        let prompt = film_prompt(
            &self.script,
            vocabulary,
            planner.config().text.max_words,
            &self.portrait_identities()?,
        )?;
        planner.check_film(&prompt)?;
        Ok(prompt)
    }
}

/// Reads the films of `split` (the first `max_films` of them), computing their tokens and
/// face embeddings with the given models, or reading them from `cache` (a safetensors
/// file) when it was made from the same `sources`: a description of the models and
/// settings (for example their paths and configs), kept beside the cache in `<cache>.json`.
/// `versions` token versions are made (1 = no augmentation). `progress` is told of each
/// film done.
#[allow(clippy::too_many_arguments)]
pub fn prepare_films(
    data: &Path,
    split: Split,
    max_films: usize,
    tokenizer: &KeyframeTokenizer,
    identity: &IdentityEncoder,
    versions: usize,
    cache: &Path,
    sources: &serde_json::Value,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<PlannerFilm>, TrainingError> {
    let faces = FaceDataset::open(data, split)?;
    let keyframes = faces.keyframes();
    let mut shots_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, item) in keyframes.items().iter().enumerate() {
        shots_of.entry(item.film).or_default().push(i);
    }
    let key_path = cache.with_extension("json");
    let key = serde_json::json!({ "data": data, "split": split.name(), "films": max_films, "versions": versions, "sources": sources });
    let same_sources = std::fs::read_to_string(&key_path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|saved| saved == key);
    let cached = if cache.is_file() && same_sources {
        Some(load_tensors(cache)?)
    } else {
        None
    };
    let mut films = Vec::new();
    let mut store = BTreeMap::new();
    let total = shots_of.len().min(max_films);
    for (done, (&number, items)) in shots_of.iter().take(max_films).enumerate() {
        let film_dir = film_dir(keyframes, items[0])?;
        let script_path = film_dir.join("script.yaml");
        let script = read_film_script(&script_path)?;
        let name = |what: &str| format!("film-{number:05}/{what}");
        let tokens = match cached.as_ref().and_then(|c| c.get(&name("tokens"))) {
            Some(tokens) => tokens.clone(),
            None => film_tokens(keyframes, items, tokenizer, versions, number as u64)?,
        };
        let mut cast_faces = Vec::new();
        for (c, member) in script.characters.iter().enumerate() {
            let embeddings = match cached
                .as_ref()
                .and_then(|m| m.get(&name(&format!("face/{c}"))))
            {
                Some(e) => e.clone(),
                None => member_faces(&faces, identity, number, &member.id)?,
            };
            store.insert(name(&format!("face/{c}")), embeddings.clone());
            cast_faces.push(embeddings);
        }
        store.insert(name("tokens"), tokens.clone());
        films.push(PlannerFilm {
            number,
            script,
            tokens,
            faces: cast_faces,
        });
        progress(done + 1, total);
    }
    if cached.is_none() {
        save_tensors(cache, &store, DType::F32)?;
        write_atomically(
            &key_path,
            serde_json::to_string_pretty(&key)
                .unwrap_or_default()
                .as_bytes(),
        )?;
    }
    Ok(films)
}

/// What identifies a trained model directory for caching: its path, its config, and the
/// size and modification time of its weights (so retraining into the same place counts as
/// a different model).
pub fn model_fingerprint(dir: &Path) -> serde_json::Value {
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap_or_default();
    let weights = std::fs::metadata(dir.join(moviedreamer_nn::checkpoint::WEIGHTS_FILE)).ok();
    let modified = weights
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().to_string());
    serde_json::json!({
        "path": dir,
        "config": config,
        "weights_bytes": weights.map(|m| m.len()),
        "weights_modified": modified,
    })
}

fn film_dir(keyframes: &KeyframeDataset, item: usize) -> Result<PathBuf, DataError> {
    let path = &keyframes.items()[item].path;
    path.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| DataError::Shape(format!("{}: not inside a film folder", path.display())))
}

/// Tokens (versions, shots, K, D) of a film's keyframes.
fn film_tokens(
    keyframes: &KeyframeDataset,
    items: &[usize],
    tokenizer: &KeyframeTokenizer,
    versions: usize,
    seed: u64,
) -> Result<Tensor, TrainingError> {
    let pictures = items
        .iter()
        .map(|&i| keyframes.load_image(i))
        .collect::<Result<Vec<_>, _>>()?;
    let augment = Augment {
        flip: false,
        ..Augment::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut all = Vec::with_capacity(versions.max(1));
    for version in 0..versions.max(1) {
        let images: Vec<RgbImage> = if version == 0 {
            pictures.clone()
        } else {
            items
                .iter()
                .zip(&pictures)
                .map(|(&i, picture)| {
                    augment
                        .apply(picture, &keyframes.items()[i].labels, &mut rng)
                        .0
                })
                .collect()
        };
        all.push(tokenizer.encode(&to_tensor(&images, &Device::Cpu)?, false)?);
    }
    Ok(Tensor::stack(&all, 0)?)
}

/// Identity embeddings of one cast member: the portraits' mean, then every view. A member
/// never seen (no portrait, no face big enough) gets one zero row: no face information.
fn member_faces(
    faces: &FaceDataset,
    identity: &IdentityEncoder,
    film: usize,
    id: &str,
) -> Result<Tensor, TrainingError> {
    let size = identity.config().image_size as u32;
    let dim = identity.config().embed_dim;
    let Some(character) = faces
        .characters()
        .iter()
        .find(|c| c.film == film && c.id == id)
    else {
        return Ok(Tensor::zeros((1, dim), DType::F32, &Device::Cpu)?);
    };
    let images = character
        .views
        .iter()
        .map(|view| faces.load_view(view, size, None::<&mut ChaCha8Rng>))
        .collect::<Result<Vec<_>, _>>()?;
    if images.is_empty() {
        return Ok(Tensor::zeros((1, dim), DType::F32, &Device::Cpu)?);
    }
    let views = identity.forward(&to_tensor(&images, &Device::Cpu)?, false)?;
    let portraits = character
        .views
        .iter()
        .filter(|v| matches!(v, FaceSource::Portrait(_)))
        .count();
    let reference = if portraits > 0 {
        views.narrow(0, 0, portraits)?.mean_keepdim(0)?
    } else {
        views.mean_keepdim(0)?
    };
    Ok(Tensor::cat(&[unit_vectors(&reference)?, views], 0)?)
}
