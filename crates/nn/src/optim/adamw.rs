//! AdamW with explicit moments and step counts that are saved and restored exactly.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

use super::state_file;
use crate::checkpoint::{CheckpointError, assign, load_tensors, named_vars};

const FORMAT: &str = "moviedreamer-adamw";

/// Settings of [`AdamW`]; the learning rate is not one of them, it is given at each step
/// (see [`super::LrSchedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// Decay of the first moment (the running mean of the gradient).
    pub beta1: f64,
    /// Decay of the second moment (the running mean of the squared gradient).
    pub beta2: f64,
    /// Added to the root of the second moment so that the update never divides by zero.
    pub eps: f64,
    /// Decoupled weight decay: each step multiplies a decayed weight by `1 - lr * weight_decay`.
    pub weight_decay: f64,
    /// Whether weight decay applies to every variable. When false (the default, as in
    /// nanoGPT) only variables of two or more dimensions decay (matrices, embeddings,
    /// convolution kernels); biases, norm gains and scalars do not.
    pub decay_all: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            decay_all: false,
        }
    }
}

/// One variable and its optimiser state.
struct Param {
    name: String,
    var: Var,
    /// First moment, f32, the shape of `var`.
    m: Var,
    /// Second moment, f32, the shape of `var`.
    v: Var,
    /// Steps in which this variable had a gradient: its bias correction counts these.
    steps: u64,
}

/// AdamW (Loshchilov and Hutter), computed as PyTorch's `torch.optim.AdamW`: decoupled
/// weight decay, then moment updates with bias correction.
///
/// It optimises the variables a [`VarMap`] holds when the optimiser is built, in the order
/// of their names. A variable without a gradient in a step is left as it is, and so are its
/// moments and its step count (PyTorch does the same). The arithmetic runs in f32 whatever
/// the variables' dtype. [`save`](Self::save) and [`load`](Self::load) keep all of the state,
/// so that training resumed from a checkpoint continues exactly as if it had never stopped.
pub struct AdamW {
    config: AdamWConfig,
    params: Vec<Param>,
    steps: u64,
}

