//! The renderer: a pure function from a [`FrameSpec`] to an RGB picture and its exact
//! labels. Same spec and size, same bytes.

mod background;
mod canvas;
mod figure;
mod visibility;

use serde::{Deserialize, Serialize};
use tiny_skia::Transform;

pub use canvas::{Canvas, ellipse, polygon, rect, rounded_rect};
pub use visibility::{pose_visible, trait_uncovered, trait_value_distinct, trait_visible};

use crate::identity::Identity;
use crate::spec::FrameSpec;
use crate::world::{Facing, Location, Pose, ShotType, Slot, Style, TimeOfDay};

/// Smallest picture side the renderer draws.
pub const MIN_SIZE: u32 = 32;
/// Largest picture side the renderer draws.
pub const MAX_SIZE: u32 = 256;

/// Why a picture could not be drawn.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RenderError {
    /// The size is outside [`MIN_SIZE`]..=[`MAX_SIZE`].
    #[error("picture size {0} is outside {MIN_SIZE} to {MAX_SIZE} pixels")]
    Size(u32),
}

/// What a character in a picture is, where, and doing what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorLabel {
    /// Traits.
    pub identity: Identity,
    /// Slot.
    pub slot: Slot,
    /// Pose.
    pub pose: Pose,
    /// Facing.
    pub facing: Facing,
    /// Box of the whole figure in pixels, (x0, y0, x1, y1), clipped to the picture.
    pub bbox: [f32; 4],
    /// Box of the head in pixels, clipped to the picture.
    pub face_box: [f32; 4],
}

/// The exact labels of a picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameLabels {
    /// The place.
    pub location: Location,
    /// The time of day.
    pub time: TimeOfDay,
    /// The style.
    pub style: Style,
    /// The shot type.
    pub shot: ShotType,
    /// The characters drawn (in a close-up, only the first of the spec).
    pub actors: Vec<ActorLabel>,
}

/// How a shot type frames the world: background magnification and the figure scale,
/// ground line and slot positions in frame units.
struct Framing {
    background_zoom: f32,
    background_focus: (f32, f32),
    figure_scale: f32,
    slot_x: [f32; 3],
}

fn framing(shot: ShotType) -> Framing {
    match shot {
        ShotType::Wide => Framing {
            background_zoom: 1.0,
            background_focus: (0.5, 0.6),
            figure_scale: 0.5,
            slot_x: [0.2, 0.5, 0.8],
        },
        ShotType::Medium => Framing {
            background_zoom: 1.5,
            background_focus: (0.5, 0.62),
            figure_scale: 1.25,
            slot_x: [0.17, 0.5, 0.83],
        },
        ShotType::CloseUp => Framing {
            background_zoom: 2.4,
            background_focus: (0.5, 0.5),
            figure_scale: 2.3,
            slot_x: [0.5, 0.5, 0.5],
        },
    }
}

/// Where a figure's feet are in frame units, so that wide shots show whole bodies, medium
/// shots cut at the hips and close-ups fill the frame with the face, whatever the height
/// and the pose (a seated or jumping character's face is framed like a standing one's, as
/// the keyframe shows it; a clip's motion then moves it within the frame).
fn ground_y(shot: ShotType, identity: &Identity, pose: Pose, scale: f32) -> f32 {
    let height = identity.height_scale();
    match shot {
        ShotType::Wide => 0.92,
        // The hips sit on the bottom edge.
        ShotType::Medium => 1.0 + 0.45 * scale,
        // The head centre sits at 0.5 of the frame.
        ShotType::CloseUp => 0.5 + scale * (height - 0.1 - figure::head_shift(identity, pose, 0.0)),
    }
}

/// Light by time of day: dusk is warm, night is dark and blue outside, lamp-lit inside.
fn light(location: Location, time: TimeOfDay, extra: f32) -> [f32; 3] {
    let base = match (time, location.is_interior()) {
        (TimeOfDay::Day, _) => [1.0, 1.0, 1.0],
        (TimeOfDay::Dusk, _) => [1.0, 0.88, 0.78],
        (TimeOfDay::Night, false) => [0.62, 0.68, 0.92],
        (TimeOfDay::Night, true) => [0.86, 0.8, 0.7],
    };
    base.map(|c| c * extra)
}

/// The per-channel factor that brings a finished keyframe's colours back to what daylight
/// shows: the inverse of the scene's light, or, in sepia (which keeps only brightness), of
/// the light's weight in the brightness. The evaluator learns to predict it from the whole
/// keyframe and reads figures in the balanced colours, where a skin tone is one colour at
/// every time of day instead of colliding with its neighbour under another light.
pub fn daylight_gain(style: Style, location: Location, time: TimeOfDay) -> [f32; 3] {
    let [r, g, b] = light(location, time, 1.0);
    if style == Style::Sepia {
        [1.0 / (0.299 * r + 0.587 * g + 0.114 * b); 3]
    } else {
        [1.0 / r, 1.0 / g, 1.0 / b]
    }
}

