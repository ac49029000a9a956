//! mimalloc, the allocator of the `moviedreamer` binary and of the benches, told to keep the
//! memory it frees.
//!
//! candle allocates a fresh buffer for every tensor. glibc hands large ones straight back
//! to the kernel, so each training step paid for hundreds of thousands of page faults (a
//! quarter of its time, measured in docs/results/tokenizer.md); mimalloc keeps freed pages
//! for reuse. By default it still gives them back to the kernel a second after they fall
//! free (its "purge"), and a training step frees and refills the same few gigabytes many
//! times a second: 25 evaluator steps made 805,010 page faults and spent 27 s in the
//! kernel against 91 s in our code. Never purging made 2,597 faults and 3.4 s, and the
//! steps 27 % faster, for 8 % more peak memory (docs/results/evaluator.md, "Where a
//! training step's time went"). The working set of a step is the same at every step, so
//! memory still stays flat over long films.

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (the version libmimalloc-sys
/// builds by default); the crate does not name it. The test below checks that the option
/// at this index is the purge delay by its default of 1,000 ms, which no other option has.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Environment variable by which a user can set the purge delay (milliseconds) instead.
const PURGE_DELAY_ENV: &str = "MIMALLOC_PURGE_DELAY";

/// Tells mimalloc never to give freed memory back to the kernel, unless the user chose a
/// purge delay in the environment. Call it first thing in `main`, in a process whose global
/// allocator is mimalloc (elsewhere it changes nothing).
#[allow(unsafe_code)]
pub fn keep_freed_memory() {
    if std::env::var_os(PURGE_DELAY_ENV).is_none() {
        // SAFETY: mimalloc's option table is a static array and `PURGE_DELAY` is in range.
        // Callers run it before other threads start (mimalloc's option setters are not
        // thread-safe); at worst a racing reader sees the old or the new delay.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn the_option_switched_off_is_the_purge_delay() {
        if std::env::var_os(PURGE_DELAY_ENV).is_some() {
            return; // the user's value, not mimalloc's default, is what this would read
        }
        // SAFETY: reading an option in range.
        let default = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert_eq!(
            default, 1000,
            "option {PURGE_DELAY} is not mimalloc's purge delay"
        );
        keep_freed_memory();
        // SAFETY: as above.
        let now = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert_eq!(now, -1);
    }
}
