//! Learning rate: linear warm-up, then cosine decay.

use serde::{Deserialize, Serialize};

/// A learning rate that rises linearly to `peak` over `warmup_steps`, then follows half a
/// cosine down to `min` at `total_steps`, and stays at `min` after that (as in nanoGPT).
///
/// Steps count from 0: `lr(0)` is the rate of the first optimiser step. During warm-up the
/// rate is `peak * (step + 1) / (warmup_steps + 1)`, small but never zero, so no step is
/// wasted; `lr(warmup_steps)` is `peak`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    /// Rate at the end of warm-up, the highest.
    pub peak: f64,
    /// Rate at the end of the decay.
    pub min: f64,
    /// Steps of linear warm-up.
    pub warmup_steps: u64,
    /// Step at which the decay reaches `min`.
    pub total_steps: u64,
}

impl LrSchedule {
    /// The same rate at every step.
    pub fn constant(lr: f64) -> Self {
        Self {
            peak: lr,
            min: lr,
            warmup_steps: 0,
            total_steps: 0,
        }
    }

    /// The learning rate of optimiser step `step` (counted from 0).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.peak * (step + 1) as f64 / (self.warmup_steps + 1) as f64;
        }
        if step >= self.total_steps {
            return self.min;
        }
        let progress =
            (step - self.warmup_steps) as f64 / (self.total_steps - self.warmup_steps) as f64;
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.min + cosine * (self.peak - self.min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_rises_to_the_peak_then_the_rate_decays_to_the_minimum() {
        let schedule = LrSchedule {
            peak: 1e-3,
            min: 1e-5,
            warmup_steps: 10,
            total_steps: 110,
        };
        let lrs: Vec<f64> = (0..130).map(|step| schedule.lr(step)).collect();
        assert!(lrs[0] > 0.0 && lrs[0] < 1e-4, "{}", lrs[0]);
        assert!(lrs[..=10].windows(2).all(|w| w[0] < w[1]), "warm-up rises");
        assert_eq!(lrs[10], 1e-3);
        assert!(lrs[10..=110].windows(2).all(|w| w[0] > w[1]), "decay falls");
        assert!(
            (lrs[60] - (1e-5 + 0.5 * (1e-3 - 1e-5))).abs() < 1e-12,
            "half-way"
        );
        assert_eq!(lrs[110], 1e-5);
        assert!(lrs[110..].iter().all(|&lr| lr == 1e-5));
    }

    #[test]
    fn degenerate_schedules_are_sensible() {
        assert!((0..5).all(|step| LrSchedule::constant(0.1).lr(step) == 0.1));
        let no_warmup = LrSchedule {
            peak: 1.0,
            min: 0.0,
            warmup_steps: 0,
            total_steps: 4,
        };
        assert_eq!(no_warmup.lr(0), 1.0);
        assert_eq!(no_warmup.lr(2), 0.5);
        assert_eq!(no_warmup.lr(4), 0.0);
    }

    #[test]
    fn the_schedule_reads_from_json() {
        let schedule: LrSchedule = serde_json::from_str(
            r#"{"peak": 0.1, "min": 0.0, "warmup_steps": 2, "total_steps": 9}"#,
        )
        .unwrap();
        assert_eq!(schedule.warmup_steps, 2);
    }
}