/// Draws `spec` as a `size` × `size` picture and returns it with its labels.
pub fn render(spec: &FrameSpec, size: u32) -> Result<(image::RgbImage, FrameLabels), RenderError> {
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        return Err(RenderError::Size(size));
    }
    let base_colour = background::base_colour(spec.location, spec.time);
    let mut canvas = Canvas::new(size, spec.style, base_colour).ok_or(RenderError::Size(size))?;
    let px = size as f32;
    // Frame units to pixels, through the camera: zoom about the centre, then pan.
    let camera = Transform::from_scale(px, px)
        .pre_translate(0.5, 0.5)
        .pre_scale(spec.camera.zoom, spec.camera.zoom)
        .pre_translate(-0.5 - spec.camera.pan, -0.5);
    let frame = framing(spec.shot);

    let (fx, fy) = frame.background_focus;
    canvas.set_transform(
        camera
            .pre_translate(fx, fy)
            .pre_scale(frame.background_zoom, frame.background_zoom)
            .pre_translate(-fx, -fy),
    );
    background::draw(&mut canvas, spec.location, spec.time);

    let mut actors = Vec::new();
    for actor in spec.visible_actors() {
        let scale = frame.figure_scale;
        let walked = if actor.pose == Pose::Walk {
            spec.walked * actor.facing.sign()
        } else {
            0.0
        };
        let x = frame.slot_x[crate::world::slot_index(actor.slot)] + walked;
        let placement = camera
            .pre_translate(x, ground_y(spec.shot, &actor.identity, actor.pose, scale))
            .pre_scale(scale, scale);
        let boxes = figure::draw(
            &mut canvas,
            placement,
            &actor.identity,
            actor.pose,
            actor.facing,
            spec.phase,
            spec.head_turn,
        );
        actors.push(ActorLabel {
            identity: actor.identity,
            slot: actor.slot,
            pose: actor.pose,
            facing: actor.facing,
            bbox: clip(boxes.body, px),
            face_box: clip(boxes.face, px),
        });
    }
    let image = canvas.finish(light(spec.location, spec.time, spec.light));
    let labels = FrameLabels {
        location: spec.location,
        time: spec.time,
        style: spec.style,
        shot: spec.shot,
        actors,
    };
    Ok((image, labels))
}

/// Clips a box to the picture and rounds it to a hundredth of a pixel, which keeps label
/// files short.
fn clip(b: [f32; 4], size: f32) -> [f32; 4] {
    b.map(|v| (v.clamp(0.0, size) * 100.0).round() / 100.0)
}

/// One of a character's reference portraits: how the head is turned, the expression and
/// the light vary between them, never the traits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortraitVariant {
    /// Head turn, -1 to 1.
    pub turn: f32,
    /// Mouth open as if speaking.
    pub speaking: bool,
    /// Light level (1 = neutral).
    pub light: f32,
}

impl PortraitVariant {
    /// The `index`-th portrait of a character: the first is a neutral front view, the
    /// others turn the head, open the mouth and change the light in a fixed cycle.
    pub fn nth(index: usize) -> PortraitVariant {
        const TURNS: [f32; 6] = [0.0, 0.55, -0.55, 0.3, -0.3, 0.8];
        const LIGHTS: [f32; 5] = [1.0, 0.9, 1.08, 0.82, 0.96];
        PortraitVariant {
            turn: TURNS[index % TURNS.len()],
            speaking: index % 3 == 2,
            light: LIGHTS[index % LIGHTS.len()],
        }
    }
}

/// A full-body reference picture: the character standing, seen from the front, head to
/// feet on a plain studio backdrop: the picture a script gives to fix a costume.
pub fn render_full_body(identity: &Identity, size: u32) -> Result<image::RgbImage, RenderError> {
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        return Err(RenderError::Size(size));
    }
    let px = size as f32;
    let mut canvas =
        Canvas::new(size, Style::Flat, [206, 204, 198]).ok_or(RenderError::Size(size))?;
    canvas.set_transform(Transform::from_scale(px, px));
    // The floor, so the feet stand on something.
    canvas.fill_plain(rect(0.0, 0.9, 1.0, 1.0), [184, 180, 172]);
    draw_standing(&mut canvas, identity, FULL_BODY_SCALE, 0.95);
    Ok(canvas.finish([1.0; 3]))
}

/// Draws `identity` standing still and facing the viewer, `scale` figure units to the
/// picture's side, its feet at (0.5, `ground`) of the picture.
fn draw_standing(canvas: &mut Canvas, identity: &Identity, scale: f32, ground: f32) {
    let px = canvas.size();
    let placement = Transform::from_scale(px, px)
        .pre_translate(0.5, ground)
        .pre_scale(scale, scale);
    figure::draw(
        canvas,
        placement,
        identity,
        Pose::Stand,
        Facing::Front,
        0.0,
        0.0,
    );
}

/// Figure scale of a full-body picture: the tallest characters fill the frame's height.
const FULL_BODY_SCALE: f32 = 0.85;

/// A reference portrait: a flat-style close-up of the face on a plain studio backdrop,
/// the face image a script gives for a character.
pub fn render_portrait(
    identity: &Identity,
    variant: PortraitVariant,
    size: u32,
) -> Result<image::RgbImage, RenderError> {
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        return Err(RenderError::Size(size));
    }
    let px = size as f32;
    let mut canvas =
        Canvas::new(size, Style::Flat, [206, 204, 198]).ok_or(RenderError::Size(size))?;
    canvas.set_transform(Transform::from_scale(px, px));
    canvas.fill_plain(ellipse(0.5, 0.45, 0.42, 0.42), [228, 226, 220]);
    let scale = framing(ShotType::CloseUp).figure_scale;
    let (pose, phase) = if variant.speaking {
        (Pose::Talk, 1.0 / 12.0)
    } else {
        (Pose::Stand, 0.0)
    };
    let placement = Transform::from_scale(px, px)
        .pre_translate(0.5, ground_y(ShotType::CloseUp, identity, pose, scale))
        .pre_scale(scale, scale);
    figure::draw(
        &mut canvas,
        placement,
        identity,
        pose,
        Facing::Front,
        phase,
        variant.turn,
    );
    Ok(canvas.finish([variant.light; 3]))
}
