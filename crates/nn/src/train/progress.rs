//! A progress bar with the loss and the speed.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on standard error: steps done of the total, the loss, steps per second and
/// the time left. It draws nothing when standard error is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    start_step: u64,
}

impl Progress {
    /// A bar for a run of `total_steps` that starts (or resumes) at `start_step` steps done.
    pub fn new(total_steps: u64, start_step: u64) -> Self {
        Self::with_target(total_steps, start_step, ProgressDrawTarget::stderr())
    }

    /// A bar that never draws, for tests and quiet runs.
    pub fn hidden(total_steps: u64, start_step: u64) -> Self {
        Self::with_target(total_steps, start_step, ProgressDrawTarget::hidden())
    }

    fn with_target(total_steps: u64, start_step: u64, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total_steps), target);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} {wide_bar:.cyan/blue} {pos}/{len} {msg} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_position(start_step);
        bar.reset_eta();
        Self {
            bar,
            started: Instant::now(),
            start_step,
        }
    }

    /// Shows that `step` steps are done and the latest loss.
    pub fn update(&self, step: u64, loss: f64) {
        self.bar.set_position(step);
        self.bar.set_message(format!(
            "loss {loss:.4} | {:.2} steps/s",
            self.steps_per_sec(step)
        ));
    }

    /// Steps per second since this bar was made, `step` being the steps done now.
    pub fn steps_per_sec(&self, step: u64) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64();
        if seconds > 0.0 {
            step.saturating_sub(self.start_step) as f64 / seconds
        } else {
            0.0
        }
    }

    /// Runs `f` (a log line, say) with the bar cleared, then draws it again.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Leaves the bar as it is, on its own line.
    pub fn finish(&self) {
        self.bar.abandon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_counts_the_steps_of_this_run_only() {
        let progress = Progress::hidden(100, 40);
        std::thread::sleep(std::time::Duration::from_millis(20));
        progress.update(42, 0.5);
        let speed = progress.steps_per_sec(42);
        assert!(speed > 0.0 && speed < 2.0 / 0.02, "{speed}");
        progress.finish();
    }
}
