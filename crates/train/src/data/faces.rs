//! Faces of StoryWorld characters, for the identity encoder: each character's portraits and
//! the faces cut from the keyframes it appears in, by their exact face boxes.
//!
//! A character is one cast member of one film. Its views differ in style, pose, framing and
//! size, which is exactly what an identity embedding must see through. Faces smaller than
//! [`MIN_FACE`] pixels are left out: too few pixels to tell anyone apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use moviedreamer_storyworld::identity::Split;
use rand::Rng;

use super::augment::bilinear;
use super::dataset::KeyframeDataset;
use super::error::DataError;
use super::labels::PixelBox;

/// Smallest face box side, in pixels, taken as a view.
pub const MIN_FACE: f32 = 6.0;

/// Where one view of a face comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FaceSource {
    /// A reference portrait file.
    Portrait(PathBuf),
    /// The face box of a keyframe of the dataset.
    Keyframe {
        /// Index of the keyframe in the split.
        item: usize,
        /// Its face box.
        face_box: PixelBox,
    },
}

/// One cast member of one film and every view of its face.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceCharacter {
    /// The film's number.
    pub film: usize,
    /// The character's id in the film's cast.
    pub id: String,
    /// Its portraits first, then its keyframe faces in film order.
    pub views: Vec<FaceSource>,
}

/// The characters of one split with their views.
#[derive(Debug, Clone)]
pub struct FaceDataset {
    keyframes: KeyframeDataset,
    characters: Vec<FaceCharacter>,
}

impl FaceDataset {
    /// Indexes the faces of `split` of the dataset in `dir`: every portrait file
    /// (`portraits/<id>-<n>.png`) and every keyframe face at least [`MIN_FACE`] wide.
    pub fn open(dir: impl AsRef<Path>, split: Split) -> Result<Self, DataError> {
        let keyframes = KeyframeDataset::open(dir, split)?;
        let mut characters: BTreeMap<(usize, String), FaceCharacter> = BTreeMap::new();
        let mut film_dirs = BTreeMap::new();
        for (item, keyframe) in keyframes.items().iter().enumerate() {
            if let Some(film_dir) = keyframe.path.parent().and_then(Path::parent) {
                film_dirs.insert(keyframe.film, film_dir.to_path_buf());
            }
            for actor in &keyframe.labels.actors {
                let [x0, y0, x1, y1] = actor.face_box;
                if (x1 - x0).min(y1 - y0) < MIN_FACE {
                    continue;
                }
                character(&mut characters, keyframe.film, &actor.id)
                    .views
                    .push(FaceSource::Keyframe {
                        item,
                        face_box: actor.face_box,
                    });
            }
        }
        for (film, film_dir) in film_dirs {
            let portraits = film_dir.join("portraits");
            let Ok(entries) = std::fs::read_dir(&portraits) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            for file in files {
                let Some(id) = portrait_owner(&file) else {
                    continue;
                };
                let views = &mut character(&mut characters, film, &id).views;
                let first_keyframe = views
                    .iter()
                    .position(|v| matches!(v, FaceSource::Keyframe { .. }))
                    .unwrap_or(views.len());
                views.insert(first_keyframe, FaceSource::Portrait(file));
            }
        }
        Ok(FaceDataset {
            keyframes,
            characters: characters.into_values().collect(),
        })
    }

    /// The split's keyframes the faces are cut from.
    pub fn keyframes(&self) -> &KeyframeDataset {
        &self.keyframes
    }

    /// The characters, by film then id.
    pub fn characters(&self) -> &[FaceCharacter] {
        &self.characters
    }

