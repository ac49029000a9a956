//! Data parallelism over the batch, on this machine's cores.
//!
//! candle's CPU kernels split every matmul and element-wise op across threads. For models
//! of the size trained here that buys nothing on the 2-core development machine: a
//! tokenizer training step took 1.3 s with candle's two threads and 1.2 s with one, while
//! two single-threaded steps side by side each still took 1.2 s (docs/results/tokenizer.md).
//! candle's element-wise kernels also let only one caller at a time use their thread pool.
//!
//! So the `moviedreamer` binary runs candle's kernels on one thread
//! ([`single_threaded_kernels_env`]) and splits each batch here instead: into fixed parts,
//! each computed on its own thread from start to end. Because the parts are fixed by the
//! caller, not by the number of cores, the results are the same whatever machine runs
//! them.

use std::ops::Range;

use candle_core::Result;

/// Environment variable that overrides how many threads [`run_parts`] uses.
pub const THREADS_ENV: &str = "MOVIEDREAMER_THREADS";

/// The environment variables (and values) that make candle's kernels single-threaded.
/// candle reads them on first use, so a program sets them before it starts any thread.
pub fn single_threaded_kernels_env() -> [(&'static str, &'static str); 2] {
    [("RAYON_NUM_THREADS", "1"), ("CANDLE_NUM_THREADS", "1")]
}

/// Threads to use: `MOVIEDREAMER_THREADS` if set to a positive number, else the cores this
/// process may run on.
pub fn available_threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|value| value.parse::<usize>().ok())
        .filter(|&threads| threads > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `0..len` cut into at most `parts` contiguous, non-empty ranges whose lengths differ by at
/// most one, in order.
pub fn split_ranges(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, len.max(1));
    let (base, extra) = (len / parts, len % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let end = start + base + usize::from(i < extra);
            let range = start..end;
            start = end;
            range
        })
        .filter(|range| !range.is_empty())
        .collect()
}

/// Runs `work(i)` for every part `i` in `0..parts` on up to [`available_threads`] threads
/// and returns the results in part order. The first error (in part order) is returned.
pub fn run_parts<T: Send>(
    parts: usize,
    work: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let threads = available_threads().min(parts);
    if threads <= 1 {
        return (0..parts).map(&work).collect();
    }
    let mut results: Vec<Option<Result<T>>> = (0..parts).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let work = &work;
                // Thread t takes parts t, t + threads, …: a fixed assignment, so a part's
                // result does not depend on timing.
                scope.spawn(move || {
                    (thread..parts)
                        .step_by(threads)
                        .map(|part| (part, work(part)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (part, result) in done {
                        results[part] = Some(result);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    results
        .into_iter()
        .map(|result| result.expect("every part was run"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_everything_in_order_and_are_balanced() {
        assert_eq!(split_ranges(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(split_ranges(2, 4), vec![0..1, 1..2]);
        assert_eq!(split_ranges(5, 1), vec![0..5]);
        assert_eq!(split_ranges(7, 0), vec![0..7]);
        assert!(split_ranges(0, 3).is_empty());
    }

    #[test]
    fn results_come_back_in_part_order_and_errors_surface() {
        let squares = run_parts(9, |i| Ok(i * i)).unwrap();
        assert_eq!(squares, (0..9).map(|i| i * i).collect::<Vec<_>>());
        let failed = run_parts(5, |i| {
            if i >= 3 {
                candle_core::bail!("part {i} failed")
            }
            Ok(i)
        });
        assert!(failed.unwrap_err().to_string().starts_with("part 3 failed"));
    }
}
