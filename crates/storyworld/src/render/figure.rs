//! Drawing a character from its traits, pose and facing.
//!
//! A figure is drawn in its own units: feet at the origin, up is negative y, a
//! medium-height character is 1 unit tall. Facing left mirrors the drawing. Every point
//! that bounds the figure or its face is recorded so labels are exact boxes of what was
//! drawn.

use std::f32::consts::PI;

use tiny_skia::{Point, Transform};

use crate::identity::{Accessory, HairStyle, HeadShape, Identity, Mouth, Pattern, Rgb};
use crate::render::canvas::{Canvas, ellipse, polygon, rect, rounded_rect};
use crate::world::{Facing, Pose};

const TROUSERS: Rgb = [62, 66, 84];
const SHOES: Rgb = [40, 32, 30];
const HAT_BLACK: Rgb = [34, 34, 40];
const BERET: Rgb = [150, 40, 64];
const SCARF: Rgb = [200, 44, 44];
const BOW: Rgb = [240, 90, 150];
const LENS: Rgb = [225, 238, 246];
const FRAME: Rgb = [36, 36, 40];
const MOUTH: Rgb = [140, 50, 60];

/// Pixel boxes (x0, y0, x1, y1) of what was drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FigureBoxes {
    /// The whole figure, hat and raised hands included.
    pub body: [f32; 4],
    /// The head.
    pub face: [f32; 4],
}

/// Draws a character with the canvas transform set to `placement` (figure units to
/// pixels, before mirroring) and returns the boxes of what was drawn.
pub fn draw(
    canvas: &mut Canvas,
    placement: Transform,
    identity: &Identity,
    pose: Pose,
    facing: Facing,
    phase: f32,
    head_turn: f32,
) -> FigureBoxes {
    let mirror = if facing == Facing::Left { -1.0 } else { 1.0 };
    canvas.set_transform(placement.pre_scale(mirror, 1.0));
    let mut figure = Figure {
        canvas,
        identity,
        pose,
        phase,
        side: facing != Facing::Front,
        // A mirrored drawing turns the head the other way round; undo that.
        head_turn: head_turn * mirror,
        body_points: Vec::new(),
        face_points: Vec::new(),
    };
    figure.draw();
    let transform = figure.canvas.transform();
    FigureBoxes {
        body: bounding_box(&figure.body_points, transform),
        face: bounding_box(&figure.face_points, transform),
    }
}

/// How far a pose moves the body up or down, in figure units (down is positive): the lift
/// of a jump (negative, the whole body) and the sink of sitting (positive, the upper body
/// onto a stool).
fn pose_shift(identity: &Identity, pose: Pose, phase: f32) -> (f32, f32) {
    let height = identity.height_scale();
    let lift = match pose {
        Pose::Jump => -(0.1 + 0.12 * (PI * phase).sin()) * height,
        _ => 0.0,
    };
    let sink = if pose == Pose::Sit {
        0.16 * height
    } else {
        0.0
    };
    (lift, sink)
}

/// How far a pose moves the head from where standing puts it, in figure units (down is
/// positive): close-ups frame the face, so they move the figure back by this much.
pub fn head_shift(identity: &Identity, pose: Pose, phase: f32) -> f32 {
    let (lift, sink) = pose_shift(identity, pose, phase);
    lift + sink
}

fn bounding_box(points: &[(f32, f32)], transform: Transform) -> [f32; 4] {
    let mut mapped: Vec<Point> = points.iter().map(|&(x, y)| Point::from_xy(x, y)).collect();
    transform.map_points(&mut mapped);
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for p in mapped {
        b = [b[0].min(p.x), b[1].min(p.y), b[2].max(p.x), b[3].max(p.y)];
    }
    b
}

/// Angles are measured from straight down, positive towards the way the figure faces.
fn limb_end((x, y): (f32, f32), angle: f32, length: f32) -> (f32, f32) {
    (x + length * angle.sin(), y + length * angle.cos())
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [0, 1, 2].map(|i| (a[i] as f32 * (1.0 - t) + b[i] as f32 * t) as u8)
}

