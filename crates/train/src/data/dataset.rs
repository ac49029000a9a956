//! The keyframes of one split of a StoryWorld dataset, indexed with their labels.
//!
//! Opening reads every film's `labels.jsonl` and checks that each keyframe file exists, so a
//! damaged dataset is reported with the file and line before training starts rather than
//! hours into it. Pictures are read on demand ([`KeyframeDataset::load_image`]): a split of
//! 100 films of 50 shots is 5,000 pictures, and only the batch in hand is needed.
//!
//! Films are taken in the order of their number and shots in the order of their lines, so
//! the index (and everything seeded on top of it) is the same on every machine.

use std::path::{Path, PathBuf};

use image::RgbImage;
use moviedreamer_storyworld::dataset::DatasetConfig;
use moviedreamer_storyworld::identity::Split;

use super::error::DataError;
use super::labels::{KeyframeLabels, parse_label_line};

/// One keyframe of the index.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyframeItem {
    /// The film's number (`film-00012` is 12).
    pub film: usize,
    /// The shot's number in the film.
    pub shot: usize,
    /// The scene of the film the shot belongs to.
    pub scene: usize,
    /// The keyframe picture.
    pub path: PathBuf,
    /// What the keyframe shows.
    pub labels: KeyframeLabels,
}

/// The keyframes of one split, in film then shot order.
#[derive(Debug, Clone)]
pub struct KeyframeDataset {
    dir: PathBuf,
    split: Split,
    config: DatasetConfig,
    items: Vec<KeyframeItem>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The number of a film folder named `film-NNNNN`; anything else (a hidden `.partial`
/// folder of an interrupted generation, a stray file) is not a film.
fn film_number(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("film-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl KeyframeDataset {
    /// Reads the index of `split` in the dataset at `dir` (the folder holding
    /// `dataset.json`).
    pub fn open(dir: impl AsRef<Path>, split: Split) -> Result<Self, DataError> {
        let dir = dir.as_ref();
        let settings = dir.join("dataset.json");
        if !settings.is_file() {
            return Err(DataError::MissingDataset {
                dir: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(&settings).map_err(io(&settings))?;
        let config: DatasetConfig =
            serde_json::from_str(&text).map_err(|err| DataError::Settings {
                path: settings.clone(),
                message: err.to_string(),
            })?;

        let split_dir = dir.join(split.name());
        if !split_dir.is_dir() {
            return Err(DataError::EmptySplit { path: split_dir });
        }
        let mut films = Vec::new();
        for entry in std::fs::read_dir(&split_dir).map_err(io(&split_dir))? {
            let entry = entry.map_err(io(&split_dir))?;
            let name = entry.file_name();
            if let Some(number) = name.to_str().and_then(film_number)
                && entry.path().is_dir()
            {
                films.push((number, entry.path()));
            }
        }
        films.sort();

        let mut items = Vec::new();
        for (film, film_dir) in films {
            read_film(film, &film_dir, &mut items)?;
        }
        if items.is_empty() {
            return Err(DataError::EmptySplit { path: split_dir });
        }
        Ok(KeyframeDataset {
            dir: dir.to_path_buf(),
            split,
            config,
            items,
        })
    }

    /// The dataset's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The split this index covers.
    pub fn split(&self) -> Split {
        self.split
    }

    /// The settings the dataset was generated with (`dataset.json`).
    pub fn config(&self) -> &DatasetConfig {
        &self.config
    }

    /// The side of every keyframe in pixels.
    pub fn image_size(&self) -> u32 {
        self.config.size
    }

    /// How many keyframes the split holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the split holds no keyframes (never true of an opened dataset).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The `i`-th keyframe, if there is one.
    pub fn get(&self, i: usize) -> Option<&KeyframeItem> {
        self.items.get(i)
    }

    /// Every keyframe, in index order.
    pub fn items(&self) -> &[KeyframeItem] {
        &self.items
    }

    /// Reads the `i`-th keyframe's picture, checking it has the dataset's size so that
    /// every picture of a batch stacks into one tensor.
    pub fn load_image(&self, i: usize) -> Result<RgbImage, DataError> {
        let item = self.items.get(i).ok_or(DataError::Index {
            index: i,
            len: self.items.len(),
        })?;
        let image = image::open(&item.path)
            .map_err(|err| DataError::Image {
                path: item.path.clone(),
                message: format!("cannot read the picture: {err}"),
            })?
            .to_rgb8();
        let size = self.config.size;
        if image.dimensions() != (size, size) {
            return Err(DataError::Image {
                path: item.path.clone(),
                message: format!(
                    "the picture is {}x{} but dataset.json says keyframes are {size}x{size}",
                    image.width(),
                    image.height()
                ),
            });
        }
        Ok(image)
    }
}

/// Appends the keyframes of one film to `items`.
fn read_film(film: usize, dir: &Path, items: &mut Vec<KeyframeItem>) -> Result<(), DataError> {
    let labels_path = dir.join("labels.jsonl");
    let text = std::fs::read_to_string(&labels_path).map_err(io(&labels_path))?;
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = parse_label_line(line).map_err(|problem| DataError::Label {
            path: labels_path.clone(),
            line: number,
            message: problem.to_string(),
        })?;
        let path = dir
            .join("keyframes")
            .join(format!("{:06}.png", parsed.shot));
        if !path.is_file() {
            return Err(DataError::MissingImage {
                labels: labels_path,
                line: number,
                image: path,
            });
        }
        items.push(KeyframeItem {
            film,
            shot: parsed.shot,
            scene: parsed.scene,
            path,
            labels: parsed.labels,
        });
    }
    Ok(())
}

/// Reads a film's `script.yaml`, naming it if it cannot.
pub fn read_film_script(path: &Path) -> Result<moviedreamer_script::Script, DataError> {
    Ok(moviedreamer_script::load(path)
        .map_err(|err| DataError::Script {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?
        .script)
}

#[cfg(test)]
mod tests {
    use super::film_number;

    #[test]
    fn only_complete_film_folders_count() {
        assert_eq!(film_number("film-00012"), Some(12));
        assert_eq!(film_number(".film-00012.partial"), None);
        assert_eq!(film_number("film-"), None);
        assert_eq!(film_number("film-12a"), None);
        assert_eq!(film_number("notes.txt"), None);
    }
}
