//! Exponential moving average of the weights, for sampling with smoother weights.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Tensor, Var};
use candle_nn::VarMap;
use serde::Serialize;

use super::state_file;
use crate::checkpoint::{CheckpointError, assign, load_tensors, named_vars, save_model};

const FORMAT: &str = "moviedreamer-ema";

/// Shadow copies (f32) of every variable of a model, each update moving them towards the
/// current weights: `shadow = d * shadow + (1 - d) * weight`.
///
/// The decay `d` warms up as `min(decay, (1 + n) / (10 + n))` after `n` updates, so that the
/// average forgets the random initial weights quickly in short runs and reaches `decay`
/// after a few hundred updates (with `decay` = 0.999, after about 9,000).
///
/// [`save`](Self::save) writes the shadows under the variables' own names, so an EMA file is
/// also a weights file; [`save_model`](Self::save_model) writes a model directory with the
/// averaged weights.
pub struct Ema {
    decay: f64,
    updates: u64,
    /// By variable name: the model's variable and its shadow.
    params: BTreeMap<String, (Var, Var)>,
}

impl Ema {
    /// Shadows of every variable in `varmap`, starting at the current weights.
    pub fn new(varmap: &VarMap, decay: f64) -> candle_core::Result<Self> {
        let params = named_vars(varmap)
            .into_iter()
            .map(|(name, var)| {
                let shadow = Var::from_tensor(&var.as_tensor().to_dtype(DType::F32)?.detach())?;
                Ok((name, (var, shadow)))
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            decay,
            updates: 0,
            params,
        })
    }

