//! Model directories and tensor files.
//!
//! A model directory holds `config.json` (the model's config struct) and
//! `model.safetensors` (its weights); while training, `optimizer.safetensors` and
//! `trainer.json` join them. Weights may be stored as f16 or bf16 to halve their size; they
//! are always computed in f32 on a CPU. Every file is written atomically, and loading checks
//! names, shapes and dtypes and says exactly what is missing or unexpected.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// File name of a model's configuration.
pub const CONFIG_FILE: &str = "config.json";
/// File name of a model's weights.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file is not valid safetensors or JSON.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file does not hold the tensors the model has.
    #[error("{}: the weights do not fit this model:\n{}\n  help: was it saved by another model or another config?", path.display(), problems.join("\n"))]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// One line per missing, unexpected or misshapen tensor.
        problems: Vec<String>,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let permissions = std::fs::Permissions::from_mode(0o644);
        file.as_file()
            .set_permissions(permissions)
            .map_err(io(path))?;
    }
    file.write_all(bytes).map_err(io(path))?;
    file.as_file().sync_all().map_err(io(path))?;
    file.persist(path).map_err(|err| io(path)(err.error))?;
    Ok(())
}

/// Saves named tensors as safetensors, converted to `dtype` (f32, f16 or bf16).
pub fn save_tensors(
    path: &Path,
    tensors: &BTreeMap<String, Tensor>,
    dtype: DType,
) -> Result<(), CheckpointError> {
    let converted: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(name, t)| Ok((name.clone(), t.to_dtype(dtype)?.contiguous()?)))
        .collect::<candle_core::Result<_>>()?;
    let bytes = safetensors::serialize(converted.iter().map(|(name, t)| (name.as_str(), t)), None)
        .map_err(|err| CheckpointError::Format {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
    write_atomically(path, &bytes)
}

/// Loads every tensor of a safetensors file, as f32 on the CPU.
pub fn load_tensors(path: &Path) -> Result<BTreeMap<String, Tensor>, CheckpointError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let format = |err: &dyn std::fmt::Display| CheckpointError::Format {
        path: path.to_path_buf(),
        message: format!("not a safetensors file: {err}"),
    };
    let tensors =
        candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| format(&e))?;
    tensors
        .into_iter()
        .map(|(name, t)| Ok((name, t.to_dtype(DType::F32)?)))
        .collect()
}

/// The variables of a model, by name, in a stable order.
pub fn named_vars(varmap: &VarMap) -> BTreeMap<String, candle_core::Var> {
    varmap
        .data()
        .lock()
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Saves a model directory: `config.json` and `model.safetensors` in `dtype`.
pub fn save_model<C: Serialize>(
    dir: &Path,
    config: &C,
    varmap: &VarMap,
    dtype: DType,
) -> Result<(), CheckpointError> {
    let json = serde_json::to_string_pretty(config).map_err(|err| CheckpointError::Format {
        path: dir.join(CONFIG_FILE),
        message: err.to_string(),
    })? + "\n";
    write_atomically(&dir.join(CONFIG_FILE), json.as_bytes())?;
    let tensors = named_vars(varmap)
        .into_iter()
        .map(|(name, var)| (name, var.as_tensor().clone()))
        .collect();
    save_tensors(&dir.join(WEIGHTS_FILE), &tensors, dtype)
}

/// Reads a model directory's `config.json`.
pub fn load_config<C: DeserializeOwned>(dir: &Path) -> Result<C, CheckpointError> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|err| CheckpointError::Format {
        path,
        message: err.to_string(),
    })
}

/// Loads `model.safetensors` from `dir` into the variables of a model built from its config.
/// Every variable must be in the file with its shape, and the file must hold nothing else.
pub fn load_weights(dir: &Path, varmap: &VarMap) -> Result<(), CheckpointError> {
    let path = dir.join(WEIGHTS_FILE);
    let tensors = load_tensors(&path)?;
    assign(&path, &tensors, &named_vars(varmap))
}

