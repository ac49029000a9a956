//! One movie, several files: every frame goes to each format asked for (MP4, GIF, a folder
//! of PNG frames), scaled up without smoothing so small pictures stay crisp. Title cards are
//! drawn at the movie's size.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use crate::MediaError;
use crate::gif::GifWriter;
use crate::mp4::Mp4Writer;
use crate::sheet::{draw_text_scaled, wrap};

/// Which files a movie is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MovieFormats {
    /// `movie.mp4`: H.264, plays in browsers and common players.
    pub mp4: bool,
    /// `movie.gif`: animated GIF.
    pub gif: bool,
    /// `frames/000000.png …`: every frame as a PNG.
    pub frames: bool,
}

/// What was written.
#[derive(Clone, Debug)]
pub struct MovieSummary {
    /// Frames in the movie.
    pub frames: usize,
    /// Frames per second.
    pub fps: u32,
    /// Width and height of a frame, in pixels.
    pub size: (u32, u32),
    /// The files and folders written, in the order MP4, GIF, frames.
    pub files: Vec<PathBuf>,
}

impl MovieSummary {
    /// Length of the movie in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / self.fps as f64
    }
}

/// The PNG frames of a movie in progress: a hidden folder renamed into place at the end.
struct FrameFolder {
    partial: PathBuf,
    path: PathBuf,
}

/// Writes the frames of one movie to every format asked for.
pub struct MovieWriter {
    mp4: Option<Mp4Writer>,
    gif: Option<GifWriter>,
    frames_dir: Option<FrameFolder>,
    files: Vec<PathBuf>,
    fps: u32,
    scale: u32,
    size: (u32, u32),
    frames: usize,
}

impl MovieWriter {
    /// Starts `DIR/movie.mp4`, `DIR/movie.gif` and `DIR/frames/` (as `formats` says) for
    /// source pictures of `width`×`height` shown `scale` times larger at `fps`.
    pub fn create(
        dir: &Path,
        width: u32,
        height: u32,
        scale: u32,
        fps: u32,
        formats: MovieFormats,
    ) -> Result<Self, MediaError> {
        let scale = scale.max(1);
        let size = (width * scale, height * scale);
        let mut files = Vec::new();
        let mp4 = if formats.mp4 {
            let path = dir.join("movie.mp4");
            let writer = Mp4Writer::create(&path, size.0, size.1, fps)?;
            files.push(path);
            Some(writer)
        } else {
            None
        };
        let gif = if formats.gif {
            let path = dir.join("movie.gif");
            let writer = GifWriter::create(&path, size.0, size.1, fps)?;
            files.push(path);
            Some(writer)
        } else {
            None
        };
        let frames_dir = if formats.frames {
            let path = dir.join("frames");
            let partial = dir.join(".frames.partial");
            if partial.exists() {
                std::fs::remove_dir_all(&partial).map_err(MediaError::io(&partial))?;
            }
            std::fs::create_dir_all(&partial).map_err(MediaError::io(&partial))?;
            files.push(path.clone());
            Some(FrameFolder { partial, path })
        } else {
            None
        };
        Ok(Self {
            mp4,
            gif,
            frames_dir,
            files,
            fps,
            scale,
            size,
            frames: 0,
        })
    }

    /// Width and height of the movie's frames.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Adds a source picture as the next frame (scaled to the movie's size).
    pub fn push(&mut self, picture: &RgbImage) -> Result<(), MediaError> {
        let expected = (self.size.0 / self.scale, self.size.1 / self.scale);
        if picture.dimensions() != expected {
            return Err(MediaError::FrameSize {
                path: self.files.first().cloned().unwrap_or_default(),
                index: self.frames,
                width: expected.0,
                height: expected.1,
                got_width: picture.width(),
                got_height: picture.height(),
            });
        }
        if self.scale == 1 {
            return self.push_full_size(picture, 1);
        }
        let frame = image::imageops::resize(
            picture,
            self.size.0,
            self.size.1,
            image::imageops::FilterType::Nearest,
        );
        self.push_full_size(&frame, 1)
    }

    /// Shows `lines` of text on a dark card for `seconds`.
    pub fn push_title(&mut self, lines: &[String], seconds: f32) -> Result<(), MediaError> {
        let card = title_card(lines, self.size.0, self.size.1);
        let count = ((seconds * self.fps as f32).round() as usize).max(1);
        self.push_full_size(&card, count)
    }

    fn push_full_size(&mut self, frame: &RgbImage, count: usize) -> Result<(), MediaError> {
        for _ in 0..count {
            if let Some(mp4) = &mut self.mp4 {
                mp4.push(frame)?;
            }
            if let Some(gif) = &mut self.gif {
                gif.push(frame)?;
            }
            if let Some(folder) = &self.frames_dir {
                let path = folder.partial.join(format!("{:06}.png", self.frames));
                frame.save(&path).map_err(|err| MediaError::Encode {
                    path: path.clone(),
                    what: "the PNG encoder",
                    index: self.frames,
                    message: err.to_string(),
                })?;
            }
            self.frames += 1;
        }
        Ok(())
    }

    /// Finishes every file and moves it into place.
    pub fn finish(self) -> Result<MovieSummary, MediaError> {
        if let Some(mp4) = self.mp4 {
            mp4.finish()?;
        }
        if let Some(gif) = self.gif {
            gif.finish()?;
        }
        if let Some(folder) = self.frames_dir {
            if folder.path.exists() {
                std::fs::remove_dir_all(&folder.path).map_err(MediaError::io(&folder.path))?;
            }
            std::fs::rename(&folder.partial, &folder.path).map_err(MediaError::io(&folder.path))?;
        }
        Ok(MovieSummary {
            frames: self.frames,
            fps: self.fps,
            size: self.size,
            files: self.files,
        })
    }
}

const CARD: Rgb<u8> = Rgb([22, 22, 28]);
const CARD_INK: Rgb<u8> = Rgb([236, 232, 220]);

/// A dark card of `width`×`height` pixels with `lines` of light text centred on it; long
/// lines are wrapped, and the text is as large as the card allows (at least 8 px).
pub fn title_card(lines: &[String], width: u32, height: u32) -> RgbImage {
    let mut card = RgbImage::from_pixel(width, height, CARD);
    let glyph_scale = (width / 128).max(1);
    let char_width = 8 * glyph_scale;
    let line_height = 10 * glyph_scale;
    let per_line = ((width.saturating_sub(2 * char_width)) / char_width).max(1) as usize;
    let wrapped: Vec<String> = lines.iter().flat_map(|line| wrap(line, per_line)).collect();
    let fits = (height / line_height).max(1) as usize;
    let shown = &wrapped[..wrapped.len().min(fits)];
    let top = height.saturating_sub(shown.len() as u32 * line_height) / 2;
    for (k, line) in shown.iter().enumerate() {
        let text_width = line.chars().count() as u32 * char_width;
        let left = width.saturating_sub(text_width) / 2;
        draw_text_scaled(
            &mut card,
            left,
            top + k as u32 * line_height,
            line,
            CARD_INK,
            glyph_scale,
        );
    }
    card
}
