//! Metrics appended to a JSON Lines file, and the loss curve drawn from them.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::TrainError;
use crate::checkpoint::write_atomically;
use crate::plot::{loss_chart, write_chart};

/// Appends one JSON object per line to a file (`metrics.jsonl`), each line written whole and
/// at once so that the file can be followed (`tail -f`) and read while training runs.
///
/// Records that have a numeric `step` and `loss` (or `val_loss`) also feed the loss curve
/// [`plot_loss`](Self::plot_loss) draws.
pub struct MetricsLog {
    path: PathBuf,
    file: std::fs::File,
    curves: Curves,
}

/// The points of the loss curves.
#[derive(Default)]
struct Curves {
    train: Vec<(u64, f64)>,
    validation: Vec<(u64, f64)>,
}

impl Curves {
    fn remember(&mut self, record: &serde_json::Value) {
        let Some(step) = record.get("step").and_then(serde_json::Value::as_u64) else {
            return;
        };
        if let Some(loss) = record.get("loss").and_then(serde_json::Value::as_f64) {
            self.train.push((step, loss));
        }
        if let Some(loss) = record.get("val_loss").and_then(serde_json::Value::as_f64) {
            self.validation.push((step, loss));
        }
    }
}

impl MetricsLog {
    /// Opens the log at `path`. A run that starts afresh (`resumed_at` is `None`) empties
    /// it; a run resumed from the checkpoint of step `s` keeps the records up to step `s` and
    /// drops those logged after it, which the resumed run will log again.
    pub fn open(path: impl Into<PathBuf>, resumed_at: Option<u64>) -> Result<Self, TrainError> {
        let path = path.into();
        let io = |source| TrainError::Io {
            path: path.clone(),
            source,
        };
        let mut curves = Curves::default();
        let mut kept = String::new();
        if let Some(last) = resumed_at {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(err) => return Err(io(err)),
            };
            for line in text.lines() {
                // A line cut short by a crash does not parse and is dropped.
                let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                if record
                    .get("step")
                    .and_then(serde_json::Value::as_u64)
                    .is_some_and(|step| step > last)
                {
                    continue;
                }
                curves.remember(&record);
                kept.push_str(line);
                kept.push('\n');
            }
        }
        write_atomically(&path, kept.as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok(Self { path, file, curves })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record`, which must serialise to a JSON object (a struct, a map or
    /// `serde_json::json!({...})`), as one line. Non-finite numbers are written as `null`.
    pub fn log(&mut self, record: &impl Serialize) -> Result<(), TrainError> {
        let value = serde_json::to_value(record).map_err(|err| TrainError::Metrics {
            path: self.path.clone(),
            message: err.to_string(),
        })?;
        if !value.is_object() {
            return Err(TrainError::Metrics {
                path: self.path.clone(),
                message: format!("a metrics record must be a JSON object, not {value}"),
            });
        }
        let line = value.to_string() + "\n";
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| TrainError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.file.flush().map_err(|source| TrainError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.curves.remember(&value);
        Ok(())
    }

    /// The `(step, loss)` points logged so far, this run and the runs it resumes.
    pub fn losses(&self) -> &[(u64, f64)] {
        &self.curves.train
    }

    /// Draws the loss curve (training loss raw and smoothed, validation loss if logged as
    /// `val_loss`) with a frame, a grid and numbered axes, and writes it to `png` atomically.
    pub fn plot_loss(&self, png: &Path) -> Result<(), TrainError> {
        write_chart(
            &loss_chart(&self.curves.train, &self.curves.validation),
            png,
        )
        .map_err(|err| TrainError::Plot {
            path: png.to_path_buf(),
            message: err.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_appended_as_json_lines_and_cut_back_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = MetricsLog::open(&path, None).unwrap();
        for step in 1..=4u64 {
            log.log(&json!({"step": step, "loss": 1.0 / step as f64, "lr": 1e-3}))
                .unwrap();
        }
        log.log(&json!({"step": 4, "val_loss": 0.5})).unwrap();
        log.log(&json!({"step": 5, "loss": f64::NAN})).unwrap();
        assert!(log.log(&[1, 2]).is_err(), "not an object");

        let text = std::fs::read_to_string(&path).unwrap();
        let records: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 6);
        assert_eq!(records[1]["loss"], 0.5);
        assert!(records[5]["loss"].is_null());
        assert_eq!(log.losses().len(), 4);

        // Resumed from the checkpoint of step 2: steps 3 to 5 go, and a torn last line too.
        std::fs::write(&path, text + "{\"step\": 6, \"lo").unwrap();
        let mut log = MetricsLog::open(&path, Some(2)).unwrap();
        assert_eq!(log.losses(), &[(1, 1.0), (2, 0.5)]);
        log.log(&json!({"step": 3, "loss": 0.25})).unwrap();
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 3);
        assert!(lines.ends_with("{\"loss\":0.25,\"step\":3}\n"), "{lines}");

        let png = dir.path().join("loss.png");
        log.plot_loss(&png).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

        // A fresh run empties the log.
        assert!(MetricsLog::open(&path, None).unwrap().losses().is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    }
}