/// Sets the variables of `varmap` whose names start with `prefix` from the tensors of the
/// same names in the `model.safetensors` of another model's directory (a renderer's decoder
/// from a trained tokenizer's), checking that under `prefix` the names and shapes match
/// exactly, apart from the variables `added` says this model adds (those, and the ones
/// outside `prefix`, keep their values).
pub fn load_weights_under(
    dir: &Path,
    varmap: &VarMap,
    prefix: &str,
    added: impl Fn(&str) -> bool,
) -> Result<(), CheckpointError> {
    let path = dir.join(WEIGHTS_FILE);
    let tensors = load_tensors(&path)?
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .collect();
    let vars = named_vars(varmap)
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix) && !added(name))
        .collect();
    assign(&path, &tensors, &vars)
}

/// Sets the variables of `varmap` under `prefix` (a part of a larger model: the tokenizer's
/// autoencoder) from the whole `model.safetensors` of that part's own model directory,
/// whose names lack the prefix; names and shapes must match exactly.
pub fn load_weights_as_part(
    dir: &Path,
    varmap: &VarMap,
    prefix: &str,
) -> Result<(), CheckpointError> {
    let path = dir.join(WEIGHTS_FILE);
    let tensors = load_tensors(&path)?
        .into_iter()
        .map(|(name, tensor)| (format!("{prefix}{name}"), tensor))
        .collect();
    let vars = named_vars(varmap)
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .collect();
    assign(&path, &tensors, &vars)
}

/// Loads a model directory written by training, for inference: reads `config.json`, builds
/// the model with `build` (its `new(config, vb)`) on f32 CPU variables, fills them from
/// `model.safetensors` (which checks every name and shape), and builds it again on plain
/// tensors of those weights.
///
/// Why the second build: candle records every operation on a variable for
/// backpropagation, so an output of a model holding variables keeps all its intermediate
/// activations alive for as long as the output lives. Tokenizing a training set with such
/// a model held every film's activations (tens of gigabytes); on plain tensors an output
/// is only its values.
pub fn load_model_dir<C, M>(
    dir: &Path,
    build: impl Fn(&C, VarBuilder) -> candle_core::Result<M>,
) -> Result<M, CheckpointError>
where
    C: DeserializeOwned,
{
    let config: C = load_config(dir)?;
    let varmap = VarMap::new();
    build(
        &config,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )?;
    load_weights(dir, &varmap)?;
    Ok(build(&config, detached_var_builder(&varmap))?)
}

/// A freshly initialised model held on plain tensors, as [`load_model_dir`] holds a trained
/// one: what the speed and memory benches measure, so that they time inference alone.
pub fn untrained_for_inference<M>(
    build: impl Fn(VarBuilder) -> candle_core::Result<M>,
) -> candle_core::Result<M> {
    let varmap = VarMap::new();
    build(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    build(detached_var_builder(&varmap))
}

/// A builder over detached copies of every variable in `varmap`. A model built on it holds
/// plain tensors, not Vars, so its outputs keep no graph of their activations for a
/// backward pass that inference never runs (which over a long film would hold every
/// activation in memory).
pub fn detached_var_builder(varmap: &VarMap) -> VarBuilder<'static> {
    let weights: std::collections::HashMap<String, Tensor> = named_vars(varmap)
        .into_iter()
        .map(|(name, var)| (name, var.as_tensor().detach()))
        .collect();
    VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu)
}

