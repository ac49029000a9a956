//! The eight places, each with its own layout and props, under a sky that follows the time
//! of day. Drawn in frame units (the visible frame is x, y in [0, 1], y down); scenery
//! extends from x = -1 to 2 so that camera pans find more of the place.

use crate::identity::Rgb;
use crate::render::canvas::{Canvas, ellipse, polygon, rect, rounded_rect};
use crate::world::{Location, TimeOfDay};

/// Draws `location` at `time`.
pub fn draw(canvas: &mut Canvas, location: Location, time: TimeOfDay) {
    match location {
        Location::Harbour => harbour(canvas, time),
        Location::Beach => beach(canvas, time),
        Location::Forest => forest(canvas, time),
        Location::Village => village(canvas, time),
        Location::Meadow => meadow(canvas, time),
        Location::Kitchen => kitchen(canvas, time),
        Location::Library => library(canvas, time),
        Location::Lighthouse => lighthouse(canvas, time),
    }
}

/// The colour a place's walls or sky start from: the first colour painted.
pub fn base_colour(location: Location, time: TimeOfDay) -> Rgb {
    match location {
        Location::Kitchen => [236, 222, 190],
        Location::Library => [120, 84, 60],
        Location::Lighthouse => [176, 190, 200],
        _ => sky_colour(time),
    }
}

fn sky_colour(time: TimeOfDay) -> Rgb {
    match time {
        TimeOfDay::Day => [140, 200, 238],
        TimeOfDay::Dusk => [244, 160, 120],
        TimeOfDay::Night => [24, 32, 72],
    }
}

/// Sun, low sun with a glow band, or moon and stars, above `horizon`.
fn sky(canvas: &mut Canvas, time: TimeOfDay, horizon: f32) {
    match time {
        TimeOfDay::Day => {
            canvas.fill_plain(ellipse(0.82, 0.14, 0.07, 0.07), [255, 240, 150]);
            cloud(canvas, 0.25, 0.16, 0.09);
            cloud(canvas, 1.35, 0.1, 0.07);
            cloud(canvas, -0.4, 0.2, 0.08);
        }
        TimeOfDay::Dusk => {
            canvas.fill_plain(rect(-1.0, horizon - 0.12, 2.0, horizon), [250, 196, 130]);
            canvas.fill_plain(ellipse(0.7, horizon - 0.02, 0.09, 0.09), [255, 120, 70]);
        }
        TimeOfDay::Night => {
            canvas.fill_plain(ellipse(0.8, 0.13, 0.06, 0.06), [240, 240, 215]);
            canvas.fill_plain(ellipse(0.825, 0.12, 0.05, 0.05), [24, 32, 72]);
            for i in 0..18 {
                let x = -1.0 + 3.0 * ((i * 37 % 101) as f32 / 101.0);
                let y = 0.03 + (horizon - 0.1) * ((i * 53 % 29) as f32 / 29.0);
                canvas.fill_plain(ellipse(x, y, 0.008, 0.008), [250, 250, 220]);
            }
        }
    }
}

fn cloud(canvas: &mut Canvas, x: f32, y: f32, r: f32) {
    let white = [248, 250, 252];
    canvas.fill(ellipse(x, y, r, r * 0.55), white);
    canvas.fill(ellipse(x - r * 0.8, y + r * 0.15, r * 0.6, r * 0.4), white);
    canvas.fill(ellipse(x + r * 0.8, y + r * 0.15, r * 0.6, r * 0.4), white);
}

/// Windows glow at night and show the sky by day.
fn window_colour(time: TimeOfDay) -> Rgb {
    match time {
        TimeOfDay::Night => [250, 215, 110],
        other => sky_colour(other),
    }
}

