//! Mixing seeds: SplitMix64's finaliser, so that neighbouring inputs (film 7 and film 8,
//! epoch 3 and epoch 4, two similar identities) give unrelated outputs.

/// SplitMix64's finaliser of one word.
pub fn finalise(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A well-mixed seed made of two words, such as a run's seed and an item's index.
pub fn mix_seeds(a: u64, b: u64) -> u64 {
    finalise(a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}
