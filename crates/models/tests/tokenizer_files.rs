//! A tokenizer saved as a model directory loads back and computes the same tokens.

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use moviedreamer_models::tokenizer::{KeyframeTokenizer, TokenizerConfig};
use moviedreamer_nn::checkpoint::save_model;
use moviedreamer_nn::ops::{max_abs_diff, randn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn a_saved_tokenizer_loads_and_encodes_alike() {
    let config = TokenizerConfig::micro();
    let varmap = VarMap::new();
    let model = KeyframeTokenizer::new(
        &config,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_model(dir.path(), &config, &varmap, DType::F32).unwrap();
    let loaded = KeyframeTokenizer::load(dir.path()).unwrap();
    assert_eq!(loaded.config(), &config);
    let images = randn(
        &mut ChaCha8Rng::seed_from_u64(2),
        (2, 3, 32, 32),
        &Device::Cpu,
    )
    .unwrap();
    let a = model.encode(&images, false).unwrap();
    let b = loaded.encode(&images, false).unwrap();
    assert_eq!(max_abs_diff(&a, &b).unwrap(), 0.0);
}