/// A colour that stands out on `colour`: darker on light colours, lighter on dark ones.
fn contrast(colour: Rgb) -> Rgb {
    let luma = 0.299 * colour[0] as f32 + 0.587 * colour[1] as f32 + 0.114 * colour[2] as f32;
    if luma > 150.0 {
        mix(colour, [20, 20, 30], 0.5)
    } else {
        mix(colour, [255, 255, 255], 0.6)
    }
}

struct Figure<'a> {
    canvas: &'a mut Canvas,
    identity: &'a Identity,
    pose: Pose,
    phase: f32,
    /// Seen from the side (left or right) rather than the front.
    side: bool,
    head_turn: f32,
    body_points: Vec<(f32, f32)>,
    face_points: Vec<(f32, f32)>,
}

/// Where the parts of a body are, for one pose at one phase.
struct Skeleton {
    height: f32,
    /// Vertical offset of the whole body (jumps lift it).
    lift: f32,
    head: (f32, f32),
    head_radii: (f32, f32),
    shoulder_y: f32,
    hip_y: f32,
}

impl Figure<'_> {
    fn draw(&mut self) {
        let s = self.skeleton();
        if self.pose == Pose::Sit {
            let stool = [120, 80, 50];
            self.canvas
                .fill(rect(-0.12, s.hip_y + 0.02, 0.1, 0.0), stool);
            self.body_points.extend([(-0.12, 0.0), (0.1, 0.0)]);
        }
        self.arm(&s, false);
        self.legs(&s);
        self.torso(&s);
        self.arm(&s, true);
        self.head(&s);
    }

    fn skeleton(&self) -> Skeleton {
        let height = self.identity.height_scale();
        let (rx, ry) = match self.identity.head {
            HeadShape::Round => (0.1, 0.1),
            HeadShape::Oval => (0.088, 0.108),
            HeadShape::Square => (0.098, 0.1),
            HeadShape::Long => (0.078, 0.114),
        };
        let (lift, sink) = pose_shift(self.identity, self.pose, self.phase);
        let top = -height + lift + sink;
        Skeleton {
            height,
            lift,
            head: (0.0, top + ry),
            head_radii: (rx, ry),
            shoulder_y: top + 2.0 * ry + 0.03,
            hip_y: -0.45 * height + lift + sink,
        }
    }

    fn legs(&mut self, s: &Skeleton) {
        let leg = 0.45 * s.height;
        let width = 0.072;
        let hips = [(-0.055, s.hip_y), (0.055, s.hip_y)];
        let ends: [[(f32, f32); 3]; 2] = match self.pose {
            Pose::Walk => {
                let swing = 0.42 * (2.0 * PI * self.phase).cos();
                [swing, -swing].map(|angle| {
                    let hip = (0.0, s.hip_y);
                    let knee = limb_end(hip, angle, leg * 0.5);
                    let foot = limb_end(knee, angle - 0.15 * angle.abs(), leg * 0.5);
                    [hip, knee, foot]
                })
            }
            Pose::Sit => hips.map(|hip| {
                let knee = (hip.0 + 0.2 * s.height, hip.1);
                [hip, knee, (knee.0, 0.0)]
            }),
            Pose::Jump => hips.map(|hip| {
                let knee = limb_end(hip, 0.7, leg * 0.5);
                [hip, knee, limb_end(knee, -0.5, leg * 0.5)]
            }),
            _ => hips.map(|hip| [hip, (hip.0, hip.1 + leg * 0.5), (hip.0 * 1.15, s.lift)]),
        };
        for points in ends {
            self.canvas.line(&points, width, TROUSERS);
            let foot = points[2];
            let toe = if self.side { 0.035 } else { 0.0 };
            self.canvas
                .fill(ellipse(foot.0 + toe, foot.1, 0.05, 0.026), SHOES);
            self.body_points.extend([
                (foot.0 + toe - 0.05, foot.1 + 0.026),
                (foot.0 + toe + 0.05, foot.1),
            ]);
        }
    }

    fn torso(&mut self, s: &Skeleton) {
        let (left, right) = (-0.12, 0.12);
        let (top, bottom) = (s.shoulder_y, s.hip_y + 0.04);
        let outfit = self.identity.outfit_rgb();
        self.canvas
            .fill(rounded_rect(left, top, right, bottom, 0.045), outfit);
        self.body_points.extend([(left, top), (right, bottom)]);
        let detail = contrast(outfit);
        let (l, r, t, b) = (left + 0.025, right - 0.025, top + 0.03, bottom - 0.02);
        match self.identity.pattern {
            Pattern::Plain => {}
            Pattern::Stripes => {
                let mut y = t;
                while y + 0.025 <= b {
                    self.canvas
                        .fill_plain(rect(l - 0.02, y, r + 0.02, y + 0.025), detail);
                    y += 0.055;
                }
            }
            Pattern::Dots => {
                for row in 0..6 {
                    for col in 0..3 {
                        let x = l + 0.02 + col as f32 * 0.065 + (row % 2) as f32 * 0.03;
                        let y = t + 0.015 + row as f32 * 0.055;
                        if y < b && x < r {
                            self.canvas.fill_plain(ellipse(x, y, 0.016, 0.016), detail);
                        }
                    }
                }
            }
            Pattern::Check => {
                for row in 0..8 {
                    for col in 0..4 {
                        let (x, y) = (l + col as f32 * 0.05, t + row as f32 * 0.05);
                        if (row + col) % 2 == 0 && y + 0.05 <= b + 0.01 && x + 0.05 <= r + 0.01 {
                            self.canvas
                                .fill_plain(rect(x, y, x + 0.05, y + 0.05), detail);
                        }
                    }
                }
            }
        }
    }

    /// One arm; `front` is the arm on the side the figure faces, drawn over the torso.
    fn arm(&mut self, s: &Skeleton, front: bool) {
        let side = if front { 1.0 } else { -1.0 };
        let shoulder = (0.11 * side, s.shoulder_y + 0.03);
        let length = 0.34 * s.height;
        let swing = -0.5 * (2.0 * PI * self.phase).cos();
        let (upper, lower) = match (self.pose, front) {
            (Pose::Walk, _) => (swing * side, swing * side + 0.3),
            (Pose::Wave, true) => (2.3, 2.9 + 0.4 * (2.0 * PI * self.phase).sin()),
            (Pose::Talk, true) => (0.7, 1.6 + 0.3 * (4.0 * PI * self.phase).sin()),
            (Pose::Jump, _) => (2.5 * side, 2.8 * side),
            (Pose::Sit, _) => (0.35 * side, 1.3),
            _ => (0.18 * side, 0.12 * side),
        };
        let elbow = limb_end(shoulder, upper, length * 0.5);
        let hand = limb_end(elbow, lower, length * 0.5);
        self.canvas
            .line(&[shoulder, elbow, hand], 0.058, self.identity.outfit_rgb());
        self.canvas.fill(
            ellipse(hand.0, hand.1, 0.033, 0.033),
            self.identity.skin_rgb(),
        );
        self.body_points.extend([
            (hand.0 - 0.035, hand.1 - 0.035),
            (hand.0 + 0.035, hand.1 + 0.035),
        ]);
    }

    fn head(&mut self, s: &Skeleton) {
        let (cx, cy) = s.head;
        let (rx, ry) = s.head_radii;
        let hair = self.identity.hair_rgb();
        let skin = self.identity.skin_rgb();
        // Hair behind the head.
        match self.identity.hair_style {
            HairStyle::Long => {
                self.canvas.fill(
                    rounded_rect(
                        cx - rx * 1.15,
                        cy - ry * 0.9,
                        cx + rx * 1.15,
                        cy + ry * 1.5,
                        rx * 0.5,
                    ),
                    hair,
                );
                self.face_points.push((cx, cy + ry * 1.5));
            }
            HairStyle::Ponytail => {
                let back = if self.side { -1.0 } else { 1.0 };
                self.canvas.fill(
                    ellipse(cx + back * rx * 1.05, cy + ry * 0.25, rx * 0.42, ry * 0.75),
                    hair,
                );
            }
            HairStyle::Curly => {
                for k in 0..9 {
                    let angle = PI * (0.85 + 1.3 * k as f32 / 8.0);
                    let (x, y) = (cx + rx * 1.02 * angle.cos(), cy + ry * 1.0 * angle.sin());
                    self.canvas.fill(ellipse(x, y, rx * 0.38, rx * 0.38), hair);
                }
                self.face_points.push((cx, cy - ry * 1.38));
            }
            HairStyle::Bun => {
                self.canvas
                    .fill(ellipse(cx, cy - ry * 1.12, rx * 0.45, ry * 0.38), hair);
                self.face_points.push((cx, cy - ry * 1.5));
            }
            _ => {}
        }
        // Neck and head.
        self.canvas.line(
            &[(cx, cy + ry * 0.8), (cx, s.shoulder_y + 0.01)],
            0.06,
            skin,
        );
        let head = match self.identity.head {
            HeadShape::Square => rounded_rect(cx - rx, cy - ry, cx + rx, cy + ry, rx * 0.35),
            _ => ellipse(cx, cy, rx, ry),
        };
        self.canvas.fill(head, skin);
        self.face_points
            .extend([(cx - rx, cy - ry), (cx + rx, cy + ry)]);
        // Hair on top.
        match self.identity.hair_style {
            HairStyle::Bald => {}
            HairStyle::Spiky => {
                self.hair_cap(cx, cy, rx, ry, hair);
                let spikes: Vec<(f32, f32)> = (0..=8)
                    .map(|k| {
                        let x = cx - rx + 2.0 * rx * k as f32 / 8.0;
                        let y = if k % 2 == 1 {
                            cy - ry * 1.45
                        } else {
                            cy - ry * 0.8
                        };
                        (x, y)
                    })
                    .collect();
                self.canvas.fill(polygon(&spikes), hair);
                self.face_points.push((cx, cy - ry * 1.45));
            }
            _ => self.hair_cap(cx, cy, rx, ry, hair),
        }
        self.face(cx, cy, rx, ry);
        self.accessory(cx, cy, rx, ry, s);
        self.body_points.extend(self.face_points.clone());
    }

    fn hair_cap(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, hair: Rgb) {
        self.canvas
            .fill(ellipse(cx, cy - ry * 0.62, rx * 1.06, ry * 0.5), hair);
        self.face_points.push((cx, cy - ry * 1.12));
    }

    /// Eyes and mouth. Seen from the side they shift towards the facing direction.
    fn face(&mut self, cx: f32, cy: f32, rx: f32, ry: f32) {
        let shift = if self.side { 0.3 * rx } else { 0.0 } + self.head_turn * 0.3 * rx;
        let spread = if self.side { 0.3 * rx } else { 0.4 * rx };
        let eye_y = cy + 0.05 * ry;
        let eye_r = 0.2 * rx.min(ry);
        let eyes = [cx + shift - spread, cx + shift + spread];
        if self.identity.accessory == Accessory::Glasses {
            for x in eyes {
                self.canvas
                    .fill_plain(ellipse(x, eye_y, eye_r * 1.6, eye_r * 1.6), FRAME);
                self.canvas
                    .fill_plain(ellipse(x, eye_y, eye_r * 1.3, eye_r * 1.3), LENS);
            }
            self.canvas.line(
                &[(eyes[0] + eye_r, eye_y), (eyes[1] - eye_r, eye_y)],
                eye_r * 0.4,
                FRAME,
            );
        }
        for x in eyes {
            self.canvas
                .fill_plain(ellipse(x, eye_y, eye_r, eye_r), self.identity.eye_rgb());
            self.canvas.fill_plain(
                ellipse(
                    x + eye_r * 0.35,
                    eye_y - eye_r * 0.35,
                    eye_r * 0.3,
                    eye_r * 0.3,
                ),
                [255, 255, 255],
            );
        }
        let (mx, my) = (cx + shift, cy + 0.52 * ry);
        let talking = self.pose == Pose::Talk && (6.0 * PI * self.phase).sin() > 0.3;
        let width = 0.06 * (rx / 0.1);
        if talking {
            self.canvas
                .fill_plain(ellipse(mx, my, rx * 0.24, ry * 0.2), MOUTH);
            return;
        }
        match self.identity.mouth {
            Mouth::Smile => self.canvas.line(
                &[
                    (mx - rx * 0.32, my - ry * 0.08),
                    (mx, my + ry * 0.1),
                    (mx + rx * 0.32, my - ry * 0.08),
                ],
                width * 0.3,
                MOUTH,
            ),
            Mouth::Neutral => self.canvas.line(
                &[(mx - rx * 0.28, my), (mx + rx * 0.28, my)],
                width * 0.3,
                MOUTH,
            ),
            Mouth::Wide => {
                let mut half: Vec<(f32, f32)> = (0..=8)
                    .map(|k| {
                        let a = PI * k as f32 / 8.0;
                        (
                            mx + rx * 0.42 * a.cos(),
                            my - ry * 0.05 + ry * 0.26 * a.sin(),
                        )
                    })
                    .collect();
                half.push((mx + rx * 0.42, my - ry * 0.05));
                self.canvas.fill_plain(polygon(&half), MOUTH);
            }
            Mouth::Small => self
                .canvas
                .fill_plain(ellipse(mx, my, rx * 0.12, ry * 0.12), MOUTH),
        }
    }

    fn accessory(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, s: &Skeleton) {
        match self.identity.accessory {
            Accessory::None | Accessory::Glasses => {}
            Accessory::TopHat => {
                let brim = cy - ry * 0.78;
                self.canvas.fill(
                    rect(cx - rx * 1.35, brim - ry * 0.16, cx + rx * 1.35, brim),
                    HAT_BLACK,
                );
                self.canvas.fill(
                    rect(
                        cx - rx * 0.85,
                        brim - ry * 1.25,
                        cx + rx * 0.85,
                        brim - ry * 0.1,
                    ),
                    HAT_BLACK,
                );
                self.canvas.fill_plain(
                    rect(
                        cx - rx * 0.85,
                        brim - ry * 0.38,
                        cx + rx * 0.85,
                        brim - ry * 0.22,
                    ),
                    [170, 40, 40],
                );
                self.face_points.push((cx, brim - ry * 1.25));
            }
            Accessory::Cap => {
                let colour = self.identity.outfit_rgb();
                self.canvas
                    .fill(ellipse(cx, cy - ry * 0.7, rx * 1.08, ry * 0.55), colour);
                let peak = if self.side { 1.0 } else { 0.0 };
                self.canvas.fill(
                    ellipse(
                        cx + peak * rx * 0.9,
                        cy - ry * 0.55,
                        rx * (0.55 + 0.4 * (1.0 - peak)),
                        ry * 0.16,
                    ),
                    contrast(colour),
                );
                self.face_points.push((cx, cy - ry * 1.25));
            }
            Accessory::Beret => {
                self.canvas.fill(
                    ellipse(cx - rx * 0.15, cy - ry * 0.85, rx * 1.2, ry * 0.38),
                    BERET,
                );
                self.canvas.fill_plain(
                    ellipse(cx - rx * 0.15, cy - ry * 1.25, rx * 0.12, ry * 0.12),
                    BERET,
                );
                self.face_points.push((cx, cy - ry * 1.3));
            }
            Accessory::Scarf => {
                let y = s.shoulder_y;
                self.canvas.fill(
                    rounded_rect(cx - 0.11, y - 0.035, cx + 0.11, y + 0.03, 0.025),
                    SCARF,
                );
                self.canvas
                    .line(&[(cx + 0.05, y), (cx + 0.07, y + 0.13)], 0.04, SCARF);
            }
            Accessory::Bow => {
                let (bx, by) = (cx - rx * 0.55, cy - ry * 0.95);
                let w = rx * 0.45;
                self.canvas.fill(
                    polygon(&[(bx, by), (bx - w, by - w * 0.6), (bx - w, by + w * 0.6)]),
                    BOW,
                );
                self.canvas.fill(
                    polygon(&[(bx, by), (bx + w, by - w * 0.6), (bx + w, by + w * 0.6)]),
                    BOW,
                );
                self.canvas
                    .fill_plain(ellipse(bx, by, w * 0.3, w * 0.3), BOW);
                self.face_points.push((bx, by - w * 0.6));
            }
        }
    }
}