/// Sets each variable from the tensor of the same name, after checking that the names and
/// shapes match exactly.
pub fn assign(
    path: &Path,
    tensors: &BTreeMap<String, Tensor>,
    vars: &BTreeMap<String, candle_core::Var>,
) -> Result<(), CheckpointError> {
    let mut problems = Vec::new();
    for (name, var) in vars {
        match tensors.get(name) {
            None => problems.push(format!("  missing: {name} {:?}", var.dims())),
            Some(t) if t.dims() != var.dims() => problems.push(format!(
                "  wrong shape: {name} is {:?} in the file, {:?} in the model",
                t.dims(),
                var.dims()
            )),
            Some(_) => {}
        }
    }
    for name in tensors.keys().filter(|name| !vars.contains_key(*name)) {
        problems.push(format!("  unexpected: {name}"));
    }
    if !problems.is_empty() {
        return Err(CheckpointError::Mismatch {
            path: path.to_path_buf(),
            problems,
        });
    }
    for (name, var) in vars {
        var.set(&tensors[name].to_dtype(var.dtype())?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::{Init, VarBuilder};

    fn model(varmap: &VarMap, hidden: usize) {
        let vb = VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu);
        vb.get_with_hints(
            (hidden, 4),
            "layer.weight",
            Init::Randn {
                mean: 0.0,
                stdev: 1.0,
            },
        )
        .unwrap();
        vb.get_with_hints(hidden, "layer.bias", Init::Const(0.5))
            .unwrap();
    }

    #[test]
    fn a_model_directory_round_trips_in_every_storage_dtype() {
        for (dtype, tolerance) in [(DType::F32, 0.0), (DType::F16, 1e-3), (DType::BF16, 1e-2)] {
            let dir = tempfile::tempdir().unwrap();
            let saved = VarMap::new();
            model(&saved, 3);
            save_model(dir.path(), &serde_json::json!({"hidden": 3}), &saved, dtype).unwrap();
            let loaded = VarMap::new();
            model(&loaded, 3);
            load_weights(dir.path(), &loaded).unwrap();
            let (a, b) = (named_vars(&saved), named_vars(&loaded));
            for name in ["layer.weight", "layer.bias"] {
                let (a, b) = (a[name].as_tensor(), b[name].as_tensor());
                let diff = crate::ops::max_abs_diff(a, b).unwrap();
                let scale = crate::ops::max_abs_diff(a, &a.zeros_like().unwrap()).unwrap();
                assert!(
                    diff <= tolerance * scale.max(1.0),
                    "{dtype:?} {name}: {diff}"
                );
            }
            let config: serde_json::Value = load_config(dir.path()).unwrap();
            assert_eq!(config["hidden"], 3);
        }
    }

    #[test]
    fn a_loaded_model_holds_its_saved_weights_as_plain_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let saved = VarMap::new();
        model(&saved, 3);
        save_model(
            dir.path(),
            &serde_json::json!({"hidden": 3}),
            &saved,
            DType::F32,
        )
        .unwrap();
        let build = |config: &serde_json::Value, vb: VarBuilder| {
            let hidden = config["hidden"].as_u64().unwrap() as usize;
            candle_nn::linear(4, hidden, vb.pp("layer"))
        };
        let layer = load_model_dir(dir.path(), build).unwrap();
        // Not variables: outputs record no graph, so they keep no activations alive.
        assert!(!layer.weight().is_variable());
        let saved_weight = named_vars(&saved)["layer.weight"].as_tensor().clone();
        assert_eq!(
            crate::ops::max_abs_diff(layer.weight(), &saved_weight).unwrap(),
            0.0
        );
        // And the names and shapes are still checked.
        let wrong = |_: &serde_json::Value, vb: VarBuilder| candle_nn::linear(4, 5, vb.pp("layer"));
        let err = load_model_dir(dir.path(), wrong).unwrap_err().to_string();
        assert!(err.contains("wrong shape: layer.weight"), "{err}");
    }

    #[test]
    fn loading_names_missing_unexpected_and_misshapen_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let saved = VarMap::new();
        model(&saved, 3);
        save_model(dir.path(), &(), &saved, DType::F32).unwrap();

        let other = VarMap::new();
        let vb = VarBuilder::from_varmap(&other, DType::F32, &Device::Cpu);
        vb.get_with_hints((5, 4), "layer.weight", Init::Const(0.0))
            .unwrap();
        vb.get_with_hints(2, "extra", Init::Const(0.0)).unwrap();
        let err = load_weights(dir.path(), &other).unwrap_err().to_string();
        assert!(err.contains("model.safetensors"), "{err}");
        assert!(err.contains("missing: extra"), "{err}");
        assert!(err.contains("unexpected: layer.bias"), "{err}");
        assert!(
            err.contains("wrong shape: layer.weight is [3, 4] in the file, [5, 4] in the model"),
            "{err}"
        );
    }

    #[test]
    fn a_damaged_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(WEIGHTS_FILE), b"not safetensors").unwrap();
        let varmap = VarMap::new();
        model(&varmap, 3);
        let err = load_weights(dir.path(), &varmap).unwrap_err().to_string();
        assert!(err.contains("not a safetensors file"), "{err}");
    }
}