fn harbour(canvas: &mut Canvas, time: TimeOfDay) {
    sky(canvas, time, 0.52);
    canvas.fill(rect(-1.0, 0.52, 2.0, 0.74), [40, 100, 160]);
    for i in 0..7 {
        let x = -0.9 + i as f32 * 0.45;
        canvas.line(&[(x, 0.6), (x + 0.12, 0.6)], 0.008, [120, 170, 210]);
    }
    for &(x, sail) in &[
        (-0.55, [240, 90, 70]),
        (0.18, [245, 240, 230]),
        (0.72, [250, 200, 70]),
        (1.45, [120, 200, 140]),
    ] {
        canvas.fill(
            polygon(&[
                (x - 0.13, 0.58),
                (x + 0.13, 0.58),
                (x + 0.09, 0.65),
                (x - 0.09, 0.65),
            ]),
            [120, 70, 40],
        );
        canvas.line(&[(x, 0.58), (x, 0.36)], 0.012, [90, 60, 40]);
        canvas.fill(
            polygon(&[(x + 0.01, 0.37), (x + 0.01, 0.56), (x + 0.12, 0.56)]),
            sail,
        );
    }
    canvas.fill(rect(-1.0, 0.74, 2.0, 1.2), [150, 146, 140]);
    for i in 0..12 {
        let y = 0.78 + i as f32 * 0.05;
        canvas.line(&[(-1.0, y), (2.0, y)], 0.004, [120, 116, 110]);
    }
    for x in [-0.3, 0.35, 1.05, 1.6] {
        canvas.fill(
            rounded_rect(x - 0.025, 0.71, x + 0.025, 0.8, 0.015),
            [60, 60, 66],
        );
    }
}

fn beach(canvas: &mut Canvas, time: TimeOfDay) {
    sky(canvas, time, 0.5);
    canvas.fill(rect(-1.0, 0.5, 2.0, 0.64), [50, 130, 190]);
    for i in 0..8 {
        let x = -0.95 + i as f32 * 0.4;
        canvas.line(
            &[(x, 0.62), (x + 0.1, 0.6), (x + 0.2, 0.62)],
            0.01,
            [235, 245, 250],
        );
    }
    canvas.fill(rect(-1.0, 0.64, 2.0, 1.2), [236, 212, 150]);
    // A palm on the left, a striped parasol on the right.
    canvas.line(
        &[(0.05, 0.8), (0.08, 0.55), (0.13, 0.36)],
        0.03,
        [130, 90, 50],
    );
    for dx in [-0.14f32, -0.07, 0.07, 0.14] {
        canvas.fill(
            ellipse(0.13 + dx, 0.36 + dx.abs() * 0.3, 0.08, 0.025),
            [50, 140, 70],
        );
    }
    canvas.line(&[(0.86, 0.85), (0.86, 0.55)], 0.012, [90, 80, 70]);
    canvas.fill(
        polygon(&[(0.72, 0.6), (0.86, 0.5), (1.0, 0.6)]),
        [230, 70, 70],
    );
    canvas.fill(
        polygon(&[(0.81, 0.6), (0.86, 0.5), (0.91, 0.6)]),
        [250, 250, 245],
    );
    for &(x, y) in &[(0.3, 0.9), (0.62, 0.95), (-0.4, 0.88), (1.4, 0.92)] {
        canvas.fill(ellipse(x, y, 0.02, 0.012), [245, 180, 170]);
    }
}

fn forest(canvas: &mut Canvas, time: TimeOfDay) {
    sky(canvas, time, 0.6);
    canvas.fill(rect(-1.0, 0.55, 2.0, 1.2), [70, 130, 60]);
    // Far trees darker, near trees brighter.
    for i in 0..9 {
        let x = -0.95 + i as f32 * 0.36;
        canvas.line(&[(x, 0.62), (x, 0.35)], 0.03, [90, 60, 40]);
        canvas.fill(ellipse(x, 0.3, 0.12, 0.16), [40, 96, 50]);
    }
    for i in 0..6 {
        let x = -0.8 + i as f32 * 0.55;
        canvas.line(&[(x, 0.78), (x, 0.3)], 0.05, [110, 74, 46]);
        canvas.fill(ellipse(x, 0.22, 0.17, 0.2), [56, 130, 62]);
    }
    for &x in &[0.32f32, 0.66, -0.3, 1.3] {
        canvas.line(&[(x, 0.9), (x, 0.86)], 0.018, [245, 240, 225]);
        canvas.fill(ellipse(x, 0.855, 0.035, 0.022), [210, 50, 45]);
        canvas.fill_plain(ellipse(x - 0.012, 0.85, 0.006, 0.005), [250, 250, 250]);
    }
}

