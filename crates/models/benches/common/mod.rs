//! What every model bench shares.

/// The allocator the `moviedreamer` binary uses (crates/cli/src/main.rs), so the benches
/// measure the speed a user gets: with the system allocator, candle's fresh buffer per op
/// costs page faults that the binary does not pay. Each bench calls
/// [`keep_freed_memory`] first, as the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use moviedreamer_nn::allocator::keep_freed_memory;
