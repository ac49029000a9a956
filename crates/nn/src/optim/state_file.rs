//! Optimiser and EMA state files: safetensors in f32, with small values (step counts) in the
//! file's string metadata where a float tensor could not hold them exactly.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use candle_core::{DType, Tensor};

use crate::checkpoint::{CheckpointError, write_atomically};

/// The metadata key naming what kind of state a file holds.
pub(crate) const FORMAT_KEY: &str = "format";

/// Writes `tensors` in f32 with `metadata`, atomically.
pub(crate) fn save(
    path: &Path,
    tensors: &BTreeMap<String, Tensor>,
    metadata: HashMap<String, String>,
) -> Result<(), CheckpointError> {
    let converted: Vec<(&str, Tensor)> = tensors
        .iter()
        .map(|(name, t)| Ok((name.as_str(), t.to_dtype(DType::F32)?.contiguous()?)))
        .collect::<candle_core::Result<_>>()?;
    let bytes =
        safetensors::serialize(converted.iter().map(|(name, t)| (*name, t)), Some(metadata))
            .map_err(|err| format_error(path, err.to_string()))?;
    write_atomically(path, &bytes)
}

/// Reads the string metadata of a safetensors file, from its header alone.
pub(crate) fn read_metadata(path: &Path) -> Result<HashMap<String, String>, CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| format_error(path, "not a safetensors file: too short".into()))?;
    let len = u64::from_le_bytes(len);
    let file_len = file.metadata().map_err(io)?.len();
    if len > file_len.saturating_sub(8) || len > 100_000_000 {
        return Err(format_error(
            path,
            format!("not a safetensors file: header of {len} bytes"),
        ));
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header).map_err(io)?;
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__", default)]
        metadata: HashMap<String, String>,
    }
    let header: Header = serde_json::from_slice(&header)
        .map_err(|err| format_error(path, format!("not a safetensors file: {err}")))?;
    Ok(header.metadata)
}

/// Reads a metadata value that must be there, as JSON.
pub(crate) fn metadata_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    metadata: &HashMap<String, String>,
    key: &str,
) -> Result<T, CheckpointError> {
    let text = metadata
        .get(key)
        .ok_or_else(|| format_error(path, format!("the metadata has no `{key}`")))?;
    serde_json::from_str(text).map_err(|err| format_error(path, format!("metadata `{key}`: {err}")))
}

/// Checks that a file says it holds `format`.
pub(crate) fn check_format(
    path: &Path,
    metadata: &HashMap<String, String>,
    format: &str,
) -> Result<(), CheckpointError> {
    match metadata.get(FORMAT_KEY) {
        Some(found) if found == format => Ok(()),
        found => Err(format_error(
            path,
            format!(
                "expected {format} state, found {}",
                found.map_or("a file without a format tag", String::as_str)
            ),
        )),
    }
}

pub(crate) fn format_error(path: &Path, message: String) -> CheckpointError {
    CheckpointError::Format {
        path: path.to_path_buf(),
        message,
    }
}
