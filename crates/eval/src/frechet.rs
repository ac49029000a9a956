//! The Fréchet distance between two sets of feature vectors (as in FID): each set taken as a
//! Gaussian with its mean and covariance, the distance is
//! `|μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2 (Σ₁^½ Σ₂ Σ₁^½)^½)`. The benchmark computes it on the
//! evaluator's readings of generated keyframes against those of the ground truth, so it
//! says how far a row's pictures are, as a whole, from real ones.
//!
//! The matrix square roots come from symmetric eigendecompositions (nalgebra): Σ₁^½ from
//! Σ₁'s, then the trace of the square root of the symmetric Σ₁^½ Σ₂ Σ₁^½ from its
//! eigenvalues. Both are positive semi-definite; eigenvalues rounding below zero count as
//! zero.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// The sets cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrechetError {
    /// A set has fewer than two vectors (no covariance).
    #[error("a set of {0} feature vectors has no covariance (at least 2 are needed)")]
    TooFew(usize),
    /// Vectors of different lengths.
    #[error("feature vectors of {0} and {1} values cannot be compared")]
    Dimensions(usize, usize),
}

/// The Fréchet distance between the Gaussians fitted to `a` and to `b` (each a list of
/// feature vectors of one length).
pub fn frechet_distance(a: &[Vec<f32>], b: &[Vec<f32>]) -> Result<f64, FrechetError> {
    let (mean_a, cov_a) = moments(a)?;
    let (mean_b, cov_b) = moments(b)?;
    if mean_a.len() != mean_b.len() {
        return Err(FrechetError::Dimensions(mean_a.len(), mean_b.len()));
    }
    let root_a = psd_sqrt(&cov_a);
    let middle = &root_a * &cov_b * &root_a;
    let middle = (&middle + middle.transpose()) * 0.5;
    let cross: f64 = SymmetricEigen::new(middle)
        .eigenvalues
        .iter()
        .map(|&v| v.max(0.0).sqrt())
        .sum();
    let distance = (mean_a - mean_b).norm_squared() + cov_a.trace() + cov_b.trace() - 2.0 * cross;
    Ok(distance.max(0.0))
}

/// Mean and (unbiased) covariance of a set of vectors.
fn moments(set: &[Vec<f32>]) -> Result<(DVector<f64>, DMatrix<f64>), FrechetError> {
    if set.len() < 2 {
        return Err(FrechetError::TooFew(set.len()));
    }
    let dim = set[0].len();
    if let Some(other) = set.iter().find(|v| v.len() != dim) {
        return Err(FrechetError::Dimensions(dim, other.len()));
    }
    let rows = DMatrix::from_fn(set.len(), dim, |i, j| f64::from(set[i][j]));
    let mean = DVector::from_fn(dim, |j, _| rows.column(j).mean());
    let centred = DMatrix::from_fn(set.len(), dim, |i, j| rows[(i, j)] - mean[j]);
    let covariance = centred.transpose() * &centred / (set.len() - 1) as f64;
    Ok((mean, covariance))
}

/// The square root of a symmetric positive semi-definite matrix.
fn psd_sqrt(matrix: &DMatrix<f64>) -> DMatrix<f64> {
    let eigen = SymmetricEigen::new(matrix.clone());
    let roots = eigen.eigenvalues.map(|v| v.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` points of a 2-D set: x spread by `scale_x`, y by `scale_y`, shifted by `shift`.
    fn set(n: usize, scale_x: f32, scale_y: f32, shift: [f32; 2]) -> Vec<Vec<f32>> {
        (0..n)
            .map(|i| {
                // A fixed, uncorrelated pattern with mean 0 and equal spread in both axes.
                let t = i as f32 / n as f32 * std::f32::consts::TAU;
                vec![scale_x * t.cos() + shift[0], scale_y * t.sin() + shift[1]]
            })
            .collect()
    }

    #[test]
    fn a_set_is_at_distance_zero_from_itself() {
        let a = set(64, 1.0, 2.0, [0.5, -1.0]);
        assert!(frechet_distance(&a, &a).unwrap() < 1e-9);
    }

    #[test]
    fn distances_match_the_closed_form_for_shifts_and_scales() {
        let a = set(64, 1.0, 1.0, [0.0, 0.0]);
        // A shift by (3, 4) adds |d|² = 25.
        let shifted = set(64, 1.0, 1.0, [3.0, 4.0]);
        assert!((frechet_distance(&a, &shifted).unwrap() - 25.0).abs() < 1e-6);
        // For diagonal covariances the distance is Σ (σ₁ − σ₂)² per axis: x spread twice as
        // wide gives (σ − 2σ)², with σ² the set's variance along x.
        let n = 64.0;
        let variance = 0.5 * n / (n - 1.0); // of cos over a full turn, unbiased
        let wider = set(64, 2.0, 1.0, [0.0, 0.0]);
        let expected = variance; // (2σ − σ)² = σ²
        let got = frechet_distance(&a, &wider).unwrap();
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        // It is symmetric.
        assert!((frechet_distance(&wider, &a).unwrap() - got).abs() < 1e-9);
    }

    #[test]
    fn sets_that_cannot_be_compared_are_refused() {
        let a = set(8, 1.0, 1.0, [0.0, 0.0]);
        assert_eq!(frechet_distance(&a[..1], &a), Err(FrechetError::TooFew(1)));
        assert_eq!(
            frechet_distance(&a, &[vec![0.0; 3], vec![1.0; 3]]),
            Err(FrechetError::Dimensions(2, 3))
        );
    }
}
