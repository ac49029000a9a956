//! Neural network parts every moviedreamer model trains and samples with, on candle.
//!
//! candle 0.11's fused softmax, layer norm, RMS norm and rotary embedding record no
//! gradient, so weights before them would silently never learn. Every layer here has a
//! training path made of differentiable ops, and an inference path that may use the fused
//! kernels; tests check that the two agree. [`grad_check`] lets every model prove that one
//! training step reaches all of its weights.

pub mod activation;
pub mod allocator;
pub mod checkpoint;
pub mod diffusion;
pub mod grad_check;
pub mod init;
pub mod layer_norm;
pub mod layers;
pub mod ops;
pub mod optim;
pub mod parallel;
pub mod plot;
pub mod train;
