//! Block matching: how far each patch of a clip's frames moved from the keyframe, found by
//! searching the keyframe for the patch's best match, as video encoders estimate motion.
//!
//! The animator learns its flow from it (`AnimatorConfig::block_flow_weight`). A flow
//! learned only through the warped picture gets a gradient from the picture's slope where
//! it samples, which a small flat-coloured figure mostly lacks; a match found by search
//! says outright how far the figure went. Written by hand: no maintained crate estimates
//! block motion on tensors.

use candle_core::{Device, Result, Tensor};

/// For each frame of `frames` (count, channels, H, W) and each `patch` × `patch` block of
/// it, the move (dx, dy), each within ±`reach` pixels, at which the keyframe (channels, H,
/// W) shows the block best: least sum of squared differences, the keyframe's block kept
/// inside the picture. Ties go to the smaller move, so a flat block that could match
/// anywhere stays still. Returns (count, 2, H / patch, W / patch) in pixels, in the
/// convention of [`warp`](moviedreamer_nn::layers::warp): the block shows what the
/// keyframe shows `(dx, dy)` away.
pub fn block_flow(
    keyframe: &Tensor,
    frames: &Tensor,
    patch: usize,
    reach: usize,
) -> Result<Tensor> {
    let (count, channels, height, width) = frames.dims4()?;
    let key = Picture::new(keyframe.flatten_all()?.to_vec1::<f32>()?, channels, width);
    let all = frames.flatten_all()?.to_vec1::<f32>()?;
    let (rows, columns) = (height / patch, width / patch);
    let moves = moves_nearest_first(reach as i64);
    let mut flow = vec![0f32; count * 2 * rows * columns];
    for (f, frame) in all.chunks(channels * height * width).enumerate() {
        let frame = Picture::new(frame.to_vec(), channels, width);
        for row in 0..rows {
            for column in 0..columns {
                let (x, y) = ((column * patch) as i64, (row * patch) as i64);
                let mut best = (f32::INFINITY, (0, 0));
                for &(dx, dy) in &moves {
                    let (kx, ky) = (x + dx, y + dy);
                    let inside = kx >= 0
                        && ky >= 0
                        && kx + patch as i64 <= width as i64
                        && ky + patch as i64 <= height as i64;
                    if !inside {
                        continue;
                    }
                    let cost = frame.block_distance(&key, (x, y), (kx, ky), patch, best.0);
                    if cost < best.0 {
                        best = (cost, (dx, dy));
                    }
                }
                let at = |axis: usize| ((f * 2 + axis) * rows + row) * columns + column;
                flow[at(0)] = best.1.0 as f32;
                flow[at(1)] = best.1.1 as f32;
            }
        }
    }
    Tensor::from_vec(flow, (count, 2, rows, columns), &Device::Cpu)?.to_device(frames.device())
}

/// Every move within ±`reach` on both axes, nearest first, so that a later move must match
/// strictly better to win.
fn moves_nearest_first(reach: i64) -> Vec<(i64, i64)> {
    let mut moves: Vec<(i64, i64)> = (-reach..=reach)
        .flat_map(|dy| (-reach..=reach).map(move |dx| (dx, dy)))
        .collect();
    moves.sort_by_key(|&(dx, dy)| (dx * dx + dy * dy, dx.abs(), dx, dy));
    moves
}

/// A picture's values in channel-major order, for block comparisons.
struct Picture {
    values: Vec<f32>,
    channels: usize,
    width: usize,
    plane: usize,
}

impl Picture {
    fn new(values: Vec<f32>, channels: usize, width: usize) -> Self {
        let plane = values.len() / channels;
        Picture {
            values,
            channels,
            width,
            plane,
        }
    }

    /// The sum of squared differences between this picture's block at `at` and `other`'s
    /// at `other_at`, both `side` pixels square; stops early once it reaches `limit`.
    fn block_distance(
        &self,
        other: &Picture,
        at: (i64, i64),
        other_at: (i64, i64),
        side: usize,
        limit: f32,
    ) -> f32 {
        let mut sum = 0.0;
        for c in 0..self.channels {
            for row in 0..side {
                let start = |(x, y): (i64, i64)| {
                    c * self.plane + (y as usize + row) * self.width + x as usize
                };
                let mine = &self.values[start(at)..start(at) + side];
                let theirs = &other.values[start(other_at)..start(other_at) + side];
                sum += mine
                    .iter()
                    .zip(theirs)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>();
            }
            if sum >= limit {
                return sum;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32 × 32 picture, grey with a bright 6 × 10 figure whose left edge is at `x` and top
    /// at `y`, and a faint stripe so not every block is flat.
    fn figure_at(x: usize, y: usize) -> Tensor {
        let mut values = vec![0f32; 3 * 32 * 32];
        for c in 0..3 {
            for row in 0..32 {
                for column in 0..32 {
                    let on_figure = (x..x + 6).contains(&column) && (y..y + 10).contains(&row);
                    values[(c * 32 + row) * 32 + column] = if on_figure {
                        0.9 - 0.3 * c as f32
                    } else if row == 30 {
                        0.2
                    } else {
                        -0.5
                    };
                }
            }
        }
        Tensor::from_vec(values, (3, 32, 32), &Device::Cpu).unwrap()
    }

    #[test]
    fn a_figure_that_moved_is_found_where_it_was_and_the_background_stays() {
        let keyframe = figure_at(8, 8);
        // Frame 1: the figure 5 px to the right and 3 px down; frame 2: as in the keyframe.
        let frames = Tensor::stack(&[figure_at(13, 11), figure_at(8, 8)], 0).unwrap();
        let flow = block_flow(&keyframe, &frames, 8, 8).unwrap();
        assert_eq!(flow.dims(), &[2, 2, 4, 4]);
        // Rows: frame 1's dx, its dy, frame 2's dx, its dy.
        let flow = flow.reshape((4, 4, 4)).unwrap().to_vec3::<f32>().unwrap();
        // The block at (16, 16) of frame 1 holds the figure's lower right part, which the
        // keyframe shows 5 px left and 3 px up.
        assert_eq!((flow[0][2][2], flow[1][2][2]), (-5.0, -3.0), "{flow:?}");
        // Flat background far from the figure, and the unmoved frame, stay still.
        assert_eq!((flow[0][0][3], flow[1][0][3]), (0.0, 0.0));
        for axis in 2..4 {
            assert!(flow[axis].iter().flatten().all(|&v| v == 0.0), "{flow:?}");
        }
    }
}
