//! Documented size limits. They keep a mistyped path or a hostile file from exhausting
//! memory or time, and each is far above what a real film needs (see
//! `docs/script-format.md`).

/// Largest script file read, YAML or Fountain: 10 MiB.
pub const MAX_SCRIPT_BYTES: u64 = 10 * 1024 * 1024;
/// Most shots in one script; films of 10,000 keyframes fit ten times over.
pub const MAX_SHOTS: usize = 100_000;
/// Most cast members in one script.
pub const MAX_CHARACTERS: usize = 256;
/// Longest free-text field (a description, a line of dialogue), in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest shot, in seconds. Longer stretches should be split into several shots.
pub const MAX_SHOT_SECONDS: f64 = 600.0;
/// Largest reference image file: 32 MiB.
pub const MAX_REFERENCE_BYTES: u64 = 32 * 1024 * 1024;
/// Smallest accepted side of a reference image, in pixels.
pub const MIN_REFERENCE_SIDE: u32 = 32;
/// Largest accepted side of a reference image, in pixels.
pub const MAX_REFERENCE_SIDE: u32 = 4096;