    /// Reads one view as a `size`×`size` face. With `rng` (training) the framing is jittered
    /// a little (scale and shift) and half the faces are mirrored; colours are never
    /// changed, since skin and hair colour are part of who someone is.
    pub fn load_view(
        &self,
        source: &FaceSource,
        size: u32,
        rng: Option<&mut impl Rng>,
    ) -> Result<RgbImage, DataError> {
        let (image, [x0, y0, x1, y1]) = match source {
            FaceSource::Portrait(path) => {
                let image = image::open(path)
                    .map_err(|err| DataError::Image {
                        path: path.clone(),
                        message: format!("cannot read the portrait: {err}"),
                    })?
                    .to_rgb8();
                let (w, h) = (image.width() as f32, image.height() as f32);
                (image, [0.0, 0.0, w, h])
            }
            FaceSource::Keyframe { item, face_box } => {
                (self.keyframes.load_image(*item)?, *face_box)
            }
        };
        let (mut cx, mut cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        // Keyframe faces get a margin for hair and hats; portraits are framed already.
        let mut side = match source {
            FaceSource::Portrait(_) => (x1 - x0).max(y1 - y0),
            FaceSource::Keyframe { .. } => (x1 - x0).max(y1 - y0) * 1.3,
        };
        let mut mirror = false;
        if let Some(rng) = rng {
            side *= rng.random_range(0.9..1.1);
            cx += side * rng.random_range(-0.06..0.06);
            cy += side * rng.random_range(-0.06..0.06);
            mirror = rng.random_bool(0.5);
        }
        let face = square_crop(&image, cx, cy, side, size);
        Ok(if mirror {
            image::imageops::flip_horizontal(&face)
        } else {
            face
        })
    }
}

fn character<'a>(
    characters: &'a mut BTreeMap<(usize, String), FaceCharacter>,
    film: usize,
    id: &str,
) -> &'a mut FaceCharacter {
    characters
        .entry((film, id.to_owned()))
        .or_insert_with(|| FaceCharacter {
            film,
            id: id.to_owned(),
            views: Vec::new(),
        })
}

/// The character id of a portrait file `<id>-<n>.png`.
fn portrait_owner(path: &Path) -> Option<String> {
    if path.extension()? != "png" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    let (id, number) = stem.rsplit_once('-')?;
    number.parse::<u32>().ok()?;
    Some(id.to_owned())
}

/// A reference face image (a portrait, as scripts give them) framed as the identity encoder
/// reads it: the whole picture, squared about its centre, at `size`×`size`.
pub fn reference_face(image: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    square_crop(image, w / 2.0, h / 2.0, w.max(h), size)
}

/// The square of side `side` centred at (`cx`, `cy`), resampled to `size`×`size`; beyond
/// the picture the edge pixels extend.
pub fn square_crop(image: &RgbImage, cx: f32, cy: f32, side: f32, size: u32) -> RgbImage {
    let scale = side.max(1.0) / size as f32;
    let (left, top) = (cx - side / 2.0, cy - side / 2.0);
    RgbImage::from_fn(size, size, |i, j| {
        let x = left + (i as f32 + 0.5) * scale - 0.5;
        let y = top + (j as f32 + 0.5) * scale - 0.5;
        bilinear(image, x, y)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn portrait_files_name_their_owner() {
        assert_eq!(
            portrait_owner(Path::new("p/mara-ivo-2.png")),
            Some("mara-ivo".to_owned())
        );
        assert_eq!(portrait_owner(Path::new("p/mara.png")), None);
        assert_eq!(portrait_owner(Path::new("p/mara-1.txt")), None);
    }

    #[test]
    fn a_square_crop_of_the_whole_picture_at_its_size_is_the_picture() {
        let image = RgbImage::from_fn(8, 8, |i, j| Rgb([i as u8 * 30, j as u8 * 30, 7]));
        assert_eq!(square_crop(&image, 4.0, 4.0, 8.0, 8), image);
        // The right half, magnified twice: the first output pixel's centre falls at source
        // x = 3.75, between columns 3 (red 90) and 4 (red 120): 112.5, rounded.
        let half = square_crop(&image, 6.0, 4.0, 4.0, 8);
        assert_eq!(half.get_pixel(0, 0).0[0], 113);
    }
}
