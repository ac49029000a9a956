//! Ground-truth clips: the motion of a shot, frame by frame, starting at its keyframe.
//! They teach the animator what walking, waving, jumping, talking and camera moves look
//! like.

use crate::spec::{Camera, FrameSpec};
use crate::world::CameraMove;

/// Fewest frames in a clip.
pub const MIN_FRAMES: usize = 8;
/// Most frames in a clip.
pub const MAX_FRAMES: usize = 16;

/// How far a camera move goes over a whole clip: pans by a fifth of the frame, zooms by 30%.
const PAN: f32 = 0.2;
const ZOOM: f32 = 0.3;
/// How far walkers walk over a whole clip, in frame widths.
const WALK: f32 = 0.18;

/// The specs of a clip of `frames` frames (clamped to 8..=16) for a shot whose keyframe is
/// `keyframe`. Frame 0 is the keyframe itself. Pose motions run one full cycle over the
/// clip (a stride of each leg, a wave back and forth).
pub fn clip_specs(
    keyframe: &FrameSpec,
    camera: Option<CameraMove>,
    frames: usize,
) -> Vec<FrameSpec> {
    let frames = frames.clamp(MIN_FRAMES, MAX_FRAMES);
    (0..frames)
        .map(|k| {
            let t = k as f32 / (frames - 1) as f32;
            let mut spec = keyframe.clone();
            spec.phase = k as f32 / frames as f32;
            spec.walked = WALK * t;
            spec.camera = match camera {
                None | Some(CameraMove::Static) => keyframe.camera,
                Some(CameraMove::PanLeft) => Camera {
                    pan: keyframe.camera.pan - PAN * t,
                    ..keyframe.camera
                },
                Some(CameraMove::PanRight) => Camera {
                    pan: keyframe.camera.pan + PAN * t,
                    ..keyframe.camera
                },
                Some(CameraMove::ZoomIn) => Camera {
                    zoom: keyframe.camera.zoom * (1.0 + ZOOM * t),
                    ..keyframe.camera
                },
                Some(CameraMove::ZoomOut) => Camera {
                    zoom: keyframe.camera.zoom / (1.0 + ZOOM * t),
                    ..keyframe.camera
                },
            };
            spec
        })
        .collect()
}
