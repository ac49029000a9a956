//! H.264 movies in MP4: frames are encoded by OpenH264 (built from its bundled source, so no
//! system package is needed) and muxed by `muxide` with the index at the front, so browsers
//! start playing before the whole file has arrived.
//!
//! The stream is Constrained Baseline, 4:2:0, one keyframe every second: what browsers,
//! phones and common players all decode.

use std::path::Path;

use image::RgbImage;
use muxide::api::{Muxer, MuxerBuilder, VideoCodec};
use openh264::OpenH264API;
use openh264::encoder::{
    Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
    UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};

use crate::MediaError;
use crate::partial::PartialFile;

/// Writes an MP4 movie frame by frame; memory holds the encoded stream, not the frames.
pub struct Mp4Writer {
    encoder: Encoder,
    muxer: Muxer<PartialFile>,
    path: std::path::PathBuf,
    width: u32,
    height: u32,
    fps: u32,
    frames: usize,
    encoded: Vec<u8>,
}

impl Mp4Writer {
    /// Starts a movie of `width`×`height` pixels at `fps` frames per second. H.264 4:2:0
    /// needs even sides, at least 16 pixels.
    pub fn create(path: &Path, width: u32, height: u32, fps: u32) -> Result<Self, MediaError> {
        let settings = |message: String| MediaError::Settings {
            path: path.to_path_buf(),
            message,
        };
        if !width.is_multiple_of(2) || !height.is_multiple_of(2) || width < 16 || height < 16 {
            return Err(settings(format!(
                "an H.264 movie needs even sides of at least 16 pixels, not {width}×{height}\n  help: choose another frame size or scale"
            )));
        }
        if !(1..=120).contains(&fps) {
            return Err(settings(format!(
                "the frame rate must be 1 to 120 frames per second, not {fps}"
            )));
        }
        let config = EncoderConfig::new()
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            .usage_type(UsageType::CameraVideoRealTime)
            // A constant quantiser: every frame as sharp as the next, and no rate-control warnings
            // (OpenH264 wants frame skipping for those, and a movie keeps every frame).
            .rate_control_mode(RateControlMode::Off)
            .complexity(Complexity::High)
            // Every frame is kept: a movie's frame count and duration are what the user asked.
            .skip_frames(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(fps));
        let encoder =
            Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|err| {
                MediaError::Encode {
                    path: path.to_path_buf(),
                    what: "the H.264 encoder",
                    index: 0,
                    message: err.to_string(),
                }
            })?;
        let file = PartialFile::create(path)?;
        let muxer = MuxerBuilder::new(file)
            .video(VideoCodec::H264, width, height, fps as f64)
            .with_fast_start(true)
            .build()
            .map_err(|err| settings(format!("the MP4 muxer refused the settings: {err}")))?;
        Ok(Self {
            encoder,
            muxer,
            path: path.to_path_buf(),
            width,
            height,
            fps,
            frames: 0,
            encoded: Vec::new(),
        })
    }

    /// Encodes the next frame.
    pub fn push(&mut self, frame: &RgbImage) -> Result<(), MediaError> {
        if frame.dimensions() != (self.width, self.height) {
            return Err(MediaError::FrameSize {
                path: self.path.clone(),
                index: self.frames,
                width: self.width,
                height: self.height,
                got_width: frame.width(),
                got_height: frame.height(),
            });
        }
        let encode_error = |what, message: String| MediaError::Encode {
            path: self.path.clone(),
            what,
            index: self.frames,
            message,
        };
        let yuv = YUVBuffer::from_rgb8_source(RgbSliceU8::new(
            frame.as_raw(),
            (self.width as usize, self.height as usize),
        ));
        let stream = self
            .encoder
            .encode(&yuv)
            .map_err(|err| encode_error("the H.264 encoder", err.to_string()))?;
        let keyframe = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        self.encoded.clear();
        stream.write_vec(&mut self.encoded);
        let pts = self.frames as f64 / self.fps as f64;
        self.muxer
            .write_video(pts, &self.encoded, keyframe)
            .map_err(|err| encode_error("the MP4 muxer", err.to_string()))?;
        self.frames += 1;
        Ok(())
    }

    /// Finishes the file and moves it into place; returns the number of frames.
    pub fn finish(mut self) -> Result<usize, MediaError> {
        self.muxer
            .finish_in_place()
            .map_err(|err| MediaError::Encode {
                path: self.path.clone(),
                what: "the MP4 muxer",
                index: self.frames,
                message: err.to_string(),
            })?;
        self.muxer.into_writer().commit()?;
        Ok(self.frames)
    }
}