impl AdamW {
    /// An optimiser for every variable in `varmap`, with zero moments.
    pub fn new(varmap: &VarMap, config: AdamWConfig) -> candle_core::Result<Self> {
        let params = named_vars(varmap)
            .into_iter()
            .map(|(name, var)| {
                let zeros = || Var::zeros(var.shape(), DType::F32, var.device());
                Ok(Param {
                    m: zeros()?,
                    v: zeros()?,
                    name,
                    var,
                    steps: 0,
                })
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            config,
            params,
            steps: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// Changes the settings; the moments are kept.
    pub fn set_config(&mut self, config: AdamWConfig) {
        self.config = config;
    }

    /// How many times [`step`](Self::step) has run, including before a restore.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The names of the variables this optimiser updates, in order.
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|p| p.name.as_str())
    }

    /// Updates every variable that has a gradient in `grads`, with learning rate `lr`.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> candle_core::Result<()> {
        self.steps += 1;
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
            decay_all,
        } = self.config;
        for p in &mut self.params {
            let Some(grad) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            if grad.dims() != p.var.dims() {
                candle_core::bail!(
                    "AdamW: the gradient of {} is {:?}, the variable is {:?}",
                    p.name,
                    grad.dims(),
                    p.var.dims()
                );
            }
            p.steps += 1;
            let t = p.steps as f64;
            let bias_correction1 = 1.0 - beta1.powf(t);
            let bias_correction2 = 1.0 - beta2.powf(t);
            let step_size = (lr / bias_correction1) as f32;
            let bias_correction2_sqrt = bias_correction2.sqrt() as f32;
            let decays = decay_all || p.var.rank() >= 2;
            let decay = if decays {
                (1.0 - lr * weight_decay) as f32
            } else {
                1.0
            };
            let (beta1, beta2, eps) = (beta1 as f32, beta2 as f32, eps as f32);

            let grad = values(grad)?;
            let mut theta = values(p.var.as_tensor())?;
            let mut m = values(p.m.as_tensor())?;
            let mut v = values(p.v.as_tensor())?;
            for (((theta, m), v), g) in theta.iter_mut().zip(&mut m).zip(&mut v).zip(&grad) {
                *theta *= decay;
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                let denom = v.sqrt() / bias_correction2_sqrt + eps;
                *theta += -step_size * (*m / denom);
            }
            let shape = p.var.shape().clone();
            let device = p.var.device().clone();
            p.m.set(&Tensor::from_vec(m, &shape, &device)?)?;
            p.v.set(&Tensor::from_vec(v, &shape, &device)?)?;
            let theta = Tensor::from_vec(theta, &shape, &device)?.to_dtype(p.var.dtype())?;
            p.var.set(&theta)?;
        }
        Ok(())
    }

    /// Saves the moments (tensors `m.<variable>` and `v.<variable>`, f32) and the step counts
    /// (in the file's metadata) as safetensors, atomically.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let tensors = self
            .moments()
            .map(|(name, var)| (name, var.as_tensor().clone()))
            .collect();
        let param_steps: BTreeMap<&str, u64> = self
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.steps))
            .collect();
        let json = |value: serde_json::Result<String>| {
            value.map_err(|err| state_file::format_error(path, err.to_string()))
        };
        let metadata = HashMap::from([
            (state_file::FORMAT_KEY.to_string(), FORMAT.to_string()),
            ("steps".to_string(), self.steps.to_string()),
            (
                "param_steps".to_string(),
                json(serde_json::to_string(&param_steps))?,
            ),
            (
                "config".to_string(),
                json(serde_json::to_string(&self.config))?,
            ),
        ]);
        state_file::save(path, &tensors, metadata)
    }

    /// Restores the state [`save`](Self::save) wrote. The file must hold the moments of
    /// exactly this optimiser's variables, with their shapes; otherwise the error names every
    /// tensor that is missing, unexpected or misshapen, and the state is left unchanged.
    /// The settings are not restored: they stay those given to [`new`](Self::new).
    pub fn load(&mut self, path: &Path) -> Result<(), CheckpointError> {
        let metadata = state_file::read_metadata(path)?;
        state_file::check_format(path, &metadata, FORMAT)?;
        let steps: u64 = state_file::metadata_json(path, &metadata, "steps")?;
        let param_steps: BTreeMap<String, u64> =
            state_file::metadata_json(path, &metadata, "param_steps")?;
        let tensors = load_tensors(path)?;
        let moments: BTreeMap<String, Var> = self.moments().collect();
        let mut problems = Vec::new();
        for p in &self.params {
            if !param_steps.contains_key(&p.name) {
                problems.push(format!("  missing: the step count of {}", p.name));
            }
        }
        for name in param_steps.keys() {
            if !self.params.iter().any(|p| &p.name == name) {
                problems.push(format!("  unexpected: the step count of {name}"));
            }
        }
        if !problems.is_empty() {
            if !tensors.keys().eq(moments.keys()) {
                // Saved by another model: name the tensors, which says more.
                assign(path, &tensors, &moments)?;
            }
            return Err(CheckpointError::Mismatch {
                path: path.to_path_buf(),
                problems,
            });
        }
        assign(path, &tensors, &moments)?;
        for p in &mut self.params {
            p.steps = param_steps[&p.name];
        }
        self.steps = steps;
        Ok(())
    }

    /// The moment variables by their names in the state file.
    fn moments(&self) -> impl Iterator<Item = (String, Var)> + '_ {
        self.params.iter().flat_map(|p| {
            [
                (format!("m.{}", p.name), p.m.clone()),
                (format!("v.{}", p.name), p.v.clone()),
            ]
        })
    }
}