    /// The decay after warm-up.
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// How many updates have been made, including before a restore.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The decay the next update uses.
    pub fn current_decay(&self) -> f64 {
        let n = self.updates as f64;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// Moves every shadow towards its variable's current value.
    pub fn update(&mut self) -> candle_core::Result<()> {
        let d = self.current_decay();
        for (var, shadow) in self.params.values() {
            let weight = var.as_tensor().detach().to_dtype(DType::F32)?;
            let next =
                (shadow.as_tensor().detach().affine(d, 0.0)? + weight.affine(1.0 - d, 0.0)?)?;
            shadow.set(&next)?;
        }
        self.updates += 1;
        Ok(())
    }

    /// A copy of the averaged weights by variable name (f32).
    pub fn shadows(&self) -> candle_core::Result<BTreeMap<String, Tensor>> {
        self.params
            .iter()
            .map(|(name, (_, shadow))| Ok((name.clone(), shadow.as_tensor().detach().copy()?)))
            .collect()
    }

    /// The averaged weights, sharing the shadows' storage: they change with the next update.
    fn shadow_views(&self) -> BTreeMap<String, Tensor> {
        self.params
            .iter()
            .map(|(name, (_, shadow))| (name.clone(), shadow.as_tensor().detach()))
            .collect()
    }

    /// Sets the variables of `varmap` (a model of the same shape, or the one being trained)
    /// to the averaged weights.
    pub fn store_into(&self, varmap: &VarMap) -> Result<(), CheckpointError> {
        assign(
            Path::new("<EMA weights>"),
            &self.shadow_views(),
            &named_vars(varmap),
        )
    }

    /// A new `VarMap` holding a copy of the averaged weights, for building a model with them.
    pub fn to_varmap(&self) -> candle_core::Result<VarMap> {
        let varmap = VarMap::new();
        {
            let mut data = varmap
                .data()
                .lock()
                .map_err(|_| candle_core::Error::Msg("poisoned VarMap".into()))?;
            for (name, (_, shadow)) in &self.params {
                data.insert(
                    name.clone(),
                    Var::from_tensor(&shadow.as_tensor().detach())?,
                );
            }
        }
        Ok(varmap)
    }

    /// Writes a model directory (see [`save_model`]) with the averaged weights in `dtype`.
    pub fn save_model<C: Serialize>(
        &self,
        dir: &Path,
        config: &C,
        dtype: DType,
    ) -> Result<(), CheckpointError> {
        save_model(dir, config, &self.to_varmap()?, dtype)
    }

    /// Saves the shadows (f32, under the variables' names) and the update count, atomically.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let metadata = HashMap::from([
            (state_file::FORMAT_KEY.to_string(), FORMAT.to_string()),
            ("updates".to_string(), self.updates.to_string()),
            ("decay".to_string(), self.decay.to_string()),
        ]);
        state_file::save(path, &self.shadow_views(), metadata)
    }

    /// Restores the shadows and the update count [`save`](Self::save) wrote. The file must
    /// hold exactly this model's variables with their shapes; otherwise the error names each
    /// tensor that is missing, unexpected or misshapen, and nothing changes. The decay stays
    /// the one given to [`new`](Self::new).
    pub fn load(&mut self, path: &Path) -> Result<(), CheckpointError> {
        let metadata = state_file::read_metadata(path)?;
        state_file::check_format(path, &metadata, FORMAT)?;
        let updates: u64 = state_file::metadata_json(path, &metadata, "updates")?;
        let tensors = load_tensors(path)?;
        let shadows: BTreeMap<String, Var> = self
            .params
            .iter()
            .map(|(name, (_, shadow))| (name.clone(), shadow.clone()))
            .collect();
        assign(path, &tensors, &shadows)?;
        self.updates = updates;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::{Init, VarBuilder};

    fn scalar_model(value: f64) -> VarMap {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        vb.get_with_hints((1, 1), "w", Init::Const(value)).unwrap();
        varmap
    }

    fn value(t: &Tensor) -> f32 {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0]
    }

    #[test]
    fn the_average_follows_the_weights_with_a_warming_decay() {
        let varmap = scalar_model(1.0);
        let w = named_vars(&varmap)["w"].clone();
        let mut ema = Ema::new(&varmap, 0.5).unwrap();
        w.set(&Tensor::new(&[[2f32]], &Device::Cpu).unwrap())
            .unwrap();
        ema.update().unwrap(); // decay min(0.5, 1/10) = 0.1
        assert!((value(&ema.shadows().unwrap()["w"]) - 1.9).abs() < 1e-6);
        w.set(&Tensor::new(&[[3f32]], &Device::Cpu).unwrap())
            .unwrap();
        ema.update().unwrap(); // decay 2/11
        let expected = 1.9 * 2.0 / 11.0 + 3.0 * 9.0 / 11.0;
        assert!((f64::from(value(&ema.shadows().unwrap()["w"])) - expected).abs() < 1e-6);
        for _ in 0..100 {
            ema.update().unwrap();
        }
        assert_eq!(ema.current_decay(), 0.5);
        assert_eq!(ema.updates(), 102);
    }

    #[test]
    fn the_average_saves_restores_and_becomes_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let varmap = scalar_model(1.0);
        let mut ema = Ema::new(&varmap, 0.9).unwrap();
        named_vars(&varmap)["w"]
            .set(&Tensor::new(&[[5f32]], &Device::Cpu).unwrap())
            .unwrap();
        ema.update().unwrap();
        ema.save(&dir.path().join("ema.safetensors")).unwrap();

        let mut restored = Ema::new(&scalar_model(0.0), 0.9).unwrap();
        restored.load(&dir.path().join("ema.safetensors")).unwrap();
        assert_eq!(restored.updates(), 1);
        assert_eq!(
            value(&restored.shadows().unwrap()["w"]),
            value(&ema.shadows().unwrap()["w"])
        );

        let model = scalar_model(0.0);
        ema.store_into(&model).unwrap();
        assert_eq!(
            value(named_vars(&model)["w"].as_tensor()),
            value(&ema.shadows().unwrap()["w"])
        );

        ema.save_model(&dir.path().join("ema"), &(), DType::F32)
            .unwrap();
        let loaded = scalar_model(0.0);
        crate::checkpoint::load_weights(&dir.path().join("ema"), &loaded).unwrap();
        assert_eq!(
            value(named_vars(&loaded)["w"].as_tensor()),
            value(&ema.shadows().unwrap()["w"])
        );

        let other = VarMap::new();
        VarBuilder::from_varmap(&other, DType::F32, &Device::Cpu)
            .get_with_hints((2, 1), "w", Init::Const(0.0))
            .unwrap();
        let err = Ema::new(&other, 0.9)
            .unwrap()
            .load(&dir.path().join("ema.safetensors"))
            .unwrap_err();
        assert!(err.to_string().contains("wrong shape: w"), "{err}");
    }
}