fn village(canvas: &mut Canvas, time: TimeOfDay) {
    sky(canvas, time, 0.6);
    let walls: [Rgb; 5] = [
        [230, 200, 160],
        [200, 120, 100],
        [170, 190, 210],
        [240, 230, 200],
        [190, 200, 150],
    ];
    for i in 0..7 {
        let left = -0.95 + i as f32 * 0.42;
        let right = left + 0.34;
        let top = 0.42 + (i % 3) as f32 * 0.04;
        canvas.fill(rect(left, top, right, 0.78), walls[i % walls.len()]);
        canvas.fill(
            polygon(&[
                (left - 0.03, top),
                ((left + right) / 2.0, top - 0.14),
                (right + 0.03, top),
            ]),
            [150, 70, 60],
        );
        let light = window_colour(time);
        canvas.fill(
            rect(left + 0.05, top + 0.06, left + 0.13, top + 0.14),
            light,
        );
        canvas.fill(
            rect(right - 0.13, top + 0.06, right - 0.05, top + 0.14),
            light,
        );
        canvas.fill(rect(left + 0.13, 0.66, left + 0.21, 0.78), [110, 70, 50]);
    }
    canvas.fill(rect(-1.0, 0.78, 2.0, 1.2), [120, 120, 126]);
    canvas.line(&[(-1.0, 0.9), (2.0, 0.9)], 0.008, [200, 200, 200]);
    canvas.line(&[(0.62, 0.82), (0.62, 0.45)], 0.016, [50, 50, 56]);
    let lamp = if time == TimeOfDay::Night {
        [255, 230, 140]
    } else {
        [220, 220, 200]
    };
    canvas.fill(ellipse(0.62, 0.44, 0.03, 0.03), lamp);
}

fn meadow(canvas: &mut Canvas, time: TimeOfDay) {
    sky(canvas, time, 0.6);
    canvas.fill(ellipse(-0.2, 0.75, 0.9, 0.3), [110, 170, 80]);
    canvas.fill(ellipse(1.1, 0.78, 1.0, 0.32), [100, 160, 70]);
    canvas.fill(rect(-1.0, 0.7, 2.0, 1.2), [120, 185, 90]);
    for i in 0..14 {
        let x = -0.95 + i as f32 * 0.22;
        canvas.line(&[(x, 0.62), (x, 0.74)], 0.012, [150, 110, 70]);
    }
    canvas.line(&[(-1.0, 0.66), (2.0, 0.66)], 0.008, [150, 110, 70]);
    let petals: [Rgb; 4] = [
        [250, 240, 90],
        [250, 250, 250],
        [240, 120, 160],
        [170, 120, 230],
    ];
    for i in 0..24 {
        let x = -0.95 + ((i * 41) % 97) as f32 / 97.0 * 2.9;
        let y = 0.8 + ((i * 17) % 11) as f32 / 11.0 * 0.18;
        canvas.fill_plain(ellipse(x, y, 0.014, 0.014), petals[i % 4]);
    }
}

fn kitchen(canvas: &mut Canvas, time: TimeOfDay) {
    canvas.fill(rect(-1.0, 0.0, 2.0, 0.74), [236, 222, 190]);
    canvas.fill(rect(0.06, 0.16, 0.36, 0.44), [120, 90, 60]);
    canvas.fill(rect(0.08, 0.18, 0.34, 0.42), window_colour(time));
    canvas.line(&[(0.21, 0.18), (0.21, 0.42)], 0.01, [120, 90, 60]);
    canvas.fill(rect(0.55, 0.12, 0.95, 0.34), [170, 110, 70]);
    canvas.line(&[(0.75, 0.12), (0.75, 0.34)], 0.008, [120, 80, 50]);
    canvas.fill(rect(0.5, 0.5, 1.0, 0.74), [170, 110, 70]);
    canvas.fill(rect(0.5, 0.48, 1.0, 0.52), [200, 200, 205]);
    canvas.fill(ellipse(0.62, 0.43, 0.05, 0.05), [90, 90, 100]);
    canvas.fill(ellipse(-0.5, 0.3, 0.08, 0.08), [220, 120, 50]);
    canvas.fill(rect(1.2, 0.2, 1.6, 0.74), [170, 110, 70]);
    for row in 0..6 {
        for col in 0..30 {
            let (x, y) = (-1.0 + col as f32 * 0.1, 0.74 + row as f32 * 0.08);
            let tile = if (row + col) % 2 == 0 {
                [220, 220, 225]
            } else {
                [70, 90, 120]
            };
            canvas.fill_plain(rect(x, y, x + 0.1, y + 0.08), tile);
        }
    }
}