/// A tensor's values, flattened, as f32.
fn values(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.detach().flatten_all()?.to_dtype(DType::F32)?.to_vec1()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::{Init, VarBuilder};

    /// A model of two variables: `w` ([1, 1], decays) and `b` ([1], does not).
    fn model(w: f64, b: f64) -> VarMap {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        vb.get_with_hints((1, 1), "w", Init::Const(w)).unwrap();
        vb.get_with_hints(1, "b", Init::Const(b)).unwrap();
        varmap
    }

    fn value(var: &Var) -> f64 {
        f64::from(
            var.as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()[0],
        )
    }

    /// Gradients `gw` for `w` only, from the loss `gw * w`.
    fn grads_of_w(varmap: &VarMap, gw: f32) -> GradStore {
        let w = named_vars(varmap)["w"].as_tensor().clone();
        let gw = Tensor::new(&[[gw]], &Device::Cpu).unwrap();
        (w * gw).unwrap().sum_all().unwrap().backward().unwrap()
    }

    #[test]
    fn steps_match_the_pytorch_formula_computed_by_hand() {
        let config = AdamWConfig {
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.1,
            decay_all: false,
        };
        let varmap = model(1.0, 1.0);
        let mut adamw = AdamW::new(&varmap, config).unwrap();
        let w = named_vars(&varmap)["w"].clone();
        let (mut theta, mut m, mut v) = (1.0f64, 0.0f64, 0.0f64);
        for (t, (g, lr)) in [(0.5, 0.1), (-2.0, 0.05), (0.25, 0.01)]
            .into_iter()
            .enumerate()
        {
            adamw.step(&grads_of_w(&varmap, g as f32), lr).unwrap();
            let t = (t + 1) as i32;
            theta *= 1.0 - lr * 0.1;
            m = 0.9 * m + 0.1 * g;
            v = 0.99 * v + 0.01 * g * g;
            let m_hat = m / (1.0 - 0.9f64.powi(t));
            let v_hat = v / (1.0 - 0.99f64.powi(t));
            theta -= lr * m_hat / (v_hat.sqrt() + 1e-8);
            assert!(
                (value(&w) - theta).abs() < 1e-6,
                "step {t}: {} vs {theta}",
                value(&w)
            );
        }
        // The first step moves by about lr whatever the gradient's size: 1 - 0.01 - 0.1.
        assert_eq!(adamw.steps(), 3);
    }

    #[test]
    fn weight_decay_is_decoupled_from_the_gradient() {
        let config = AdamWConfig {
            weight_decay: 0.5,
            ..AdamWConfig::default()
        };
        let varmap = model(2.0, 1.0);
        let mut adamw = AdamW::new(&varmap, config).unwrap();
        // A zero gradient: Adam's update is 0 / (0 + eps) = 0, only the decay acts. With the
        // decay folded into the gradient (Adam with L2) the weight would move by about lr.
        adamw.step(&grads_of_w(&varmap, 0.0), 0.1).unwrap();
        let w = named_vars(&varmap)["w"].clone();
        assert!(
            (value(&w) - 2.0 * (1.0 - 0.1 * 0.5)).abs() < 1e-6,
            "{}",
            value(&w)
        );
    }

    #[test]
    fn variables_without_a_gradient_and_their_moments_are_untouched() {
        let varmap = model(1.0, 3.0);
        let mut adamw = AdamW::new(&varmap, AdamWConfig::default()).unwrap();
        for _ in 0..3 {
            adamw.step(&grads_of_w(&varmap, 1.0), 0.1).unwrap();
        }
        assert_eq!(value(&named_vars(&varmap)["b"]), 3.0);
        let b = adamw.params.iter().find(|p| p.name == "b").unwrap();
        assert_eq!((value(&b.m), value(&b.v), b.steps), (0.0, 0.0, 0));
        let w = adamw.params.iter().find(|p| p.name == "w").unwrap();
        assert_eq!(w.steps, 3);
        assert!(value(&w.m) > 0.0);
    }

    #[test]
    fn the_state_round_trips_and_a_different_model_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("optimizer.safetensors");
        let varmap = model(1.0, 1.0);
        let mut adamw = AdamW::new(&varmap, AdamWConfig::default()).unwrap();
        adamw.step(&grads_of_w(&varmap, 0.3), 0.1).unwrap();
        adamw.save(&path).unwrap();

        let mut restored = AdamW::new(&model(1.0, 1.0), AdamWConfig::default()).unwrap();
        restored.load(&path).unwrap();
        assert_eq!(restored.steps(), 1);
        for (a, b) in adamw.params.iter().zip(&restored.params) {
            assert_eq!(
                (a.steps, value(&a.m), value(&a.v)),
                (b.steps, value(&b.m), value(&b.v))
            );
        }

        let other = VarMap::new();
        let vb = VarBuilder::from_varmap(&other, DType::F32, &Device::Cpu);
        vb.get_with_hints((2, 1), "w", Init::Const(0.0)).unwrap();
        vb.get_with_hints(1, "b", Init::Const(0.0)).unwrap();
        let mut wrong = AdamW::new(&other, AdamWConfig::default()).unwrap();
        let err = wrong.load(&path).unwrap_err().to_string();
        assert!(err.contains("optimizer.safetensors"), "{err}");
        assert!(
            err.contains("wrong shape: m.w is [1, 1] in the file, [2, 1] in the model"),
            "{err}"
        );
        assert!(err.contains("wrong shape: v.w"), "{err}");

        let renamed = VarMap::new();
        VarBuilder::from_varmap(&renamed, DType::F32, &Device::Cpu)
            .get_with_hints(1, "c", Init::Const(0.0))
            .unwrap();
        let err = AdamW::new(&renamed, AdamWConfig::default())
            .unwrap()
            .load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing: m.c") && err.contains("unexpected: m.w"),
            "{err}"
        );

        crate::checkpoint::save_tensors(&path, &BTreeMap::new(), DType::F32).unwrap();
        let err = restored.load(&path).unwrap_err().to_string();
        assert!(err.contains("expected moviedreamer-adamw state"), "{err}");
    }
}
