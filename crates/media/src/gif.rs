//! Animated GIFs, for places that show pictures but not videos (issue trackers, chats).
//! GIF delays are whole hundredths of a second, so frame times are rounded to them; each
//! frame gets its own 256-colour palette (NeuQuant, as the `gif` crate does it).

use std::path::{Path, PathBuf};

use gif::{Encoder, Frame, Repeat};
use image::RgbImage;

use crate::MediaError;
use crate::partial::PartialFile;

/// Quantiser speed, 1 (best, slowest) to 30: 10 keeps flat colours clean at a fraction of
/// the slowest setting's cost.
const QUANTISER_SPEED: i32 = 10;

/// Writes an animated GIF frame by frame, looping forever.
pub struct GifWriter {
    encoder: Encoder<PartialFile>,
    path: PathBuf,
    width: u16,
    height: u16,
    delay: u16,
    frames: usize,
}

impl GifWriter {
    /// Starts a GIF of `width`×`height` pixels at `fps` frames per second.
    pub fn create(path: &Path, width: u32, height: u32, fps: u32) -> Result<Self, MediaError> {
        let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
            return Err(MediaError::Settings {
                path: path.to_path_buf(),
                message: format!("a GIF is at most 65,535 pixels a side, not {width}×{height}"),
            });
        };
        let encode_error = |err: gif::EncodingError| MediaError::Encode {
            path: path.to_path_buf(),
            what: "the GIF encoder",
            index: 0,
            message: err.to_string(),
        };
        let file = PartialFile::create(path)?;
        let mut encoder = Encoder::new(file, w, h, &[]).map_err(encode_error)?;
        encoder.set_repeat(Repeat::Infinite).map_err(encode_error)?;
        Ok(Self {
            encoder,
            path: path.to_path_buf(),
            width: w,
            height: h,
            delay: (100.0 / fps.max(1) as f64).round().max(1.0) as u16,
            frames: 0,
        })
    }

    /// Adds the next frame.
    pub fn push(&mut self, frame: &RgbImage) -> Result<(), MediaError> {
        if frame.dimensions() != (self.width as u32, self.height as u32) {
            return Err(MediaError::FrameSize {
                path: self.path.clone(),
                index: self.frames,
                width: self.width as u32,
                height: self.height as u32,
                got_width: frame.width(),
                got_height: frame.height(),
            });
        }
        let mut gif_frame =
            Frame::from_rgb_speed(self.width, self.height, frame.as_raw(), QUANTISER_SPEED);
        gif_frame.delay = self.delay;
        self.encoder
            .write_frame(&gif_frame)
            .map_err(|err| MediaError::Encode {
                path: self.path.clone(),
                what: "the GIF encoder",
                index: self.frames,
                message: err.to_string(),
            })?;
        self.frames += 1;
        Ok(())
    }

    /// Finishes the file and moves it into place; returns the number of frames.
    pub fn finish(self) -> Result<usize, MediaError> {
        let frames = self.frames;
        let file = self
            .encoder
            .into_inner()
            .map_err(|err| MediaError::Encode {
                path: self.path.clone(),
                what: "the GIF encoder",
                index: frames,
                message: err.to_string(),
            })?;
        file.commit()?;
        Ok(frames)
    }
}