fn library(canvas: &mut Canvas, _time: TimeOfDay) {
    canvas.fill(rect(-1.0, 0.0, 2.0, 0.76), [120, 84, 60]);
    let books: [Rgb; 6] = [
        [180, 50, 50],
        [50, 90, 160],
        [60, 140, 80],
        [220, 180, 60],
        [120, 60, 140],
        [230, 230, 220],
    ];
    for shelf in 0..4 {
        let left = -0.95 + shelf as f32 * 0.75;
        canvas.fill(rect(left, 0.08, left + 0.6, 0.72), [80, 52, 36]);
        for row in 0..4 {
            let y = 0.1 + row as f32 * 0.155;
            for k in 0..9 {
                let x = left + 0.03 + k as f32 * 0.06;
                let tall = 0.1 + ((k + row + shelf) % 3) as f32 * 0.015;
                canvas.fill_plain(
                    rect(x, y + 0.14 - tall, x + 0.05, y + 0.14),
                    books[(k * 5 + row * 3 + shelf) % 6],
                );
            }
            canvas.fill_plain(rect(left, y + 0.14, left + 0.6, y + 0.155), [60, 40, 28]);
        }
    }
    canvas.fill(rect(-1.0, 0.76, 2.0, 1.2), [90, 60, 44]);
    canvas.fill(ellipse(0.5, 0.88, 0.45, 0.08), [160, 40, 50]);
    canvas.fill(ellipse(0.5, 0.88, 0.33, 0.05), [200, 150, 60]);
    canvas.line(&[(1.02, 0.82), (1.02, 0.5)], 0.012, [40, 40, 40]);
    canvas.fill(
        polygon(&[(0.96, 0.5), (1.08, 0.5), (1.05, 0.42), (0.99, 0.42)]),
        [240, 210, 120],
    );
}

fn lighthouse(canvas: &mut Canvas, time: TimeOfDay) {
    canvas.fill(rect(-1.0, 0.0, 2.0, 0.72), [176, 190, 200]);
    for i in 0..10 {
        let x = -1.0 + i as f32 * 0.33;
        canvas.line(&[(x, 0.0), (x + 0.04, 0.72)], 0.006, [150, 165, 178]);
    }
    canvas.fill(ellipse(0.5, 0.36, 0.2, 0.2), [120, 110, 80]);
    let glow = if time == TimeOfDay::Night {
        [255, 240, 150]
    } else {
        [230, 220, 170]
    };
    canvas.fill(ellipse(0.5, 0.36, 0.16, 0.16), glow);
    canvas.fill_plain(ellipse(0.5, 0.36, 0.1, 0.1), [250, 250, 235]);
    canvas.line(&[(0.34, 0.36), (0.66, 0.36)], 0.008, [150, 140, 110]);
    canvas.fill(ellipse(0.0, 0.3, 0.09, 0.09), [90, 95, 105]);
    canvas.fill(ellipse(0.0, 0.3, 0.07, 0.07), window_colour(time));
    canvas.fill(ellipse(1.05, 0.3, 0.09, 0.09), [90, 95, 105]);
    canvas.fill(ellipse(1.05, 0.3, 0.07, 0.07), window_colour(time));
    canvas.fill(rect(-1.0, 0.72, 2.0, 1.2), [90, 96, 104]);
    for i in 0..30 {
        let x = -1.0 + i as f32 * 0.1;
        canvas.line(&[(x, 0.72), (x, 1.2)], 0.004, [70, 74, 80]);
    }
    canvas.line(&[(1.35, 0.72), (1.25, 0.2)], 0.012, [60, 60, 66]);
    for k in 0..6 {
        let y = 0.7 - k as f32 * 0.09;
        canvas.line(
            &[(1.3 - k as f32 * 0.018, y), (1.55, y)],
            0.01,
            [60, 60, 66],
        );
    }
}
